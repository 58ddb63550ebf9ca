import { awsName, ROLE_SESSION_NAME } from '../../domain/kernel/aws-names.ts';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { tenantCredentials } from '../../functions/adapters/tenant-credentials.ts';
import { deps, resetDeps } from '../../functions/http/deps.ts';
import { depsFor } from '../../functions/http/tenant-deps.ts';

const sts = mockClient(STSClient);
afterEach(() => {
  sts.reset();
  delete process.env.TENANT_DATA_ROLE_ARN;
  resetDeps();
});

describe('the per-tenant IAM fence (dynamodb:LeadingKeys)', () => {
  it('assumes the tenant data role with the tenant as a session tag, and reuses the session until a minute before it expires', async () => {
    const expiration = new Date(Date.now() + 15 * 60_000);
    sts.on(AssumeRoleCommand).resolves({ Credentials: { AccessKeyId: 'ASIA1', SecretAccessKey: 's', SessionToken: 't', Expiration: expiration } });
    const provide = tenantCredentials('arn:aws:iam::123456789012:role/TenantWrite', 'acme', new STSClient({ region: 'us-east-1' }));
    expect(await provide()).toMatchObject({ accessKeyId: 'ASIA1', sessionToken: 't' });
    await provide();
    const calls = sts.commandCalls(AssumeRoleCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({
      RoleArn: 'arn:aws:iam::123456789012:role/TenantWrite',
      RoleSessionName: awsName('stageline-', ['acme'], ROLE_SESSION_NAME),
      DurationSeconds: 900,
      Tags: [{ Key: 'tenant', Value: 'acme' }],
    });
  });

  it('gives each tenant its own store when the role is configured (AWS), the shared one otherwise (local)', () => {
    process.env.TABLE_NAME ??= 'tbl';
    resetDeps();
    expect(depsFor('acme')).toBe(deps());
    process.env.TENANT_DATA_ROLE_ARN = 'arn:aws:iam::123456789012:role/TenantWrite';
    const acme = depsFor('acme');
    expect(acme.store).not.toBe(deps().store);
    expect(depsFor('acme')).toBe(acme);
    expect(depsFor('globex').store).not.toBe(acme.store);
  });
});
