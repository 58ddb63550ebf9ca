import { targetMonitors, targetsOf } from '../../config/targets.ts';
import { monitorRefusal, monitorsBlock, type AlarmState } from '../../freeze/monitors.ts';
import type { Environment } from '../../kernel/model.ts';
import type { MonitorAlarm, Promotion, RolloutTarget } from '../../kernel/promotion-model.ts';
import type { Deps, With } from '../../kernel/deps.ts';
import { ENGINE, patched } from '../aggregate.ts';
import { type Next } from '../run/deadlines.ts';
import { completeRollout } from '../run/complete.ts';
import { PromotionFailed } from '../run/target-change.ts';
import { loadPromotion, writePromotion } from '../write.ts';
import { gitopsHealth } from './confirm-modes.ts';

/**
 * A confirmed target bakes under its monitors; the bake's end reads them once more (TargetBaked);
 * an alarm during a rollout fails it; every wave done completes it (RolloutComplete).
 */

/**
 * The bake a target enters once it is confirmed: from then for its wave's bake time, watching its monitors.
 * Recorded when it starts, so a rollout stopped mid-bake (an alarm) still names every bake window; the
 * bake's end (TargetBaked) writes when it really ended.
 */
export const bakeWindow = (p: Promotion, env: Pick<Environment, 'monitors' | 'targets'> | null, name: string, at: Date): NonNullable<RolloutTarget['bake']> => {
  const seconds = p.rollout?.waves.find((w) => w.targets.includes(name))?.bakeSeconds ?? 0;
  return { from: at.toISOString(), until: new Date(at.getTime() + seconds * 1000).toISOString(), monitors: env ? targetMonitors(env, name) : [] };
};

/**
 * TargetBaked: the bake is over; the target's monitors are read once more (one in ALARM, or a read that fails, fails the
 * rollout), and a GitOps target's controller too (Degraded, Ready=False with a failure, or a read that fails: the
 * target fails and the rollout rolls back).
 */
export async function targetBakedStep(
  deps: With<'alarms' | 'gitopsStatus'>,
  tenant: string,
  id: string,
  name: string,
  bakeSeconds: number,
): Promise<{ next: Next }> {
  const p = await loadPromotion(deps, tenant, id);
  if (p.status !== 'EXECUTING') throw new PromotionFailed(`the rollout stopped: promotion is ${p.status}`);
  const item = await deps.store.getRolloutTarget(tenant, id, name);
  if (!item || item.state === 'ROLLED_BACK' || item.state === 'FAILED') throw new PromotionFailed(`target ${name} is ${item?.state ?? 'not changed'}`);
  if (item.state === 'DONE') return { next: 'done' };
  const env = await deps.store.getEnvironment(tenant, p.targetEnvironment);
  const arns = env ? targetMonitors(env, name) : [];
  const now = deps.clock();
  const from = new Date(now.getTime() - bakeSeconds * 1000).toISOString();
  let firing: MonitorAlarm | null = null;
  let why: string | null = null;
  if (arns.length) {
    const foreign = arns.map((a) => monitorRefusal(tenant, a)).filter(Boolean);
    let states: AlarmState[] = [];
    if (foreign.length) why = `the monitors of '${name}' could not be checked: ${foreign.join('; ')}`;
    else {
      try {
        states = await deps.alarms.states(arns);
        why = monitorsBlock(arns, states);
      } catch (err) {
        why = `the monitors of '${name}' could not be read (fail closed): ${(err as Error).message}`;
      }
    }
    const s = states.find((x) => x.state === 'ALARM' && arns.includes(x.arn));
    if (s) firing = { arn: s.arn, name: s.name, reason: (s.reason ?? '').slice(0, 500), at: s.updatedAt ?? now.toISOString() };
  }
  if (!why && env) {
    const target = targetsOf(env).find((t) => t.name === name);
    const g = target ? await gitopsHealth(deps, tenant, p, target, item) : null;
    if (g?.degraded) why = `'${name}' is not healthy at the end of its bake: ${g.detail}`;
  }
  const at = now.toISOString();
  const next: RolloutTarget = {
    ...item,
    state: why ? 'FAILED' : 'DONE',
    bake: { from: item.bake?.from ?? from, until: at, monitors: arns },
    ...(firing ? { alarm: firing } : {}),
    ...(why ? { error: why.slice(0, 500) } : {}),
    version: item.version + 1,
    updatedAt: at,
  };
  await deps.store.commit(tenant, [{ kind: 'rolloutTarget', target: next, expectedVersion: item.version }]);
  if (why) throw new PromotionFailed(`target '${name}' failed its bake: ${why}`);
  return { next: 'done' };
}

/**
 * A monitored alarm went to ALARM while a rollout is under way: every target that watches it (its own
 * monitors, or the environment's when it has none) and has been changed records it, and the rollout
 * stops and rolls back at once (the flow's next step finds the promotion finished). False when no
 * changed target of the promotion watches the alarm.
 */
export async function rolloutAlarm(deps: Deps, p: Promotion, alarm: MonitorAlarm, failNow: (message: string) => Promise<unknown>): Promise<boolean> {
  if (p.status !== 'EXECUTING' || !p.rollout) return false;
  const env = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
  if (!env) return false;
  const items = await deps.store.listRolloutTargets(p.tenant, p.id);
  const hit = items.filter((t) => t.appliedAt && t.state !== 'ROLLED_BACK' && targetMonitors(env, t.name).includes(alarm.arn));
  if (!hit.length) return false;
  const at = deps.clock().toISOString();
  for (const t of hit) {
    await deps.store.commit(p.tenant, [
      {
        kind: 'rolloutTarget',
        target: { ...t, alarm, state: t.state === 'DONE' ? t.state : 'FAILED', version: t.version + 1, updatedAt: at },
        expectedVersion: t.version,
      },
    ]);
  }
  await writePromotion(deps, p.tenant, p.id, (cur) =>
    cur.status !== 'EXECUTING' || cur.monitorAlarm
      ? null
      : {
          next: patched(cur, at, { monitorAlarm: alarm }),
          action: 'promotion.alarm',
          by: ENGINE,
          reason: `monitor '${alarm.name}' of ${hit.map((t) => t.name).join(', ')} went to ALARM`,
        },
  );
  await failNow(
    `monitor '${alarm.name}' of ${hit.map((t) => `${t.name} (wave ${t.wave})`).join(', ')} went to ALARM at ${alarm.at}${alarm.reason ? ` (${alarm.reason})` : ''}`,
  );
  return true;
}

/** RolloutComplete: every wave done; the environment's head moves to the release in one transaction and the promotion completes. */
export async function rolloutCompleteStep(deps: With<'git' | 'registry' | 'scheduler' | 'workflow'>, tenant: string, id: string): Promise<{ next: Next }> {
  const p = await loadPromotion(deps, tenant, id);
  if (p.status !== 'EXECUTING' || !p.rollout) return { next: 'done' };
  const items = await deps.store.listRolloutTargets(tenant, id);
  const names = p.rollout.waves.flatMap((w) => w.targets);
  const missing = names.filter((n) => items.find((t) => t.name === n)?.state !== 'DONE');
  if (missing.length) throw new PromotionFailed(`not every target is confirmed and baked: ${missing.join(', ')}`);
  await completeRollout(deps, tenant, id, names);
  return { next: 'done' };
}
