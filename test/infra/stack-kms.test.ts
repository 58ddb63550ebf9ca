import { CreateAliasCommand, CreateKeyCommand, GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import type { Template } from 'aws-cdk-lib/assertions';
import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import * as anchorModule from '../../functions/adapters/kms-s3-anchor.ts';
import { ANCHOR_SIGN, ATTESTATION_SIGN, KmsS3Anchor } from '../../functions/adapters/kms-s3-anchor.ts';
import { SYNTH_TIMEOUT, flat, functionIds, only, statementsOf, synthesized, type Resource } from '../support/cdk-template.ts';
import { iamAllows, kmsAllows, lockoutRefusal, type Caller, type KmsRequest, type Statement } from '../support/key-policy.ts';

/**
 * Issue 63, item 2: the audit key's policy let the stream role sign only RAW messages while the adapter signed an
 * attestation as a DIGEST, so every attestation was denied on AWS. Here the KMS calls the adapter really sends (its
 * SDK client mocked: aws-sdk-client-mock) are evaluated against the synthesized template's key policy and the stream
 * consumer's IAM statements, condition by condition, so the two cannot drift apart again: a command is allowed only
 * when a statement names its action and every condition of that statement holds for the request.
 */

let template: Template;
let streamStatements: Statement[];
let auditKeyId: string;
let auditKeyPolicy: Statement[];
let streamRoleId: string;

beforeAll(() => {
  ({ template } = synthesized());
  const streamFn = functionIds().get('stream')!;
  streamStatements = statementsOf(streamFn) as Statement[];
  const fn = template.toJSON().Resources[streamFn] as Resource;
  streamRoleId = fn.Properties.Role['Fn::GetAtt'][0];
  let key: Resource;
  [auditKeyId, key] = only('AWS::KMS::Key');
  auditKeyPolicy = key.Properties.KeyPolicy.Statement;
}, SYNTH_TIMEOUT);

const SIGNER = 'arn:aws:iam::123456789012:role/stageline-stream';
const AUDIT_KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/audit';
const TENANT_KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/acme-attestations';

/** Every KMS command the adapter sends while it signs a root, then a tenant's first attestation (its key made on first use). */
async function sentCommands() {
  const kms = mockClient(KMSClient);
  const spki = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' });
  let made = false;
  kms.on(GetPublicKeyCommand).callsFake(() => {
    if (!made) throw Object.assign(new Error('alias not found'), { name: 'NotFoundException' });
    return { KeyId: TENANT_KEY_ARN, PublicKey: new Uint8Array(spki) };
  });
  kms.on(CreateKeyCommand).callsFake(() => ((made = true), { KeyMetadata: { KeyId: TENANT_KEY_ARN, Arn: TENANT_KEY_ARN } }));
  kms.on(CreateAliasCommand).resolves({});
  kms.on(SignCommand).resolves({ Signature: new Uint8Array([48, 6, 2, 1, 1, 2, 1, 1]) });
  const anchor = new KmsS3Anchor(new KMSClient({ region: 'eu-west-1' }), new S3Client({ region: 'eu-west-1' }), AUDIT_KEY_ARN, 'bucket', {
    aliasPrefix: 'alias/stageline/tenant/',
    signerRoleArn: SIGNER,
  });
  await anchor.sign({ root: 'a'.repeat(64), size: 1, at: '2030-01-01T00:00:00.000Z' });
  await anchor.signBytes('acme', Buffer.from('DSSEv1 28 application/vnd.in-toto+json 2 {}'));
  const calls = kms.calls().map((c) => ({ command: c.args[0].constructor.name.replace(/Command$/, ''), input: c.args[0].input as Record<string, any> }));
  kms.restore();
  return calls;
}

/** The key a command acts on: the audit key (by its ARN), a tenant's key (its tags, as the adapter made it), or none (CreateKey). */
interface Target {
  key: 'audit' | 'tenant' | 'new';
  tags: Record<string, string>;
}

/** The request context the condition keys read, for one command on its target (test/support/key-policy.ts evaluates them). */
function contextOf(input: Record<string, any>, target: Target): Record<string, string | undefined> {
  const requestTags = (input.Tags as { TagKey: string; TagValue: string }[] | undefined) ?? [];
  return {
    ...Object.fromEntries(Object.entries(target.tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v])),
    ...Object.fromEntries(requestTags.map((t) => [`aws:RequestTag/${t.TagKey}`, t.TagValue])),
    'kms:MessageType': input.MessageType,
    'kms:SigningAlgorithm': input.SigningAlgorithm,
    'kms:KeySpec': input.KeySpec,
    'kms:KeyUsage': input.KeyUsage,
  };
}

