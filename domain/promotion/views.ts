import type { Approval } from '../kernel/promotion-model.ts';
import type { FreezeWindow } from '../freeze/model.ts';
import { digestOf } from '../kernel/canonical.ts';
import { rolloutView } from './terms/rollout-view.ts';
import { activeWindowOf, occurrenceView, upcomingWindowOf } from '../freeze/windows.ts';
import { ValidationFailed } from '../kernel/errors.ts';
import type { Ctx, Deps } from '../kernel/deps.ts';
import { countable, forCurrentRelease } from './aggregate.ts';
import { revoked, standing } from './terms/standing.ts';
import { readEvidence, type PromotionEvidence } from './terms/evidence.ts';
import { approvalDeadline } from './terms/deadlines.ts';
import { heldByChange, heldByHours, heldByPromotion, heldBySoak, type Promotion, type RolloutTarget } from '../kernel/promotion-model.ts';
import { changeRequestView } from '../change/rule.ts';
import { ciRunView } from './run/ci-run.ts';
import { isTerminal } from '../kernel/lifecycle.ts';
import { contentChoosers, evidenceAccepted } from './terms/policy.ts';
import type { ListPromotionsQuery } from '../kernel/promotion-schemas.ts';
import { loadPromotion } from './write.ts';
import { bundleChanges, bundleConfigSubject, configChanges, type ConfigChange } from './terms/release.ts';
import { EMPTY_REF, memoSource } from '../config/tree.ts';

/**
 * Reads of promotions: one, a page, the view the API answers with, the detail an approver needs
 * and the decision record. Nothing here writes (write.ts and the use cases do).
 */

export async function getPromotion(deps: Deps, ctx: Ctx, id: string): Promise<Promotion> {
  return loadPromotion(deps, ctx.principal.tenant, id);
}

export async function listPromotions(deps: Deps, ctx: Ctx, q: ListPromotionsQuery, onlyConfig = false) {
  if (onlyConfig && q.subject !== undefined && q.subject !== 'config') {
    throw new ValidationFailed([
      { path: 'query.subject', message: `this route lists config promotions only; list '${q.subject}' on /api/v1/promotions?subject=…` },
    ]);
  }
  return deps.store.listPromotions(
    ctx.principal.tenant,
    { status: q.status, source: q.source, target: q.target, subject: onlyConfig ? 'config' : q.subject },
    q.limit,
    q.cursor,
  );
}

export function promotionView(p: Promotion) {
  return {
    id: p.id,
    status: p.status,
    // A rollout's wave task (halted, or waiting for a start window) is no go signal: its rollout says what it waits for.
    waitingFor: p.taskToken
      ? p.status === 'AWAITING_APPROVAL'
        ? ('approval' as const)
        : p.pullRequest?.state === 'open'
          ? ('merge' as const)
          : p.status !== 'EXECUTING'
            ? ('execution' as const)
            : null
      : null,
    sourceEnvironment: p.sourceEnvironment,
    targetEnvironment: p.targetEnvironment,
    subject: p.subject,
    releaseDigest: p.releaseDigest,
    notes: p.notes,
    requestedBy: p.requestedBy,
    requestedAt: p.requestedAt,
    /** who rebased it onto its current release (chose its content; cannot approve under separation of duties) */
    rebasedBy: p.rebasedBy ?? null,
    trigger: p.trigger,
    scheduledAt: p.scheduledAt,
    whenFrozen: p.whenFrozen ?? 'fail',
    /** held by a freeze window until it ends, queued behind another promotion executing into the environment, or soaking in the source */
    heldBy: p.heldBy ?? null,
    /** change control: the change request it is bound to (number, link, state) */
    changeRequest: changeRequestView(p.changeRequest),
    /** the CI gate's run: its page, its state as last read, how it ended */
    ciRun: ciRunView(p.ciRun),
    /** an admin's break-glass past freeze windows */
    freezeOverride: p.freezeOverride ?? null,
    monitorAlarm: p.monitorAlarm ?? null,
    monitorBlock: p.monitorBlock ?? null,
    policy: p.policy,
    policyDigest: p.policyDigest,
    gates: p.gates,
    approvedBy: p.approvedBy,
    rejection: p.rejection,
    result: p.result,
    /** pull-request delivery: the pull request (merge request), its checks and merge state, as last read from the host */
    pullRequest: p.pullRequest ?? null,
    error: p.error,
    autoPromoted: p.autoPromoted,
    changeSummary: p.changeSummary ?? null,
    sourceDeploymentId: p.sourceDeploymentId ?? null,
    targetGateway: p.targetGateway ?? null,
    rollback: p.rollback ?? null,
    version: p.version,
    updatedAt: p.updatedAt,
    completedAt: p.completedAt,
    transitions: p.transitions,
  };
}

