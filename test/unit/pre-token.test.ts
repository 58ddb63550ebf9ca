import { describe, expect, it } from 'vitest';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { handler } from '../../functions/handlers/pre-token.ts';
import { identities, preTokenEvent, useTriggerTable } from '../support/federation.ts';

/**
 * The Cognito pre-token-generation trigger (V2_0 event, as the user pool sends it): for a user who
 * signed in through a tenant's identity provider, the token's tenant comes from the provider's name
 * (never from the IdP's claims), and its groups are what the tenant's mapping makes of the IdP's groups.
 */
const event = preTokenEvent;
const table = useTriggerTable();
const withConnection = (tenant: string, kind: 'oidc' | 'saml' = 'oidc') => table.connection(tenant, kind);
async function withMapping(tenant: string, entries: unknown[], version = 1) {
  table.mapping(tenant, entries, version);
  return { change: (next: unknown[]) => withMapping(tenant, next, version + 1) };
}
const dropConnection = (tenant: string) => table.dropConnection(tenant);

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
    const out = await handler(
      event({ identities: identities('t-initech-saml', 'SAML'), email: 'fed@initech.example', 'custom:idp_groups': '["admin","Release Managers"]' }, ['admin']),
    );
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
    expect(table.ddb.calls()).toHaveLength(0);
  });

  it('reads the tenant’s connection, mapping and the SCIM claim of the address with three consistent GetItems of exactly those items, and nothing else', async () => {
    withConnection('acme');
    await handler(event({ identities: identities('t-acme-oidc') }));
    expect(table.ddb.calls()).toHaveLength(3);
    expect(table.ddb.commandCalls(GetCommand).map((c) => c.args[0].input)).toEqual([
      {
        TableName: 'stageline-table',
        Key: { pk: 'T#acme#TENANT', sk: 'IDP' },
        ConsistentRead: true,
        // every name aliased (DynamoDB reserves many words)
        ProjectionExpression: '#p, #k, #d, #g, #s.#e',
        ExpressionAttributeNames: { '#p': 'providerName', '#k': 'kind', '#d': 'emailDomains', '#g': 'groupsFrom', '#s': 'saml', '#e': 'entityId' },
      },
      { TableName: 'stageline-table', Key: { pk: 'T#acme#PEOPLE', sk: 'GROUPMAP' }, ConsistentRead: true },
      {
        TableName: 'stageline-table',
        Key: { pk: 'T#acme#SCIM', sk: 'UNIQUE#User#email#fed@acme.example' },
        ConsistentRead: true,
        ProjectionExpression: '#o',
        ExpressionAttributeNames: { '#o': 'owner' },
      },
    ]);
    table.ddb.resetHistory();
    await handler(event({ identities: identities('Google', 'Google') })).catch(() => undefined);
    expect(table.ddb.calls()).toHaveLength(0);
  });
});
