import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { parseAlarmArn, type AlarmReader, type AlarmState } from '#domain/monitors';

/**
 * Monitors' states from CloudWatch (DescribeAlarms by name, metric and composite alarms). Only the
 * alarms whose ARN is the one asked for come back: a missing one is left out (the domain fails closed).
 * CLOUDWATCH_ENDPOINT points it at another CloudWatch-protocol server (tests: moto).
 */
export class CloudWatchAlarms implements AlarmReader {
  constructor(private readonly client = cloudWatchClient()) {}

  async states(arns: string[]): Promise<AlarmState[]> {
    const names = [...new Set(arns.map((a) => parseAlarmArn(a)?.name).filter((n): n is string => !!n))];
    if (!names.length) return [];
    const wanted = new Set(arns);
    const out: AlarmState[] = [];
    let next: string | undefined;
    do {
      const r = await this.client.send(new DescribeAlarmsCommand({ AlarmNames: names, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], NextToken: next }));
      for (const a of [...(r.MetricAlarms ?? []), ...(r.CompositeAlarms ?? [])]) {
        if (!a.AlarmArn || !wanted.has(a.AlarmArn)) continue;
        out.push({ arn: a.AlarmArn, name: a.AlarmName ?? a.AlarmArn, state: (a.StateValue ?? 'INSUFFICIENT_DATA') as AlarmState['state'], reason: a.StateReason?.slice(0, 500), updatedAt: a.StateUpdatedTimestamp?.toISOString() });
      }
      next = r.NextToken;
    } while (next);
    return out;
  }
}

function cloudWatchClient(): CloudWatchClient {
  const endpoint = process.env.CLOUDWATCH_ENDPOINT;
  return new CloudWatchClient(endpoint ? { endpoint, region: process.env.DEPLOYMENT_REGION ?? process.env.AWS_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {});
}
