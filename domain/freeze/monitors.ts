import * as z from '../kernel/zod.ts';
import { ValidationFailed } from '../kernel/errors.ts';
import { parseAlarmArn } from '../kernel/alarm-arn.ts';
import type { MonitorAlarm } from '../kernel/promotion-model.ts';

/**
 * Monitors: CloudWatch alarms an environment lists (as AppConfig does). Before a promotion executes
 * into it they are read (one in ALARM blocks it; a failed read blocks it too), and while it bakes
 * CloudWatch's own "CloudWatch Alarm State Change" events for them roll it back.
 */

export { MAX_MONITORS, monitors, parseAlarmArn, type AlarmRef } from '../kernel/alarm-arn.ts';

export interface DeploymentPlace {
  account?: string;
  region?: string;
}

/**
 * The alarms a tenant may monitor: those named under its own namespace (`<tenant>/<name>`). The
 * deployment's alarms live in one account shared by every tenant, and a monitor's state and reason
 * come back in the promotion's error and decision record; without this one tenant could read (and
 * follow) another's alarms, or the deployment's own. Null when the alarm is the tenant's.
 */
export function monitorRefusal(tenant: string, arn: string): string | null {
  const ref = parseAlarmArn(arn);
  if (!ref) return 'must be a CloudWatch alarm ARN';
  return ref.name.startsWith(`${tenant}/`)
    ? null
    : `alarm ${ref.name} is not under the tenant's namespace: a monitor is an alarm named ${tenant}/<name> (the deployment's alarms are shared by every tenant)`;
}

/** Refuses, naming the field, a monitor of another account or region (or any monitor when the deployment's place is unknown), or outside the tenant's namespace. */
export function assertMonitorsHere(tenant: string, arns: string[] | undefined, place: DeploymentPlace | undefined, field = 'body.monitors'): void {
  const issues = (arns ?? []).flatMap((arn, i) => {
    const ref = parseAlarmArn(arn);
    if (!ref) return [{ path: `${field}.${i}`, message: 'must be a CloudWatch alarm ARN' }];
    if (!place?.account || !place.region)
      return [
        {
          path: `${field}.${i}`,
          message: 'this deployment does not know its account and region (DEPLOYMENT_ACCOUNT, DEPLOYMENT_REGION): monitors cannot be checked',
        },
      ];
    if (ref.account !== place.account || ref.region !== place.region) {
      return [
        {
          path: `${field}.${i}`,
          message: `alarm ${ref.name} is in account ${ref.account}, region ${ref.region}; monitors must be alarms of this deployment's account ${place.account}, region ${place.region}`,
        },
      ];
    }
    const refused = monitorRefusal(tenant, arn);
    return refused ? [{ path: `${field}.${i}`, message: refused }] : [];
  });
  if (issues.length) throw new ValidationFailed(issues);
}

/** What the pre-check reads per alarm (DescribeAlarms on AWS). */
export interface AlarmState {
  arn: string;
  name: string;
  state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  reason?: string;
  updatedAt?: string;
}

/** Reads the current state of alarms. Missing alarms are left out of the answer (the caller fails closed on them). */
export interface AlarmReader {
  states(arns: string[]): Promise<AlarmState[]>;
}

/** Why the monitors block an execution, or null when they allow it. */
export function monitorsBlock(arns: string[], states: AlarmState[]): string | null {
  const byArn = new Map(states.map((s) => [s.arn, s]));
  const missing = arns.filter((a) => !byArn.has(a));
  if (missing.length) return `monitor ${missing.map((a) => parseAlarmArn(a)?.name ?? a).join(', ')} not found (checked fail closed)`;
  const firing = arns.map((a) => byArn.get(a)!).filter((s) => s.state === 'ALARM');
  if (!firing.length) return null;
  return firing.map((s) => `monitor '${s.name}' is in ALARM${s.reason ? ` (${s.reason})` : ''}`).join('; ');
}

/** CloudWatch's "CloudWatch Alarm State Change" event, as EventBridge delivers it (the fields used). */
export const alarmStateChange = /* @__PURE__ */ z.schema(() =>
  z.object({
    id: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
    source: z.literal('aws.cloudwatch'),
    'detail-type': z.literal('CloudWatch Alarm State Change'),
    account: z.optional(z.string()),
    region: z.optional(z.string()),
    time: z.optional(z.string().check(z.maxLength(64))),
    resources: z.array(z.string().check(z.maxLength(400))).check(z.minLength(1), z.maxLength(5)),
    detail: z.object({
      alarmName: z.string().check(z.minLength(1), z.maxLength(255)),
      state: z.object({
        value: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
        reason: z.optional(z.string().check(z.maxLength(4000))),
        timestamp: z.optional(z.string().check(z.maxLength(64))),
      }),
    }),
  }),
);
export type AlarmStateChange = z.infer<typeof alarmStateChange>;

export function alarmOf(e: AlarmStateChange): MonitorAlarm | null {
  const arn = e.resources.find((r) => parseAlarmArn(r));
  if (!arn || e.detail.state.value !== 'ALARM') return null;
  return { arn, name: e.detail.alarmName, reason: (e.detail.state.reason ?? '').slice(0, 500), at: e.detail.state.timestamp ?? e.time ?? '' };
}
