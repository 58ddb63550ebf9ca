import { targetsOf } from '../../config/targets.ts';
import { auditEntry } from '../../audit/audit.ts';
import { TargetNotFound, TransitionNotAllowed } from '../../kernel/errors.ts';
import { retryOnConflict } from '../../kernel/retry.ts';
import type { FleetConvergence, Promotion, RolloutTarget } from '../../kernel/promotion-model.ts';
import type { Ctx, With } from '../../kernel/deps.ts';
import { isPolled, type Target } from '../../kernel/target-schemas.ts';
import type { Environment } from '../../kernel/model.ts';
import { ENGINE } from '../aggregate.ts';
import { type Next } from '../terms/deadlines.ts';
import { PromotionFailed } from '../deliver/target-change.ts';
import { auditDraft, loadPromotion } from '../write.ts';
import { bakeWindow } from './bake.ts';
import { fleetConfirm } from './confirm-fleet.ts';
import { pollTarget, type PollDeps } from './confirm-modes.ts';
import { INLINE_PLAN_NAMES, planSize, planWaveOf } from '../terms/stored-plan.ts';

/**
 * A target is confirmed: by a person or a callback (confirmTarget), or by polling it (TargetHealth: its health URL,
 * its Argo CD application, its Flux Kustomization, its fleet of instances).
 */

/**
 * The deployer confirms a target (POST /promotions/{id}/targets/{target}/confirm): 404 for a promotion or
 * target that is not the rollout's, 409 when the target does not wait for a confirmation (not yet changed,
 * confirmed already, or past its deadline: then the flow rolls back).
 */
export async function confirmTarget(deps: With<'workflow'>, ctx: Ctx, id: string, name: string, note?: string): Promise<RolloutTarget> {
  // Read, decide and write again when the write lost a race (the flow's own audit or step on the same items): the
  // person's confirmation is not refused for a moment's contention; a real change (confirmed, past its deadline) is.
  const { next, token } = await retryOnConflict(deps.tunables, () => confirmOnce(deps, ctx, id, name, note));
  if (token) await deps.workflow.sendTaskSuccess(token, { target: name, confirmedBy: ctx.principal.name });
  return next;
}

async function confirmOnce(deps: With<'workflow'>, ctx: Ctx, id: string, name: string, note?: string): Promise<{ next: RolloutTarget; token: string | null }> {
  const { tenant } = ctx.principal;
  const p = await loadPromotion(deps, tenant, id);
  if (!p.rollout || (await planWaveOf(deps.store, p, name)) === undefined) {
    // The names it has, when they are few (a large plan's are paged: GET /promotions/{id}/rollout).
    const few = p.rollout && planSize(p.rollout.waves) <= INLINE_PLAN_NAMES ? p.rollout.waves.flatMap((w) => w.targets ?? []) : [];
    throw new TargetNotFound(p.targetEnvironment, name, few);
  }
  if (p.status !== 'EXECUTING') throw new TransitionNotAllowed(`Promotion ${id} is ${p.status}: there is nothing to confirm`);
  const item = await deps.store.getRolloutTarget(tenant, id, name);
  // A callback target waits on its task token (inline) or on its wave's confirm loop (a child wave: the marker, no token).
  if (!item || item.state !== 'CONFIRMING' || item.confirm?.mode !== 'callback' || (!item.taskToken && !item.confirm.byWave)) {
    throw new TransitionNotAllowed(
      item
        ? `Target '${name}' is ${item.state}${item.confirm?.at ? ` (confirmed ${item.confirm.at} by ${item.confirm.by})` : ''}: it does not wait for a confirmation`
        : `Target '${name}' has not been changed yet (its wave has not started): confirm it once it is`,
    );
  }
  const now = deps.clock();
  if (item.confirm.deadline && now.getTime() > new Date(item.confirm.deadline).getTime()) {
    throw new TransitionNotAllowed(`The confirmation of '${name}' was due by ${item.confirm.deadline}: too late, the rollout rolls back`);
  }
  const at = now.toISOString();
  const env = await deps.store.getEnvironment(tenant, p.targetEnvironment);
  const next: RolloutTarget = {
    ...item,
    state: 'BAKING',
    bake: bakeWindow(p, env, name, item.wave, now),
    confirm: { ...item.confirm, at, by: ctx.principal.name, ...(note ? { detail: note.slice(0, 500) } : {}) },
    taskToken: null,
    version: item.version + 1,
    updatedAt: at,
  };
  const audit = auditEntry(tenant, auditDraft(ctx, p, 'promotion.target.confirm', `${name}:CONFIRMING`, `${name}:BAKING`, note), now);
  await deps.store.commit(tenant, [
    { kind: 'rolloutTarget', target: next, expectedVersion: item.version },
    { kind: 'audit', entry: audit },
  ]);
  return { next, token: item.taskToken ?? null };
}

