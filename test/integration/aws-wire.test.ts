/**
 * The real AWS adapters (functions/adapters) on the wire, against moto_server (an AWS-protocol
 * server; scripts/prereqs.sh moto): each call's request is read back as AWS recorded it, and the
 * adapter's answer is checked. aws-sdk-client-mock stays for the unit tests; these prove the wire.
 * Not covered by moto, so left to the unit tests (aws-sdk-client-mock): SFN SendTaskSuccess/Failure
 * with a real task token (moto has no activity/callback tokens to answer), and KMS
 * GenerateMac/VerifyMac where the installed moto lacks them (checked below, and said so). What
 * reached the bus is read from the signed request (no SQS client is installed to read a rule's target).
 */
import {
  CognitoIdentityProviderClient,
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  CreateGroupCommand,
  CreateUserPoolCommand,
  ListUsersCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateKeyCommand, KMSClient, ListAliasesCommand, ListResourceTagsCommand } from '@aws-sdk/client-kms';
import { createHash, verify } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { CreateSecretCommand, DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { CreateStateMachineCommand, DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sesEmail } from '../../functions/adapters/channels.ts';
import { CognitoDirectory } from '../../functions/adapters/cognito-directory.ts';
import { CognitoUserAdmin } from '../../functions/adapters/cognito-users.ts';
import { changeRoles, createTenant, inviteUser, listUsers, removeUser } from '../../domain/access/users.ts';
import { migrateTenants } from '../../domain/access/migrate.ts';
import { memoryDeps } from '../support/memory-deps.ts';
import type { Ctx } from '../../domain/ports.ts';
import { EventBridgeEvents } from '../../functions/adapters/events.ts';
import { KmsS3Anchor } from '../../functions/adapters/kms-s3-anchor.ts';
import { loadRegistryCredentials } from '../../functions/adapters/registry-credentials.ts';
import { EventBridgeScheduler } from '../../functions/adapters/scheduler.ts';
import { resetSecretBox, secretBox } from '../../functions/adapters/secret-box.ts';
import { secretsFromEnv } from '../../functions/adapters/secrets.ts';
import { executionName, SfnWorkflow } from '../../functions/adapters/sfn-workflow.ts';
import { tenantCredentials } from '../../functions/adapters/tenant-credentials.ts';
import { SecretsManagerWebhookSecrets, webhookSecretName } from '../../functions/adapters/webhook-secrets.ts';
import { anchorHeads } from '../../domain/audit/anchor.ts';
import { awsName, ROLE_SESSION_NAME } from '../../domain/kernel/aws-names.ts';
import type { WebhookSecret } from '../../domain/webhooks/ports.ts';
import { startMoto, type Moto } from '../support/moto.ts';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
let moto: Moto | undefined;
let endpoint: string;
const saved = { ...process.env };
const config = () => ({ endpoint, region: REGION, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });

beforeAll(async () => {
  moto = await startMoto();
  endpoint = moto.endpoint;
  // Adapters that build their own clients (secrets, secret box, registry credentials) reach moto through the SDK's endpoint variable.
  Object.assign(process.env, { AWS_ENDPOINT_URL: endpoint, AWS_REGION: REGION, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' });
}, 90_000);

afterAll(() => {
  moto?.stop();
  process.env = saved;
});

/** Records the HTTP requests a client sends (after signing: exactly what AWS receives). */
function recorded<T extends { middlewareStack: { add: (...a: any[]) => void } }>(client: T): { client: T; bodies: () => unknown[] } {
  const seen: unknown[] = [];
  client.middlewareStack.add(
    (next: (a: any) => Promise<unknown>) => async (args: { request: { body?: unknown } }) => {
      const body = args.request.body;
      const text = typeof body === 'string' ? body : body instanceof Uint8Array ? new TextDecoder().decode(body) : undefined;
      if (text) seen.push(JSON.parse(text));
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordRequests' },
  );
  return { client, bodies: () => seen };
}

describe('EventBridge Scheduler', () => {
  it('creates a one-time schedule as AWS records it, replaces it on conflict, and cancels (a gone one too)', async () => {
    const client = new SchedulerClient(config());
    const name = awsName('stageline-', ['acme', 'prm_1']);
    const target = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:schedule-fire`;
    const role = `arn:aws:iam::${ACCOUNT}:role/scheduler`;
    const adapter = new EventBridgeScheduler(client, target, role, `arn:aws:sqs:${REGION}:${ACCOUNT}:dlq`);
    await adapter.scheduleOnce(name, new Date('2030-01-02T03:04:05.678Z'), { tenant: 'acme', promotionId: 'prm_1' });
    const got = await client.send(new GetScheduleCommand({ Name: name }));
    expect(got).toMatchObject({
      Name: name,
      GroupName: 'default',
      ScheduleExpression: 'at(2030-01-02T03:04:05)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: target,
        RoleArn: role,
        Input: '{"tenant":"acme","promotionId":"prm_1"}',
        DeadLetterConfig: { Arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:dlq` },
      },
    });
    // the same name again: ConflictException → UpdateSchedule
    await adapter.scheduleOnce(name, new Date('2030-02-02T00:00:00Z'), { tenant: 'acme', promotionId: 'prm_1' });
    expect((await client.send(new GetScheduleCommand({ Name: name }))).ScheduleExpression).toBe('at(2030-02-02T00:00:00)');
    await adapter.cancel(name);
    await expect(client.send(new GetScheduleCommand({ Name: name }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(adapter.cancel(name)).resolves.toBeUndefined();
    // without target and role it cannot schedule, but may cancel
    const cancelOnly = new EventBridgeScheduler(client, undefined, undefined);
    await expect(cancelOnly.scheduleOnce('x', new Date(), { tenant: 't', promotionId: 'p' })).rejects.toThrow(/SCHEDULE_TARGET_ARN and SCHEDULER_ROLE_ARN/);
    await expect(cancelOnly.cancel('stageline-never-made')).resolves.toBeUndefined();
  });
});

describe('Step Functions', () => {
  it('starts an execution named per promotion with the promotion as input; a second start returns the same execution', async () => {
    const client = new SFNClient(config());
    const machine = await client.send(
      new CreateStateMachineCommand({
        name: 'Stageline-promotion',
        roleArn: `arn:aws:iam::${ACCOUNT}:role/sfn`,
        definition: JSON.stringify({ StartAt: 'W', States: { W: { Type: 'Wait', Seconds: 3600, End: true } } }),
      }),
    );
    const wf = new SfnWorkflow({ promotionStateMachineArn: machine.stateMachineArn, client });
    const arn = await wf.start({ tenant: 'acme', promotionId: 'prm_1', approvalTimeoutSeconds: 86_410 });
    const exec = await client.send(new DescribeExecutionCommand({ executionArn: arn }));
    expect(exec).toMatchObject({
      name: executionName({ tenant: 'acme', promotionId: 'prm_1' }),
      input: '{"tenant":"acme","promotionId":"prm_1","approvalTimeoutSeconds":86410}',
      stateMachineArn: machine.stateMachineArn,
    });
    expect(await wf.start({ tenant: 'acme', promotionId: 'prm_1', approvalTimeoutSeconds: 86_410 })).toBe(arn);
  });

  it('answers a task token with the output as JSON, and the failure cut to the limits AWS accepts', async () => {
    // moto has no callback tokens: it accepts any token, so the "token is dead" mapping (TaskDoesNotExist,
    // InvalidToken, TaskTimedOut → false) stays with the aws-sdk-client-mock unit tests.
    const { client, bodies } = recorded(new SFNClient(config()));
    const wf = new SfnWorkflow({ client });
    await expect(wf.sendTaskSuccess('token-1', { next: 'execute' })).resolves.toBe(true);
    await expect(wf.sendTaskFailure('token-2', 'E'.repeat(300), 'c'.repeat(40_000))).resolves.toBe(true);
    const [success, failure] = bodies() as Record<string, string>[];
    expect(success).toEqual({ taskToken: 'token-1', output: '{"next":"execute"}' });
    expect(failure!.taskToken).toBe('token-2');
    expect(failure!.error).toHaveLength(256);
    expect(failure!.cause).toHaveLength(32_768);
  });
});

describe('EventBridge', () => {
  it('puts the domain events on the bus in batches of ten, as AWS receives them, and reports entries the bus refused', async () => {
    const { client: eb, bodies } = recorded(new EventBridgeClient(config()));
    await eb.send(new CreateEventBusCommand({ Name: 'stageline' }));
    const events = new EventBridgeEvents(eb, 'stageline');
    const detail = (i: number) => ({ tenant: 'acme', environment: 'prod', imageTag: `1.0.${i}`, status: 'SUCCEEDED', at: '2030-01-01T00:00:00.000Z' });
    await events.publish(Array.from({ length: 12 }, (_, i) => ({ id: `ev_${i}`, type: 'Deployment Recorded', detail: detail(i) }) as never));
    const puts = bodies().filter((b) => (b as { Entries?: unknown[] }).Entries) as {
      Entries: { EventBusName: string; Source: string; DetailType: string; Detail: string }[];
    }[];
    expect(puts.map((p) => p.Entries.length)).toEqual([10, 2]);
    expect(puts[0]!.Entries[0]).toMatchObject({ EventBusName: 'stageline', Source: 'stageline', DetailType: 'Deployment Recorded' });
    expect(JSON.parse(puts[0]!.Entries[0]!.Detail)).toMatchObject({ ...detail(0), eventId: 'ev_0' });
    // A bus that does not exist: AWS (and moto) answer with failed entries, which the adapter refuses to ignore.
    const missing = new EventBridgeEvents(eb, 'no-such-bus');
    await expect(missing.publish([{ id: 'ev_x', type: 'Deployment Recorded', detail: detail(99) } as never])).rejects.toThrow(
      /EventBridge refused 1 events|ResourceNotFound|does not exist/,
    );
  });
});

describe('KMS + S3 Object Lock (the audit anchor)', () => {
  it('signs a root with the ECC P-256 key (KMS Sign), verifies it and its checkpoints with the public key alone, and appends them write-once under the lock', async () => {
    const kms = new KMSClient(config());
    const s3 = new S3Client({ ...config(), forcePathStyle: true });
    const key = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'checkpoints', ObjectLockEnabledForBucket: true }));
    const anchor = new KmsS3Anchor(kms, s3, key.KeyMetadata!.KeyId!, 'checkpoints');
    const heads = [
      { tenant: 'acme', seq: 7, hash: 'a'.repeat(64) },
      { tenant: 'beta', seq: 2, hash: 'b'.repeat(64) },
    ];
    const run = await anchorHeads({ anchor }, heads, new Date('2030-01-01T00:00:00.000Z'));
    const root = run.roots[0]!;
    expect(await anchor.verify(root)).toBe(true);
    expect(await anchor.verify({ ...root, size: 3 })).toBe(false);
    expect((await anchor.publicKey()).keyId).toMatch(/^sha256:/);
    const c = run.checkpoints[0]!;
    expect(await anchor.verify(c)).toBe(true);
    expect(await anchor.verify({ ...c, hash: 'c'.repeat(64) })).toBe(false);
    expect(await anchor.list('acme')).toEqual([c]);
    expect(await anchor.list('other')).toEqual([]);
    const objectKey = `checkpoints/acme/${'7'.padStart(12, '0')}.${c.hash}.${c.sig}.20300101T000000000Z.${root.root}.2.0.${c.proof.path.join('')}`;
    expect(JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: 'checkpoints', Key: objectKey }))).Body!.transformToString())).toEqual(c);
  });
});

