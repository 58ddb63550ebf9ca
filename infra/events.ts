import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Duration, Validations, type Stack } from 'aws-cdk-lib';
import { EVENT_SOURCE } from '../domain/kernel/events.ts';
import { noFunctionDlq } from './acknowledgements.ts';
import { stackNames } from './names.ts';
import { StackPart } from './part.ts';

/**
 * Events: the bus every function that writes may publish to, the rules sending its events (and AWS
 * services' events on the default bus) to functions with retries, and every dead-letter queue of
 * the stack (each alarmed when it holds a message: infra/alarms.ts).
 */
export class DomainEvents extends StackPart {
  readonly eventBus: events.EventBus;
  /** every DLQ of the stack, by id */
  readonly deadLetterQueues: Record<string, sqs.Queue> = {};
  private defaultBusDlq?: sqs.Queue;
  private asyncFailureQueue?: sqs.Queue;

  constructor(stack: Stack, id: string) {
    super(stack, id);
    // Named after the stack (infra/names.ts: `stageline` for the default stack); functions get it as EVENT_BUS_NAME.
    this.eventBus = new events.EventBus(stack, 'EventBus', { eventBusName: stackNames(stack).eventBus, description: 'Stageline domain events' });
  }

  /** An SQS queue that catches what a target could not take (kept 14 days). */
  deadLetters(id: string, what: string): sqs.Queue {
    const q = new sqs.Queue(this.stack, id, { enforceSSL: true, retentionPeriod: Duration.days(14), encryption: sqs.QueueEncryption.SQS_MANAGED });
    Validations.of(q).acknowledge(
      { id: 'AwsSolutions-SQS3', reason: `This queue is itself ${what}.` },
      {
        id: 'Serverless-SQSRedrivePolicy',
        reason: `This queue is itself ${what}: nothing consumes it (a person reads it when its depth alarm fires), so no receive can fail and need a redrive policy of its own.`,
      },
    );
    this.deadLetterQueues[id] = q;
    return q;
  }

  /** A rule on the bus sending these detail types to a function, with retries and a DLQ (the local bus has the same rule). */
  busRule(name: string, description: string, detailTypes: readonly string[], fn: lambda.IFunction, retryAttempts: number, maxEventAge: Duration): void {
    const dlq = this.deadLetters(`${name}Dlq`, `the dead-letter queue of the ${name} rule target`);
    new events.Rule(this.stack, `${name}Rule`, {
      eventBus: this.eventBus,
      description,
      eventPattern: { source: [EVENT_SOURCE], detailType: [...detailTypes] },
      targets: [new targets.LambdaFunction(fn, { deadLetterQueue: dlq, retryAttempts, maxEventAge })],
    });
  }

