import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { ArnFormat, CfnOutput, Duration, Validations, type Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { DomainEvents } from './events.ts';
import { StackPart } from './part.ts';

/** What the alarms watch. */
export interface Watched {
  machine: sfn.StateMachine;
  /** the wave state machine (child executions of the promotion flow) */
  waveMachine: sfn.StateMachine;
  api: IHttpApi;
  events: DomainEvents;
  streamFn: lambda.IFunction;
  /** the audit stream's shipper (its own mapping of the table's stream): its lag is the stream's lag too */
  shipFn?: lambda.IFunction;
  /** the app-read functions behind open function URLs: their throttles are alarmed */
  appReadFns: lambda.IFunction[];
  /** an address subscribed to the topic (context alarmEmail) */
  alarmEmail?: string;
}

/**
 * Someone is told: alarms to one SNS topic (subscribe an address with -c alarmEmail=…): failed or
 * timed-out flows, Lambda errors and throttles, API 5xx, a message in any dead-letter queue, a
 * promotion the sweeper had to fail, and a stream consumer falling behind.
 */
export class Alarms extends StackPart {
  readonly topic: sns.Topic;

  constructor(stack: Stack, id: string, { machine, waveMachine, api, events, streamFn, shipFn, appReadFns, alarmEmail }: Watched) {
    super(stack, id);
    const alarmTopic = alarmTopicOf(stack, 'Stageline alarms', alarmEmail);
    this.topic = alarmTopic;
    const alarm = (id: string, description: string, metric: cloudwatch.IMetric, threshold = 1) => {
      const a = new cloudwatch.Alarm(stack, id, {
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(new cwActions.SnsAction(alarmTopic));
      return a;
    };
    const five = Duration.minutes(5);
    alarm(
      'PromotionExecutionsFailedAlarm',
      'A promotion or rollback execution failed or timed out',
      new cloudwatch.MathExpression({
        expression: 'f + t',
        usingMetrics: { f: machine.metricFailed({ period: five }), t: machine.metricTimedOut({ period: five }) },
        period: five,
      }),
    );
    // A wave's child execution that failed, timed out or was stopped: its parent rolled back (wave-status), and a person looks at why.
    alarm(
      'WaveExecutionsFailedAlarm',
      "A wave's child execution failed, timed out or was stopped (its promotion rolled back)",
      new cloudwatch.MathExpression({
        expression: 'f + t + a',
        usingMetrics: {
          f: waveMachine.metricFailed({ period: five }),
          t: waveMachine.metricTimedOut({ period: five }),
          a: waveMachine.metricAborted({ period: five }),
        },
        period: five,
      }),
    );
    // Account-wide Lambda errors and throttles: deploy Stageline in its own account (or read them per function in the console).
    alarm(
      'FunctionErrorsAlarm',
      'Lambda function errors in the account',
      new cloudwatch.Metric({ namespace: 'AWS/Lambda', metricName: 'Errors', statistic: 'Sum', period: five }),
      5,
    );
    alarm(
      'FunctionThrottlesAlarm',
      'Lambda throttles in the account',
      new cloudwatch.Metric({ namespace: 'AWS/Lambda', metricName: 'Throttles', statistic: 'Sum', period: five }),
    );
    // The app-read functions (open function URLs) have reserved concurrency of their own (appReadConcurrency): reads over
    // it are refused, so someone must know when fleets (or a flood) reach it.
    alarm(
      'AppReadThrottlesAlarm',
      'An app-read function (effective config, OFREP) was throttled (at its reserved concurrency, appReadConcurrency, or by an exhausted account pool)',
      new cloudwatch.MathExpression({
        expression: appReadFns.map((_, i) => `t${i}`).join(' + '),
        usingMetrics: Object.fromEntries(appReadFns.map((f, i) => [`t${i}`, f.metricThrottles({ period: five, statistic: 'Sum' })])),
        period: five,
      }),
    );
    alarm('Api5xxAlarm', 'The API answered 5xx', api.metricServerError({ period: five, statistic: 'Sum' }));
    for (const [id, q] of Object.entries(events.deadLetterQueues))
      alarm(
        `${id}DepthAlarm`,
        `Messages in ${id}: something was given up on`,
        q.metricApproximateNumberOfMessagesVisible({ period: five, statistic: 'Maximum' }),
      );
    alarm(
      'PromotionsStuckAlarm',
      'A promotion was stuck past its deadline (its flow was gone) and the sweeper failed it',
      new cloudwatch.Metric({ namespace: 'Stageline', metricName: 'PromotionsSwept', dimensionsMap: { service: 'stageline' }, statistic: 'Sum', period: five }),
    );
    // The stream's lag: the consumer's iterator age, the audit stream shipper's (its own mapping of the same stream) and the oldest entry a SIEM destination has not taken, whichever is older.
    const consumerAge = streamFn.metric('IteratorAge', { period: five, statistic: 'Maximum' });
    alarm(
      'StreamLagAlarm',
      shipFn
        ? 'The stream consumer is more than 5 minutes behind, or the audit stream shipper or a SIEM destination is (audit chain, events or the SIEM destinations wait)'
        : 'The stream consumer is more than 5 minutes behind (audit chain and events wait)',
      shipFn
        ? new cloudwatch.MathExpression({
            expression: 'MAX([c, s, l])',
            usingMetrics: {
              c: consumerAge,
              s: shipFn.metric('IteratorAge', { period: five, statistic: 'Maximum' }),
              // A destination left behind (an outage, a dead letter): the oldest entry it has not taken (functions/adapters/metrics.ts auditStreamLag).
              l: new cloudwatch.Metric({
                namespace: 'Stageline',
                metricName: 'AuditStreamLag',
                dimensionsMap: { service: 'stageline' },
                statistic: 'Maximum',
                period: five,
              }),
            },
            period: five,
          })
        : consumerAge,
      300_000,
    );
    new CfnOutput(stack, 'AlarmTopicArn', { value: alarmTopic.topicArn });
  }
}

/**
 * The address (context alarmEmail) subscribed to an alarm topic. No redrive policy: a message SNS cannot
 * deliver to an inbox (after its email retries) has no reader a queue would reach sooner; the alarm stays
 * in ALARM in CloudWatch, where its history shows the notification it tried to send.
 */
export function emailSubscription(stack: Stack, topic: sns.ITopic, address: string): sns.Subscription {
  const s = new sns.Subscription(stack, 'AlarmEmail', { topic, protocol: sns.SubscriptionProtocol.EMAIL, endpoint: address });
  Validations.of(s).acknowledge({
    id: 'Serverless-SNSRedrivePolicy',
    reason:
      'An email subscription of the alarm topic: a message SNS cannot deliver to the inbox after its retries has no reader a dead-letter queue would reach sooner; the alarm stays in ALARM in CloudWatch, whose history shows the notification.',
  });
  return s;
}

/**
 * The topic a stack's alarms notify (an alarm's actions must be in its own region, so each stack has one):
 * CloudWatch alarms of this account may publish to it, and `alarmEmail` is subscribed.
 */
export function alarmTopicOf(stack: Stack, displayName: string, alarmEmail?: string): sns.Topic {
  const topic = new sns.Topic(stack, 'AlarmTopic', { displayName, enforceSSL: true });
  // enforceSSL replaces SNS's default topic policy with its Deny alone: CloudWatch alarms of this account may publish.
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: {
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: {
          'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
        },
      },
    }),
  );
  const unencrypted =
    'CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed SNS key (only with a customer-managed key whose policy lets CloudWatch use it); alarm messages carry alarm names, states and reasons, no tenant data.';
  Validations.of(topic).acknowledge({ id: 'AwsSolutions-SNS2', reason: unencrypted }, { id: 'NIST.800.53.R5-SNSEncryptedKMS', reason: unencrypted });
  if (alarmEmail) emailSubscription(stack, topic, alarmEmail);
  return topic;
}