describe("KMS: each tenant's attestation key", () => {
  it("makes a tenant's key on its first attestation (tagged, aliased), signs a long PAE as a DIGEST with it, and finds it again; another tenant has none", async () => {
    const kms = new KMSClient(config());
    const audit = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
    const anchor = new KmsS3Anchor(kms, new S3Client({ ...config(), forcePathStyle: true }), audit.KeyMetadata!.KeyId!, 'checkpoints', {
      aliasPrefix: 'alias/wire/tenant/',
      signerRoleArn: 'arn:aws:iam::123456789012:role/wire-stream',
    });
    expect(await anchor.tenantKey('acme')).toBeNull();
    // Longer than KMS's 4,096 bytes of RAW message: signed as its SHA-256.
    const message = Buffer.from(`DSSEv1 28 application/vnd.in-toto+json 5000 ${'x'.repeat(5000)}`);
    const sig = await anchor.signBytes('acme', message);
    const acme = (await anchor.tenantKey('acme'))!;
    // Signed with the tenant's key, not the audit key. moto signs a DIGEST as if it were a RAW message (hashing it again:
    // "MessageType DIGEST is not yet implemented"), so here the signature covers the digest; AWS's own DIGEST semantics
    // (the signature over the message itself) are the unit and template tests' (test/infra/stack-kms.test.ts).
    const digest = createHash('sha256').update(message).digest();
    expect(verify('sha256', digest, { key: acme.publicKeyPem, dsaEncoding: 'der' }, sig)).toBe(true);
    expect(verify('sha256', digest, { key: (await anchor.publicKey()).publicKeyPem, dsaEncoding: 'der' }, sig)).toBe(false);
    expect(acme.keyId).not.toBe((await anchor.publicKey()).keyId);
    // A second container finds the same key by its alias (no second key).
    const again = new KmsS3Anchor(kms, new S3Client(config()), audit.KeyMetadata!.KeyId!, 'checkpoints', { aliasPrefix: 'alias/wire/tenant/' });
    expect((await again.tenantKey('acme'))!.keyId).toBe(acme.keyId);
    expect(await again.tenantKey('globex')).toBeNull();
    const alias = (await kms.send(new ListAliasesCommand({}))).Aliases!.find((a) => a.AliasName === 'alias/wire/tenant/acme')!;
    const tags = (await kms.send(new ListResourceTagsCommand({ KeyId: alias.TargetKeyId! }))).Tags!;
    expect(Object.fromEntries(tags.map((t) => [t.TagKey, t.TagValue]))).toMatchObject({
      'stageline:purpose': 'tenant-attestation',
      'stageline:tenant': 'acme',
    });
  });
});

