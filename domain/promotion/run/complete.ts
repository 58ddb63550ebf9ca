import type { Deps, WriteOp, With } from '../../kernel/deps.ts';
import { memoSource } from '../../config/tree.ts';
import type { Deployment, Promotion, RolloutState } from '../../kernel/promotion-model.ts';
import { ENGINE, moved, patched, waitsToExecute } from '../aggregate.ts';
import { PromotionFailed, releaseOps } from '../deliver/target-change.ts';
import { loadPromotion, promotionEvent, writePromotion } from '../write.ts';
import { bundleChanges, configChanges } from '../terms/release.ts';
import type { Next } from '../terms/deadlines.ts';
import { leasedToAnother, wakeQueued } from './queue.ts';
import { finish, completionOps, doraOps } from './end.ts';

/**
 * How a promotion's flow completes: the one-step execution, a rollout's last wave, the post-condition check.
 */

/**
 * An artifact's or a bundle's execution before its status moves: its delivery (its pull request, registry copies, a
 * git commit, each tried again by the flow when its host fails for a moment) writes nothing until it is done, so each
 * try first says it is at work (`updatedAt`), and the sweep, which ends a promotion with no progress for a grace, takes
 * a slow flow for a live one. Seed 20261129 at 10 %: deliveries slower than the sweep's grace were cancelled as gone
 * while their flows still ran. The promotion as written, or `p` when nothing was (it no longer waits to execute, or its
 * last progress is recent).
 */
export async function markAtWork(deps: Deps, p: Promotion): Promise<Promotion> {
  const { after } = await writePromotion(
    deps,
    p.tenant,
    p.id,
    (cur) => {
      if (!waitsToExecute(cur)) return null;
      // Written only once half the grace has gone by: a try soon after the last progress has time enough, and costs nothing.
      const now = deps.clock();
      if (now.getTime() - Date.parse(cur.updatedAt) < (deps.tunables.sweepGraceSeconds * 1000) / 2) return null;
      return { next: patched(cur, now, {}), action: null, by: ENGINE };
    },
    { read: p },
  );
  return after ?? p;
}

/**
 * The one-step execution (no bake time); false when the promotion is already mid-way through the baked path, 'busy'
 * when another promotion executes into its environment (holds the lease: a rollout, a baking execution, a delivery).
 * It takes no lease: its transaction is conditioned on the lease being free (or its own), so it never changes an
 * environment another promotion is executing into. `read`: the promotion as the step read it just before; the first
 * attempt starts from it (a stale one loses the version condition and the next attempt reads again).
 */
export async function completeNow(deps: With<'git' | 'registry'>, tenant: string, id: string, read?: Promotion): Promise<boolean | 'busy'> {
  let putCurrent: Deployment | null = null;
  let origin: string | null = null;
  let busy = false;
  const { before } = await writePromotion(
    deps,
    tenant,
    id,
    async (cur, attempt) => {
      putCurrent = null;
      if (!waitsToExecute(cur)) return null;
      // A lost condition may be the lease, taken since by a promotion that executes there: look before trying again.
      busy = attempt > 1 && (await leasedToAnother(deps, cur, deps.clock()));
      if (busy) return null;
      const executing = moved(cur, 'EXECUTING', ENGINE, deps.clock(), { taskToken: null });
      const built = await releaseOps(deps, executing);
      const withResult: Promotion = { ...executing, result: built.result };
      const { ops, deployed, origin: first } = await completionOps(deps, withResult, 'COMPLETED', 'DEPLOYED', built.ops);
      origin = first;
      const next = moved(withResult, 'COMPLETED', ENGINE, deps.clock(), { error: null });
      const dora = await doraOps(deps, withResult, 'COMPLETED', ops);
      ops.push(...dora.ops, promotionEvent(deps, 'Promotion Completed', next, { dora: dora.detail }), {
        kind: 'leaseFree',
        env: cur.targetEnvironment,
        holder: cur.id,
        now: deps.clock(),
      });
      putCurrent = deployed;
      return { next, action: 'promotion.complete', by: ENGINE, ops };
    },
    { read },
  );
  if (busy) return 'busy';
  const handled = before.status !== 'EXECUTING';
  if (putCurrent) {
    await deps.store.putCurrent(tenant, putCurrent);
    // A config release keeps its first appearance along the line (as in finish below).
    if (origin) await deps.store.markFirstSeen(tenant, (putCurrent as Deployment).imageTag, origin);
  }
  return handled;
}

