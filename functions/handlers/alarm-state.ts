import { onAlarmStateChange } from '#domain/promotion/rollout/alarms';
import { workflowOnFirstUse } from '../adapters/workflow-on-first-use.ts';
import { compose } from '../http/deps.ts';
import { logged, withLambdaContext } from '../adapters/observability.ts';

/**
 * This function's adapters: the store and the workflow (loaded on first use). It ends no promotion itself: it
 * records the alarm (and a rollout's decision to stop) and answers the flow's waiting tokens with a failure
 * (MonitorAlarm); the flow's MarkFailed puts the targets back (the flow is the one writer of a promotion's end).
 */
const wiring = compose({
  workflow: workflowOnFirstUse,
});

/**
 * Target of the rule on the default bus for CloudWatch's "CloudWatch Alarm State Change" events
 * (infra/stack.ts MonitorAlarms; the local bus under npm start): a monitored alarm in ALARM asks the flows of
 * the promotions baking into the environments that list it to roll them back (domain/promotion/rollout/alarms.ts).
 */
export const handler = withLambdaContext(async (event: unknown) =>
  logged(
    'alarm state change',
    { resources: (event as { resources?: unknown })?.resources },
    () => onAlarmStateChange(wiring.deps(), event),
    (r) => ({ alarm: r.alarm, rolledBack: r.rolledBack.length, ignored: r.ignored }),
  ),
);
