import { deploymentOp } from '../../artifacts/deployments.ts';
import { artifactSubject, configSubject } from '../../config/targets.ts';
import { firstOf, TARGETS_NAMED, targetsNamed } from '../../kernel/display.ts';
import type { TargetHead } from '../../kernel/model.ts';
import type { Promotion, RolloutTarget } from '../../kernel/promotion-model.ts';
import type { Deps, With, WriteOp } from '../../kernel/deps.ts';
import { retryOnConflict, WriteConflict } from '../../kernel/retry.ts';
import { ENGINE, moved } from '../aggregate.ts';
import { wakeQueued } from '../run/queue.ts';
import { revertTarget } from '../deliver/target-delivery.ts';
import { promotionEvent, writePromotion } from '../write.ts';
import { decideToStop } from './stop.ts';
import { doraOps } from '../run/end.ts';

/** The most targets one run of the fail step puts back (each its own transaction, and its git or registry call): well inside a Lambda's 15 minutes. */
export const ROLLBACK_BATCH = 200;

/**
 * How a rollout through targets ends when it goes wrong (a confirmation that did not come in time, a
 * monitor in ALARM while a wave bakes, any failed step): every target already changed is put back to
 * what it ran before, in reverse wave order, each in one transaction (its head, its item, its
 * deployment record); then the promotion ends ROLLED_BACK (FAILED when no target had changed) with
 * the targets named in its event (`promotion.rolled_back` to webhooks). Idempotent: a target already
 * put back is skipped, a finished promotion is left alone.
 *
 * In batches: one run puts back at most {@link ROLLBACK_BATCH} targets (newest wave first, and within a wave
 * the last target first) and answers `more` while changed targets remain, with the reason to carry to the next
 * run (the flow's MarkFailed runs again: statemachines/promotion.asl.json). The targets' own state is the
 * cursor: what is ROLLED_BACK is done, so a run that is repeated (a retry, a lost answer) puts nothing back twice.
 * The run that finds no more than a batch left puts those back and ends the promotion.
 */
export async function rollBackRollout(
  deps: With<'git' | 'registry' | 'scheduler' | 'workflow'>,
  p: Promotion,
  raw: string,
): Promise<{ more: boolean; reason: string }> {
  // The decision to stop first, on the promotion: a step that would start a wave or change a target and read the
  // promotion before this write loses its own (conditioned on the version it read), so every target changed is
  // one the list below names, and none changes after it.
  // (A later batch's promotion has decided already: the decision is written once.)
  if (!p.rollout?.stopping) await decideToStop(deps, p, stopReason(raw, await deps.store.listRolloutTargets(p.tenant, p.id)));
  const items = await deps.store.listRolloutTargets(p.tenant, p.id);
  const message = stopReason(raw, items);
  const changed = items.filter((t) => t.appliedAt && t.state !== 'ROLLED_BACK').sort(newestFirst);
  const more = changed.length > ROLLBACK_BATCH;
  const batch = changed.slice(0, ROLLBACK_BATCH);
  const now = deps.clock().toISOString();
  for (const t of batch) {
    // A target still measuring (or polled) when the rollout stopped may write its item once more in flight: on a lost
    // race the target is read again and put back from what it is now (one already put back is left as it is).
    let cur = t;
    await retryOnConflict(deps.tunables, async () => {
      try {
        await restoreTarget(deps, p, cur, now, message);
      } catch (err) {
        if (err instanceof WriteConflict) cur = (await deps.store.getRolloutTarget(p.tenant, p.id, t.name)) ?? cur;
        if (err instanceof WriteConflict && cur.state === 'ROLLED_BACK') return;
        throw err;
      }
    });
  }
  if (more) return { more, reason: message };
  // Every changed target is back (this run's and the earlier runs'), named newest wave first.
  const back = [...items.filter((t) => t.state === 'ROLLED_BACK'), ...changed].sort(newestFirst);
  const rolledBack = back.map((t) => t.name);
  const waves = [...new Set(back.map((t) => t.wave))];
  const outcome = rolledBack.length ? 'ROLLED_BACK' : 'FAILED';
  // Its config heads put back run the environment's head: the environment's item stops naming their targets (one write for all).
  const unlist = writesConfigHeads(p) && rolledBack.length ? [{ kind: 'ownHeadsBack' as const, environment: p.targetEnvironment, targets: rolledBack }] : [];
  // A few are named each with its wave; a fleet's are counted, the first few named (newest wave first, as put back).
  const named = back.slice(0, TARGETS_NAMED).map((t) => `${t.name} (wave ${t.wave})`);
  const why = !rolledBack.length
    ? `${message}; no target had changed`
    : back.length <= TARGETS_NAMED
      ? `${message}; targets rolled back in reverse wave order: ${named.join(', ')}`
      : `${message}; ${back.length} targets rolled back in reverse wave order: ${firstOf(named, back.length)}`;
  await writePromotion(deps, p.tenant, p.id, async (cur) => {
    if (cur.status !== 'EXECUTING') return null;
    const next = moved(cur, outcome, ENGINE, deps.clock(), {
      taskToken: null,
      error: { code: 'EXECUTION_FAILED', message: why.slice(0, 2000) },
      rollout: { ...cur.rollout!, waiting: null, outcome: 'ROLLED_BACK' },
    });
    // As a promotion rolled back after its bake (run/end.ts): a failed change of the environment, and a rollback of it.
    const failure: WriteOp = {
      kind: 'metrics',
      delta: {
        environment: cur.targetEnvironment,
        day: now.slice(0, 10),
        add: { failed: 1, deployments: 1, changeFailed: 1, ...(outcome === 'ROLLED_BACK' ? { rolledBack: 1 } : {}) },
      },
    };
    const dora = await doraOps(deps, cur, outcome, [failure]);
    const ops: WriteOp[] = [
      ...unlist,
      promotionEvent(deps, outcome === 'ROLLED_BACK' ? 'Promotion Rolled Back' : 'Promotion Failed', next, {
        reason: why.slice(0, 1000),
        targets: rolledBack,
        ...(waves.length ? { waves } : {}),
        // the wave it failed in (the one running or last started)
        wave: cur.rollout?.wave || undefined,
        dora: dora.detail,
      }),
      failure,
      ...dora.ops,
    ];
    return { next, action: outcome === 'ROLLED_BACK' ? 'promotion.rollback.auto' : 'promotion.fail', by: ENGINE, ops, reason: why.slice(0, 1000) };
  });
  await deps.store.releaseLock(p.tenant, p.targetEnvironment, p.id);
  await wakeQueued(deps, p.tenant, p.targetEnvironment);
  return { more: false, reason: message };
}

