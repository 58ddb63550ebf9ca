import { CreateAliasCommand, CreateKeyCommand, GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import type { Template } from 'aws-cdk-lib/assertions';
import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { ANCHOR_SIGN, ATTESTATION_SIGN, KmsS3Anchor } from '../../functions/adapters/kms-s3-anchor.ts';
import { SYNTH_TIMEOUT, flat, functionIds, only, statementsOf, synthesized, type Resource } from '../support/cdk-template.ts';

/**
 * Issue 63, item 2: the audit key's policy let the stream role sign only RAW messages while the adapter signed an
 * attestation as a DIGEST, so every attestation was denied on AWS. Here the KMS calls the adapter really sends (its
 * SDK client mocked: aws-sdk-client-mock) are evaluated against the synthesized template's key policy and the stream
 * consumer's IAM statements, condition by condition, so the two cannot drift apart again: a command is allowed only
 * when a statement names its action and every condition of that statement holds for the request.
 */

type Statement = {
  Sid?: string;
  Effect?: string;
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

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

/** The request context a condition key reads, for one command. */
function contextValue(conditionKey: string, input: Record<string, any>, target: Target): string | undefined {
  if (conditionKey.startsWith('aws:ResourceTag/')) return target.tags[conditionKey.slice('aws:ResourceTag/'.length)];
  if (conditionKey.startsWith('aws:RequestTag/'))
    return (input.Tags as { TagKey: string; TagValue: string }[] | undefined)?.find((t) => t.TagKey === conditionKey.slice('aws:RequestTag/'.length))?.TagValue;
  const field: Record<string, string> = {
    'kms:MessageType': 'MessageType',
    'kms:SigningAlgorithm': 'SigningAlgorithm',
    'kms:KeySpec': 'KeySpec',
    'kms:KeyUsage': 'KeyUsage',
  };
  if (!field[conditionKey]) throw new Error(`the test does not know condition key ${conditionKey}: teach contextValue what the request carries for it`);
  return input[field[conditionKey]!];
}

/** Does one statement allow this action on this target for this request (every condition holding)? */
function allows(s: Statement, action: string, input: Record<string, any>, target: Target, onResource: (r: string) => boolean): boolean {
  if (s.Effect && s.Effect !== 'Allow') return false;
  if (![s.Action].flat().some((a) => a === action || a === 'kms:*' || (a.endsWith('*') && action.startsWith(a.slice(0, -1))))) return false;
  if (![s.Resource].flat().some((r) => onResource(flat(r)))) return false;
  for (const [operator, conditions] of Object.entries(s.Condition ?? {})) {
    if (operator !== 'StringEquals') throw new Error(`the test does not evaluate ${operator}`);
    for (const [k, v] of Object.entries(conditions)) if (![v].flat().includes(contextValue(k, input, target))) return false;
  }
  return true;
}

const IAM_ACTION: Record<string, string> = {
  Sign: 'kms:Sign',
  GetPublicKey: 'kms:GetPublicKey',
  CreateKey: 'kms:CreateKey',
  CreateAlias: 'kms:CreateAlias',
  ScheduleKeyDeletion: 'kms:ScheduleKeyDeletion',
};

/** The IAM resource a statement must name for the target: the audit key by its logical id, tenant keys by the key/* ARN, CreateKey by "*". */
const resourceOf = (target: Target) => (r: string) =>
  target.key === 'audit' ? r.includes(auditKeyId) : target.key === 'tenant' ? r.endsWith(':key/*') : r === '*';

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
      const onResource = resourceOf(target);
      if (!streamStatements.some((s) => allows(s, action!, c.input, target, onResource)))
        denied.push(`${c.command} ${JSON.stringify({ ...c.input, Message: undefined, Policy: undefined })}`);
      // Tags given with CreateKey are authorised as kms:TagResource too.
      if (c.command === 'CreateKey' && !streamStatements.some((s) => allows(s, 'kms:TagResource', c.input, target, onResource)))
        denied.push('TagResource (with CreateKey)');
      // An alias is authorised on the alias as well as on its key.
      if (c.command === 'CreateAlias' && !streamStatements.some((s) => allows(s, action!, c.input, target, (r) => r.includes(':alias/stageline/tenant/*'))))
        denied.push(`CreateAlias on ${c.input.AliasName}`);
    }
    expect(denied).toEqual([]);
  });

  it("the audit key's policy lets the stream role sign exactly as the adapter signs a root, and refuses an attestation's DIGEST (the deployment key signs only the anchor)", async () => {
    const [root, attestation] = (await sentCommands()).filter((c) => c.command === 'Sign');
    const signers = auditKeyPolicy.filter((s) => [s.Action].flat().includes('kms:Sign'));
    // The role alone, by its ARN.
    expect(signers.map((s) => flat((s.Principal as { AWS: unknown }).AWS))).toEqual([`<${streamRoleId}.Arn>`]);
    const target: Target = { key: 'audit', tags: {} };
    expect(signers.some((s) => allows(s, 'kms:Sign', root!.input, target, () => true))).toBe(true);
    // The drift found before: the attestation's DIGEST is not signable with this key, and it is not sent to it.
    expect(signers.some((s) => allows(s, 'kms:Sign', attestation!.input, target, () => true))).toBe(false);
    expect(attestation!.input.KeyId).not.toBe(AUDIT_KEY_ARN);
    // Nothing else in the key policy signs (the account administers and verifies).
    expect(auditKeyPolicy.flatMap((s) => [s.Action].flat()).filter((a) => a === 'kms:*' || a === 'kms:CreateGrant')).toEqual([]);
  });

  it("a tenant key's policy, as the adapter creates it, lets the signer role alone sign, exactly as the adapter signs an attestation", async () => {
    const calls = await sentCommands();
    const made = calls.find((c) => c.command === 'CreateKey')!.input;
    const attestation = calls.filter((c) => c.command === 'Sign')[1]!;
    const policy = JSON.parse(made.Policy as string) as { Statement: Statement[] };
    const signers = policy.Statement.filter((s) => [s.Action].flat().some((a) => a === 'kms:Sign' || a === 'kms:*'));
    expect(signers.map((s) => (s.Principal as { AWS: string }).AWS)).toEqual([SIGNER]);
    const target: Target = { key: 'tenant', tags: {} };
    expect(signers.some((s) => allows(s, 'kms:Sign', attestation.input, target, () => true))).toBe(true);
    expect(signers.some((s) => allows(s, 'kms:Sign', { ...attestation.input, MessageType: 'RAW' }, target, () => true))).toBe(false);
    expect(made).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    // The signer the stack names to the adapter is the stream consumer's own role (the one its IAM statements are attached to).
    const streamFn = template.toJSON().Resources[functionIds().get('stream')!] as Resource;
    expect(flat(streamFn.Properties.Environment.Variables.ATTESTATION_SIGNER_ROLE_ARN)).toBe(`<${streamRoleId}.Arn>`);
    expect(streamFn.Properties.Environment.Variables.ATTESTATION_KEY_ALIAS_PREFIX).toBe('alias/stageline/tenant/');
  });

  it('no other function may sign or make keys: kms:Sign and kms:CreateKey are the stream consumer’s alone', () => {
    const others = [...functionIds()].filter(([name]) => name !== 'stream');
    const signing = others.filter(([, id]) =>
      (statementsOf(id) as Statement[]).some((s) => [s.Action].flat().some((a) => ['kms:Sign', 'kms:CreateKey', 'kms:*'].includes(a))),
    );
    expect(signing.map(([name]) => name)).toEqual([]);
  });
});