describe('Secrets Manager', () => {
  it('resolves tenant secrets by stageline/<tenant>/<purpose>/<name> (a missing one, or one of another purpose, is null), opens the secrets key and reads registry credentials', async () => {
    const sm = new SecretsManagerClient(config());
    await sm.send(new CreateSecretCommand({ Name: 'stageline/acme/git-token/TOKEN', SecretString: 's3cr3t' }));
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'manifest-apply';
    const resolver = secretsFromEnv(process.env);
    expect(await resolver.resolve('acme', 'TOKEN', 'git-token')).toBe('s3cr3t');
    expect(await resolver.resolve('other', 'TOKEN', 'git-token')).toBeNull();
    expect(await resolver.resolve('acme', 'TOKEN', 'slack-webhook')).toBeNull();
    // Deployed, each read goes through a session of the tenant secrets role tagged with the tenant (the emulator's STS answers).
    const fenced = secretsFromEnv({ ...process.env, TENANT_SECRETS_ROLE_ARN: 'arn:aws:iam::123456789012:role/tenant-secrets' });
    expect(await fenced.resolve('acme', 'TOKEN', 'git-token')).toBe('s3cr3t');
    expect(await fenced.resolve('other', 'TOKEN', 'git-token')).toBeNull();

    const key = await sm.send(new CreateSecretCommand({ Name: 'secrets-key', SecretString: 'k'.repeat(64) }));
    resetSecretBox();
    const box = await secretBox({ SECRETS_KEY_SECRET_ARN: key.ARN });
    expect(box!.open(box!.seal('hello'))).toBe('hello');
    resetSecretBox();

    const creds = [{ tenant: 'acme', origin: 'https://registry.example', username: 'u', password: 'p', realmOrigins: [] }];
    const reg = await sm.send(new CreateSecretCommand({ Name: 'registry-credentials', SecretString: JSON.stringify(creds) }));
    expect(await loadRegistryCredentials({ REGISTRY_CREDENTIALS_SECRET: reg.ARN })).toEqual(creds);
  });

  it("keeps a webhook subscription's signing secrets in stageline/<tenant>/webhooks/<id>: created on first put (tagged with the tenant), a new version on rotation, deleted with it", async () => {
    const store = new SecretsManagerWebhookSecrets();
    expect(await store.get('acme', 'wh1')).toEqual([]);
    const one: WebhookSecret = { id: 's1', secret: 'whsec_one', createdAt: '2026-01-01T00:00:00.000Z', expiresAt: null };
    const first = [one];
    await store.put('acme', 'wh1', first);
    expect(await store.get('acme', 'wh1')).toEqual(first);
    const sm = new SecretsManagerClient(config());
    const described = await sm.send(new DescribeSecretCommand({ SecretId: webhookSecretName('acme', 'wh1') }));
    expect(described.Tags).toEqual([{ Key: 'stageline:tenant', Value: 'acme' }]);
    const rotated: WebhookSecret[] = [
      { id: 's2', secret: 'whsec_two', createdAt: '2026-01-02T00:00:00.000Z', expiresAt: null },
      { ...one, expiresAt: '2026-01-03T00:00:00.000Z' },
    ];
    await store.put('acme', 'wh1', rotated);
    expect(await store.get('acme', 'wh1')).toEqual(rotated);
    expect(await store.get('other', 'wh1')).toEqual([]);
    await store.remove('acme', 'wh1');
    await store.remove('acme', 'gone'); // never created: nothing to delete, no error
    expect((await sm.send(new DescribeSecretCommand({ SecretId: webhookSecretName('acme', 'wh1') }))).DeletedDate).toBeInstanceOf(Date);
  });
});