/**
 * TargetHealth (the polled confirmation modes: `health`, `argocd`, `flux`, `fleet`): one poll of the target through its
 * mode's function (confirm-modes.ts; a fleet is counted by confirm-fleet.ts). Confirmed moves the target on to its bake; otherwise before the deadline it throws
 * NotHealthy, which the flow catches into a wait of the target's interval and polls again; past the deadline the
 * target records what was last seen and the rollout fails (and rolls back).
 */
export async function targetHealthStep(deps: PollDeps, tenant: string, id: string, name: string): Promise<{ next: Next }> {
  const p = await loadPromotion(deps, tenant, id);
  if (p.status !== 'EXECUTING') throw new PromotionFailed(`the rollout stopped: promotion is ${p.status}`);
  // The decision to stop (an alarm, the sweep) is written: no poll goes on past it, the flow fails into MarkFailed.
  if (p.rollout?.stopping) throw new PromotionFailed(`the rollout stopped: ${p.rollout.stopping.reason}`);
  const [env, item] = await Promise.all([deps.store.getEnvironment(tenant, p.targetEnvironment), deps.store.getRolloutTarget(tenant, id, name)]);
  const target = env ? targetsOf(env).find((t) => t.name === name) : undefined;
  if (!item || !target || !isPolled(target.confirm)) throw new PromotionFailed(`target '${name}' is not confirmed by polling`);
  if (item.state !== 'CONFIRMING') return { next: 'execute' };
  const pending = await pollOnce(deps, p, env!, target, item);
  if (pending === null) return { next: 'execute' };
  throw new NotHealthy(`target '${name}' is not confirmed yet (${pending})`);
}

/**
 * One poll of a CONFIRMING target (the inline TargetHealth's and a child wave's WaveConfirm's): confirmed, it moves on to
 * its bake (null); not yet, what was seen (a fleet's changed convergence written); past its deadline, what was last
 * seen stays on the target and the rollout fails (PromotionFailed).
 */
export async function pollOnce(deps: PollDeps, p: Promotion, env: Environment, target: Target, item: RolloutTarget): Promise<string | null> {
  const { tenant } = p;
  const name = item.name;
  if (!isPolled(target.confirm)) throw new PromotionFailed(`target '${name}' is not confirmed by polling`);
  const now = deps.clock();
  const at = now.toISOString();
  const c = target.confirm;
  const got: { confirmed: boolean; detail: string; late?: string; fleet?: FleetConvergence } =
    c.mode === 'fleet' ? await fleetConfirm(deps, p, env, name, c, item, now) : await pollTarget(deps, p, c, item);
  const fleet = got.fleet ? { fleet: got.fleet } : {};
  if (got.confirmed) {
    await deps.store.commit(tenant, [
      {
        kind: 'rolloutTarget',
        target: {
          ...item,
          state: 'BAKING',
          bake: bakeWindow(p, env, name, item.wave, now),
          confirm: { ...item.confirm!, at, by: ENGINE.name, detail: got.detail.slice(0, 500), ...fleet },
          version: item.version + 1,
          updatedAt: at,
        },
        expectedVersion: item.version,
      },
    ]);
    return null;
  }
  if (item.confirm?.deadline && now.getTime() >= new Date(item.confirm.deadline).getTime()) {
    // What was last seen stays on the target (the rollback keeps a target's own error).
    const error = `not confirmed by ${item.confirm.deadline}: ${got.detail}`.slice(0, 500);
    await deps.store
      .commit(tenant, [{ kind: 'rolloutTarget', target: { ...item, error, version: item.version + 1, updatedAt: at }, expectedVersion: item.version }])
      .catch(() => undefined);
    throw new PromotionFailed(got.late ?? `target '${name}' was not confirmed by ${item.confirm.deadline} (last seen: ${got.detail})`);
  }
  const was = item.confirm?.fleet;
  if (got.fleet && (was?.seen !== got.fleet.seen || was.took !== got.fleet.took || was.over !== got.fleet.over)) {
    // A fleet's convergence, as the rollout view shows it: written when it changed (an unchanged poll writes nothing).
    await deps.store.commit(tenant, [
      {
        kind: 'rolloutTarget',
        target: { ...item, confirm: { ...item.confirm!, detail: got.detail, ...fleet }, version: item.version + 1, updatedAt: at },
        expectedVersion: item.version,
      },
    ]);
  }
  return got.detail;
}

/** The target's health URL did not answer as expected yet: the flow waits its interval and polls again. */
export class NotHealthy extends Error {
  override readonly name = 'NotHealthy';
}
