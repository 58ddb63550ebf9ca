import { GetKeyPolicyCommand, KMSClient, ListAliasesCommand, PutKeyPolicyCommand } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ATTESTATION_SIGN, KEY_ADMIN_ACTIONS, TENANT_KEY_PURPOSE, TENANT_KEY_TAG } from '../../functions/adapters/kms-s3-anchor.ts';
import { repairTenantKeyPolicies } from '../../scripts/repair-tenant-key-policies.ts';
import { kmsAllows, lockoutRefusal, type Caller, type Statement } from '../support/key-policy.ts';

const ROOT = 'arn:aws:iam::123456789012:root';
const OLD_ROLE = 'arn:aws:iam::123456789012:role/Stageline-StreamRole-OLD';
const NEW_ROLE = 'arn:aws:iam::123456789012:role/Stageline-StreamRole-NEW';
const aliasArn = (name: string) => `arn:aws:kms:eu-west-1:123456789012:${name}`;

/** The policy tenant keys were made with before: the account administers and verifies, the role of the day alone signs. */
const formerPolicy = (signer: string) => ({
  Version: '2012-10-17',
  Statement: [
    { Sid: 'AccountAdministersTheKeyButCannotSign', Effect: 'Allow', Principal: { AWS: ROOT }, Action: [...KEY_ADMIN_ACTIONS], Resource: '*' },
    { Sid: 'AccountVerifiesAttestations', Effect: 'Allow', Principal: { AWS: ROOT }, Action: ['kms:GetPublicKey', 'kms:Verify'], Resource: '*' },
    {
      Sid: 'StreamConsumerSignsAttestations',
      Effect: 'Allow',
      Principal: { AWS: signer },
      Action: 'kms:Sign',
      Resource: '*',
      Condition: { StringEquals: { 'kms:SigningAlgorithm': ATTESTATION_SIGN.SigningAlgorithm, 'kms:MessageType': ATTESTATION_SIGN.MessageType } },
    },
  ],
});
const defaultPolicy = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' }],
};
const brought = {
  Version: '2012-10-17',
  Statement: [
    { Sid: 'TenantOwn', Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' },
    { Sid: 'Extra', Effect: 'Allow', Principal: { AWS: NEW_ROLE }, Action: 'kms:Sign', Resource: '*' },
  ],
};

/** The stream consumer's role after a deploy that replaced it: its IAM statement signs tenant keys (as the stack grants it). */
const newSigner: Caller = {
  arn: NEW_ROLE,
  iam: [
    {
      Effect: 'Allow',
      Action: 'kms:Sign',
      Resource: 'arn:aws:kms:eu-west-1:123456789012:key/*',
      Condition: {
        StringEquals: {
          [`aws:ResourceTag/${TENANT_KEY_TAG}`]: TENANT_KEY_PURPOSE,
          'kms:SigningAlgorithm': ATTESTATION_SIGN.SigningAlgorithm,
          'kms:MessageType': ATTESTATION_SIGN.MessageType,
        },
      },
    },
  ],
};
const administrator: Caller = { arn: 'arn:aws:iam::123456789012:role/administrator', iam: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
const sign = {
  action: 'kms:Sign',
  key: 'arn:aws:kms:eu-west-1:123456789012:key/k-old',
  context: {
    [`aws:ResourceTag/${TENANT_KEY_TAG}`]: TENANT_KEY_PURPOSE,
    'kms:SigningAlgorithm': ATTESTATION_SIGN.SigningAlgorithm,
    'kms:MessageType': ATTESTATION_SIGN.MessageType,
  },
};

const kms = mockClient(KMSClient);
afterEach(() => kms.reset());

function account(policies: Record<string, object>) {
  kms.on(ListAliasesCommand, {}).resolves({
    Aliases: [
      { AliasName: 'alias/stageline/tenant/acme', AliasArn: aliasArn('alias/stageline/tenant/acme'), TargetKeyId: 'k-old' },
      { AliasName: 'alias/other/tenant/acme', AliasArn: aliasArn('alias/other/tenant/acme'), TargetKeyId: 'k-other-stack' },
    ],
    Truncated: true,
    NextMarker: 'page-2',
  });
  kms.on(ListAliasesCommand, { Marker: 'page-2' }).resolves({
    Aliases: [
      { AliasName: 'alias/stageline/tenant/initech', AliasArn: aliasArn('alias/stageline/tenant/initech'), TargetKeyId: 'k-current' },
      { AliasName: 'alias/stageline/tenant/globex', AliasArn: aliasArn('alias/stageline/tenant/globex'), TargetKeyId: 'k-brought' },
    ],
  });
  for (const [keyId, policy] of Object.entries(policies)) kms.on(GetKeyPolicyCommand, { KeyId: keyId }).resolves({ Policy: JSON.stringify(policy) });
  kms.on(PutKeyPolicyCommand).resolves({});
}

describe('repairing the tenant keys made with the former key policy (npm run repair-tenant-keys)', () => {
  it('without --apply says which keys it would repair and changes none', async () => {
    account({ 'k-old': formerPolicy(OLD_ROLE), 'k-current': defaultPolicy, 'k-brought': brought });
    const report = await repairTenantKeyPolicies(new KMSClient({ region: 'eu-west-1' }), 'alias/stageline/tenant/', false);
    expect(report).toEqual({
      repaired: [{ alias: 'alias/stageline/tenant/acme', keyId: 'k-old' }],
      current: ['alias/stageline/tenant/initech'],
      foreign: ['alias/stageline/tenant/globex'],
    });
    expect(kms.commandCalls(PutKeyPolicyCommand)).toHaveLength(0);
    // Another stack's keys are not read.
    expect(kms.commandCalls(GetKeyPolicyCommand).map((c) => c.args[0].input.KeyId)).toEqual(['k-old', 'k-current', 'k-brought']);
  });

  it('with --apply puts the default key policy on the former keys alone: a replaced stream role signs again, an administrator keeps it manageable, no lockout', async () => {
    // Before: the replaced role cannot sign with the key made for its predecessor.
    expect(kmsAllows(formerPolicy(OLD_ROLE).Statement as Statement[], newSigner, sign)).toBeNull();
    account({ 'k-old': formerPolicy(OLD_ROLE), 'k-current': defaultPolicy, 'k-brought': brought });
    await repairTenantKeyPolicies(new KMSClient({ region: 'eu-west-1' }), 'alias/stageline/tenant/', true);
    const puts = kms.commandCalls(PutKeyPolicyCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => p.KeyId)).toEqual(['k-old']);
    expect(puts[0]).not.toHaveProperty('BypassPolicyLockoutSafetyCheck');
    const put = JSON.parse(puts[0]!.Policy!) as { Statement: Statement[] };
    expect(put).toEqual(defaultPolicy);
    expect(lockoutRefusal(put.Statement, administrator, sign.key)).toBeNull();
    expect(kmsAllows(put.Statement, newSigner, sign)).toBe('IAM');
    // A second run changes nothing.
    kms.reset();
    account({ 'k-old': put, 'k-current': defaultPolicy, 'k-brought': brought });
    const again = await repairTenantKeyPolicies(new KMSClient({ region: 'eu-west-1' }), 'alias/stageline/tenant/', true);
    expect(again.repaired).toEqual([]);
    expect(kms.commandCalls(PutKeyPolicyCommand)).toHaveLength(0);
  });
});
