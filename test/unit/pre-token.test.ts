import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PreTokenGenerationV2TriggerEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { handler } from '../../functions/handlers/pre-token.ts';
import { keys } from '../../functions/adapters/keys.ts';

/**
 * The Cognito pre-token-generation trigger (V2_0 event, as the user pool sends it): for a user who
 * signed in through a tenant's identity provider, the token's tenant comes from the provider's name
 * (never from the IdP's claims), and its groups are what the tenant's mapping makes of the IdP's groups.
 */
function event(userAttributes: Record<string, string>, groups: string[] = []): PreTokenGenerationV2TriggerEvent {
  return {
    version: '2',
    triggerSource: 'TokenGeneration_HostedAuth',
    region: 'eu-west-1',
    userPoolId: 'eu-west-1_AbCdEf123',
    userName: 't-acme-oidc_8f3c1f2a',
    callerContext: { awsSdkVersion: 'aws-sdk-unknown-unknown', clientId: '1example23456789' },
    request: {
      userAttributes: { sub: '8f3c1f2a-0000-4000-8000-000000000001', email: 'fed@acme.example', email_verified: 'true', ...userAttributes },
      groupConfiguration: { groupsToOverride: groups, iamRolesToOverride: [], preferredRole: undefined },
      scopes: ['openid', 'email', 'profile'],
    },
    response: { claimsAndScopeOverrideDetails: {} as never },
  } as PreTokenGenerationV2TriggerEvent;
}
const identities = (providerName: string, providerType = 'OIDC') =>
  JSON.stringify([{ userId: 'abc', providerName, providerType, issuer: null, primary: 'true', dateCreated: '1732700000000' }]);

/** The table as the trigger reads it: each tenant's group mapping item, by its key (keys.groupMapping). */
const ddb = mockClient(DynamoDBDocumentClient);
const items = new Map<string, Record<string, unknown>>();
beforeEach(() => {
  process.env.TABLE_NAME = 'stageline-table';
  items.clear();
  ddb.on(GetCommand).callsFake((input: { Key: { pk: string; sk: string } }) => ({ Item: items.get(JSON.stringify(input.Key)) }));
});
afterEach(() => {
  ddb.reset();
  delete process.env.TABLE_NAME;
});
async function withMapping(tenant: string, entries: unknown[], version = 1) {
  const key = keys.groupMapping(tenant);
  items.set(JSON.stringify(key), { ...key, entity: 'GroupMapping', tenant, entries, version });
  return { change: (next: unknown[]) => withMapping(tenant, next, version + 1) };
}

describe('functions/handlers/pre-token.ts', () => {
  it("a federated user's token carries the provider's tenant and only the mapped groups and roles", async () => {
    await withMapping('acme', [
      { idpGroup: 'Payments Engineers', group: 'payments' },
      { idpGroup: 'Release Managers', roles: ['approver'] },
    ]);
    const out = await handler(
      event(
        {
          identities: identities('t-acme-oidc'),
          'custom:tenant_id': 'globex',
          'custom:idp_groups': JSON.stringify(['Payments Engineers', 'Release Managers', 'admin', '__proto__']),
        },
        ['admin', 'stale-group'],
      ),
    );
    const d = out.response.claimsAndScopeOverrideDetails;
    expect(d.groupOverrideDetails?.groupsToOverride).toEqual(['approver', 'payments']);
    expect(d.idTokenGeneration?.claimsToAddOrOverride).toEqual({ 'custom:tenant_id': 'acme' });
    expect(d.idTokenGeneration?.claimsToSuppress).toEqual(['custom:idp_groups']);
    expect(d.accessTokenGeneration?.claimsToAddOrOverride).toEqual({ 'custom:tenant_id': 'acme' });
  });

  it('unmapped IdP groups and a group the user pool had grant nothing: the groups are overridden with none', async () => {
    await withMapping('acme', []);
    const out = await handler(event({ identities: identities('t-acme-saml', 'SAML'), 'custom:idp_groups': '["admin","platform-admin"]' }, ['admin']));
    expect(out.response.claimsAndScopeOverrideDetails.groupOverrideDetails?.groupsToOverride).toEqual([]);
  });

  it('the next token follows the mapping as it is then', async () => {
    const m = await withMapping('acme', [{ idpGroup: 'ops', roles: ['deployer'] }]);
    const e = () => event({ identities: identities('t-acme-oidc'), 'custom:idp_groups': '["ops"]' });
    expect((await handler(e())).response.claimsAndScopeOverrideDetails.groupOverrideDetails?.groupsToOverride).toEqual(['deployer']);
    await m.change([]);
    expect((await handler(e())).response.claimsAndScopeOverrideDetails.groupOverrideDetails?.groupsToOverride).toEqual([]);
  });

  it('refuses the sign-in for a provider that is no tenant’s, and for a tenant with no mapping saved', async () => {
    await withMapping('acme', []);
    await expect(handler(event({ identities: identities('Google', 'Google') }))).rejects.toThrow(/not a tenant's identity provider/);
    await expect(handler(event({ identities: identities('t-globex-oidc') }))).rejects.toThrow(/globex/);
    await expect(handler(event({ identities: 'not json' }))).rejects.toThrow(/identities/);
  });

  it('leaves a user of the pool itself (no identities) as Cognito made their token', async () => {
    await withMapping('acme', [{ idpGroup: 'ops', roles: ['admin'] }]);
    const out = await handler(event({ 'custom:tenant_id': 'acme', 'custom:idp_groups': '["ops"]' }, ['viewer']));
    expect(out.response.claimsAndScopeOverrideDetails).toEqual({});
  });

  it('reads the mapping with one consistent GetItem of the tenant’s own item, and nothing else', async () => {
    await withMapping('acme', []);
    await handler(event({ identities: identities('t-acme-oidc') }));
    expect(ddb.calls()).toHaveLength(1);
    expect(ddb.commandCalls(GetCommand)[0]!.args[0].input).toEqual({
      TableName: 'stageline-table',
      Key: { pk: 'T#acme#PEOPLE', sk: 'GROUPMAP' },
      ConsistentRead: true,
    });
    ddb.resetHistory();
    await handler(event({ 'custom:tenant_id': 'acme' }));
    expect(ddb.calls()).toHaveLength(0);
  });
});