/**
 * A wave of a rollout is complete (every target of it confirmed and baked: the flow's map over its targets
 * ended, and the next WaveStart or RolloutComplete runs): the rollout records it in `completedWaves` and
 * `Promotion Wave Completed` (with the wave's targets) is written with that promotion write, once.
 * Nothing when the wave is unknown or was announced already.
 */
export function waveCompletion(deps: Deps, cur: Promotion, wave: number | undefined, next?: string): { rollout: RolloutState; ops: WriteOp[] } | null {
  const r = cur.rollout;
  const w = r?.waves.find((x) => x.wave === wave);
  if (!r || !w || r.completedWaves?.includes(w.wave)) return null;
  const rollout: RolloutState = { ...r, completedWaves: [...(r.completedWaves ?? []), w.wave] };
  // `next`: why the next wave does not start now (a halt, a start window), the event's reason.
  return { rollout, ops: [promotionEvent(deps, 'Promotion Wave Completed', { ...cur, rollout }, { wave: w.wave, targets: w.targets ?? [], reason: next })] };
}

/**
 * The end of a rollout through targets (every wave confirmed and baked): the environment's head moves to
 * the release in one transaction (as a one-step execution moves it: pointer or head, snapshot, deployment
 * record, tags, git target and registries for an artifact), the promotion COMPLETED naming its targets.
 */
export async function completeRollout(deps: With<'git' | 'registry' | 'scheduler' | 'workflow'>, tenant: string, id: string, targets: string[]): Promise<void> {
  let putCurrent: Deployment | null = null;
  const { before } = await writePromotion(deps, tenant, id, async (cur) => {
    putCurrent = null;
    if (cur.status !== 'EXECUTING' || !cur.rollout) return null;
    // The decision to stop (an alarm after the last bake, written since this step read the promotion) wins: the flow fails into MarkFailed.
    if (cur.rollout.stopping) throw new PromotionFailed(`the rollout stopped: ${cur.rollout.stopping.reason}`);
    const built = await releaseOps(deps, cur);
    const withResult: Promotion = { ...cur, result: built.result };
    const { ops, deployed } = await completionOps(deps, withResult, 'COMPLETED', 'DEPLOYED', built.ops);
    // The last wave is complete with the rollout (its event first, then the promotion's).
    const last = waveCompletion(deps, cur, cur.rollout.waves.at(-1)?.wave);
    const next = moved(withResult, 'COMPLETED', ENGINE, deps.clock(), {
      error: null,
      taskToken: null,
      rollout: { ...(last?.rollout ?? cur.rollout), waiting: null, outcome: 'COMPLETED' },
    });
    if (last) ops.push(...last.ops);
    const dora = await doraOps(deps, withResult, 'COMPLETED', ops);
    ops.push(...dora.ops, promotionEvent(deps, 'Promotion Completed', next, { targets, dora: dora.detail }));
    putCurrent = deployed;
    return { next, action: 'promotion.complete', by: ENGINE, ops, reason: `every target runs it: ${targets.join(', ')}`.slice(0, 1000) };
  });
  if (putCurrent) await deps.store.putCurrent(tenant, putCurrent);
  await deps.store.releaseLock(tenant, before.targetEnvironment, id);
  await wakeQueued(deps, tenant, before.targetEnvironment);
}

/** Why an executed promotion may not complete: a monitor of its environment went to ALARM while it baked (alarms.ts recorded it). */
export const alarmedBake = (p: Pick<Promotion, 'monitorAlarm'>): string | null =>
  p.monitorAlarm
    ? `post-deploy verification failed: monitor '${p.monitorAlarm.name}' went to ALARM at ${p.monitorAlarm.at}${p.monitorAlarm.reason ? ` (${p.monitorAlarm.reason})` : ''}`
    : null;

