import { EnvironmentNotFound } from '../kernel/errors.ts';
import { gatesBlocking, utcTime } from '../kernel/display.ts';
import type { Ctx, Deps } from '../kernel/deps.ts';
import { GATE_ORDER } from './terms/gate-verdicts.ts';
import { heldByChange, heldByCi, heldByHours, heldByPromotion, heldBySoak, type GateResult, type Promotion } from '../kernel/promotion-model.ts';
import { lineOf } from './terms/policy.ts';
import { isProtected } from '../freeze/break-glass.ts';
import { cronFor, occurrenceView } from '../freeze/windows.ts';
import { activeWith, upcomingWith } from '../freeze/occurrences.ts';
import { approvalDeadline } from './terms/deadlines.ts';
import { countable, subjectLabel } from './aggregate.ts';
import { waveSize } from './terms/stored-plan.ts';

/** How a promotion can end (CANCELLED is left out: nothing was tried). */
const ENDED = new Set<Promotion['status']>(['COMPLETED', 'FAILED', 'ROLLED_BACK', 'REJECTED', 'EXPIRED']);

/** Why it ended as it did, in one line (null when it completed). */
export function outcomeReason(p: Promotion): string | null {
  if (p.status === 'COMPLETED') return null;
  if (p.status === 'ROLLED_BACK') return p.monitorAlarm ? `rolled back: alarm ${p.monitorAlarm.name} (${p.monitorAlarm.reason})` : 'rolled back';
  if (p.status === 'REJECTED') return p.rejection ? `rejected by ${p.rejection.by}: ${p.rejection.reason}` : 'rejected';
  if (p.status === 'EXPIRED') return 'the approval window closed';
  return p.error ? `${p.error.code}: ${p.error.message}` : p.monitorBlock ? `blocked by monitors: ${p.monitorBlock.reason}` : p.status.toLowerCase();
}

const MARK: Record<GateResult['verdict'], string> = { PASS: '✓', FAIL: '✗', WARN: '!', SKIPPED: '-' };

/** One character per built-in gate, in the fixed gate order (✓ pass, ✗ fail, ! warn, - off). */
export function gateMarks(gates: GateResult[] | null): string {
  if (!gates) return '';
  return GATE_ORDER.map((g) => MARK[gates.find((x) => x.gate === g)?.verdict ?? 'SKIPPED']).join('');
}

