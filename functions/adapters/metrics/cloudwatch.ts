import type { CloudWatchClient, MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import type { MeasureAt, RenderedQuery } from '#domain/verification/ports';
import type { MetricsProvider } from '#domain/verification/template';
import { cloudWatchClient } from '../cloudwatch-alarms.ts';
import { keep, MAX_VALUES, MetricsQueryFailed } from './bounds.ts';

type CloudWatch = Extract<MetricsProvider, { type: 'cloudwatch' }>;

/** The period of a Metrics Insights query's points: a minute. */
const INSIGHTS_PERIOD = 60;

/**
 * CloudWatch GetMetricData over the lookback window, in the template's `region`, else the target's
 * (else the function's own), with the per-region clients monitors use (cloudwatch-alarms.ts): a Metrics
 * Insights query as an `Expression`, or the template's metric as a `MetricStat`. The values come newest
 * first (ScanBy TimestampDescending), every series of a grouped query after the other; at most MAX_VALUES.
 * The SDK is loaded on first use.
 */
export class CloudWatchMetrics {
  private readonly clients = new Map<string, Promise<CloudWatchClient>>();

  /** `clientFor`: the client of one region (tests give one against moto). */
  constructor(private readonly clientFor: (region?: string) => Promise<CloudWatchClient> | CloudWatchClient = cloudWatchClient) {}

  private client(region: string | undefined): Promise<CloudWatchClient> {
    const key = region ?? '';
    let c = this.clients.get(key);
    if (!c) this.clients.set(key, (c = Promise.resolve(this.clientFor(region))));
    return c;
  }

  async query(p: CloudWatch, rendered: RenderedQuery, at: MeasureAt): Promise<number[]> {
    const { GetMetricDataCommand } = await import('@aws-sdk/client-cloudwatch');
    const window = Math.max(1, at.lookbackSeconds);
    let q: MetricDataQuery;
    if (rendered.query ?? p.query) {
      q = { Id: 'm', Expression: rendered.query ?? p.query, Period: INSIGHTS_PERIOD, ReturnData: true };
    } else if (p.metric) {
      const m = p.metric;
      q = {
        Id: 'm',
        MetricStat: {
          Metric: { Namespace: m.namespace, MetricName: m.metricName, Dimensions: m.dimensions.map((d) => ({ Name: d.name, Value: d.value })) },
          Period: m.periodSeconds,
          Stat: m.stat,
        },
        ReturnData: true,
      };
    } else {
      throw new MetricsQueryFailed('the CloudWatch provider has neither a query nor a metric');
    }
    const client = await this.client(p.region ?? at.region);
    const r = await client.send(
      new GetMetricDataCommand({
        StartTime: new Date(at.now.getTime() - window * 1000),
        EndTime: at.now,
        MetricDataQueries: [q],
        ScanBy: 'TimestampDescending',
        MaxDatapoints: MAX_VALUES,
      }),
    );
    const results = r.MetricDataResults ?? [];
    const failed = results.find((x) => x.StatusCode === 'InternalError' || x.StatusCode === 'Forbidden');
    if (failed) throw new MetricsQueryFailed(`CloudWatch: ${failed.StatusCode}: ${(failed.Messages ?? []).map((m) => m.Value).join('; ')}`);
    return keep(results.flatMap((x) => x.Values ?? []));
  }
}
