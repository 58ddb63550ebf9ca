import type { CloudWatchClient, MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import type { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import { awsName, ROLE_SESSION_NAME } from '#domain/kernel/aws-names';
import type { MeasureAt, MetricRole, RenderedQuery } from '#domain/verification/ports';
import type { MetricsProvider } from '#domain/verification/template';
import * as env from '../../configuration.ts';
import { keep, MAX_VALUES, MetricsQueryFailed } from './bounds.ts';

type CloudWatch = Extract<MetricsProvider, { type: 'cloudwatch' }>;

/** The period of a Metrics Insights query's points: a minute. */
const INSIGHTS_PERIOD = 60;
/** A session is kept until a minute before it expires. */
const REFRESH_BEFORE_MS = 60_000;

/** A CloudWatch client of `region` reading with `credentials` (against CLOUDWATCH_ENDPOINT when set). */
export async function cloudWatchClientAs(credentials: AwsCredentialIdentity, region?: string): Promise<CloudWatchClient> {
  const { CloudWatchClient } = await import('@aws-sdk/client-cloudwatch');
  const endpoint = env.CLOUDWATCH_ENDPOINT();
  return new CloudWatchClient({ ...(endpoint ? { endpoint } : {}), region: region ?? (endpoint ? 'us-east-1' : undefined), credentials });
}

/** The STS client that assumes tenants' roles (against CLOUDWATCH_ENDPOINT when set: a server like moto answers both). */
export async function stsClient(): Promise<STSClient> {
  const { STSClient } = await import('@aws-sdk/client-sts');
  const endpoint = env.CLOUDWATCH_ENDPOINT();
  return new STSClient(endpoint ? { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {});
}

/**
 * CloudWatch GetMetricData over the lookback window, in the template's `region`, else the target's (else
 * the function's own), in the account the tenant registered a role for: the role is assumed (STS AssumeRole
 * with the tenant's external id, a session named after the tenant) and GetMetricData is sent with that
 * session's credentials, kept until a minute before they expire. Without a role the query fails: nothing is
 * ever read with the function's own credentials. A Metrics Insights query is an `Expression`, the template's
 * metric a `MetricStat`. The values come newest first (ScanBy TimestampDescending), every series of a grouped
 * query after the other; at most MAX_VALUES. The SDKs are loaded on first use.
 */
export class CloudWatchMetrics {
  private readonly sessions = new Map<string, Promise<AwsCredentialIdentity>>();
  private readonly clients = new Map<string, { creds: AwsCredentialIdentity; client: Promise<CloudWatchClient> }>();

  /**
   * `clientFor`: the client of one region reading with the given credentials; `sts`: the client that assumes
   * roles; `clock`: what "near expiry" is measured against (tests give each against moto or a mock).
   */
  constructor(
    private readonly clientFor: (credentials: AwsCredentialIdentity, region?: string) => Promise<CloudWatchClient> | CloudWatchClient = cloudWatchClientAs,
    private readonly sts: () => Promise<STSClient> | STSClient = stsClient,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** A session of the tenant's role: assumed once, again a minute before it expires. */
  private async session(tenant: string, role: MetricRole): Promise<AwsCredentialIdentity> {
    const key = `${tenant}\u0000${role.roleArn}\u0000${role.externalId}`;
    const cached = this.sessions.get(key);
    if (cached) {
      const c = await cached.catch(() => undefined);
      if (c?.expiration && c.expiration.getTime() - this.clock().getTime() > REFRESH_BEFORE_MS) return c;
    }
    const assumed = (async () => {
      const [client, { AssumeRoleCommand }] = await Promise.all([this.sts(), import('@aws-sdk/client-sts')]);
      let r;
      try {
        r = await client.send(
          new AssumeRoleCommand({
            RoleArn: role.roleArn,
            RoleSessionName: awsName('stageline-metrics-', [tenant], ROLE_SESSION_NAME),
            ExternalId: role.externalId,
            DurationSeconds: 900,
          }),
        );
      } catch (err) {
        const e = err as Error;
        throw new MetricsQueryFailed(
          `could not assume ${role.roleArn} (${e.name}): its trust policy must let Stageline's metric reader assume it with external id ${role.externalId}`,
        );
      }
      const c = r.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) throw new MetricsQueryFailed(`STS gave no credentials for ${role.roleArn}`);
      return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
    })();
    this.sessions.set(key, assumed);
    assumed.catch(() => this.sessions.delete(key));
    return assumed;
  }

  private async client(tenant: string, role: MetricRole, region: string | undefined): Promise<CloudWatchClient> {
    const creds = await this.session(tenant, role);
    const key = `${tenant}\u0000${role.roleArn}\u0000${region ?? ''}`;
    const held = this.clients.get(key);
    if (held && held.creds === creds) return held.client;
    const client = Promise.resolve(this.clientFor(creds, region));
    this.clients.set(key, { creds, client });
    return client;
  }

  async query(tenant: string, p: CloudWatch, rendered: RenderedQuery, at: MeasureAt): Promise<number[]> {
    // Never the function's own credentials: a tenant's query reads only where the tenant registered a role.
    if (!at.role) throw new MetricsQueryFailed(`no role is registered for account ${at.account ?? '(none named)'}: register one (PUT /api/v1/metric-accounts)`);
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
    const client = await this.client(tenant, at.role, p.region ?? at.region);
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
