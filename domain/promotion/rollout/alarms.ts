import { alarmOf, alarmStateChange, monitorRefusal } from '../../freeze/monitors.ts';
import { auditEntry } from '../../audit/audit.ts';
import type { Environment } from '../../kernel/model.ts';
import type { MonitorAlarm } from '../../kernel/promotion-model.ts';
import { retryOnConflict } from '../../kernel/retry.ts';
import { ENGINE, patched } from '../aggregate.ts';
import type { Deps, With } from '../../kernel/deps.ts';
import { loadPromotion, writePromotion } from '../write.ts';
import { watchedMonitors } from '../../config/targets.ts';
import { rolloutAlarm } from './bake.ts';

/**
 * CloudWatch's "CloudWatch Alarm State Change" event (EventBridge default bus on AWS, the local bus
 * under npm start): an alarm going to ALARM rolls back every promotion baking into an environment
 * that lists it as a monitor, in every tenant that lists it, and nothing else. An event that is not
 * that shape, another state, or an alarm nobody monitors changes nothing. It does not end a promotion
 * itself: it records the alarm (and a rollout's decision to stop) and asks the promotion's flow, whose
 * MarkFailed puts the targets back (the flow is the one writer of a promotion's end).
 */
export async function onAlarmStateChange(
  deps: With<'workflow'>,
  event: unknown,
): Promise<{ alarm: string | null; rolledBack: { tenant: string; promotionId: string }[]; ignored?: string }> {
  const parsed = alarmStateChange.safeParse(event);
  if (!parsed.success)
    return { alarm: null, rolledBack: [], ignored: `not a CloudWatch Alarm State Change event: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
  const alarm = alarmOf(parsed.data);
  if (!alarm) return { alarm: parsed.data.detail.alarmName, rolledBack: [], ignored: `state ${parsed.data.detail.state.value}` };
  if (!alarm.at) alarm.at = deps.clock().toISOString();
  const rolledBack: { tenant: string; promotionId: string }[] = [];
  for (const w of await deps.store.monitorWatchers(alarm.arn)) {
    // Only a tenant's own alarms (<tenant>/<name>) reach its promotions (a monitor saved before the rule gets nothing).
    if (monitorRefusal(w.tenant, alarm.arn)) continue;
    // The environment still lists it (the index is written with the environment; read it again anyway).
    const env = await deps.store.getEnvironment(w.tenant, w.environment);
    if (!env || !watchedMonitors(env).includes(alarm.arn)) continue;
    let hitHere = false;
    for (const p of await deps.store.activePromotions(w.tenant, w.environment)) {
      if (p.status !== 'EXECUTING') continue;
      // A rollout through targets: the targets that watch the alarm and have changed decide (domain/promotion/rollout/).
      const hit = p.rollout ? await rolloutAlarm(deps, p, alarm) : env.monitors?.includes(alarm.arn) && (await alarmRollback(deps, w.tenant, p.id, alarm));
      if (hit) rolledBack.push({ tenant: w.tenant, promotionId: p.id });
      hitHere ||= !!hit;
    }
    // A soak in the environment restarts from the alarm (domain/promotion/run/soak.ts): a promotion it rolled back
    // records it (monitorAlarm); otherwise it is recorded on the environment (nothing baked there, or nothing it hit).
    if (!hitHere) await recordAlarm(deps, env, alarm);
  }
  return { alarm: alarm.name, rolledBack };
}

/**
 * The environment's `lastAlarm`: the newest alarm of its monitors that went to ALARM, with an audit entry
 * (`environment.alarm`). An older one than recorded changes nothing; a lost race is read and decided again.
 */
async function recordAlarm(deps: Deps, first: Environment, alarm: MonitorAlarm): Promise<void> {
  // One form of time (CloudWatch writes `…+0000`): what is recorded compares as an instant.
  const at = Number.isNaN(Date.parse(alarm.at)) ? deps.clock().toISOString() : new Date(alarm.at).toISOString();
  let env: Environment | null = first;
  await retryOnConflict(deps.tunables, async () => {
    env ??= await deps.store.getEnvironment(first.tenant, first.name);
    const cur = env;
    env = null;
    if (!cur || (cur.lastAlarm && Date.parse(cur.lastAlarm.at) >= Date.parse(at))) return;
    const lastAlarm = { arn: alarm.arn, name: alarm.name, reason: alarm.reason, at };
    const entry = auditEntry(
      cur.tenant,
      {
        actor: ENGINE.id,
        actorName: ENGINE.name,
        action: 'environment.alarm',
        entityType: 'environment',
        entityId: cur.name,
        reason: `monitor ${alarm.name} went to ALARM at ${at}${alarm.reason ? `: ${alarm.reason}` : ''}`.slice(0, 1000),
        before: null,
        after: null,
      },
      deps.clock(),
    );
    await deps.store.commit(cur.tenant, [
      { kind: 'environment', env: { ...cur, lastAlarm, version: cur.version + 1 }, expectedVersion: cur.version },
      { kind: 'audit', entry },
    ]);
  });
}

/**
 * A monitored alarm went to ALARM while the promotion bakes: the alarm is recorded on the promotion
 * (decision record, audit trail) and the flow is asked to end the bake (its Bake task's token, kept on the
 * promotion, failed with MonitorAlarm). The flow's MarkFailed then puts the target back (and its git target:
 * the restored version is committed there), pauses auto-promotion into it and records it ROLLED_BACK (event
 * `Promotion Rolled Back`: notified, webhooks `promotion.rolled_back`, counted as a rollback). When the flow
 * waits on no token (between two steps), the alarm recorded makes its next step refuse (Bake, Verify) and fail
 * into MarkFailed. False when the promotion is not baking (not executing, or nothing executed yet).
 */
export async function alarmRollback(deps: With<'workflow'>, tenant: string, id: string, alarm: MonitorAlarm): Promise<boolean> {
  const p = await loadPromotion(deps, tenant, id);
  if (p.status !== 'EXECUTING' || !p.result) return false;
  const what = `monitor '${alarm.name}' went to ALARM at ${alarm.at}${alarm.reason ? ` (${alarm.reason})` : ''}`;
  const { before, after } = await writePromotion(
    deps,
    tenant,
    id,
    (cur) =>
      cur.status !== 'EXECUTING' || !cur.result || cur.monitorAlarm
        ? null
        : { next: patched(cur, deps.clock(), { monitorAlarm: alarm }), action: 'promotion.alarm', by: ENGINE, reason: what },
    { read: p },
  );
  // Recorded now, or by an earlier delivery of the same alarm.
  const recorded = after ?? (before.status === 'EXECUTING' && before.result && before.monitorAlarm ? before : null);
  if (!recorded) return false;
  // The token on the version this write was conditioned on: the bake's, if the flow bakes now (a Bake that writes its
  // token after this reads the alarm first and refuses). A token already answered is ignored.
  if (recorded.taskToken) await deps.workflow.sendTaskFailure(recorded.taskToken, 'MonitorAlarm', `post-deploy verification failed: ${what}`);
  return true;
}
