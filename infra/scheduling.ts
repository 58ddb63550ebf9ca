import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { ArnFormat, type Stack } from 'aws-cdk-lib';
import type { DomainEvents } from './events.ts';
import { StackPart } from './part.ts';

/**
 * Scheduling: one-time EventBridge Scheduler schedules (`stageline-<tenant>-<promotion>`, deleted
 * after they run) invoke the schedule-fire function, which resumes the flow parked at its go task
 * (and re-arms sweeps); webhook retries are schedules invoking the delivery function. The
 * functions that create schedules get their env and IAM from infra/adapters.ts (infra/needs.ts).
 */
export class Scheduling extends StackPart {
  readonly role: iam.Role;
  /** the schedules the functions may create: Stageline's, in the default group */
  readonly scheduleArn: string;
  /** a schedule whose target keeps failing lands here (the scheduler role sends it), and an alarm says so */
  readonly dlq: sqs.Queue;

  constructor(stack: Stack, id: string, events: DomainEvents, fireFn: lambda.IFunction) {
    super(stack, id);
    // Only this account's schedules (in the group the functions create them in) may use the role: no confused deputy.
    this.role = new iam.Role(stack, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: 'default', arnFormat: ArnFormat.SLASH_RESOURCE_NAME }) },
        },
      }),
      description: 'EventBridge Scheduler invoking schedule-fire',
    });
    this.allowInvoke(fireFn);
    this.scheduleArn = stack.formatArn({ service: 'scheduler', resource: 'schedule', resourceName: 'default/stageline-*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    this.dlq = events.deadLetters('ScheduleDlq', 'the dead-letter queue of the one-time schedules');
    this.dlq.grantSendMessages(this.role);
  }

  /** Schedules may invoke this function (its unqualified ARN). */
  allowInvoke(fn: lambda.IFunction): void {
    this.role.addToPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] }));
  }
}