/** Why a promotion that is not done is not moving. */
export function blockedBecause(p: Promotion, now: Date, approvalsCounted = p.approvedBy.length): string {
  switch (p.status) {
    case 'PENDING':
      return 'waiting for validation (POST /validate)';
    case 'VALIDATING':
      return 'gates running';
    case 'VALIDATION_FAILED':
      // One sentence per failed gate, as everywhere else: "Security scan failed: no scan evidence was attached (…)".
      return gatesBlocking(p.gates) || p.error?.message || 'The gates failed';
    case 'AWAITING_APPROVAL': {
      const need = Math.max(0, p.policy.requiredApprovers - approvalsCounted);
      const deadline = approvalDeadline(p);
      const given = approvalsCounted ? `${approvalsCounted} of ${p.policy.requiredApprovers} approvals given; ` : '';
      return `${given}waiting for ${need}${approvalsCounted ? ' more' : ''} approval${need === 1 ? '' : 's'} from ${p.policy.approverGroups.join('/')}${deadline ? ` (expires ${utcTime(deadline, { date: true })})` : ''}`;
    }
    case 'APPROVED':
      return p.trigger === 'on_approval' ? 'starting execution' : 'approved; waiting for POST /execute';
    case 'SCHEDULED':
      // Queued behind another promotion executing into the environment (domain/promotion/run/queue.ts).
      if (heldByPromotion(p.heldBy)) return `${p.heldBy.reason}; it goes on when that one ends`;
      // Its release soaks in the source environment (domain/promotion/run/soak-hold.ts): it goes on by itself then.
      if (heldBySoak(p.heldBy)) return `${p.heldBy.reason}; it goes on by itself then`;
      // Outside the target's allowed hours (domain/promotion/run/hours-hold.ts): it goes on by itself at the next opening.
      if (heldByHours(p.heldBy)) return p.heldBy.reason;
      // Its change request is not approved, or its window not open (domain/promotion/run/change-hold.ts): looked at again by itself.
      if (heldByChange(p.heldBy)) return `${p.heldBy.reason}; it goes on by itself once the request is approved and its window open`;
      // Its CI gate's run is going (domain/promotion/run/ci-hold.ts): looked at again by itself, it goes on when the run succeeds.
      if (heldByCi(p.heldBy)) return `${p.heldBy.reason}; it goes on when the run succeeds (looked at again at ${utcTime(p.heldBy.until, { date: true })})`;
      return `scheduled for ${p.scheduledAt}${p.scheduledAt && new Date(p.scheduledAt) < now ? ' (due)' : ''}`;
    case 'EXECUTING': {
      // A rollout through targets says where it is: the wave, or why the next one does not start.
      const r = p.rollout;
      if (!r?.waves.length) return 'executing';
      const next = r.waves.find((w) => w.wave > r.wave)?.wave ?? r.wave;
      if (r.halted) return `rolling out, halted by ${r.halted.by} before wave ${next} of ${r.waves.length}: ${r.halted.reason}`;
      if (r.waiting) return `rolling out: ${r.waiting.reason}; opens ${utcTime(r.waiting.until, { date: true })}`;
      const now = r.waves.find((w) => w.wave === r.wave);
      if (!now) return `rolling out: ${r.waves.length} waves planned`;
      return `rolling out: wave ${now.wave} of ${r.waves.length} (${now.targets ? now.targets.join(', ') : `${waveSize(now)} targets`})`;
    }
    default:
      return p.status.toLowerCase();
  }
}

