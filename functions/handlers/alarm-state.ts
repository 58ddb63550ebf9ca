import { onAlarmStateChange } from '#domain/promotion/rollout/alarms';
import { gitOnFirstUse } from '../adapters/git-on-first-use.ts';
import { registryOnFirstUse } from '../adapters/registry-on-first-use.ts';
import { workflowOnFirstUse } from '../adapters/workflow-on-first-use.ts';
import { compose } from '../http/deps.ts';
import { logged, withLambdaContext } from '../adapters/observability.ts';
import { schedulerOnFirstUse } from '../adapters/scheduler-on-first-use.ts';

/**
 * This function's adapters: the store, the git writer and the registries: an automatic rollback commits
 * the restored version to the environment's git target (isomorphic-git, in memory) and records it in the
 * environment's registries, as a promotion does; and the workflow and the scheduler (loaded on first use): the
 * rollback releases the environment's lease, and the promotion queued behind it goes on now — its parked go
 * task answered, or its schedule moved to now (domain/promotion/run/queue.ts).
 */
const wiring = compose({
  git: gitOnFirstUse,
  registry: registryOnFirstUse,
  workflow: workflowOnFirstUse,
  scheduler: () => schedulerOnFirstUse(),
});

/**
 * Target of the rule on the default bus for CloudWatch's "CloudWatch Alarm State Change" events
 * (infra/stack.ts MonitorAlarms; the local bus under npm start): a monitored alarm in ALARM rolls back
 * the promotions baking into the environments that list it (domain/promotion/rollout/alarms.ts).
 */
export const handler = withLambdaContext(async (event: unknown) =>
  logged(
    'alarm state change',
    { resources: (event as { resources?: unknown })?.resources },
    () => onAlarmStateChange(wiring.deps(), event),
    (r) => ({ alarm: r.alarm, rolledBack: r.rolledBack.length, ignored: r.ignored }),
  ),
);
