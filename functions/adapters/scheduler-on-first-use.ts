import type { Scheduler } from '#domain/kernel/ports';
import type { Source } from '../configuration.ts';

/**
 * The EventBridge Scheduler adapter, loaded on first use: for functions that schedule only now and
 * then (a freeze window's first edge, a manifest's windows), so module init never reads the
 * Scheduler client. Same adapter, same env and IAM (functions/adapters/scheduler.ts).
 */
export function schedulerOnFirstUse(source?: Source, targetArn?: () => string | undefined): Scheduler {
  let made: Promise<Scheduler> | undefined;
  // targetArn: what schedules invoke instead of SCHEDULE_TARGET_ARN, read when the adapter is made (on first use, inside an invocation).
  const scheduler = () => (made ??= import('./scheduler.ts').then(({ schedulerFromEnv }) => schedulerFromEnv({ source, targetArn: targetArn?.() })));
  return {
    async scheduleOnce(name, at, payload) {
      return (await scheduler()).scheduleOnce(name, at, payload);
    },
    async scheduleRecurring(name, schedule, payload) {
      return (await scheduler()).scheduleRecurring(name, schedule, payload);
    },
    async cancel(name) {
      return (await scheduler()).cancel(name);
    },
  };
}
