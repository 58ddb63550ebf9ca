import { onAlarmStateChange } from '#domain/promotion/alarms';
import { deps } from '../http/deps.ts';
import { logged } from '../adapters/observability.ts';

/**
 * Target of the rule on the default bus for CloudWatch's "CloudWatch Alarm State Change" events
 * (infra/stack.ts MonitorAlarms; the local bus under npm start): a monitored alarm in ALARM rolls back
 * the promotions baking into the environments that list it (domain/promotion/alarms.ts).
 */
export const handler = async (event: unknown) =>
  logged('alarm state change', { resources: (event as { resources?: unknown })?.resources }, () => onAlarmStateChange(deps(), event), (r) => ({ alarm: r.alarm, rolledBack: r.rolledBack.length, ignored: r.ignored }));
