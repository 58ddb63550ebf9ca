import { scheduleFirePayload as input, type ScheduleFirePayload } from '#domain/kernel/schedule-payload';
import { expireWaiting } from '#domain/promotion/decide/expire';
import { fireSchedule } from '#domain/promotion/step/fire';
import { sweepPromotion } from '#domain/promotion/sweep/sweep';
import { logged, withLambdaContext } from '../adapters/observability.ts';
import { gitOnFirstUse } from '../adapters/git-on-first-use.ts';
import { registryOnFirstUse } from '../adapters/registry-on-first-use.ts';
import { workflowOnFirstUse } from '../adapters/workflow-on-first-use.ts';
import { schedulerOnFirstUse } from '../adapters/scheduler-on-first-use.ts';
import { compose } from '../http/deps.ts';
import { changesOnFirstUse } from '../adapters/change-on-first-use.ts';
import { ciRunsOnFirstUse } from '../adapters/ci-runs-on-first-use.ts';

/**
 * This function's adapters: the store, the workflow (it resumes flows, starts due promotions), the scheduler
 * (it re-arms deadlines), and the registries and the git writer: sweeping a promotion whose flow died while
 * executing fails it, which puts the target back where it was, in its registries and its git target too.
 */
const wiring = compose({
  workflow: workflowOnFirstUse,
  // Made on first use, inside an invocation: the schedules it re-arms invoke this function itself.
  scheduler: () => schedulerOnFirstUse(undefined, () => ownArn),
  registry: registryOnFirstUse,
  git: gitOnFirstUse,
  // Change control (domain/promotion/run/change-hold.ts): the tenants' change management tools, opened with their sealed credentials.
  changes: changesOnFirstUse,
  // CI gates (domain/promotion/run/ci-hold.ts): a held promotion's run is read here, the flow woken only once it ended.
  ciRuns: ciRunsOnFirstUse,
});
const deps = wiring.deps;

/**
 * This function's own ARN (unqualified), from its invocation: the sweeper re-arms a promotion's deadline
 * to fire this function again, and the stack cannot give a function its own ARN without a cycle.
 */
let ownArn: string | undefined;

/** Target of the one-time schedules and of recurring promotions' calendars (the payload's schema: domain/kernel/schedule-payload.ts). */
export const handler = withLambdaContext(async (event: unknown, context?: { invokedFunctionArn?: string }) => {
  ownArn ??= context?.invokedFunctionArn?.split(':').slice(0, 7).join(':');
  const payload = input.parse(event);
  const { tenant, ...what } = payload;
  return logged('schedule fired', { tenant, ...what }, () => fire(payload));
});

/**
 * Each schedule's use case (the payload says which). A promotion's own schedules (its go, its deadlines, its sweep) are
 * read at init; the kinds only some tenants have (recurring promotions, auto-promotion checks, freeze windows' edges,
 * approval reminders, pull-request polls) are each loaded on their first schedule.
 */
async function fire(payload: ScheduleFirePayload) {
  if ('expireWaiting' in payload) return expireWaiting(deps(), payload.tenant, payload.expireWaiting);
  if ('sweep' in payload) {
    const outcome = await sweepPromotion(deps(), payload.tenant, payload.sweep);
    // A promotion failed by the sweeper was stuck: counted, and alarmed on (infra/stack.ts). The metrics module is
    // loaded then: most sweeps find their promotion moving, and the schedule runner's init reads none of it.
    if (outcome.swept) (await import('../adapters/metrics.ts')).sweptPromotions();
    return outcome;
  }
  if ('autoCheck' in payload) return { checks: await (await import('#domain/promotion/request/auto')).autoCheckDue(deps(), payload.tenant, payload.autoCheck) };
  if ('pullRequestPoll' in payload)
    return (await import('#domain/promotion/deliver/pull-request')).pollPullRequest(deps(), payload.tenant, payload.pullRequestPoll);
  if ('freezeEdge' in payload) return (await import('#domain/freeze/windows')).fireFreezeEdge(deps(), payload.tenant, payload.freezeEdge);
  if ('remind' in payload) return (await import('#domain/notify/notifier')).remindApprovers(deps(), payload.tenant, payload.remind);
  if ('recurring' in payload) return (await import('#domain/promotion/request/recurring')).fireRecurring(deps(), payload.tenant, payload.recurring);
  return fireSchedule(deps(), payload.tenant, payload.promotionId);
}
