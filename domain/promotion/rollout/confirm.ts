import { targetsOf } from '../../config/targets.ts';
import { auditEntry } from '../../audit/audit.ts';
import { TargetNotFound, TransitionNotAllowed } from '../../kernel/errors.ts';
import type { RolloutTarget } from '../../kernel/promotion-model.ts';
import type { Ctx, With } from '../../kernel/deps.ts';
import { ENGINE } from '../aggregate.ts';
import { type Next } from '../run/deadlines.ts';
import { PromotionFailed } from '../run/target-change.ts';
import { auditDraft, loadPromotion } from '../write.ts';
import { bakeWindow } from './bake.ts';

/**
 * A target is confirmed: by a person or a callback (confirmTarget), or by its health URL (TargetHealth).
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
 * TargetHealth (confirmation mode `health`): one poll of the target's health URL through the guarded
 * outbound client. The expected status confirms the target (then it bakes); another answer before the
 * deadline throws NotHealthy, which the flow catches into a wait of the target's interval and polls again;
 * past the deadline the rollout fails (and rolls back).
 */
export async function targetHealthStep(deps: With<'probe'>, tenant: string, id: string, name: string): Promise<{ next: Next }> {
  const p = await loadPromotion(deps, tenant, id);
  if (p.status !== 'EXECUTING') throw new PromotionFailed(`the rollout stopped: promotion is ${p.status}`);
  const [env, item] = await Promise.all([deps.store.getEnvironment(tenant, p.targetEnvironment), deps.store.getRolloutTarget(tenant, id, name)]);
  const target = env ? targetsOf(env).find((t) => t.name === name) : undefined;
  if (!item || !target || target.confirm.mode !== 'health') throw new PromotionFailed(`target '${name}' does not confirm by a health URL`);
  if (item.state !== 'CONFIRMING') return { next: 'execute' };
  const now = deps.clock();
  const got = await deps.probe.check(target.confirm.url, 5000);
  if (got.status === target.confirm.expectStatus) {
    const at = now.toISOString();
    await deps.store.commit(tenant, [
      {
        kind: 'rolloutTarget',
        target: {
          ...item,
          state: 'BAKING',
          bake: bakeWindow(p, env, name, now),
          confirm: { ...item.confirm!, at, by: ENGINE.name, detail: `HTTP ${got.status}` },
          version: item.version + 1,
          updatedAt: at,
        },
        expectedVersion: item.version,
      },
    ]);
    return { next: 'execute' };
  }
  const seen = got.status === null ? (got.error ?? 'no answer') : `HTTP ${got.status}`;
  if (item.confirm?.deadline && now.getTime() >= new Date(item.confirm.deadline).getTime()) {
    throw new PromotionFailed(`target '${name}' was not healthy by ${item.confirm.deadline} (last answer: ${seen})`);
  }
  throw new NotHealthy(`target '${name}' is not healthy yet (${seen})`);
}

/** The target's health URL did not answer as expected yet: the flow waits its interval and polls again. */
export class NotHealthy extends Error {
  override readonly name = 'NotHealthy';
}
