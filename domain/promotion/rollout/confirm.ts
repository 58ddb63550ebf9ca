import { targetsOf } from '../../config/targets.ts';
import { auditEntry } from '../../audit/audit.ts';
import { TargetNotFound, TransitionNotAllowed } from '../../kernel/errors.ts';
import type { FleetConvergence, RolloutTarget } from '../../kernel/promotion-model.ts';
import type { Ctx, With } from '../../kernel/deps.ts';
import { ENGINE } from '../aggregate.ts';
import { type Next } from '../run/deadlines.ts';
import { PromotionFailed } from '../run/target-change.ts';
import { auditDraft, loadPromotion } from '../write.ts';
import { bakeWindow } from './bake.ts';
import { fleetConfirm } from './confirm-fleet.ts';
import { POLLED_MODES, type Target } from '../../kernel/target-schemas.ts';

/**
 * A target is confirmed: by a person or a callback (confirmTarget), or by polling (TargetHealth): its health URL, its fleet.
 */

/**
 * The deployer confirms a target (POST /promotions/{id}/targets/{target}/confirm): 404 for a promotion or
 * target that is not the rollout's, 409 when the target does not wait for a confirmation (not yet changed,
 * confirmed already, or past its deadline: then the flow rolls back).
 */
export async function confirmTarget(deps: With<'workflow'>, ctx: Ctx, id: string, name: string, note?: string): Promise<RolloutTarget> {
  const { tenant } = ctx.principal;
  const p = await loadPromotion(deps, tenant, id);
  if (!p.rollout || !p.rollout.waves.some((w) => w.targets.includes(name))) {
    throw new TargetNotFound(p.targetEnvironment, name, p.rollout?.waves.flatMap((w) => w.targets) ?? []);
  }
  if (p.status !== 'EXECUTING') throw new TransitionNotAllowed(`Promotion ${id} is ${p.status}: there is nothing to confirm`);
  const item = await deps.store.getRolloutTarget(tenant, id, name);
  if (!item || item.state !== 'CONFIRMING' || item.confirm?.mode !== 'callback' || !item.taskToken) {
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
    bake: bakeWindow(p, env, name, now),
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
  await deps.workflow.sendTaskSuccess(item.taskToken, { target: name, confirmedBy: ctx.principal.name });
  return next;
}

/**
 * TargetHealth (the polled confirmation modes, POLLED_MODES): one poll of the target, by its mode — `health`:
 * its health URL through the guarded outbound client (the expected status confirms); `fleet`: a count of its
 * instances (confirm-fleet.ts). Confirmed, the target bakes; before the deadline the poll throws NotHealthy,
 * which the flow catches into a wait of the target's interval and polls again; past the deadline the rollout
 * fails (and rolls back).
 */
export async function targetHealthStep(deps: With<'probe'>, tenant: string, id: string, name: string): Promise<{ next: Next }> {
  const p = await loadPromotion(deps, tenant, id);
  if (p.status !== 'EXECUTING') throw new PromotionFailed(`the rollout stopped: promotion is ${p.status}`);
  const [env, item] = await Promise.all([deps.store.getEnvironment(tenant, p.targetEnvironment), deps.store.getRolloutTarget(tenant, id, name)]);
  const target = env ? targetsOf(env).find((t) => t.name === name) : undefined;
  if (!env || !item || !target || !POLLED_MODES.has(target.confirm.mode)) throw new PromotionFailed(`target '${name}' does not confirm by polling`);
  if (item.state !== 'CONFIRMING') return { next: 'execute' };
  const now = deps.clock();
  const c = target.confirm;
  const got: { confirmed: boolean; detail: string; late: string; fleet?: FleetConvergence } =
    c.mode === 'fleet'
      ? await fleetConfirm(deps, p, env, name, c, item, now)
      : c.mode === 'health'
        ? await healthConfirm(deps, name, c, item)
        : (() => {
            throw new PromotionFailed(`target '${name}' confirms by ${c.mode}, which is not polled`);
          })();
  const fleet = got.fleet ? { fleet: got.fleet } : {};
  if (got.confirmed) {
    const at = now.toISOString();
    await deps.store.commit(tenant, [
      {
        kind: 'rolloutTarget',
        target: {
          ...item,
          state: 'BAKING',
          bake: bakeWindow(p, env, name, now),
          confirm: { ...item.confirm!, at, by: ENGINE.name, detail: got.detail, ...fleet },
          version: item.version + 1,
          updatedAt: at,
        },
        expectedVersion: item.version,
      },
    ]);
    return { next: 'execute' };
  }
  if (item.confirm?.deadline && now.getTime() >= new Date(item.confirm.deadline).getTime()) throw new PromotionFailed(got.late);
  const was = item.confirm?.fleet;
  if (got.fleet && (was?.seen !== got.fleet.seen || was.took !== got.fleet.took)) {
    // The convergence the rollout view shows: written when it changed, an unchanged poll writes nothing.
    await deps.store.commit(tenant, [
      {
        kind: 'rolloutTarget',
        target: { ...item, confirm: { ...item.confirm!, detail: got.detail, ...fleet }, version: item.version + 1, updatedAt: now.toISOString() },
        expectedVersion: item.version,
      },
    ]);
  }
  throw new NotHealthy(`target '${name}' is not confirmed yet (${got.detail})`);
}

/** One poll of a health target's URL: the expected status confirms. */
async function healthConfirm(
  deps: With<'probe'>,
  name: string,
  c: Extract<Target['confirm'], { mode: 'health' }>,
  item: RolloutTarget,
): Promise<{ confirmed: boolean; detail: string; late: string }> {
  const got = await deps.probe.check(c.url, 5000);
  const seen = got.status === null ? (got.error ?? 'no answer') : `HTTP ${got.status}`;
  return {
    confirmed: got.status === c.expectStatus,
    detail: seen,
    late: `target '${name}' was not healthy by ${item.confirm?.deadline} (last answer: ${seen})`,
  };
}

/** A polled target is not confirmed yet (its health URL did not answer as expected, its fleet has not converged): the flow waits its interval and polls again. */
export class NotHealthy extends Error {
  override readonly name = 'NotHealthy';
}