/** The order targets are put back in: newest wave first, and within a wave in reverse order of their names. */
const newestFirst = (a: RolloutTarget, b: RolloutTarget) => b.wave - a.wave || b.name.localeCompare(a.name);

/** Whether a promotion's rollout writes config heads (a config release, or a bundle with a configuration). */
const writesConfigHeads = (p: Promotion) => p.subject.type === 'config' || (p.subject.type === 'bundle' && !!p.subject.config);

/**
 * One target back to what it ran before: its deliveries (its git file, its registry tag: each says what was done or
 * why not, never throwing), then in one transaction its head (the environment's again), its item ROLLED_BACK and its
 * deployment record ROLLED_BACK.
 */
async function restoreTarget(deps: With<'git' | 'registry'>, p: Promotion, t: RolloutTarget, now: string, message: string): Promise<void> {
  const subject = p.subject.type === 'config' ? configSubject : p.subject.type === 'bundle' ? null : artifactSubject(p.subject.name);
  const head = subject ? await deps.store.getTargetHead(p.tenant, p.targetEnvironment, t.name, subject) : null;
  const reverted = await revertTarget(deps, p, t, message.slice(0, 500));
  const ops: WriteOp[] = [
    {
      kind: 'rolloutTarget',
      target: {
        ...t,
        ...reverted,
        state: 'ROLLED_BACK',
        rolledBackAt: now,
        taskToken: null,
        error: t.error ?? (t.state === 'CONFIRMING' ? notConfirmed(t) : `the rollout stopped: ${message}`.slice(0, 500)),
        version: t.version + 1,
        updatedAt: now,
      },
      expectedVersion: t.version,
    },
  ];
  if (head && head.promotionId === p.id) {
    // What it ran before: for a config, the environment's head (which a rollout never moves before it completes);
    // for an artifact, the version recorded when it was changed.
    const env = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
    const back: TargetHead =
      p.subject.type === 'config'
        ? { ...head, snapshot: env ? env.head : head.snapshot, promotionId: `rollback:${p.id}`, updatedAt: now, version: head.version + 1 }
        : {
            ...head,
            artifact: t.before?.version ? { name: p.subject.name, version: t.before.version, digest: t.before.digest ?? '' } : undefined,
            base: t.before?.version ? head.base : -1,
            promotionId: `rollback:${p.id}`,
            updatedAt: now,
            version: head.version + 1,
          };
    // A config head put back runs the environment's head: the rollout's end unlists it (rollBackRollout), once for all its targets.
    ops.push({ kind: 'targetHead', head: back, expectedVersion: head.version, ...(p.subject.type === 'config' ? { putBack: true as const } : {}) });
  }
  if (p.subject.type === 'bundle') ops.push(...(await bundleHeadsBack(deps, p as Promotion & { subject: { type: 'bundle' } }, t, now)));
  if (t.deploymentId && t.appliedAt) {
    const dep = await deps.store.getDeployment(p.tenant, p.targetEnvironment, t.appliedAt, t.deploymentId);
    if (dep && dep.status !== 'ROLLED_BACK') ops.push(deploymentOp({ ...dep, status: 'ROLLED_BACK', completedAt: now }, dep.status, now));
  }
  await deps.store.commit(p.tenant, ops);
}

