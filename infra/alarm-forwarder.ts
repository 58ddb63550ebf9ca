import { ArnFormat, Duration, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { acknowledgePolicies } from './acknowledgements.ts';
import { alarmTopicOf } from './alarms.ts';

export interface AlarmForwarderProps extends StackProps {
  /** the region of the Stageline stack, whose default bus receives the alarms */
  homeRegion: string;
  /** an address told when forwarding fails (context alarmEmail) */
  alarmEmail?: string;
}

/**
 * A target in another region (eu-west-1) watches alarms there (domain/config/targets.ts); CloudWatch
 * sends their state changes to that region's default bus only. This stack, one per region named in
 * context `alarmRegions`, forwards them (to ALARM, CloudWatch's own events) to the default bus of the
 * Stageline stack's region (context `homeRegion`), where the MonitorAlarmsRule hands them to alarm-state
 * as it does its own region's: an alarm of a target in eu-west-1 rolls back at once, not only when the
 * target's bake ends (the bake's last read, DescribeAlarms in the alarm's region, is the backstop).
 * What EventBridge cannot deliver goes to a dead-letter queue, whose depth is alarmed to this region's
 * topic (an alarm's actions must be in its own region).
 */
export class AlarmForwarderStack extends Stack {
  constructor(scope: Construct, id: string, { homeRegion, alarmEmail, ...props }: AlarmForwarderProps) {
    super(scope, id, props);
    const home = events.EventBus.fromEventBusArn(
      this,
      'HomeBus',
      this.formatArn({ service: 'events', region: homeRegion, resource: 'event-bus', resourceName: 'default', arnFormat: ArnFormat.SLASH_RESOURCE_NAME }),
    );
    const dlq = new sqs.Queue(this, 'ForwardDlq', { enforceSSL: true, retentionPeriod: Duration.days(14), encryption: sqs.QueueEncryption.SQS_MANAGED });
    Validations.of(dlq).acknowledge(
      { id: 'AwsSolutions-SQS3', reason: 'This queue is itself the dead-letter queue of the alarm forwarding rule.' },
      {
        id: 'Serverless-SQSRedrivePolicy',
        reason: 'This queue is itself the dead-letter queue of the alarm forwarding rule: nothing consumes it (a person reads it when its depth alarm fires).',
      },
    );
    new events.Rule(this, 'ForwardAlarmsRule', {
      eventBus: events.EventBus.fromEventBusName(this, 'DefaultBus', 'default'),
      description: `CloudWatch alarms of this account and region going to ALARM, forwarded to the Stageline stack's region (${homeRegion})`,
      eventPattern: { source: ['aws.cloudwatch'], detailType: ['CloudWatch Alarm State Change'], detail: { state: { value: ['ALARM'] } } },
      targets: [new targets.EventBus(home, { deadLetterQueue: dlq })],
    });
    const topic = alarmTopicOf(this, `Stageline alarms (${props.env?.region ?? 'forwarder'})`, alarmEmail);
    new cloudwatch.Alarm(this, 'ForwardDlqAlarm', {
      alarmDescription: `An alarm state change of this region could not be forwarded to ${homeRegion}: a promotion baking there learns of it only when its bake ends`,
      metric: dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(new cwActions.SnsAction(topic));
    acknowledgePolicies(this);
  }
}