  /**
   * Monitors (domain/freeze/monitors.ts): a rule on the default bus sends CloudWatch's own alarm state
   * changes (to ALARM, alarms of this account and region) to alarm-state, which has what bakes under
   * them rolled back: it records the alarm and the decision to stop and fails the running flow's waiting
   * tokens (states:SendTaskFailure); the flow puts the targets back and ends the promotion.
   */
  monitorAlarms(alarmState: lambda.IFunction): void {
    new events.Rule(this.stack, 'MonitorAlarmsRule', {
      eventBus: events.EventBus.fromEventBusName(this.stack, 'DefaultBus', 'default'),
      description: 'CloudWatch alarms of this account and region going to ALARM: monitored ones roll back what bakes under them',
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: ['CloudWatch Alarm State Change'],
        detail: { state: { value: ['ALARM'] } },
      },
      targets: [new targets.LambdaFunction(alarmState, { deadLetterQueue: this.awsEventsDlq(), retryAttempts: 4, maxEventAge: Duration.hours(1) })],
    });
  }

  /**
   * A wave's child execution that ended without answering its parent (FAILED, TIMED_OUT, ABORTED: stopped by hand,
   * a States.Runtime error, its own time-out): a rule on the default bus sends Step Functions' status change to
   * wave-status, which fails the parent's WaveStart token (states:SendTaskFailure) so the parent rolls back at once.
   */
  waveStatus(waveStatus: lambda.IFunction, waveMachineArn: string): void {
    new events.Rule(this.stack, 'WaveStatusRule', {
      eventBus: events.EventBus.fromEventBusName(this.stack, 'DefaultBusWaves', 'default'),
      description: "A wave's child execution that failed, timed out or was stopped: its parent promotion flow is told (rollback)",
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: [waveMachineArn] },
      },
      targets: [new targets.LambdaFunction(waveStatus, { deadLetterQueue: this.awsEventsDlq(), retryAttempts: 4, maxEventAge: Duration.hours(1) })],
    });
  }

  /**
   * Discovery (domain/artifacts/discovery.ts): a rule on the default bus sends ECR's successful pushes to
   * registry-push, which publishes linked repositories' new tags (table access only, plus the
   * registry credentials secret when configured, as publishing has).
   */
  registryPush(registryPush: lambda.IFunction): void {
    new events.Rule(this.stack, 'RegistryPushRule', {
      eventBus: events.EventBus.fromEventBusName(this.stack, 'DefaultBusEcr', 'default'),
      description: 'ECR image pushes of this account and region: linked repositories publish new versions',
      eventPattern: { source: ['aws.ecr'], detailType: ['ECR Image Action'], detail: { 'action-type': ['PUSH'], result: ['SUCCESS'] } },
      targets: [new targets.LambdaFunction(registryPush, { deadLetterQueue: this.awsEventsDlq(), retryAttempts: 4, maxEventAge: Duration.hours(2) })],
    });
  }

  /**
   * Once Lambda has accepted an asynchronous invocation (every rule target and every schedule
   * target is one), the rule's or schedule's DLQ no longer sees it: a handler error is retried by
   * Lambda and then dropped. Here it is retried `retryAttempts` times within `maxEventAge`, then sent
   * with its error to one on-failure queue shared by every asynchronously invoked function (each
   * message names its function, requestContext.functionArn; docs/operations/alarms.md), alarmed like
   * every DLQ. CDK grants the function's role sqs:SendMessage on it. Chosen per function by the caller
   * (infra/stack.ts), never left to Lambda's defaults (2 retries within 6 h).
   */
  onAsyncFailure(fn: lambda.IFunction, retryAttempts: number, maxEventAge: Duration, invokedBy: string): void {
    const queue = (this.asyncFailureQueue ??= this.deadLetters(
      'AsyncFailureDlq',
      'the on-failure destination of the asynchronously invoked functions (rule and schedule targets)',
    ));
    fn.configureAsyncInvoke({ onFailure: new SqsDestination(queue), retryAttempts, maxEventAge });
    noFunctionDlq(
      fn,
      `Invoked asynchronously by ${invokedBy}: what still fails after Lambda's ${retryAttempts} retries goes to its on-failure destination (AsyncFailureDlq, an EventInvokeConfig), which records the event with the condition, the invoke count and the whole error; a function DLQ besides would only hold the same events with less.`,
    );
  }

  /**
   * A rule on the default bus that invokes `fn` every `minutes` with a constant input (the audit anchor tick, the
   * audit stream's drain). A missed tick is made up by the next: no retries by the rule beyond a minute.
   */
  every(minutes: number, name: string, description: string, fn: lambda.IFunction, input: Record<string, unknown>): void {
    new events.Rule(this.stack, `${name}Rule`, {
      schedule: events.Schedule.rate(Duration.minutes(minutes)),
      description,
      targets: [
        new targets.LambdaFunction(fn, {
          event: events.RuleTargetInput.fromObject(input),
          deadLetterQueue: this.awsEventsDlq(),
          retryAttempts: 2,
          maxEventAge: Duration.minutes(1),
        }),
      ],
    });
  }

  /** One dead-letter queue for the targets of the rules on the default bus (AWS services' events: alarms, ECR pushes; the anchor tick). */
  private awsEventsDlq(): sqs.Queue {
    return (this.defaultBusDlq ??= this.deadLetters(
      'AwsEventsDlq',
      'the dead-letter queue of the rules on the default bus (MonitorAlarms, RegistryPush, AuditAnchorTick, AuditStreamDrain)',
    ));
  }
}