/** A statement as JSON text: the template's intrinsics (principals, resources) flattened (`<Id.Arn>`, `<AWS::AccountId>`). */
const flatStatement = (s: Statement): Statement => ({
  ...s,
  ...(s.Resource !== undefined ? { Resource: [s.Resource].flat().map(flat) } : {}),
  ...(s.Principal && typeof s.Principal === 'object' ? { Principal: { AWS: [(s.Principal as { AWS: unknown }).AWS].flat().map(flat) } } : {}),
});

const IAM_ACTION: Record<string, string> = {
  Sign: 'kms:Sign',
  GetPublicKey: 'kms:GetPublicKey',
  CreateKey: 'kms:CreateKey',
  CreateAlias: 'kms:CreateAlias',
  ScheduleKeyDeletion: 'kms:ScheduleKeyDeletion',
};

/** The template's account, as its statements name it. */
const ACCOUNT = 'arn:<AWS::Partition>:iam::<AWS::AccountId>:root';
/** The resource an IAM statement must name for the target: the audit key's ARN, a tenant key's (in the template's terms), nothing for CreateKey. */
const keyArnOf = (target: Target) =>
  target.key === 'audit'
    ? `<${auditKeyId}.Arn>`
    : target.key === 'tenant'
      ? 'arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/acme-attestations'
      : '*';
/** The stream consumer as a caller: its role (by an ARN, or the template's `<Role.Arn>` in the template's account), with its IAM statements. */
const streamCaller = (arn = SIGNER): Caller => ({ arn, account: arn.startsWith('<') ? ACCOUNT : undefined, iam: streamStatements.map(flatStatement) });
/** An administrator of the account: IAM allows it everything (as the CloudFormation execution role the CDK bootstrap makes). */
const admin = (arn: string, account?: string): Caller => ({ arn, ...(account ? { account } : {}), iam: [{ Effect: 'Allow', Action: '*', Resource: '*' }] });

describe('KMS: the key policies and IAM conditions allow exactly what the adapter sends', () => {
  it('signs roots with the audit key as RAW, and attestations with the tenant key as a DIGEST (the adapter, as sent)', async () => {
    const signs = (await sentCommands()).filter((c) => c.command === 'Sign');
    expect(signs.map((c) => [c.input.KeyId, c.input.MessageType, c.input.SigningAlgorithm])).toEqual([
      [AUDIT_KEY_ARN, ANCHOR_SIGN.MessageType, ANCHOR_SIGN.SigningAlgorithm],
      [TENANT_KEY_ARN, ATTESTATION_SIGN.MessageType, ATTESTATION_SIGN.SigningAlgorithm],
    ]);
    // A DIGEST is the 32 bytes of a SHA-256.
    expect(signs[1]!.input.Message).toHaveLength(32);
  });

  it("every KMS command the stream consumer's adapter sends is allowed by its role's IAM statements, conditions included", async () => {
    const calls = await sentCommands();
    const made = calls.find((c) => c.command === 'CreateKey')!.input;
    const tenantTags = Object.fromEntries((made.Tags as { TagKey: string; TagValue: string }[]).map((t) => [t.TagKey, t.TagValue]));
    const denied: string[] = [];
    for (const c of calls) {
      const action = IAM_ACTION[c.command];
      expect(action, `a KMS command the test does not map: ${c.command}`).toBeDefined();
      const target: Target =
        c.command === 'CreateKey'
          ? { key: 'new', tags: {} }
          : String(c.input.KeyId ?? c.input.TargetKeyId) === AUDIT_KEY_ARN
            ? { key: 'audit', tags: {} }
            : { key: 'tenant', tags: tenantTags };
      const iam = streamStatements.map(flatStatement);
      const request = { action: action!, key: keyArnOf(target), context: contextOf(c.input, target) };
      if (!iamAllows(iam, request)) denied.push(`${c.command} ${JSON.stringify({ ...c.input, Message: undefined, Policy: undefined })}`);
      // Tags given with CreateKey are authorised as kms:TagResource too.
      if (c.command === 'CreateKey' && !iamAllows(iam, { ...request, action: 'kms:TagResource' })) denied.push('TagResource (with CreateKey)');
      // An alias is authorised on the alias as well as on its key.
      const aliasArn = `arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:${String(c.input.AliasName)}`;
      if (c.command === 'CreateAlias' && !iamAllows(iam, { ...request, key: aliasArn })) denied.push(`CreateAlias on ${c.input.AliasName}`);
    }
    expect(denied).toEqual([]);
  });

  it("the audit key's policy lets the stream role sign exactly as the adapter signs a root, and refuses an attestation's DIGEST (the deployment key signs only the anchor)", async () => {
    const [root, attestation] = (await sentCommands()).filter((c) => c.command === 'Sign');
    const signers = auditKeyPolicy.filter((s) => [s.Action].flat().includes('kms:Sign'));
    // The role alone, by its ARN.
    expect(signers.map((s) => flat((s.Principal as { AWS: unknown }).AWS))).toEqual([`<${streamRoleId}.Arn>`]);
    const target: Target = { key: 'audit', tags: {} };
    const consumer = streamCaller(`<${streamRoleId}.Arn>`);
    const policy = auditKeyPolicy.map(flatStatement);
    const sign = (input: Record<string, any>): KmsRequest => ({ action: 'kms:Sign', key: keyArnOf(target), context: contextOf(input, target) });
    expect(kmsAllows(policy, consumer, sign(root!.input))).toBe('key policy');
    // The drift found before: the attestation's DIGEST is not signable with this key, and it is not sent to it.
    expect(kmsAllows(policy, consumer, sign(attestation!.input))).toBeNull();
    expect(attestation!.input.KeyId).not.toBe(AUDIT_KEY_ARN);
    // Nothing else in the key policy signs (the account administers and verifies).
    expect(auditKeyPolicy.flatMap((s) => [s.Action].flat()).filter((a) => a === 'kms:*' || a === 'kms:CreateGrant')).toEqual([]);
  });

  it("the stack names the stream consumer's own role as the signer, and the alias prefix its tenant keys are found by", () => {
    // The signer the stack names to the adapter is the stream consumer's own role (the one its IAM statements are attached to).
    const streamFn = template.toJSON().Resources[functionIds().get('stream')!] as Resource;
    expect(flat(streamFn.Properties.Environment.Variables.ATTESTATION_SIGNER_ROLE_ARN)).toBe(`<${streamRoleId}.Arn>`);
    expect(streamFn.Properties.Environment.Variables.ATTESTATION_KEY_ALIAS_PREFIX).toBe('alias/stageline/tenant/');
  });

  it('no other function may sign or make keys: kms:Sign and kms:CreateKey are the stream consumer’s alone', () => {
    const others = [...functionIds()].filter(([name]) => name !== 'stream');
    const signing = others.filter(([, id]) =>
      (statementsOf(id) as Statement[]).some((s) => [s.Action ?? []].flat().some((a) => ['kms:Sign', 'kms:CreateKey', 'kms:*'].includes(a))),
    );
    expect(signing.map(([name]) => name)).toEqual([]);
  });
});

