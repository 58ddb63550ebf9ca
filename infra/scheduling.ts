import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { ArnFormat, RemovalPolicy, type Stack } from 'aws-cdk-lib';
import type { DomainEvents } from './events.ts';
import { stackNames } from './names.ts';
import { StackPart } from './part.ts';

/**
 * Scheduling: one-time EventBridge Scheduler schedules (`stageline-<tenant>-<promotion>`, deleted
 * after they run) invoke the schedule-fire function, which resumes the flow parked at its go task
 * (and re-arms sweeps); webhook retries are schedules invoking the delivery function. The
 * functions that create schedules get their env and IAM from infra/adapters.ts (infra/needs.ts).
 *
 * The schedules live in a schedule group of the stack's own, named after it (infra/names.ts): the
 * names are made in the domain (`stageline-…`, domain/kernel/aws-names.ts) and are the same in every
 * stack, so the group is what keeps two Stageline stacks of one account apart (their grants, the
 * scheduler role's trust, and a schedule named alike in both).
 */
export class Scheduling extends StackPart {
  readonly role: iam.Role;
  /** the stack's schedule group (functions get its name as SCHEDULE_GROUP) */
  readonly group: scheduler.ScheduleGroup;
  /** the schedules the functions may create: Stageline's, in the stack's group */
  readonly scheduleArn: string;
  /** a schedule whose target keeps failing lands here (the scheduler role sends it), and an alarm says so */
  readonly dlq: sqs.Queue;

  constructor(stack: Stack, id: string, events: DomainEvents, fireFn: lambda.IFunction) {
    super(stack, id);
    const groupName = stackNames(stack).scheduleGroup;
    // One-time schedules only (they delete themselves after running): deleting the stack deletes the group and what is pending in it.
    this.group = new scheduler.ScheduleGroup(stack, 'ScheduleGroup', { scheduleGroupName: groupName, removalPolicy: RemovalPolicy.DESTROY });
    // Only this account's schedules, in this stack's group, may use the role: no confused deputy, and not another stack's schedules.
    this.role = new iam.Role(stack, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'scheduler',
              resource: 'schedule-group',
              resourceName: groupName,
              arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
            }),
          },
        },
      }),
      description: 'EventBridge Scheduler invoking schedule-fire',
    });
    this.allowInvoke(fireFn);
    this.scheduleArn = stack.formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: `${groupName}/stageline-*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    this.dlq = events.deadLetters('ScheduleDlq', 'the dead-letter queue of the one-time schedules');
    this.dlq.grantSendMessages(this.role);
  }

  /** Schedules may invoke this function (its unqualified ARN). */
  allowInvoke(fn: lambda.IFunction): void {
    this.role.addToPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] }));
  }
}