/** A bundle's heads on one target back together: each member to what it ran before (none: the environment's again), its configuration to the environment's head. */
async function bundleHeadsBack(deps: Deps, p: Promotion & { subject: { type: 'bundle' } }, t: RolloutTarget, now: string): Promise<WriteOp[]> {
  const ops: WriteOp[] = [];
  const back = (head: TargetHead, patch: Partial<TargetHead>): WriteOp => ({
    kind: 'targetHead',
    head: { ...head, ...patch, bundle: null, promotionId: `rollback:${p.id}`, updatedAt: now, version: head.version + 1 },
    expectedVersion: head.version,
    ...(head.subject === configSubject ? { putBack: true as const } : {}),
  });
  for (const m of t.members ?? []) {
    const head = await deps.store.getTargetHead(p.tenant, p.targetEnvironment, t.name, artifactSubject(m.name));
    if (head?.promotionId !== p.id) continue;
    ops.push(back(head, m.before ? { artifact: { name: m.name, ...m.before } } : { artifact: undefined, base: -1 }));
  }
  if (p.subject.config) {
    const head = await deps.store.getTargetHead(p.tenant, p.targetEnvironment, t.name, configSubject);
    const env = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
    if (head?.promotionId === p.id) ops.push(back(head, { snapshot: env ? env.head : head.snapshot }));
  }
  return ops;
}

const NOT_CONFIRMED = new Map([
  ['health', ' (its health URL never answered as expected)'],
  ['callback', ' (no confirmation came)'],
  ['argocd', ' (its Argo CD application was never Synced at the delivered commit and Healthy)'],
  ['flux', ' (its Flux Kustomization was never Ready at the delivered commit)'],
]);
/** Why a target waiting for its confirmation was put back: its deadline passed without one (a fleet says how far it got). */
const notConfirmed = (t: RolloutTarget) =>
  `not confirmed by ${t.confirm?.deadline ?? 'its deadline'}${
    t.confirm?.mode === 'fleet'
      ? ` (its fleet did not converge${t.confirm.detail ? `: ${t.confirm.detail}` : ''})`
      : (NOT_CONFIRMED.get(t.confirm?.mode ?? '') ?? '')
  }`;

/**
 * The reason a rollout stopped, as a sentence: the flow's own error names (States.Timeout when a
 * confirmation's wait ran out, States.Runtime, …) are no reason a person can act on, so they are told
 * by what the targets show (the one whose confirmation did not come, and by when).
 */
export function stopReason(raw: string, items: RolloutTarget[]): string {
  if (!/^States\.[A-Za-z]+$/.test(raw.trim())) return raw;
  const waiting = items.filter((t) => t.state === 'CONFIRMING');
  if (/Timeout$/.test(raw.trim()))
    return !waiting.length
      ? 'a step of the rollout did not finish in time'
      : waiting.length <= TARGETS_NAMED
        ? waiting.map((t) => `${t.name} was ${notConfirmed(t)}`).join('; ')
        : `${targetsNamed(waiting)} were not confirmed in time; ${waiting[0]!.name} was ${notConfirmed(waiting[0]!)}`;
  return 'the rollout could not go on (the flow stopped on an internal error; see the execution history)';
}