describe('Cognito (the directory of approvers)', () => {
  it("finds a tenant's members of a group (admins hold every role) and a user by email, never another tenant's", async () => {
    const idp = new CognitoIdentityProviderClient(config());
    const pool = await idp.send(new CreateUserPoolCommand({ PoolName: 'users', Schema: [{ Name: 'tenant_id', AttributeDataType: 'String', Mutable: false }] }));
    const UserPoolId = pool.UserPool!.Id!;
    for (const g of ['approver', 'admin']) await idp.send(new CreateGroupCommand({ UserPoolId, GroupName: g }));
    const user = async (email: string, tenant: string, group: string) => {
      await idp.send(
        new AdminCreateUserCommand({
          UserPoolId,
          Username: email,
          UserAttributes: [
            { Name: 'email', Value: email },
            { Name: 'custom:tenant_id', Value: tenant },
          ],
        }),
      );
      await idp.send(new AdminAddUserToGroupCommand({ UserPoolId, Username: email, GroupName: group }));
    };
    await user('ann@acme.example', 'acme', 'approver');
    await user('bob@acme.example', 'acme', 'admin');
    await user('eve@other.example', 'other', 'approver');
    const dir = new CognitoDirectory(idp, UserPoolId);
    const members = await dir.members('acme', ['approver']);
    expect(members.map((m) => m.email).sort()).toEqual(['ann@acme.example', 'bob@acme.example']);
    expect(members.find((m) => m.email === 'ann@acme.example')!.groups).toEqual(['approver']);
    expect((await dir.byEmail('acme', 'ann@acme.example'))?.tenant).toBe('acme');
    expect(await dir.byEmail('acme', 'eve@other.example')).toBeNull();
  });
});

