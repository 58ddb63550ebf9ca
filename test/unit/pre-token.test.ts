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

/** The table as the trigger reads it: each tenant's identity provider connection and group mapping items, by their keys. */
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
/** The tenant's identity provider connection (keys.identityProvider), as the API stores it (providerName t-<tenant>-<kind>). */
function withConnection(tenant: string, kind: 'oidc' | 'saml' = 'oidc') {
  const key = keys.identityProvider(tenant);
  items.set(JSON.stringify(key), { ...key, entity: 'IdentityProvider', tenant, kind, providerName: `t-${tenant}-${kind}`, emailDomains: [], version: 1 });
}
const dropConnection = (tenant: string) => items.delete(JSON.stringify(keys.identityProvider(tenant)));

describe('functions/handlers/pre-token.ts', () => {
  it("a federated user's token carries the provider's tenant and only the mapped groups and roles", async () => {
    withConnection('acme');
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
    expect(d.accessTokenGeneration?.claimsToSuppress).toEqual(['custom:idp_groups']);
  });

  it('unmapped IdP groups and a group the user pool had grant nothing: the groups are overridden with none', async () => {
    withConnection('acme', 'saml');
    await withMapping('acme', []);
    const out = await handler(event({ identities: identities('t-acme-saml', 'SAML'), 'custom:idp_groups': '["admin","platform-admin"]' }, ['admin']));
    expect(out.response.claimsAndScopeOverrideDetails.groupOverrideDetails?.groupsToOverride).toEqual([]);
  });

  it('the next token follows the mapping as it is then', async () => {
    withConnection('acme');
    const m = await withMapping('acme', [{ idpGroup: 'ops', roles: ['deployer'] }]);
    const e = () => event({ identities: identities('t-acme-oidc'), 'custom:idp_groups': '["ops"]' });
    expect((await handler(e())).response.claimsAndScopeOverrideDetails.groupOverrideDetails?.groupsToOverride).toEqual(['deployer']);
    await m.change([]);
    expect((await handler(e())).response.claimsAndScopeOverrideDetails.groupOverrideDetails?.groupsToOverride).toEqual([]);
  });

  it('refuses the sign-in for a provider that is no tenant’s, and for a tenant whose connection is gone or is now another provider', async () => {
    withConnection('acme');
    await withMapping('acme', []);
    await expect(handler(event({ identities: identities('Google', 'Google') }))).rejects.toThrow(/not a tenant's identity provider/);
    // globex has a mapping saved but no connection (deleted): its old provider in the pool lets no one in.
    await withMapping('globex', [{ idpGroup: 'ops', roles: ['admin'] }]);
    await expect(handler(event({ identities: identities('t-globex-oidc') }))).rejects.toThrow(/globex.*no identity provider/);
    // acme replaced its OIDC connection by SAML: a sign-in through the OIDC provider left in the pool is refused.
    await expect(handler(event({ identities: identities('t-acme-saml', 'SAML') }))).rejects.toThrow(/t-acme-oidc/);
    dropConnection('acme');
    await expect(handler(event({ identities: identities('t-acme-oidc') }))).rejects.toThrow(/acme.*no identity provider/);
    await expect(handler(event({ identities: 'not json' }))).rejects.toThrow(/identities/);
  });

  it('lets the people of a tenant that connected its identity provider and saved no mapping yet sign in, with no roles', async () => {
    withConnection('initech', 'saml');
    const out = await handler(event({ identities: identities('t-initech-saml', 'SAML'), 'custom:idp_groups': '["admin","Release Managers"]' }, ['admin']));
    const d = out.response.claimsAndScopeOverrideDetails;
    expect(d.groupOverrideDetails?.groupsToOverride).toEqual([]);
    expect(d.idTokenGeneration?.claimsToAddOrOverride).toEqual({ 'custom:tenant_id': 'initech' });
    expect(d.idTokenGeneration?.claimsToSuppress).toEqual(['custom:idp_groups']);
  });

  it('leaves a user of the pool itself (no identities) their tenant and groups, but drops a custom:idp_groups they wrote from every token', async () => {
    withConnection('acme');
    await withMapping('acme', [{ idpGroup: 'ops', roles: ['admin'] }]);
    const out = await handler(event({ 'custom:tenant_id': 'acme', 'custom:idp_groups': '["ops"]' }, ['viewer']));
    const d = out.response.claimsAndScopeOverrideDetails;
    expect(d.groupOverrideDetails).toBeUndefined();
    expect(d.idTokenGeneration).toEqual({ claimsToSuppress: ['custom:idp_groups'] });
    expect(d.accessTokenGeneration).toEqual({ claimsToSuppress: ['custom:idp_groups'] });
    expect(ddb.calls()).toHaveLength(0);
  });

  it('reads the tenant’s connection and mapping with two consistent GetItems of exactly those two items, and nothing else', async () => {
    withConnection('acme');
    await handler(event({ identities: identities('t-acme-oidc') }));
    expect(ddb.calls()).toHaveLength(2);
    expect(ddb.commandCalls(GetCommand).map((c) => c.args[0].input)).toEqual([
      { TableName: 'stageline-table', Key: { pk: 'T#acme#TENANT', sk: 'IDP' }, ConsistentRead: true, ProjectionExpression: 'providerName' },
      { TableName: 'stageline-table', Key: { pk: 'T#acme#PEOPLE', sk: 'GROUPMAP' }, ConsistentRead: true },
    ]);
    ddb.resetHistory();
    await handler(event({ identities: identities('Google', 'Google') })).catch(() => undefined);
    expect(ddb.calls()).toHaveLength(0);
  });
});