/** KMS's default key policy (KMS Developer Guide, "Default key policy"): what KMS attaches to a key made without one. */
const kmsDefaultKeyPolicy = (accountRoot: string) => ({
  Version: '2012-10-17',
  Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: accountRoot }, Action: 'kms:*', Resource: '*' }],
});
const TENANT_KEY = keyArnOf({ key: 'tenant', tags: {} });
/** A deploy that replaces the stream consumer's role (a new ARN, the same IAM statements). */
const REPLACED_SIGNER = 'arn:aws:iam::123456789012:role/stageline-stream-replaced';
const ACCOUNT_ADMIN = admin('arn:aws:iam::123456789012:role/administrator');

/** The tenant key as the adapter makes it: the CreateKey it sends, the key policy the key gets (KMS's default when it sends none), its tags. */
async function madeTenantKey() {
  const calls = await sentCommands();
  const created = calls.find((c) => c.command === 'CreateKey')!.input;
  const sent = created.Policy ? (JSON.parse(created.Policy as string) as { Statement: Statement[] }).Statement : undefined;
  const tags = Object.fromEntries((created.Tags as { TagKey: string; TagValue: string }[]).map((t) => [t.TagKey, t.TagValue]));
  return { calls, created, sent, policy: sent ?? kmsDefaultKeyPolicy('arn:aws:iam::123456789012:root').Statement, target: { key: 'tenant', tags } as Target };
}