describe('Cognito (user management: the people routes)', () => {
  it('creates a tenant and invites, lists from the people index, demotes and removes with a global sign-out, and indexes a pool from before', async () => {
    const idp = new CognitoIdentityProviderClient(config());
    const pool = await idp.send(
      new CreateUserPoolCommand({ PoolName: 'people', Schema: [{ Name: 'tenant_id', AttributeDataType: 'String', Mutable: false }] }),
    );
    const UserPoolId = pool.UserPool!.Id!;
    for (const g of ['viewer', 'deployer', 'approver', 'admin', 'platform-admin']) await idp.send(new CreateGroupCommand({ UserPoolId, GroupName: g }));
    const users = new CognitoUserAdmin(idp, UserPoolId);
    const m = memoryDeps();
    const deps = { ...m.deps, users };
    // An operator, and a user of another tenant from before the people routes (not in any index yet).
    for (const [email, tenant, groups] of [
      ['pat@platform.example', 'platform', ['admin', 'platform-admin']],
      ['eve@globex.example', 'globex', ['admin']],
    ] as const) {
      await idp.send(
        new AdminCreateUserCommand({
          UserPoolId,
          Username: email,
          UserAttributes: [
            { Name: 'email', Value: email },
            { Name: 'custom:tenant_id', Value: tenant },
          ],
        }),
      );
      for (const g of groups) await idp.send(new AdminAddUserToGroupCommand({ UserPoolId, Username: email, GroupName: g }));
    }
    const pat = (await users.get(
      'platform',
      (await idp.send(new ListUsersCommand({ UserPoolId, Filter: 'email = "pat@platform.example"' }))).Users![0]!.Attributes!.find((a) => a.Name === 'sub')!
        .Value!,
    ))!;
    const as = (u: { id: string; email: string; groups: string[] }, tenant: string): Ctx => ({
      principal: { tenant, id: u.id, name: u.email, roles: u.groups.filter((g) => g !== 'platform-admin') as never, groups: u.groups, kind: 'user' },
    });
    const made = await createTenant(deps, as(pat, 'platform'), { id: 'acme', adminEmail: 'ada@acme.example' });
    const ada = as({ id: made.admin.id, email: 'ada@acme.example', groups: ['admin'] }, 'acme');
    const carl = await inviteUser(deps, ada, { email: 'carl@acme.example', roles: ['admin'] });
    expect((await listUsers(deps, ada)).items.map((u) => `${u.email}:${u.roles.join(',')}`)).toEqual(['ada@acme.example:admin', 'carl@acme.example:admin']);
    await changeRoles(deps, ada, carl.id, ['viewer']);
    expect((await users.get('acme', carl.id))?.roles).toEqual(['viewer']);
    expect(await m.store.notBefore('acme', carl.id)).toBeGreaterThan(0);
    await removeUser(deps, ada, carl.id);
    expect(await users.get('acme', carl.id)).toBeNull();
    expect((await listUsers(deps, ada)).items.map((u) => u.email)).toEqual(['ada@acme.example']);
    const report = await migrateTenants(deps);
    expect(report.created).toEqual(['globex', 'platform']);
    expect(report.domains).toEqual({ globex: ['globex.example'], platform: ['platform.example'] });
    expect((await m.store.listMembers('globex')).map((p) => `${p.email}:${p.roles.join(',')}`)).toEqual(['eve@globex.example:admin']);
  });
});