/**
 * Bake (a task-token wait, its timer the bake time): the token is kept on the promotion and nothing answers it but
 * whoever asks the flow to end the bake early (an alarm of a monitor, the sweep: a failure, into MarkFailed); its
 * timer's end goes on to Verify. Written conditioned on the promotion as read, so an alarm recorded before this write
 * makes it read again and refuse (the bake fails into MarkFailed now), and an alarm recorded after it finds the token.
 */
export async function bakeStep(deps: Deps, tenant: string, id: string, token: string): Promise<{ next: Next }> {
  await writePromotion(deps, tenant, id, (cur) => {
    if (cur.status !== 'EXECUTING' || !cur.result) throw new PromotionFailed(`the bake stopped: promotion is ${cur.status}`);
    const alarmed = alarmedBake(cur);
    if (alarmed) throw new PromotionFailed(alarmed);
    return cur.taskToken === token ? null : { next: { ...cur, taskToken: token }, action: null, by: ENGINE };
  });
  return { next: 'await-go' };
}

/** Post-condition: the target holds what was promoted. Then COMPLETED, deployment DEPLOYED, lock released. */
export async function verifyStep(deps: With<'registry' | 'scheduler' | 'workflow'>, tenant: string, id: string): Promise<{ next: Next }> {
  const p = await loadPromotion(deps, tenant, id);
  if (p.status !== 'EXECUTING') return { next: 'done' };
  if (!p.result) throw new PromotionFailed('nothing was executed');
  // A monitor went to ALARM while it baked: the flow ends it (MarkFailed puts the target back), whoever answered the bake.
  const alarmed = alarmedBake(p);
  if (alarmed) throw new PromotionFailed(alarmed);
  // Post-deploy checks: an alarm reported during the bake time fails the verification (and rolls back).
  const alarms = (await deps.store.listEvidence(tenant, [`promotion:${p.id}`])).filter((e) => e.type === 'alarm' && e.payload.state === 'ALARM');
  if (alarms.length) {
    throw new PromotionFailed(
      `post-deploy verification failed: alarm ${alarms.map((a) => `'${String(a.payload.name)}'${a.payload.reason ? ` (${String(a.payload.reason)})` : ''}`).join(', ')}`,
    );
  }
  if (p.subject.type === 'artifact') {
    const ptr = await deps.store.getPointer(tenant, p.targetEnvironment, p.subject.name);
    if (!ptr || ptr.digest !== p.subject.digest)
      throw new PromotionFailed(`'${p.targetEnvironment}' does not run ${p.subject.name}@${p.subject.version} after execution`);
  } else if (p.subject.type === 'bundle') {
    const env = await deps.store.getEnvironment(tenant, p.targetEnvironment);
    if (!env) throw new PromotionFailed(`'${p.targetEnvironment}' no longer exists`);
    const after = await bundleChanges(deps, tenant, p.subject, env.name, env.head.roots);
    const missing = after.members.filter((m) => m.moves).map((m) => `${m.member.name}@${m.member.version}`);
    if (after.config?.changes.length) missing.push(`${after.config.changes.length} configuration keys`);
    if (missing.length)
      throw new PromotionFailed(`'${p.targetEnvironment}' does not run all of bundle ${p.subject.name} after execution: ${missing.join(', ')}`);
  } else {
    const snap = await deps.store.getSnapshot(tenant, p.targetEnvironment, p.result.snapshotSeq!);
    const source = await deps.store.getSnapshot(tenant, p.sourceEnvironment, p.subject.sourceSnapshot.seq);
    if (!snap || !source) throw new PromotionFailed('snapshots missing after execution');
    const { changes } = await configChanges(memoSource(deps.store.nodes(tenant)), snap.roots, source.roots, p.subject);
    if (changes.length) throw new PromotionFailed(`${changes.length} keys differ from the source after execution`);
  }
  await finish(
    deps,
    p,
    'COMPLETED',
    'DEPLOYED',
    [],
    undefined,
    {},
    {
      refuse: (cur) => {
        const why = alarmedBake(cur);
        return why ? new PromotionFailed(why) : null;
      },
    },
  );
  return { next: 'done' };
}
