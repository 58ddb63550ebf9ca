import type { Promotion, RolloutTarget } from '../domain/kernel/promotion-model.ts';
import type { AuditEntry } from '../domain/kernel/model.ts';
import { TRANSITIONS, type Status } from '../domain/kernel/lifecycle.ts';
import { DynamoStore, documentClient } from '../functions/adapters/dynamo-store.ts';
import { LOCAL_REGION, localCredentials } from '../local/dynamodb.ts';
import { ChaosClient, usersOf } from './client.ts';
import { counter, vacuous, type Vacuous } from './exercised.ts';
import { checkEffects, type EffectInputs } from './effects/checks.ts';
import type { Effects } from './effects.ts';
import type { CheckContext, Count, Exercised, Observed, ObservedEnvironment, ObservedPromotion, ObservedTenant, Violation } from './types.ts';

/**
 * The invariant checker: reads what happened (the table, the audit and its verification, the bus, the
 * attestations, the client history) after the workload, once the stack is idle and faults are paused, and checks
 * the model, not the implementation. `observe` reads; `check` is pure over what was read (a unit test hands it
 * a history as data) and counts what each invariant examined (`checkCounted`: no invariant holds vacuously,
 * chaos/exercised.ts).
 */

export const INVARIANTS = [
  'final-state',
  'lifecycle',
  'live-value',
  'no-wave-after-stop',
  'rollback-scope',
  'approvals-once',
  'one-running',
  'audit-chain',
  'attestation',
  'analysis-verdict',
  'rollback-order',
  'soak-respected',
  'gate-verdict',
  'recurring-once',
  'fleet-confirmed',
] as const;
export type Invariant = (typeof INVARIANTS)[number];

const FINAL: readonly Status[] = ['COMPLETED', 'ROLLED_BACK', 'FAILED', 'REJECTED', 'CANCELLED', 'EXPIRED'];

export type { Observed, ObservedEnvironment, ObservedPromotion, ObservedTenant } from './types.ts';

export interface CheckOptions {
  /** how long after its request a promotion may take to end, beyond its approval window (ms; default 180 s) */
  boundMs?: number;
  /** environments whose live value is checked (default: every environment but the first of the line, dev) */
  liveEnvironments?: string[];
}

/** Reads everything the checks need from the stack (call it after the workload, faults paused, the stack idle). */
export async function observe(ctx: CheckContext): Promise<Observed> {
  const { stack } = ctx;
  const store = new DynamoStore(documentClient({ endpoint: stack.dynamo.endpoint, region: LOCAL_REGION, credentials: localCredentials }), stack.tableName);
  const client = new ChaosClient(stack.gateway.url);
  const tenants: ObservedTenant[] = [];
  for (const tenant of ctx.tenants) {
    const u = await usersOf(stack, tenant);
    const promotions: ObservedPromotion[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listPromotions(tenant, {}, 100, cursor);
      for (const p of page.items) {
        const [targets, approvals] = await Promise.all([store.listRolloutTargets(tenant, p.id), store.listApprovals(tenant, p.id)]);
        const a = FINAL.includes(p.status) ? await client.call(tenant, u.viewer, 'GET', `/api/v1/promotions/${p.id}/attestation`) : undefined;
        promotions.push({ promotion: p, targets, approvals, ...(a ? { attestation: { status: a.status, body: a.body } } : {}) });
      }
      cursor = page.nextCursor;
    } while (cursor);
    const audit: AuditEntry[] = [];
    let ac: string | undefined;
    do {
      const r = await client.call(tenant, u.admin, 'GET', `/api/v1/audit?limit=1000${ac ? `&cursor=${encodeURIComponent(ac)}` : ''}`);
      if (r.status !== 200) throw new Error(`audit of ${tenant}: ${r.status} ${JSON.stringify(r.body)}`);
      audit.push(...(r.body.items as AuditEntry[]));
      ac = r.body.nextCursor;
    } while (ac);
    const verify = (await client.call(tenant, u.admin, 'GET', '/api/v1/audit/verify')).body;
    const environments: ObservedEnvironment[] = [];
    const envs = (await client.call(tenant, u.viewer, 'GET', '/api/v1/environments')).body?.items ?? [];
    for (const e of envs as { name: string; snapshot: { seq: number; digest: string }; targets?: unknown[] }[]) {
      const t = await client.call(tenant, u.viewer, 'GET', `/api/v1/environments/${e.name}/targets`);
      const targets = ((t.body?.waves ?? []) as { targets: { name: string; implicit?: boolean; config: any }[] }[])
        .flatMap((w) => w.targets)
        .filter((x) => !x.implicit)
        .map((x) => ({ name: x.name, config: x.config }));
      environments.push({ name: e.name, snapshot: e.snapshot, targets });
    }
    tenants.push({ tenant, promotions, audit, verify, environments });
  }
  const events = stack.bus.published.map((e) => ({ type: e['detail-type'], detail: e.detail as Record<string, unknown> }));
  return { seed: ctx.seed, history: ctx.history, requested: ctx.promotions, tenants, events };
}