describe('every key policy, evaluated against the calls made with its key (test/support/key-policy.ts: no emulator evaluates key policies)', () => {
  it('KMS accepts the tenant key the stream consumer makes: its policy does not lock the consumer out, and it never bypasses the lockout check', async () => {
    const { created, sent } = await madeTenantKey();
    expect(created).not.toHaveProperty('BypassPolicyLockoutSafetyCheck');
    expect(lockoutRefusal(sent, streamCaller(), TENANT_KEY, created.BypassPolicyLockoutSafetyCheck)).toBeNull();
  });

  it('every call the stream consumer makes with its tenant key is allowed by the key policy and its role’s IAM statements, and a RAW signature is not', async () => {
    const { calls, policy, target } = await madeTenantKey();
    const used = calls.filter((c) => c.command !== 'CreateKey' && String(c.input.KeyId ?? c.input.TargetKeyId) !== AUDIT_KEY_ARN);
    expect(used.map((c) => c.command)).toEqual(['GetPublicKey', 'CreateAlias', 'GetPublicKey', 'Sign']);
    const refused = used.filter(
      (c) => !kmsAllows(policy, streamCaller(), { action: IAM_ACTION[c.command]!, key: TENANT_KEY, context: contextOf(c.input, target) }),
    );
    expect(refused.map((c) => c.command)).toEqual([]);
    const sign = used.find((c) => c.command === 'Sign')!.input;
    expect(kmsAllows(policy, streamCaller(), { action: 'kms:Sign', key: TENANT_KEY, context: contextOf({ ...sign, MessageType: 'RAW' }, target) })).toBeNull();
    // Only a key tagged as a tenant's attestation key: the same signature with a key without the tag is refused.
    expect(kmsAllows(policy, streamCaller(), { action: 'kms:Sign', key: TENANT_KEY, context: contextOf(sign, { key: 'tenant', tags: {} }) })).toBeNull();
  });

  it("a deploy that replaces the stream consumer's role still signs with every tenant key made before: the right comes from the role's IAM policy, no key policy names the role", async () => {
    const { calls, policy, target } = await madeTenantKey();
    const sign = calls.filter((c) => c.command === 'Sign')[1]!.input;
    expect(kmsAllows(policy, streamCaller(REPLACED_SIGNER), { action: 'kms:Sign', key: TENANT_KEY, context: contextOf(sign, target) })).toBe('IAM');
    expect(JSON.stringify(policy)).not.toMatch(/:role\//);
  });

  it("the account changes a tenant key's policy and schedules its deletion through IAM; the stream consumer cannot change the policy", async () => {
    const { policy } = await madeTenantKey();
    for (const action of ['kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:DisableKey'])
      expect(kmsAllows(policy, ACCOUNT_ADMIN, { action, key: TENANT_KEY }), action).toBe('IAM');
    expect(kmsAllows(policy, streamCaller(), { action: 'kms:PutKeyPolicy', key: TENANT_KEY })).toBeNull();
  });

  it("tenantKeyPolicy is KMS's default key policy (the policy a tenant key gets), which an administrator can put on a key made before without locking anyone out", () => {
    const build = (anchorModule as { tenantKeyPolicy?: (root: string) => unknown }).tenantKeyPolicy;
    expect(build?.('arn:aws:iam::123456789012:root')).toEqual(kmsDefaultKeyPolicy('arn:aws:iam::123456789012:root'));
    expect(lockoutRefusal(kmsDefaultKeyPolicy('arn:aws:iam::123456789012:root').Statement, ACCOUNT_ADMIN, TENANT_KEY)).toBeNull();
  });

  it("every key the template defines: CloudFormation's role creates it without a lockout, the account can change its policy, and the stream consumer alone signs, not an administrator", () => {
    const keys = Object.entries(template.findResources('AWS::KMS::Key')) as [string, Resource][];
    expect(keys.length).toBeGreaterThan(0);
    // The CDK bootstrap's CloudFormation execution role (AdministratorAccess unless the bootstrap narrowed it).
    const cloudFormation = admin('arn:<AWS::Partition>:iam::<AWS::AccountId>:role/cdk-hnb659fds-cfn-exec-role');
    const roles = [...functionIds()].map(([name, id]) => {
      const fn = template.toJSON().Resources[id] as Resource;
      return {
        name,
        caller: { arn: `<${fn.Properties.Role['Fn::GetAtt'][0]}.Arn>`, account: ACCOUNT, iam: statementsOf(id).map((s) => flatStatement(s as Statement)) },
      };
    });
    for (const [id, key] of keys) {
      const policy = (key.Properties.KeyPolicy.Statement as Statement[]).map(flatStatement);
      expect(lockoutRefusal(policy, cloudFormation, `<${id}.Arn>`, key.Properties.BypassPolicyLockoutSafetyCheck), id).toBeNull();
      expect(kmsAllows(policy, cloudFormation, { action: 'kms:PutKeyPolicy', key: `<${id}.Arn>` }), id).toBe('IAM');
      const sign: KmsRequest = {
        action: 'kms:Sign',
        key: `<${id}.Arn>`,
        context: { 'kms:SigningAlgorithm': ANCHOR_SIGN.SigningAlgorithm, 'kms:MessageType': ANCHOR_SIGN.MessageType },
      };
      expect(
        roles.filter((r) => kmsAllows(policy, r.caller, sign)).map((r) => r.name),
        id,
      ).toEqual(['stream']);
      expect(kmsAllows(policy, cloudFormation, sign), id).toBeNull();
    }
  });
});