/** The line's status (CLI `status`): what each environment runs, who put it there, gate marks, and what is pending and why. */
export async function status(deps: Deps, ctx: Ctx, only?: string) {
  const { tenant } = ctx.principal;
  const line = lineOf(await deps.store.listEnvironments(tenant));
  if (only && !line.some((e) => e.name === only)) throw new EnvironmentNotFound(only);
  const now = deps.clock();
  const windows = await deps.store.listFreezeWindows(tenant);
  const cron = await cronFor(windows);
  const recentByTarget = new Map<string, Promotion[]>();
  const environments = await Promise.all(
    line
      .filter((e) => !only || e.name === only)
      .map(async (env) => {
        const [pointers, recent, snapshot] = await Promise.all([
          deps.store.listPointers(tenant, env.name),
          deps.store.listPromotions(tenant, { target: env.name }, 25),
          deps.store.getSnapshot(tenant, env.name, env.head.seq),
        ]);
        recentByTarget.set(env.name, recent.items);
        // The last one that went live (rolled back later or not); one rolled back while it baked never did.
        const last = recent.items.find((p) => p.status === 'COMPLETED' || (p.status === 'ROLLED_BACK' && p.transitions.some((t) => t.status === 'COMPLETED')));
        // The newest promotion here that ended, however it ended: a failure or a rollback shows at a glance.
        const ended = recent.items.find((p) => ENDED.has(p.status));
        return {
          name: env.name,
          displayName: env.displayName,
          position: env.position,
          artifacts: pointers.map((p) => ({
            artifact: p.name,
            version: p.version,
            tag: `${p.version}-${env.name}`,
            digest: p.digest,
            promotedAt: p.promotedAt,
            promotedBy: p.promotedBy,
            restored: p.restoredBy ?? null,
            ...(p.bundle ? { bundle: p.bundle } : {}),
          })),
          config: {
            snapshot: `${env.name}@${env.head.seq}`,
            digest: env.head.digest,
            items: env.itemCount,
            changedAt: snapshot?.createdAt ?? env.updatedAt,
            changedBy: snapshot?.createdBy ?? env.updatedBy,
            restored: snapshot?.restoredBy ?? null,
          },
          gates: { marks: gateMarks(last?.gates ?? null), legend: GATE_ORDER.join(','), promotionId: last?.id ?? null },
          lastPromotion: last
            ? { id: last.id, subject: subjectLabel(last.subject), completedAt: last.completedAt, requestedBy: last.requestedBy.name, status: last.status }
            : null,
          lastOutcome: ended
            ? {
                id: ended.id,
                subject: subjectLabel(ended.subject),
                status: ended.status,
                at: ended.completedAt ?? ended.updatedAt,
                requestedBy: ended.requestedBy.name,
                reason: outcomeReason(ended),
              }
            : null,
          autoPromotionPaused: env.autoPromotionPaused ?? false,
          protected: isProtected(env, line),
          /** the last admin override of a guard here (who, when, why, what) */
          lastBreakGlass: env.lastBreakGlass ?? null,
          /** how many targets it declares (only when it does: GET …/environments/{env}/targets shows where each is) */
          ...(env.targets?.length ? { targets: env.targets.length } : {}),
          /** the environments it comes after, when it names them (a branch or a join; the pipeline draws them side by side) */
          ...(env.after?.length ? { after: env.after, afterMode: env.afterMode ?? 'all' } : {}),
          ...(env.requireAttestationFrom?.length ? { requireAttestationFrom: env.requireAttestationFrom } : {}),
          /** freeze windows over it: the one open now, and the next to open */
          freeze: { current: occurrenceView(activeWith(cron, windows, env.name, now)), next: occurrenceView(upcomingWith(cron, windows, env.name, now)) },
        };
      }),
  );
  // In flight, plus recently blocked ones (the newest validation failures).
  const targets = line.filter((e) => !only || e.name === only).map((e) => e.name);
  const active = (await Promise.all(targets.map((t) => deps.store.activePromotions(tenant, t)))).flat();
  // A blocked promotion stops being news once a later one of the same release into the same target exists.
  const superseded = (p: Promotion) =>
    (recentByTarget.get(p.targetEnvironment) ?? []).some((q) => q.releaseDigest === p.releaseDigest && q.requestedAt > p.requestedAt);
  const failed = (await deps.store.listPromotions(tenant, { status: ['VALIDATION_FAILED'] }, 10)).items.filter(
    (p) => targets.includes(p.targetEnvironment) && now.getTime() - new Date(p.updatedAt).getTime() < 7 * 86_400_000 && !superseded(p),
  );
  // VALIDATION_FAILED is not final (validate again), so it can come from both lists: once each.
  const pending = [...new Map([...active, ...failed].map((p) => [p.id, p])).values()].sort((a, b) => (a.requestedAt < b.requestedAt ? 1 : -1));
  // Approvals given so far count toward the policy before the promotion is APPROVED (approvedBy is set then).
  const counted = new Map(
    await Promise.all(
      pending
        .filter((p) => p.status === 'AWAITING_APPROVAL')
        .map(async (p) => [p.id, countable(p, await deps.store.listApprovals(tenant, p.id)).length] as const),
    ),
  );
  return {
    environments,
    pending: pending.map((p) => ({
      id: p.id,
      subject: subjectLabel(p.subject),
      from: p.sourceEnvironment,
      to: p.targetEnvironment,
      status: p.status,
      requestedBy: p.requestedBy.name,
      requestedAt: p.requestedAt,
      why: blockedBecause(p, now, counted.get(p.id)),
      // Queued behind another promotion: which one (the console links it).
      ...(heldByPromotion(p.heldBy) && p.status === 'SCHEDULED' ? { behind: p.heldBy.promotion } : {}),
      // Change control: the change request's number, link and state (the console shows them on the pipeline).
      ...(p.changeRequest
        ? { changeRequest: { number: p.changeRequest.ref?.number ?? null, url: p.changeRequest.ref?.url ?? null, state: p.changeRequest.state } }
        : {}),
    })),
  };
}
