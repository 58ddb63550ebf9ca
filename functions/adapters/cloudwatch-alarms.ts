import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import * as env from '../configuration.ts';
import { parseAlarmArn, type AlarmReader, type AlarmState } from '#domain/freeze/monitors';

/**
 * Monitors' states from CloudWatch (DescribeAlarms by name, metric and composite alarms). Only the
 * alarms whose ARN is the one asked for come back: a missing one is left out (the domain fails closed).
 * CLOUDWATCH_ENDPOINT points it at another CloudWatch-protocol server (tests: moto). The client is
 * loaded on first use (a chunk of its own): only a promotion into an environment with monitors reads them.
 */
export class CloudWatchAlarms implements AlarmReader {
  private client: Promise<CloudWatchClient> | undefined;

  constructor(client?: CloudWatchClient) {
    if (client) this.client = Promise.resolve(client);
  }

  async states(arns: string[]): Promise<AlarmState[]> {
    const names = [...new Set(arns.map((a) => parseAlarmArn(a)?.name).filter((n): n is string => !!n))];
    if (!names.length) return [];
    const wanted = new Set(arns);
    const out: AlarmState[] = [];
    const { DescribeAlarmsCommand } = await import('@aws-sdk/client-cloudwatch');
    const client = await (this.client ??= cloudWatchClient());
    let next: string | undefined;
    do {
      const r = await client.send(new DescribeAlarmsCommand({ AlarmNames: names, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], NextToken: next }));
      for (const a of [...(r.MetricAlarms ?? []), ...(r.CompositeAlarms ?? [])]) {
        if (!a.AlarmArn || !wanted.has(a.AlarmArn)) continue;
        out.push({
          arn: a.AlarmArn,
          name: a.AlarmName ?? a.AlarmArn,
          state: (a.StateValue ?? 'INSUFFICIENT_DATA') as AlarmState['state'],
          reason: a.StateReason?.slice(0, 500),
          updatedAt: a.StateUpdatedTimestamp?.toISOString(),
        });
      }
      next = r.NextToken;
    } while (next);
    return out;
  }
}

async function cloudWatchClient(): Promise<CloudWatchClient> {
  const { CloudWatchClient } = await import('@aws-sdk/client-cloudwatch');
  const endpoint = env.CLOUDWATCH_ENDPOINT();
  return new CloudWatchClient(
    endpoint ? { endpoint, region: env.DEPLOYMENT_REGION() ?? env.AWS_REGION(), credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {},
  );
}
