import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import * as env from '../configuration.ts';
import { parseAlarmArn, type AlarmReader, type AlarmState } from '#domain/freeze/monitors';

/**
 * Monitors' states from CloudWatch (DescribeAlarms by name, metric and composite alarms), in each alarm's
 * own region: a target in eu-west-1 watches alarms there (domain/config/targets.ts), so the alarms are
 * grouped by the region of their ARN and read with a client of that region (one per region, made on
 * first use). Only the alarms whose ARN is the one asked for come back: a missing one is left out (the
 * domain fails closed). CLOUDWATCH_ENDPOINT points it at another CloudWatch-protocol server (tests:
 * moto, which keeps each region's alarms apart as CloudWatch does). The SDK is loaded on first use (a
 * chunk of its own): only a promotion into an environment with monitors reads them.
 */
export class CloudWatchAlarms implements AlarmReader {
  private readonly clients = new Map<string, Promise<CloudWatchClient>>();

  /** `clientFor`: the client of one region (tests give one against moto). */
  constructor(private readonly clientFor: (region: string) => Promise<CloudWatchClient> | CloudWatchClient = cloudWatchClient) {}

  async states(arns: string[]): Promise<AlarmState[]> {
    const byRegion = new Map<string, Set<string>>();
    for (const a of arns) {
      const ref = parseAlarmArn(a);
      if (!ref) continue;
      byRegion.set(ref.region, (byRegion.get(ref.region) ?? new Set()).add(ref.name));
    }
    if (!byRegion.size) return [];
    const wanted = new Set(arns);
    const { DescribeAlarmsCommand } = await import('@aws-sdk/client-cloudwatch');
    const read = async (region: string, names: string[]): Promise<AlarmState[]> => {
      let client = this.clients.get(region);
      if (!client) this.clients.set(region, (client = Promise.resolve(this.clientFor(region))));
      const out: AlarmState[] = [];
      // DescribeAlarms takes at most 100 names a call.
      for (let i = 0; i < names.length; i += 100) {
        let next: string | undefined;
        do {
          const r = await (
            await client
          ).send(new DescribeAlarmsCommand({ AlarmNames: names.slice(i, i + 100), AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], NextToken: next }));
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
      }
      return out;
    };
    return (await Promise.all([...byRegion].map(([region, names]) => read(region, [...names])))).flat();
  }
}

/** A CloudWatch client of `region` (against CLOUDWATCH_ENDPOINT when set); the function's own region when left out. Monitors use it (metric analysis reads with tenants' sessions: metrics/cloudwatch.ts). */
export async function cloudWatchClient(region?: string): Promise<CloudWatchClient> {
  const { CloudWatchClient } = await import('@aws-sdk/client-cloudwatch');
  const endpoint = env.CLOUDWATCH_ENDPOINT();
  const place = region ? { region } : {};
  return new CloudWatchClient(endpoint ? { endpoint, region: region ?? 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : place);
}