describe('SES v2', () => {
  it('sends an approval email from the configured identity, and says plainly when none is configured', async () => {
    const ses = new SESv2Client(config());
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: 'stageline@acme.example' }));
    const send = sesEmail(ses);
    delete process.env.NOTIFY_FROM;
    await expect(send({ to: 'ann@acme.example', subject: 's', html: '<p>h</p>', text: 't' } as never)).rejects.toThrow(/no email sender is configured/);
    process.env.NOTIFY_FROM = 'stageline@acme.example';
    await expect(send({ to: 'ann@acme.example', subject: 'Approve prm_1', html: '<p>h</p>', text: 't' } as never)).resolves.toBeUndefined();
    // What AWS received: moto keeps sent messages in its backend.
    const sent = (await (await fetch(`${endpoint}/moto-api/data.json`)).json()) as Record<string, Record<string, unknown>>;
    expect(JSON.stringify(sent.ses ?? sent.sesv2 ?? sent)).toContain('Approve prm_1');
  });
});

describe('STS (the tenant fence)', () => {
  it('assumes the tenant data role with the tenant as session tag and a session name within STS limits', async () => {
    const provider = tenantCredentials(`arn:aws:iam::${ACCOUNT}:role/TenantWrite`, 'acme', new STSClient(config()));
    const c = await provider();
    expect(c.accessKeyId).toMatch(/^ASIA/);
    expect(c.sessionToken).toBeTruthy();
    expect(c.expiration!.getTime()).toBeGreaterThan(Date.now());
    expect(await provider()).toBe(c); // reused until a minute before it expires
    expect(awsName('stageline-', ['acme'], ROLE_SESSION_NAME)).toMatch(/^[\w+=,.@-]{2,64}$/);
  });
});
