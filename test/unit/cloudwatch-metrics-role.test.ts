import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import type { MeasureAt } from '../../domain/verification/ports.ts';
import { externalIdOf } from '../../domain/verification/metric-accounts.ts';
import { CloudWatchMetrics } from '../../functions/adapters/metrics/cloudwatch.ts';
import { METRIC_EXTERNAL_ID_PREFIX } from '../../infra/metric-roles.ts';

/**
 * The CloudWatch adapter reads a tenant's metrics only with a session of the role the tenant registered for
 * the account (STS AssumeRole with the tenant's external id), never with the function's own credentials; the
 * session is kept until a minute before it expires (the clock it is given decides).
 */
const sts = mockClient(STSClient);
const cw = mockClient(CloudWatchClient);
afterEach(() => {
  sts.reset();
  cw.reset();
});

const ROLE = { roleArn: 'arn:aws:iam::111122223333:role/stageline-metrics', externalId: 'stageline:acme' };
const provider = { type: 'cloudwatch' as const, query: 'SELECT SUM(Errors) FROM SCHEMA("AWS/Lambda", FunctionName)' };
const T0 = new Date('2026-11-27T10:00:00Z');

function assumed(n: number, expiration: Date) {
  return { Credentials: { AccessKeyId: `ASIA${n}`, SecretAccessKey: `secret-${n}`, SessionToken: `token-${n}`, Expiration: expiration } };
}

describe('CloudWatchMetrics', () => {
  it("assumes the tenant's role with its external id and sends GetMetricData with that session's credentials, in the target's region", async () => {
    sts.on(AssumeRoleCommand).resolves(assumed(1, new Date(T0.getTime() + 900_000)));
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm', Values: [4, 2], StatusCode: 'Complete' }] });
    const metrics = new CloudWatchMetrics(
      undefined,
      () => new STSClient({ region: 'us-east-1' }),
      () => T0,
    );
    const at: MeasureAt = { region: 'eu-west-1', account: '111122223333', role: ROLE, lookbackSeconds: 300, now: T0 };
    expect(await metrics.query('acme', provider, {}, at)).toEqual([4, 2]);

    const assume = sts.commandCalls(AssumeRoleCommand);
    expect(assume).toHaveLength(1);
    expect(assume[0]!.args[0].input).toMatchObject({ RoleArn: ROLE.roleArn, ExternalId: 'stageline:acme' });
    expect(assume[0]!.args[0].input.RoleSessionName).toMatch(/^stageline-metrics-acme-[0-9a-f]{20}$/);

    const reads = cw.commandCalls(GetMetricDataCommand);
    expect(reads).toHaveLength(1);
    const client = reads[0]!.thisValue as CloudWatchClient;
    expect(await client.config.region()).toBe('eu-west-1');
    const creds = await client.config.credentials();
    expect(creds).toMatchObject({ accessKeyId: 'ASIA1', secretAccessKey: 'secret-1', sessionToken: 'token-1' });
    expect(reads[0]!.args[0].input.MetricDataQueries![0]!.Expression).toBe(provider.query);
  });

  it('keeps the session until a minute before it expires, then assumes the role again', async () => {
    let n = 0;
    sts.on(AssumeRoleCommand).callsFake(() => assumed(++n, new Date(T0.getTime() + 900_000 * n)));
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm', Values: [1], StatusCode: 'Complete' }] });
    let now = T0;
    const metrics = new CloudWatchMetrics(
      undefined,
      () => new STSClient({ region: 'us-east-1' }),
      () => now,
    );
    const at = (): MeasureAt => ({ region: 'eu-west-1', role: ROLE, lookbackSeconds: 60, now });
    await metrics.query('acme', provider, {}, at());
    now = new Date(T0.getTime() + 830_000);
    await metrics.query('acme', provider, {}, at());
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    now = new Date(T0.getTime() + 850_000);
    await metrics.query('acme', provider, {}, at());
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(2);
    const last = cw.commandCalls(GetMetricDataCommand).at(-1)!.thisValue as CloudWatchClient;
    expect(await last.config.credentials()).toMatchObject({ accessKeyId: 'ASIA2' });
    // Another tenant naming the same role gets its own session, with its own external id.
    await metrics.query('globex', provider, {}, { ...at(), role: { ...ROLE, externalId: 'stageline:globex' } });
    expect(sts.commandCalls(AssumeRoleCommand).at(-1)!.args[0].input).toMatchObject({ ExternalId: 'stageline:globex' });
  });

  it("refuses without a role, and when AWS refuses the role, without ever reading with the function's own credentials", async () => {
    const metrics = new CloudWatchMetrics(
      undefined,
      () => new STSClient({ region: 'us-east-1' }),
      () => T0,
    );
    await expect(metrics.query('acme', provider, {}, { region: 'eu-west-1', account: '111122223333', lookbackSeconds: 60, now: T0 })).rejects.toThrow(
      'no role is registered for account 111122223333',
    );
    sts.on(AssumeRoleCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    await expect(metrics.query('acme', provider, {}, { region: 'eu-west-1', role: ROLE, lookbackSeconds: 60, now: T0 })).rejects.toThrow(
      `could not assume ${ROLE.roleArn} (AccessDenied): its trust policy must let Stageline's metric reader assume it with external id stageline:acme`,
    );
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(0);
  });

  it("sends the external id the function's IAM statement allows (stageline:*), one per tenant", () => {
    expect(externalIdOf('acme').startsWith(METRIC_EXTERNAL_ID_PREFIX)).toBe(true);
    expect(externalIdOf('acme')).not.toBe(externalIdOf('globex'));
  });
});
