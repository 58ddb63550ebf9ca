import { faultError, type FaultPlan } from './faults.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The step Lambda as the local workflow runner invokes it, under a fault plan: what Step Functions and
 * Lambda do to a task now and then. The errors carry the names AWS gives them, so the ASL's own Retry
 * and Catch decide what happens next, as they would on AWS.
 */
export function faultyStep(plan: FaultPlan, invoke: (payload: unknown) => Promise<unknown>): (payload: unknown) => Promise<unknown> {
  return async (payload) => {
    const kind = plan.pick('step.before', 'step.after', 'step.timeout', 'step.twice');
    switch (kind) {
      case 'step.before':
        // The invoke never reached the function (Lambda's own 5xx).
        throw faultError('Lambda.ServiceException', 'the step was not invoked');
      case 'step.after':
        // The function ran to its end; its answer never reached Step Functions.
        await invoke(payload);
        throw faultError('Lambda.SdkClientException', 'the step ran, its answer was lost');
      case 'step.timeout': {
        // The task is given up on while the invocation still runs: the retry may overlap it.
        const running = invoke(payload).catch(() => undefined);
        await Promise.race([running, sleep(plan.delay())]);
        throw faultError('Sandbox.Timedout', 'the step ran past its timeout');
      }
      case 'step.twice':
        // At-least-once: the task ran twice, the second answer counts.
        await invoke(payload).catch(() => undefined);
        return invoke(payload);
      default:
        return invoke(payload);
    }
  };
}