const ms = (iso: string | null | undefined) => (iso ? Date.parse(iso) : NaN);

/** When a promotion first reached a final status (a later rollback's mark does not move it). */
export const endedAt = (p: Promotion) => p.transitions.find((t) => FINAL.includes(t.status))?.at ?? null;
const enteredAt = (p: Promotion, s: Status) => p.transitions.find((t) => t.status === s)?.at ?? null;
/** A target the rollout changed (applied: it ran the release, whatever came after). */
const applied = (x: RolloutTarget) => Boolean(x.appliedAt) || ['CONFIRMING', 'BAKING', 'DONE', 'ROLLED_BACK'].includes(x.state);

/**
 * The checks, over what was read: every violation, each with its promotion's history (an excerpt). `count` is told
 * what each invariant examined (a promotion, a transition, an approval...), as it examines it.
 */
export function check(o: Observed, opts: CheckOptions = {}, count: Count = () => {}): Violation[] {
  const out: Violation[] = [];
  const bound = opts.boundMs ?? 180_000;
  const excerpt = (tenant: string, id: string, x?: ObservedPromotion, audit: AuditEntry[] = []) => {
    const p = x?.promotion;
    const client = o.history
      .filter((h) => h.tenant === tenant && h.promotionId === id)
      .map((h) => `${h.at} ${h.method} ${h.path} → ${h.status}${h.note ? ` (${h.note})` : ''}`);
    const server = (p?.transitions ?? []).map((t) => `${t.at} status ${t.status} by ${t.by}`);
    const trail = audit.filter((a) => a.entityId === id).map((a) => `${a.at} audit ${a.action}${a.reason ? `: ${a.reason}` : ''}`);
    const rollout = p?.rollout
      ? [
          `(now) rollout: wave ${p.rollout.wave}${p.rollout.halted ? `, halted by ${p.rollout.halted.by}` : ''}${p.rollout.stopping ? `, stopping since ${p.rollout.stopping.at}` : ''}${p.rollout.outcome ? `, outcome ${p.rollout.outcome}` : ''}; targets ${(x?.targets ?? []).map((g) => `${g.name}:${g.state}${g.appliedAt ? `@${g.appliedAt}` : ''}`).join(' ')}`,
        ]
      : [];
    return [...[...client, ...server, ...trail].sort().slice(-40), ...rollout];
  };
  for (const t of o.tenants) {
    const byId = new Map(t.promotions.map((x) => [x.promotion.id, x]));
    const add = (invariant: Invariant, promotionId: string, detail: string) =>
      out.push({ invariant, tenant: t.tenant, promotionId, detail, history: excerpt(t.tenant, promotionId, byId.get(promotionId), t.audit) });
    /** the completed rollbacks that undo `id` (a promotion's rollback, or an environment rollback replacing its deployment) */
    // A rollback that completed, even if a later rollback has put it back in turn (then it is ROLLED_BACK, and
    // its audit still says it completed).
    const completedIds = new Set(t.audit.filter((a) => a.action === 'promotion.complete' && a.entityId).map((a) => a.entityId as string));
    const rollbacksOf = (id: string) =>
      t.promotions.filter(
        (r) =>
          r.promotion.rollback &&
          (r.promotion.status === 'COMPLETED' || (r.promotion.status === 'ROLLED_BACK' && completedIds.has(r.promotion.id))) &&
          // A promotion's rollback (`of`) undoes that promotion alone; an environment's rollback (no `of`) undoes the
          // deployment it replaced, and so its promotion. A promotion rollback that replaced another's deployment
          // does not undo that one (last round's defect marked it ROLLED_BACK).
          (r.promotion.rollback.of === id || (!r.promotion.rollback.of && r.promotion.result?.replaced?.promotionId === id)),
      );
    /** the promotions whose audit says they put `id` back, as they are now (what a reader of the violation needs) */
    const markedBy = (id: string) => {
      const by = t.audit.filter((a) => a.entityId === id && a.action === 'promotion.rolled_back').map((a) => /rollback (\S+)/.exec(a.reason ?? '')?.[1]);
      const seen = by.flatMap((b) => (b ? [byId.get(b)?.promotion] : [])).filter((x): x is Promotion => Boolean(x));
      return seen.length
        ? ` (marked by ${seen.map((r) => `${r.id}: ${r.status}, rollback of ${r.rollback?.of ?? 'none'}, replaced ${r.result?.replaced?.promotionId ?? 'none'}`).join('; ')})`
        : by.length
          ? ` (marked by ${by.join(', ')}, which the tenant's promotions do not include)`
          : '';
    };
    const rolledBackByItself = (x: ObservedPromotion) =>
      x.promotion.rollout?.outcome === 'ROLLED_BACK' ||
      Boolean(x.promotion.monitorAlarm) ||
      x.targets.some((g) => g.state === 'ROLLED_BACK') ||
      t.audit.some((a) => a.entityId === x.promotion.id && a.action === 'promotion.rollback.auto');

    // ---- final-state: every promotion ends, within its deadline plus a bound.
    const requested = new Set(o.requested.filter((r) => r.tenant === t.tenant).map((r) => r.id));
    for (const id of requested) if (!byId.has(id)) add('final-state', id, 'requested (201) but not in the table');
    count('final-state', 'promotions', [...requested].filter((id) => !byId.has(id)).length);
    for (const x of t.promotions) {
      const p = x.promotion;
      count('final-state', 'promotions');
      if (!FINAL.includes(p.status)) {
        add('final-state', p.id, `still ${p.status}${p.rollout?.halted ? ' (halted)' : ''} after the workload ended and the stack went idle`);
        continue;
      }
      const end = endedAt(p);
      const allowed = bound + (p.policy?.approvalExpirySeconds ?? 0) * 1000 * (p.status === 'EXPIRED' ? 1 : 0);
      if (end && ms(end) - ms(p.requestedAt) > allowed)
        add('final-state', p.id, `ended ${p.status} ${Math.round((ms(end) - ms(p.requestedAt)) / 1000)} s after its request (bound ${allowed / 1000} s)`);
    }

    // ---- lifecycle: each status follows the one before it as domain/kernel/lifecycle.ts allows.
    for (const { promotion: p } of t.promotions) {
      for (let i = 1; i < p.transitions.length; i++) {
        count('lifecycle', 'transitions');
        const from = p.transitions[i - 1]!.status;
        const to = p.transitions[i]!.status;
        if (!TRANSITIONS[from]?.includes(to)) add('lifecycle', p.id, `${from} → ${to} at ${p.transitions[i]!.at} is not a transition of the lifecycle`);
      }
      const last = p.transitions.at(-1)?.status;
      if (last && last !== p.status) add('lifecycle', p.id, `its status is ${p.status} but its last transition says ${last}`);
    }

    // ---- live-value: what each environment and each target serves is what its latest promotion's end says.
    const live = opts.liveEnvironments;
    for (const env of t.environments) {
      if (live ? !live.includes(env.name) : env.name === 'dev') continue;
      const into = t.promotions.filter((x) => x.promotion.targetEnvironment === env.name && x.promotion.subject?.type === 'config');
      // The environment's head: the release of the last promotion that completed into it (a later rollback's mark keeps its place).
      const completed = into
        .filter((x) => enteredAt(x.promotion, 'COMPLETED') && x.promotion.result?.digest)
        .sort((a, b) => ms(enteredAt(a.promotion, 'COMPLETED')) - ms(enteredAt(b.promotion, 'COMPLETED')));
      const head = completed.at(-1);
      if (head && env.snapshot) count('live-value', 'environments');
      if (head && env.snapshot && head.promotion.result!.digest !== env.snapshot.digest)
        add(
          'live-value',
          head.promotion.id,
          `environment ${env.name} serves ${env.snapshot.digest} (seq ${env.snapshot.seq}) but its last completed promotion ${head.promotion.id} put ${head.promotion.result!.digest}`,
        );
      // Each target: the last promotion that changed it, by when it ended: COMPLETED → its release; otherwise what it ran before.
      for (const target of env.targets) {
        const changes = into
          .map((x) => ({ x, g: x.targets.find((g) => g.name === target.name) }))
          .filter((c): c is { x: ObservedPromotion; g: RolloutTarget } => Boolean(c.g && applied(c.g) && endedAt(c.x.promotion)))
          .sort((a, b) => ms(endedAt(a.x.promotion)) - ms(endedAt(b.x.promotion)));
        const last = changes.at(-1);
        if (!last) continue;
        count('live-value', 'targets');
        const p = last.x.promotion;
        const kept = enteredAt(p, 'COMPLETED') !== null;
        const want = kept ? p.result?.digest : last.g.before?.digest;
        const said = kept ? `it COMPLETED with ${want}` : `it ended ${p.status} and put back ${want ?? 'nothing'}`;
        if (want && target.config?.digest !== want)
          add('live-value', p.id, `target ${env.name}/${target.name} serves ${target.config?.digest} but its latest promotion ${p.id} says ${said}`);
        if (!want && !kept && p.result?.digest && target.config?.digest === p.result.digest)
          add('live-value', p.id, `target ${env.name}/${target.name} still serves ${p.result.digest} of ${p.id}, which ended ${p.status}`);
      }
    }

    // ---- no-wave-after-stop: once the rollout decided to stop, no wave starts and no target changes.
    // A target change is ordered against the stop by the promotion's version it was written against (its transaction
    // was conditioned on it), not by clocks: both read theirs before their writes land, so a change that committed first
    // may carry a later time than the stop (seed 20261127 at 20 %: applied at …32.067 on the version before a stop
    // decided at …32.039). Records of a release that wrote no versions are ordered by their times.
    for (const x of t.promotions) {
      const p = x.promotion;
      const stopEntry = t.audit.find((a) => a.entityId === p.id && (a.action === 'promotion.rollback.auto' || a.action === 'promotion.fail'));
      const stop = p.rollout?.stopping?.at ?? stopEntry?.at;
      if (!stop) continue;
      count('no-wave-after-stop', 'stopped rollouts');
      const stopVersion = p.rollout?.stopping?.version;
      const ordered = (g: RolloutTarget) => stopVersion !== undefined && g.appliedOn !== undefined;
      for (const g of x.targets) {
        if (!g.appliedAt) continue;
        if (ordered(g) ? g.appliedOn! >= stopVersion! : ms(g.appliedAt) > ms(stop))
          add(
            'no-wave-after-stop',
            p.id,
            ordered(g)
              ? `target ${g.name} (wave ${g.wave}) was applied on the promotion's version ${g.appliedOn}, which the stop decision (version ${stopVersion}, at ${stop}) had written already`
              : `target ${g.name} (wave ${g.wave}) was applied at ${g.appliedAt}, after the stop decision at ${stop}`,
          );
      }
      // A target's audited change is the target's: ordered above when the target says its version.
      const byVersion = new Set(x.targets.filter(ordered).map((g) => g.name));
      for (const a of t.audit) {
        if (a.entityId !== p.id || ms(a.at) <= ms(stop)) continue;
        if (a.action === 'promotion.target.apply' && byVersion.has((a.after ?? '').split(':')[0]!)) continue;
        if (a.action === 'promotion.wave.start' || a.action === 'promotion.target.apply')
          add('no-wave-after-stop', p.id, `audit ${a.action} (${a.reason ?? a.after}) at ${a.at}, after the stop decision at ${stop}`);
      }
    }

    // ---- analysis-verdict: a failed analysis stops the rollout (never COMPLETED), and a run is Failed only on a
    // failed measurement or a regression the comparison found (the verdict is what the metric said).
    for (const x of t.promotions) {
      const p = x.promotion;
      for (const g of x.targets)
        for (const run of g.analysis ?? []) {
          count('analysis-verdict', 'analysis runs');
          if (run.phase !== 'Failed') continue;
          count('analysis-verdict', 'failed runs');
          const what = `analysis '${run.template}' of ${g.name}`;
          if (enteredAt(p, 'COMPLETED')) add('analysis-verdict', p.id, `it COMPLETED though the ${what} failed${run.message ? ` (${run.message})` : ''}`);
          else if (FINAL.includes(p.status) && !['ROLLED_BACK', 'FAILED', 'CANCELLED'].includes(p.status))
            add('analysis-verdict', p.id, `it ended ${p.status} though the ${what} failed (a failed analysis rolls the rollout back)`);
          const failedMeasurements = (run.tally?.failed ?? 0) + run.measurements.filter((m) => m.phase === 'Failed').length;
          const regression = run.comparison?.verdict === 'regression' || run.comparison?.verdict === 'too-few-samples';
          if (!failedMeasurements && !regression)
            add('analysis-verdict', p.id, `the ${what} is Failed, but none of its measurements failed and no comparison found a regression`);
        }
    }

    // ---- rollback-order: a rollout that stops puts back only the targets it changed, newest wave first.
    for (const x of t.promotions) {
      const p = x.promotion;
      const back = x.targets.filter((g) => g.state === 'ROLLED_BACK');
      count('rollback-order', 'targets put back', back.length);
      for (const g of back) if (!g.appliedAt) add('rollback-order', p.id, `target ${g.name} (wave ${g.wave}) was put back, but the rollout never changed it`);
      for (const a of back)
        for (const b of back)
          if (a.wave > b.wave && a.rolledBackAt && b.rolledBackAt && ms(a.rolledBackAt) > ms(b.rolledBackAt))
            add('rollback-order', p.id, `${a.name} (wave ${a.wave}) was put back at ${a.rolledBackAt}, after ${b.name} (wave ${b.wave}) at ${b.rolledBackAt}`);
      for (const e of t.audit) {
        if (e.entityId !== p.id || (e.action !== 'promotion.rollback.auto' && e.action !== 'promotion.fail')) continue;
        const order = [...(/in reverse wave order: (.*)$/.exec(e.reason ?? '')?.[1] ?? '').matchAll(/(\S+) \(wave (\d+)\)/g)].map((m) => ({
          name: m[1]!,
          wave: Number(m[2]),
        }));
        if (order.length) count('rollback-order', 'orders in the audit');
        for (let i = 1; i < order.length; i++)
          if (order[i]!.wave > order[i - 1]!.wave)
            add(
              'rollback-order',
              p.id,
              `the audit says it put back ${order[i - 1]!.name} (wave ${order[i - 1]!.wave}) before ${order[i]!.name} (wave ${order[i]!.wave})`,
            );
      }
    }

    // ---- soak-respected: a promotion out of an environment with a soak starts executing only once its release has
    // been live there that long (from when the source's last completed promotion executed: the earliest it went live).
    for (const x of t.promotions) {
      const p = x.promotion;
      const exec = enteredAt(p, 'EXECUTING');
      if (!exec) continue;
      const asked = o.requested.find((r) => r.tenant === t.tenant && r.id === p.id)?.soakSeconds ?? 0;
      const hold = p.heldBy && 'soak' in p.heldBy ? p.heldBy : null;
      const seconds = Math.max(asked, hold?.soak.seconds ?? 0);
      if (!seconds) continue;
      count('soak-respected', 'soaks');
      if (hold?.soak.since && ms(exec) < ms(hold.soak.since) + seconds * 1000)
        add('soak-respected', p.id, `started executing at ${exec}, before its soak of ${seconds} s in ${hold.soak.environment} from ${hold.soak.since} ended`);
      const landed = t.promotions
        .map((s) => s.promotion)
        .filter((s) => s.targetEnvironment === p.sourceEnvironment && enteredAt(s, 'COMPLETED') && ms(enteredAt(s, 'COMPLETED')) <= ms(p.requestedAt))
        .map((s) => enteredAt(s, 'EXECUTING'))
        .filter((a): a is string => Boolean(a))
        .sort((a, b) => ms(a) - ms(b))
        .at(-1);
      if (landed && ms(exec) < ms(landed) + seconds * 1000)
        add(
          'soak-respected',
          p.id,
          `started executing at ${exec}, ${((ms(exec) - ms(landed)) / 1000).toFixed(1)} s after its release went live in ${p.sourceEnvironment} (at ${landed} at the earliest); the soak is ${seconds} s`,
        );
    }

    // ---- gate-verdict: a promotion whose blocking gate failed never executes (what the gate said is what it did).
    for (const x of t.promotions) {
      const p = x.promotion;
      const exec = enteredAt(p, 'EXECUTING');
      count('gate-verdict', 'gate verdicts', (p.gates ?? []).length);
      for (const g of p.gates ?? [])
        if (g.blocking && g.verdict === 'FAIL' && exec)
          add('gate-verdict', p.id, `its gate ${g.gate} says FAIL (${g.reason}), yet it started executing at ${exec}`);
    }

    // ---- fleet-confirmed: a fleet target is confirmed only when its fleet took the release; a promotion whose
    // fleet never could (fewer instances read than confirming needs) does not complete.
    for (const x of t.promotions) {
      const p = x.promotion;
      for (const g of x.targets) {
        const f = g.confirm?.mode === 'fleet' ? g.confirm.fleet : undefined;
        if (g.confirm?.mode === 'fleet') count('fleet-confirmed', 'fleet targets');
        if (f && g.confirm?.at && ['BAKING', 'DONE'].includes(g.state) && f.share < f.minShare)
          add(
            'fleet-confirmed',
            p.id,
            `target ${g.name} was confirmed by its fleet with ${f.took}/${f.seen} instances (${Math.round(f.share * 100)} %); it needs ${Math.round(f.minShare * 100)} %`,
          );
      }
      const asked = o.requested.find((r) => r.tenant === t.tenant && r.id === p.id)?.fleet;
      if (asked) count('fleet-confirmed', 'fleets asked');
      if (asked && asked.readers < asked.minInstances && enteredAt(p, 'COMPLETED'))
        add(
          'fleet-confirmed',
          p.id,
          `it COMPLETED, but only ${asked.readers} instance${asked.readers === 1 ? '' : 's'} of its fleet target read anything; confirming needs ${asked.minInstances}`,
        );
    }

    // ---- recurring-once: a calendar requests one promotion per occurrence at most, however often the scheduler
    // delivers it (at least once): the promotions the table says it requested against the occurrences fired.
    const byCalendar = new Map<string, Promotion[]>();
    for (const { promotion: p } of t.promotions) {
      const name = /^recurring:(.+)$/.exec(p.requestedBy?.id ?? '')?.[1];
      if (name) byCalendar.set(name, [...(byCalendar.get(name) ?? []), p]);
    }
    for (const [name, ps] of byCalendar) {
      count('recurring-once', 'calendars');
      const fired = Math.max(1, ...o.requested.filter((r) => r.tenant === t.tenant && r.recurring?.name === name).map((r) => r.recurring!.occurrences));
      if (ps.length > fired) {
        const sorted = [...ps].sort((a, b) => ms(a.requestedAt) - ms(b.requestedAt));
        add(
          'recurring-once',
          sorted[fired]!.id,
          `recurring promotion '${name}' requested ${ps.length} promotions (${sorted.map((p) => p.id).join(', ')}) for ${fired} occurrence${fired === 1 ? '' : 's'}`,
        );
      }
    }

    // ---- rollback-scope: a rollback marks only the promotion it rolls back.
    for (const x of t.promotions) {
      const p = x.promotion;
      if (p.status === 'ROLLED_BACK') count('rollback-scope', 'marked ROLLED_BACK');
      if (p.rollback && enteredAt(p, 'COMPLETED')) count('rollback-scope', 'rollbacks completed');
      if (p.status === 'ROLLED_BACK' && !rolledBackByItself(x) && !rollbacksOf(p.id).length)
        add('rollback-scope', p.id, `marked ROLLED_BACK, but no rollback of it completed and its own rollout did not roll back${markedBy(p.id)}`);
      if (p.rollback?.of && p.status === 'COMPLETED') {
        const of = byId.get(p.rollback.of)?.promotion;
        if (of && of.status !== 'ROLLED_BACK') add('rollback-scope', p.rollback.of, `rollback ${p.id} of it completed but it is ${of.status}`);
      }
    }

    // ---- approvals-once: each approver counted once, only for the digest approved, and only while it waited.
    for (const x of t.promotions) {
      const p = x.promotion;
      const seen = new Map<string, number>();
      count('approvals-once', 'approvals', x.approvals.length);
      for (const a of x.approvals) seen.set(a.by, (seen.get(a.by) ?? 0) + 1);
      for (const [by, n] of seen) if (n > 1) add('approvals-once', p.id, `${by} has ${n} approvals of it`);
      const counted = new Set(x.approvals.filter((a) => a.digest === p.releaseDigest).map((a) => a.name));
      if (new Set(p.approvedBy).size !== p.approvedBy.length) add('approvals-once', p.id, `approvedBy names someone twice: ${p.approvedBy.join(', ')}`);
      for (const name of p.approvedBy)
        if (!counted.has(name)) add('approvals-once', p.id, `approvedBy counts ${name}, who has no approval of ${p.releaseDigest}`);
      const approvedAt = enteredAt(p, 'APPROVED');
      if (approvedAt && p.policy?.requiresApproval && counted.size < p.policy.requiredApprovers)
        add('approvals-once', p.id, `APPROVED with ${counted.size} approval(s) of its digest; the policy needs ${p.policy.requiredApprovers}`);
      const entries = t.audit.filter((a) => a.entityId === p.id && a.action === 'promotion.approve');
      const perActor = new Map<string, number>();
      for (const a of entries) perActor.set(a.actor, (perActor.get(a.actor) ?? 0) + 1);
      for (const [actor, n] of perActor) if (n > 1) add('approvals-once', p.id, `the audit records ${n} approvals by ${actor}`);
      for (const a of entries)
        if (a.after && a.after !== p.releaseDigest) add('approvals-once', p.id, `an approval of ${a.after}, not its release ${p.releaseDigest}`);
      const closed = p.transitions.find((s) => s.status === 'REJECTED' || s.status === 'EXPIRED' || s.status === 'CANCELLED');
      for (const a of entries)
        if (closed && ms(a.at) > ms(closed.at)) add('approvals-once', p.id, `approved by ${a.actor} at ${a.at}, after it was ${closed.status} at ${closed.at}`);
      if (t.audit.filter((a) => a.entityId === p.id && a.action === 'promotion.approved').length > 1)
        add('approvals-once', p.id, `promotion.approved recorded more than once`);
    }

    // ---- one-running: no two promotions executing into one environment at once. One that failed in the write that
    // moved it to EXECUTING (no result, no rollout: the one-step execution failed before its transaction) changed nothing there.
    const runs = t.promotions
      .map(({ promotion: p }) => ({ p, from: enteredAt(p, 'EXECUTING'), to: endedAt(p) }))
      .filter((r) => r.from && (r.p.result || r.p.rollout || r.p.status !== 'FAILED'))
      .sort((a, b) => ms(a.from) - ms(b.from));
    count('one-running', 'executions', runs.length);
    for (let i = 0; i < runs.length; i++)
      for (let j = i + 1; j < runs.length; j++) {
        const a = runs[i]!;
        const b = runs[j]!;
        if (a.p.targetEnvironment !== b.p.targetEnvironment) continue;
        if (ms(b.from) < (a.to ? ms(a.to) : Infinity))
          add(
            'one-running',
            b.p.id,
            `started executing in ${b.p.targetEnvironment} at ${b.from} while ${a.p.id} executed there (${a.from} – ${a.to ?? 'not ended'})`,
          );
      }

    // ---- audit-chain: the chain verifies, and what the audit says happened did.
    if (!t.verify?.ok) add('audit-chain', '-', `the audit chain does not verify: ${JSON.stringify(t.verify).slice(0, 400)}`);
    count('audit-chain', 'chains verified');
    for (const a of t.audit) {
      if (a.entityType !== 'promotion') continue;
      count('audit-chain', 'audit entries');
      const x = byId.get(a.entityId);
      if (!x) {
        if (a.action.startsWith('promotion.') && a.action !== 'promotion.create')
          add('audit-chain', a.entityId, `audit ${a.action} of a promotion the table does not have`);
        continue;
      }
      const p = x.promotion;
      if (a.action === 'promotion.complete' && !enteredAt(p, 'COMPLETED'))
        add('audit-chain', p.id, `audit promotion.complete at ${a.at}, but it never COMPLETED (${p.status})`);
      if (a.action === 'promotion.rollback.auto' && p.status !== 'ROLLED_BACK')
        add('audit-chain', p.id, `audit promotion.rollback.auto at ${a.at}, but it is ${p.status}`);
      if (a.action === 'promotion.reject' && p.status !== 'REJECTED') add('audit-chain', p.id, `audit promotion.reject at ${a.at}, but it is ${p.status}`);
      if (a.action === 'promotion.target.apply') {
        const name = (a.after ?? '').split(':')[0];
        const g = x.targets.find((g) => g.name === name);
        if (!g || !applied(g))
          add('audit-chain', p.id, `audit promotion.target.apply of ${name} at ${a.at}, but the rollout says ${g?.state ?? 'no such target'}`);
      }
      if (a.action === 'promotion.wave.start') {
        const wave = Number(/^wave (\d+)/.exec(a.reason ?? '')?.[1]);
        const inWave = x.targets.filter((g) => g.wave === wave);
        const stop =
          p.rollout?.stopping?.at ?? t.audit.find((e) => e.entityId === p.id && (e.action === 'promotion.rollback.auto' || e.action === 'promotion.fail'))?.at;
        const haltedAfter = t.audit.some((e) => e.entityId === p.id && e.action === 'promotion.halt' && ms(e.at) >= ms(a.at));
        if (inWave.length && !inWave.some(applied) && !(stop && ms(stop) >= ms(a.at)) && !haltedAfter && p.status !== 'CANCELLED')
          add(
            'audit-chain',
            p.id,
            `audit promotion.wave.start of wave ${wave} at ${a.at}, but no target of that wave was applied and the rollout did not stop after it`,
          );
      }
    }
    for (const x of t.promotions) {
      const n = t.audit.filter((a) => a.entityId === x.promotion.id && a.action === 'promotion.complete').length;
      if (n > 1) add('audit-chain', x.promotion.id, `promotion.complete recorded ${n} times`);
    }

    // ---- attestation: every attestation matches its promotion's end.
    for (const x of t.promotions) {
      const p = x.promotion;
      const a = x.attestation;
      if (!a) continue;
      count('attestation', 'attestations');
      if (a.status !== 200) {
        if (p.status === 'COMPLETED') add('attestation', p.id, `COMPLETED but its attestation answers ${a.status}: ${JSON.stringify(a.body).slice(0, 200)}`);
        continue;
      }
      const s = a.body?.statement?.predicate?.stageline ?? {};
      const marked = p.status === 'ROLLED_BACK' && enteredAt(p, 'COMPLETED') !== null;
      if (a.body?.verified !== true) add('attestation', p.id, 'its attestation does not verify');
      if (s.promotionId !== p.id || s.tenant !== t.tenant) add('attestation', p.id, `its attestation names ${s.tenant}/${s.promotionId}`);
      if (s.status !== p.status && !(marked && s.status === 'COMPLETED'))
        add('attestation', p.id, `its attestation says ${s.status}, the promotion is ${p.status}`);
      if (s.releaseDigest !== p.releaseDigest)
        add('attestation', p.id, `its attestation is about ${s.releaseDigest}, the promotion released ${p.releaseDigest}`);
      const passed = a.body?.statement?.predicate?.verificationResult;
      if ((s.status === 'COMPLETED') !== (passed === 'PASSED')) add('attestation', p.id, `its attestation says ${s.status} with verificationResult ${passed}`);
    }
  }
  return out;
}