/**
 * The promotion as an approver needs to see it: the view plus the approvals so far (who, when,
 * comment, whether it counts), how many are still needed, who may give them, and until when.
 */
export async function promotionDetail(deps: Deps, p: Promotion) {
  const approvals = await deps.store.listApprovals(p.tenant, p.id);
  const stand = await standing(deps, p.tenant, approvals, null);
  const counted = new Set(countable(p, stand).map((a) => a.by));
  const voided = revoked(stand);
  const deadline = approvalDeadline(p);
  const rollout = p.rollout ? await rolloutView(deps, p) : null;
  return {
    ...promotionView(p),
    // A rollout through the environment's targets: each wave, each target's state, confirmation, bake window and alarm.
    ...(rollout ? { rollout } : {}),
    approvals: {
      given: approvals
        .sort((a, b) => (a.at < b.at ? -1 : 1))
        .map((a) => ({
          by: a.name,
          at: a.at,
          comment: a.comment ?? null,
          counts: counted.has(a.by),
          ...(counted.has(a.by)
            ? {}
            : {
                why: voided(a)
                  ? "the approver's access was taken away after they approved (removed, deactivated or deleted by SCIM, a role taken away)"
                  : a.digest !== p.releaseDigest
                    ? 'given for an earlier release'
                    : 'whoever requested or rebased it cannot approve (separation of duties)',
              }),
        })),
      required: p.policy.requiredApprovers,
      remaining: Math.max(0, p.policy.requiredApprovers - counted.size),
      approverGroups: p.policy.approverGroups,
      separationOfDuties: p.policy.separationOfDuties,
      expiresAt: deadline ? deadline.toISOString() : null,
    },
    // Each notification delivery: where, whether it left, and why not.
    notifications: (await deps.store.listDeliveries(p.tenant, p.id)).map((n) => ({
      channel: n.channel,
      target: n.target,
      kind: n.kind,
      status: n.status,
      at: n.at,
      ...(n.error ? { error: n.error } : {}),
    })),
  };
}

/** One changed key of a promotion, as people read it: values shown as JSON (cut at 500 characters), secrets masked. */
export interface ChangeRow {
  key: string;
  kind: 'config' | 'flag';
  change: 'added' | 'modified' | 'removed';
  before?: string;
  after?: string;
}

const SECRETISH = /(secret|password|passwd|token|api[_-]?key|private|credential)/i;
const shown = (key: string, v: unknown) => (v === undefined ? undefined : SECRETISH.test(key) ? '•••••• (masked)' : JSON.stringify(v).slice(0, 500));
const rowOf = (c: ConfigChange): ChangeRow => ({
  key: c.key,
  kind: c.kind,
  change: c.entry === null ? 'removed' : c.from === undefined ? 'added' : 'modified',
  ...(c.from === undefined ? {} : { before: shown(c.key, c.from) }),
  ...(c.entry === null ? {} : { after: shown(c.key, c.entry.v) }),
});
/** At most this many rows of a diff are shown (the count says how many there are). */
export const CHANGE_ROWS = 200;

/**
 * What a promotion moves, for people (the review page, the console, the CLI and Slack read this one
 * answer): a config promotion's key-by-key diff of the target before it against the source snapshot
 * it carries (before execution: the target's head now; after: the head it replaced), an artifact
 * promotion's version and digest before and after.
 */
/**
 * What a rollout that ended without a result (rolled back, failed) replaced: what the first target it changed ran
 * before it (null: nothing of the subject). Undefined when it has a result, is still going, or changed no target: then
 * the environment as it is now is what it would change.
 */
async function rolloutBefore(deps: Deps, p: Promotion): Promise<RolloutTarget['before'] | undefined> {
  if (p.result || !p.rollout || !isTerminal(p.status)) return undefined;
  const changed = (await deps.store.listRolloutTargets(p.tenant, p.id)).filter((t) => t.appliedAt).sort((a, b) => a.wave - b.wave);
  return changed.length ? changed[0]!.before : undefined;
}

