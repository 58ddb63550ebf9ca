import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { secretsFromEnv } from '../../functions/adapters/secrets.ts';
import { setSecretsSessionSts } from '../../functions/adapters/secrets-session.ts';
import { SecretsManagerWebhookSecrets } from '../../functions/adapters/webhook-secrets.ts';

/**
 * Tenants' secrets on AWS: every read, write and delete goes through a session of the tenant secrets role tagged
 * with the secret's tenant (IAM lets such a session touch only that tenant's secrets: test/infra/stack-iam.test.ts).
 */

const ROLE = 'arn:aws:iam::123456789012:role/Stageline-TenantSecretsRole';
const sts = mockClient(STSClient);
const sm = mockClient(SecretsManagerClient);
const order: string[] = [];

/** Each session's keys name its tenant, so the client a command went out on shows whose session signed it. */
beforeEach(() => {
  vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'stageline-test');
  vi.stubEnv('TENANT_SECRETS_ROLE_ARN', ROLE);
  vi.stubEnv('SECRETS_PREFIX', 'stageline/');
  setSecretsSessionSts(new STSClient({ region: 'eu-west-1' }));
  sts.on(AssumeRoleCommand).callsFake((input: { Tags: { Key: string; Value: string }[] }) => {
    const tenant = input.Tags.find((t) => t.Key === 'tenant')!.Value;
    order.push(`AssumeRole ${tenant}`);
    return {
      Credentials: { AccessKeyId: `AK-${tenant}`, SecretAccessKey: 'sk', SessionToken: `st-${tenant}`, Expiration: new Date(Date.now() + 900_000) },
    };
  });
});
afterEach(() => {
  vi.unstubAllEnvs();
  setSecretsSessionSts(undefined);
  sts.reset();
  sm.reset();
  order.length = 0;
});

/** The access key of the session the n-th Secrets Manager call was signed with. */
const keyOf = async (n: number) => (await (sm.call(n).thisValue as SecretsManagerClient).config.credentials()).accessKeyId;

describe('tenant secrets through a session of the tenant secrets role', () => {
  it("reads a manifest or git-target secret only after asking for a session tagged with the secret's tenant, and signs the read with it", async () => {
    sm.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => {
      order.push(`GetSecretValue ${input.SecretId}`);
      return { SecretString: `value of ${input.SecretId}` };
    });
    const secrets = secretsFromEnv();
    await expect(secrets.resolve('acme', 'GITOPS_TOKEN', 'git-token')).resolves.toBe('value of stageline/acme/git-token/GITOPS_TOKEN');
    await expect(secrets.resolve('globex', 'GITOPS_TOKEN', 'git-token')).resolves.toBe('value of stageline/globex/git-token/GITOPS_TOKEN');
    await secrets.resolve('acme', 'OTHER', 'git-token');
    expect(order).toEqual([
      'AssumeRole acme',
      'GetSecretValue stageline/acme/git-token/GITOPS_TOKEN',
      'AssumeRole globex',
      'GetSecretValue stageline/globex/git-token/GITOPS_TOKEN',
      // The tenant's session is kept (one per tenant and container).
      'GetSecretValue stageline/acme/git-token/OTHER',
    ]);
    expect([await keyOf(0), await keyOf(1), await keyOf(2)]).toEqual(['AK-acme', 'AK-globex', 'AK-acme']);
    const assumed = sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input);
    expect(assumed.map((i) => [i.RoleArn, i.Tags])).toEqual([
      [ROLE, [{ Key: 'tenant', Value: 'acme' }]],
      [ROLE, [{ Key: 'tenant', Value: 'globex' }]],
    ]);
  });

  it("writes, reads and deletes a subscription's signing secrets with its tenant's session, and creates one tagged with that tenant", async () => {
    sm.on(PutSecretValueCommand).rejects(new ResourceNotFoundException({ message: 'no such secret', $metadata: {} }));
    sm.on(CreateSecretCommand).resolves({});
    sm.on(GetSecretValueCommand).resolves({ SecretString: '[]' });
    sm.on(DeleteSecretCommand).resolves({});
    const store = new SecretsManagerWebhookSecrets();
    await store.put('globex', 'whk_1', [{ secret: 's', createdAt: '2026-11-27T00:00:00.000Z' }] as never);
    await store.get('globex', 'whk_1');
    await store.remove('globex', 'whk_1');
    expect(sm.calls().map((c) => c.args[0].constructor.name)).toEqual([
      'PutSecretValueCommand',
      'CreateSecretCommand',
      'GetSecretValueCommand',
      'DeleteSecretCommand',
    ]);
    for (let n = 0; n < 4; n++) expect(await keyOf(n)).toBe('AK-globex');
    expect(sm.commandCalls(CreateSecretCommand)[0]!.args[0].input).toMatchObject({
      Name: 'stageline/globex/webhooks/whk_1',
      Tags: [{ Key: 'stageline:tenant', Value: 'globex' }],
    });
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
  });

  it("without the role (the local stack and tests: no IAM) uses the function's own credentials, asking STS nothing", async () => {
    vi.stubEnv('TENANT_SECRETS_ROLE_ARN', '');
    sm.on(GetSecretValueCommand).resolves({ SecretString: 'v' });
    await expect(secretsFromEnv().resolve('acme', 'T', 'git-token')).resolves.toBe('v');
    expect(sts.calls()).toHaveLength(0);
  });
});