/** `check`, and what each invariant examined (`count`, when given, is told too: the effect checks add theirs to it). */
export function checkCounted(o: Observed, opts: CheckOptions = {}, count?: Count): { violations: Violation[]; exercised: Exercised } {
  const mine = counter();
  const violations = check(o, opts, (invariant, measure, n = 1) => {
    mine.count(invariant, measure, n);
    count?.(invariant, measure, n);
  });
  return { violations, exercised: mine.exercised };
}

/**
 * The verdict over what was read, pure (a live run and `npm run chaos -- --check DIR` over a history on disk both
 * call it): the checker's checks, the effect checks over what the receivers held (none: a run without them), what
 * each invariant examined, and the invariants the run's promotions should have exercised that examined nothing.
 */
export function judge(
  observed: Observed,
  effects: EffectInputs | undefined,
  opts: CheckOptions = {},
): { violations: Violation[]; exercised: Exercised; vacuous: Vacuous[] } {
  const { count, exercised } = counter();
  const violations = check(observed, opts, count);
  // An effect no promotion can be named for (a tag move two promotions could have made) still counts: '(unknown)'.
  if (effects) violations.push(...checkEffects(effects, observed.history, count).map((v) => ({ ...v, promotionId: v.promotionId ?? '(unknown)' })));
  return { violations, exercised, vacuous: vacuous(observed, exercised, { effects: Boolean(effects) }) };
}

/** observe (and gather what the effect receivers hold, when the run has them), then judge. */
export async function checkAll(
  ctx: CheckContext,
  opts: CheckOptions & { effects?: Effects } = {},
): Promise<{ observed: Observed; effects?: EffectInputs; violations: Violation[]; exercised: Exercised; vacuous: Vacuous[] }> {
  const observed = await observe(ctx);
  const effects = opts.effects ? await opts.effects.gather(ctx) : undefined;
  return { observed, ...(effects ? { effects } : {}), ...judge(observed, effects, opts) };
}