export async function changesOf(deps: Deps, p: Promotion) {
  const was = await rolloutBefore(deps, p);
  if (p.subject.type === 'artifact') {
    const before = p.result
      ? { version: p.result.previous.version ?? null, digest: p.result.previous.digest }
      : was !== undefined
        ? { version: was?.version ?? null, digest: was?.digest ?? null }
        : await deps.store.getPointer(p.tenant, p.targetEnvironment, p.subject.name).then((c) => ({ version: c?.version ?? null, digest: c?.digest ?? null }));
    return {
      artifact: { name: p.subject.name, from: before.version, fromDigest: before.digest, to: p.subject.version, toDigest: p.subject.digest },
      changes: [] as ChangeRow[],
      total: 0,
      unchanged: null,
    };
  }
  if (p.subject.type === 'bundle') return bundleChangesOf(deps, p as Promotion & { subject: { type: 'bundle' } });
  const targetSeq = p.result?.previous.seq ?? was?.seq;
  const [target, source] = await Promise.all([
    targetSeq !== undefined
      ? deps.store.getSnapshot(p.tenant, p.targetEnvironment, targetSeq)
      : deps.store.getEnvironment(p.tenant, p.targetEnvironment).then((e) => (e ? { roots: e.head.roots } : null)),
    deps.store.getSnapshot(p.tenant, p.sourceEnvironment, p.subject.sourceSnapshot.seq),
  ]);
  if (!target || !source) return { artifact: null, changes: [] as ChangeRow[], total: 0, unchanged: null };
  const { changes, unchanged } = await configChanges(memoSource(deps.store.nodes(p.tenant)), target.roots, source.roots, p.subject);
  const rows = changes.slice(0, CHANGE_ROWS).map(rowOf);
  return { artifact: null, changes: rows, total: changes.length, unchanged };
}

/** A bundle's members before → after (after execution: what its result says each replaced), and its configuration part's rows. */
async function bundleChangesOf(deps: Deps, p: Promotion & { subject: { type: 'bundle' } }) {
  const b = p.subject;
  let rows: ChangeRow[] = [];
  let total = 0;
  let unchanged: number | null = null;
  const env = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
  let members;
  if (p.result) {
    const moved = new Map((p.result.members ?? []).map((m) => [m.name, m]));
    members = b.members.map((m) => {
      const r = moved.get(m.name);
      return r
        ? { name: m.name, from: r.previous.version ?? null, fromDigest: r.previous.digest, to: m.version, toDigest: m.digest, moves: true }
        : { name: m.name, from: m.version, fromDigest: m.digest, to: m.version, toDigest: m.digest, moves: false };
    });
  } else {
    const now = await bundleChanges(deps, p.tenant, { members: b.members }, p.targetEnvironment, env?.head.roots ?? { config: EMPTY_REF, flag: EMPTY_REF });
    members = now.members.map((m) => ({
      name: m.member.name,
      from: m.from?.version ?? null,
      fromDigest: m.from?.digest ?? null,
      to: m.member.version,
      toDigest: m.member.digest,
      moves: m.moves,
    }));
  }
  if (b.config) {
    const before =
      p.result?.previous.seq !== undefined ? (await deps.store.getSnapshot(p.tenant, p.targetEnvironment, p.result.previous.seq))?.roots : env?.head.roots;
    const snap = await deps.store.getSnapshot(p.tenant, b.config.environment, b.config.seq);
    if (before && snap) {
      const c = await configChanges(memoSource(deps.store.nodes(p.tenant)), before, snap.roots, bundleConfigSubject(b.config));
      rows = c.changes.slice(0, CHANGE_ROWS).map(rowOf);
      total = c.changes.length;
      unchanged = c.unchanged;
    }
  }
  return { artifact: null, bundle: { name: b.name, digest: b.digest, members }, changes: rows, total, unchanged };
}

/** GET /promotions/{id}/changes */
export async function promotionChanges(deps: Deps, ctx: Ctx, id: string) {
  const p = await loadPromotion(deps, ctx.principal.tenant, id);
  return {
    promotionId: p.id,
    subject: p.subject,
    sourceEnvironment: p.sourceEnvironment,
    targetEnvironment: p.targetEnvironment,
    ...(await changesOf(deps, p)),
  };
}
