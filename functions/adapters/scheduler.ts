import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import type { RecurringSchedule, SchedulePayload, Scheduler } from '#domain/kernel/ports';
import { awsCronExpression } from '#domain/promotion/run/recurring-cron';
import * as env from '../configuration.ts';
import { traced } from './tracing.ts';

/**
 * EventBridge Scheduler schedules that invoke the schedule-fire function: one-time ones (`at(...)`, UTC)
 * delete themselves after running; recurring ones (`cron(...)` in their time zone) run until deleted,
 * and are disabled while their recurring promotion is paused.
 */
export class EventBridgeScheduler implements Scheduler {
  constructor(
    private readonly client: SchedulerClient,
    /** what schedules invoke, and the role they invoke it with: needed to schedule, not to cancel */
    private readonly targetArn: string | undefined,
    private readonly roleArn: string | undefined,
    /** where a schedule whose target keeps failing goes (an SQS queue, alarmed) */
    private readonly deadLetterArn?: string,
    /** the stack's schedule group (SCHEDULE_GROUP, infra/scheduling.ts); unset, the account's default group */
    private readonly groupName?: string,
  ) {}

  private get group() {
    return this.groupName ? { GroupName: this.groupName } : {};
  }

  async scheduleOnce(name: string, at: Date, payload: SchedulePayload): Promise<void> {
    if (!this.targetArn || !this.roleArn) throw new Error('SCHEDULE_TARGET_ARN and SCHEDULER_ROLE_ARN must be set to schedule promotions');
    const input = {
      Name: name,
      ...this.group,
      ScheduleExpression: `at(${at.toISOString().slice(0, 19)})`,
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' as const },
      ActionAfterCompletion: 'DELETE' as const,
      Target: {
        Arn: this.targetArn,
        RoleArn: this.roleArn,
        Input: JSON.stringify(payload),
        RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 3600 },
        ...(this.deadLetterArn ? { DeadLetterConfig: { Arn: this.deadLetterArn } } : {}),
      },
    };
    try {
      await this.client.send(new CreateScheduleCommand(input));
    } catch (err) {
      if (!(err instanceof ConflictException)) throw err;
      await this.client.send(new UpdateScheduleCommand(input));
    }
  }

  async scheduleRecurring(name: string, schedule: RecurringSchedule, payload: SchedulePayload): Promise<void> {
    if (!this.targetArn || !this.roleArn) throw new Error('SCHEDULE_TARGET_ARN and SCHEDULER_ROLE_ARN must be set to schedule promotions');
    const input = {
      Name: name,
      ...this.group,
      ScheduleExpression: awsCronExpression(schedule.cron),
      ScheduleExpressionTimezone: schedule.timeZone,
      State: schedule.enabled ? ('ENABLED' as const) : ('DISABLED' as const),
      FlexibleTimeWindow: { Mode: 'OFF' as const },
      Target: {
        Arn: this.targetArn,
        RoleArn: this.roleArn,
        Input: JSON.stringify(payload),
        // A run is for its time: one that could not be delivered within the hour is left to the next.
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
        ...(this.deadLetterArn ? { DeadLetterConfig: { Arn: this.deadLetterArn } } : {}),
      },
    };
    try {
      await this.client.send(new CreateScheduleCommand(input));
    } catch (err) {
      if (!(err instanceof ConflictException)) throw err;
      await this.client.send(new UpdateScheduleCommand(input));
    }
  }

  async cancel(name: string): Promise<void> {
    try {
      await this.client.send(new DeleteScheduleCommand({ Name: name, ...this.group }));
    } catch (err) {
      if (!(err instanceof ResourceNotFoundException)) throw err;
    }
  }
}

/**
 * The scheduler of the stack's configuration. `targetArn`: what schedules invoke, when it is not
 * SCHEDULE_TARGET_ARN: schedule-fire passes its own ARN, which its invocation gives it (the stack
 * cannot give a function its own ARN without a cycle). `source`: a test's values instead of the environment.
 */
export function schedulerFromEnv(opts: { targetArn?: string; source?: env.Source } = {}): EventBridgeScheduler {
  const { source } = opts;
  return new EventBridgeScheduler(
    traced(new SchedulerClient({})),
    opts.targetArn ?? env.SCHEDULE_TARGET_ARN(source),
    env.SCHEDULER_ROLE_ARN(source),
    env.SCHEDULE_DLQ_ARN(source),
    env.SCHEDULE_GROUP(source),
  );
}
