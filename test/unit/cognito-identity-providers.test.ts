import {
  CognitoIdentityProviderClient,
  CreateIdentityProviderCommand,
  DeleteIdentityProviderCommand,
  DescribeIdentityProviderCommand,
  DescribeUserPoolClientCommand,
  ResourceNotFoundException,
  UpdateIdentityProviderCommand,
  UpdateUserPoolClientCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoAppClientLock, type AppClientLock } from '../../functions/adapters/app-client-lock.ts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { putIdentityProvider, type IdentityProviderConnection } from '../../domain/access/federation.ts';
import { CognitoIdentityProviders } from '../../functions/adapters/cognito-identity-providers.ts';
import { checkProvider } from '../../functions/adapters/federation.ts';
import type { Ctx } from '../../domain/ports.ts';
import { memoryDeps } from '../support/memory-deps.ts';

/**
 * The tenant's connection on AWS is the user pool's identity provider (aws-sdk-client-mock): created, then
 * updated, then deleted, named t-<tenant>-<kind>, with the tenant's email domains as its identifiers, email and
 * the groups claim mapped, and the app client's list of providers kept in step (every other setting of the
 * client written back as it was). A failure leaves the stored connection as it was and the pool as it was.
 */
const cognito = mockClient(CognitoIdentityProviderClient);
beforeEach(() => cognito.reset());
afterEach(() => cognito.reset());

const CLIENT = {
  UserPoolId: 'pool-1',
  ClientId: 'client-1',
  ClientName: 'stageline',
  ClientSecret: undefined,
  CallbackURLs: ['https://console.example/dashboard', 'http://localhost:53682/callback'],
  LogoutURLs: ['https://console.example/dashboard'],
  AllowedOAuthFlows: ['code'],
  AllowedOAuthScopes: ['openid', 'email', 'profile'],
  AllowedOAuthFlowsUserPoolClient: true,
  ExplicitAuthFlows: ['ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
  ReadAttributes: ['email', 'custom:tenant_id'],
  WriteAttributes: ['email'],
  IdTokenValidity: 60,
  AccessTokenValidity: 60,
  RefreshTokenValidity: 30,
  TokenValidityUnits: { IdToken: 'minutes', AccessToken: 'minutes', RefreshToken: 'days' },
  PreventUserExistenceErrors: 'ENABLED',
  EnableTokenRevocation: true,
  SupportedIdentityProviders: ['COGNITO'],
  CreationDate: new Date(),
  LastModifiedDate: new Date(),
};

function pool() {
  const providers = new Map<string, Record<string, unknown>>();
  let client = { ...CLIENT };
  cognito.on(DescribeIdentityProviderCommand).callsFake((i) => {
    const p = providers.get(i.ProviderName);
    if (!p) throw new ResourceNotFoundException({ message: 'not found', $metadata: {} });
    return { IdentityProvider: p };
  });
  cognito.on(CreateIdentityProviderCommand).callsFake((i) => {
    providers.set(i.ProviderName, { ...i });
    return { IdentityProvider: i };
  });
  cognito.on(UpdateIdentityProviderCommand).callsFake((i) => {
    providers.set(i.ProviderName, { ...providers.get(i.ProviderName), ...i });
    return { IdentityProvider: i };
  });
  cognito.on(DeleteIdentityProviderCommand).callsFake((i) => {
    providers.delete(i.ProviderName);
    return {};
  });
  cognito.on(DescribeUserPoolClientCommand).callsFake(() => ({ UserPoolClient: client }));
  cognito.on(UpdateUserPoolClientCommand).callsFake((i) => {
    client = { ...client, ...i };
    return { UserPoolClient: client };
  });
  return {
    providers,
    client: () => client,
    set: (next: typeof client) => {
      client = next;
    },
  };
}

const METADATA = `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example/saml"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>MIIB</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>`;

/** The adapter; `offline`: the OIDC discovery document is not read (there is no IdP here), everything else is the adapter's own. */
function setup(offline = false) {
  const m = memoryDeps();
  const client = new CognitoIdentityProviderClient({ region: 'eu-west-1' });
  const adapter = new CognitoIdentityProviders(client, 'pool-1', 'client-1', offline ? async (c) => (c.kind === 'oidc' ? {} : checkProvider(c)) : undefined);
  const deps = {
    ...m.deps,
    identityProviders: adapter,
    secrets: { resolve: async (tenant: string, name: string) => (tenant === 'acme' && name === 'OKTA' ? 'the-client-secret' : null) },
  } as never;
  const ctx: Ctx = { principal: { tenant: 'acme', id: 'ada', name: 'ada@acme.test', roles: ['admin'] as never, groups: ['admin'], kind: 'user' } };
  return { deps, ctx, store: m.deps.store as unknown as { getIdentityProvider(t: string): Promise<IdentityProviderConnection | null> } };
}

describe('the user pool identity provider (Cognito)', () => {
  it('a SAML connection creates t-<tenant>-saml with its metadata, domains and mapping, and adds it to the app client keeping every other setting', async () => {
    const p = pool();
    const { deps, ctx } = setup();
    await putIdentityProvider(deps, ctx, { kind: 'saml', saml: { metadataXml: METADATA }, emailDomains: ['acme.example', 'acme.co'], groupsClaim: 'memberOf' });
    const created = cognito.commandCalls(CreateIdentityProviderCommand);
    expect(created).toHaveLength(1);
    expect(created[0]!.args[0].input).toEqual({
      UserPoolId: 'pool-1',
      ProviderName: 't-acme-saml',
      ProviderType: 'SAML',
      ProviderDetails: { MetadataFile: METADATA, IDPSignout: 'false' },
      AttributeMapping: { email: 'email', 'custom:idp_groups': 'memberOf' },
      IdpIdentifiers: ['acme.co', 'acme.example'],
    });
    const updates = cognito.commandCalls(UpdateUserPoolClientCommand);
    expect(updates).toHaveLength(1);
    const { CreationDate: _c, LastModifiedDate: _l, ClientSecret: _s, SupportedIdentityProviders: _p, ...kept } = CLIENT;
    expect(updates[0]!.args[0].input).toEqual({ ...kept, SupportedIdentityProviders: ['COGNITO', 't-acme-saml'] });
    expect(p.client().SupportedIdentityProviders).toEqual(['COGNITO', 't-acme-saml']);
  });

  it('an OIDC connection sends the client secret resolved at that moment; a change updates the provider; a change of kind replaces it; removing deletes it and takes it off the client', async () => {
    const p = pool();
    const { deps, ctx } = setup(true);
    const d = deps;
    const oidc = { issuer: 'https://login.acme.example', clientId: 'stageline', clientSecret: 'OKTA' };
    await putIdentityProvider(d, ctx, { kind: 'oidc', oidc, emailDomains: ['acme.example'] });
    expect(cognito.commandCalls(CreateIdentityProviderCommand)[0]!.args[0].input).toEqual({
      UserPoolId: 'pool-1',
      ProviderName: 't-acme-oidc',
      ProviderType: 'OIDC',
      ProviderDetails: {
        client_id: 'stageline',
        client_secret: 'the-client-secret',
        attributes_request_method: 'GET',
        oidc_issuer: 'https://login.acme.example',
        authorize_scopes: 'openid email profile',
      },
      AttributeMapping: { email: 'email', 'custom:idp_groups': 'groups' },
      IdpIdentifiers: ['acme.example'],
    });
    await putIdentityProvider(d, ctx, { kind: 'oidc', oidc: { issuer: oidc.issuer, clientId: 'stageline2' }, emailDomains: ['acme.example', 'acme.co'] });
    const updated = cognito.commandCalls(UpdateIdentityProviderCommand);
    expect(updated).toHaveLength(1);
    expect(updated[0]!.args[0].input).toMatchObject({
      ProviderName: 't-acme-oidc',
      ProviderDetails: { client_id: 'stageline2', client_secret: 'the-client-secret' },
      IdpIdentifiers: ['acme.co', 'acme.example'],
    });
    // The client lists it once.
    expect(p.client().SupportedIdentityProviders).toEqual(['COGNITO', 't-acme-oidc']);

    await putIdentityProvider(deps, ctx, { kind: 'saml', saml: { metadataXml: METADATA }, emailDomains: ['acme.example'] });
    expect([...p.providers.keys()]).toEqual(['t-acme-saml']);
    expect(p.client().SupportedIdentityProviders).toEqual(['COGNITO', 't-acme-saml']);

    const { deleteIdentityProvider } = await import('../../domain/access/federation.ts');
    await deleteIdentityProvider(deps, ctx);
    expect(p.providers.size).toBe(0);
    expect(p.client().SupportedIdentityProviders).toEqual(['COGNITO']);
  });

  it("keeps the other tenants' providers on the app client, by the one rule of its list (clientProviders: the deployment's own, then the tenants' once each, sorted)", async () => {
    const p = pool();
    p.set({ ...p.client(), SupportedIdentityProviders: ['COGNITO', 't-zeta-oidc', 't-beta-saml'] });
    const { deps, ctx } = setup();
    await putIdentityProvider(deps, ctx, { kind: 'saml', saml: { metadataXml: METADATA }, emailDomains: ['acme.example'] });
    expect(p.client().SupportedIdentityProviders).toEqual(['COGNITO', 't-acme-saml', 't-beta-saml', 't-zeta-oidc']);
  });

  it('a failure of the app client update deletes the provider it created, and the stored connection stays as it was', async () => {
    const p = pool();
    cognito.on(UpdateUserPoolClientCommand).rejects(new Error('throttled'));
    const { deps, ctx, store } = setup();
    await expect(putIdentityProvider(deps, ctx, { kind: 'saml', saml: { metadataXml: METADATA }, emailDomains: ['acme.example'] })).rejects.toThrow(
      /throttled/,
    );
    expect(p.providers.size).toBe(0);
    expect(cognito.commandCalls(DeleteIdentityProviderCommand)).toHaveLength(1);
    expect(await store.getIdentityProvider('acme')).toBeNull();
  });

  it('what Cognito cannot take is refused before any call, naming the field: a domain longer than an IdP identifier may be', async () => {
    pool();
    const { deps, ctx, store } = setup();
    const long = `${'a'.repeat(36)}.example`;
    await expect(putIdentityProvider(deps, ctx, { kind: 'saml', saml: { metadataXml: METADATA }, emailDomains: [long] })).rejects.toMatchObject({
      issues: [{ path: 'body.emailDomains.0' }],
    });
    expect(cognito.commandCalls(CreateIdentityProviderCommand)).toHaveLength(0);
    expect(await store.getIdentityProvider('acme')).toBeNull();
  });
});

describe('two tenants saving at once', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  afterEach(() => ddb.reset());
  /** The table's lease item, with DynamoDB's conditions: put when free or run out, delete by its owner. */
  function leaseTable() {
    let lease: { owner: string; expiresAt: number } | null = null;
    const failed = () => Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });
    ddb.on(PutCommand).callsFake((i) => {
      if (lease && lease.expiresAt >= i.ExpressionAttributeValues[':now']) throw failed();
      lease = { owner: i.Item.owner, expiresAt: i.Item.expiresAt };
      return {};
    });
    ddb.on(DeleteCommand).callsFake((i) => {
      if (lease?.owner !== i.ExpressionAttributeValues[':o']) throw failed();
      lease = null;
      return {};
    });
  }
  const tick = () => new Promise<void>((r) => setTimeout(r, 5));
  const saml = (tenant: string): IdentityProviderConnection => ({
    tenant,
    kind: 'saml',
    providerName: `t-${tenant}-saml`,
    saml: { metadataXml: METADATA, entityId: 'https://idp.example/saml', ssoUrl: 'https://idp.example/sso' },
    emailDomains: [`${tenant}.example`],
    groupsClaim: 'groups',
    version: 1,
    updatedAt: '2026-11-28T00:00:00.000Z',
    updatedBy: 'ada',
  });
  /** Cognito answering a moment after each call, so two saves' reads and writes of the client interleave: a read answers the list as it was when asked. */
  function slowClient(p: ReturnType<typeof pool>, log: string[]) {
    cognito.on(DescribeUserPoolClientCommand).callsFake(async () => {
      const seen = structuredClone(p.client());
      log.push(`read ${seen.SupportedIdentityProviders.join(',')}`);
      await tick();
      return { UserPoolClient: seen };
    });
    cognito.on(UpdateUserPoolClientCommand).callsFake(async (i) => {
      await tick();
      log.push(`write ${i.SupportedIdentityProviders.join(',')}`);
      p.set({ ...p.client(), ...i });
      return {};
    });
  }
  const adapter = (lock?: AppClientLock) =>
    new CognitoIdentityProviders(new CognitoIdentityProviderClient({ region: 'eu-west-1' }), 'pool-1', 'client-1', undefined, lock);

  it('without the lease the interleaved reads and writes drop a provider (what the lease is for)', async () => {
    const p = pool();
    const log: string[] = [];
    slowClient(p, log);
    await Promise.all([adapter().sync(saml('acme'), null), adapter().sync(saml('globex'), null)]);
    expect(log.slice(0, 2)).toEqual(['read COGNITO', 'read COGNITO']);
    expect(p.client().SupportedIdentityProviders).toHaveLength(2);
  });

  it('with the lease both providers stay: one save reads and writes the list at a time, the other waits, reads what the first wrote and adds its own', async () => {
    const p = pool();
    const log: string[] = [];
    slowClient(p, log);
    leaseTable();
    const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
    const lock = () => dynamoAppClientLock(db, 'stageline-table', { wait: tick });
    await Promise.all([adapter(lock()).sync(saml('acme'), null), adapter(lock()).sync(saml('globex'), null)]);
    expect(p.client().SupportedIdentityProviders).toEqual(['COGNITO', 't-acme-saml', 't-globex-saml']);
    // Read, write, read back: then the other save, from what the first wrote.
    expect(log).toHaveLength(6);
    expect(log[0]).toBe('read COGNITO');
    expect(log[1]).toMatch(/^write COGNITO,t-(acme|globex)-saml$/);
    expect(log[2]).toBe(`read ${log[1]!.slice('write '.length)}`);
    expect(log[3]).toBe(log[2]);
    expect(log[4]).toBe('write COGNITO,t-acme-saml,t-globex-saml');
    expect(log[5]).toBe('read COGNITO,t-acme-saml,t-globex-saml');
    // The lease was taken twice and given back twice.
    expect(ddb.commandCalls(DeleteCommand)).toHaveLength(2);
  });

  it('a save that cannot have the lease in time is refused with a conflict to try again, and writes nothing', async () => {
    const p = pool();
    leaseTable();
    const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
    // Another save holds the lease (taken now, not run out).
    await db.send(
      new PutCommand({ TableName: 't', Item: { pk: 'x', sk: 'y', owner: 'other', expiresAt: 4_000_000_000 }, ExpressionAttributeValues: { ':now': 0 } }),
    );
    const lock = dynamoAppClientLock(db, 'stageline-table', { wait: async () => {}, tries: 3 });
    await expect(adapter(lock).sync(saml('acme'), null)).rejects.toMatchObject({ code: 'VERSION_CONFLICT', message: expect.stringMatching(/save again/) });
    expect(p.client().SupportedIdentityProviders).toEqual(['COGNITO']);
    expect(cognito.commandCalls(UpdateUserPoolClientCommand)).toHaveLength(0);
  });

  it('with groups from SCIM the groups claim is not mapped (no 2,048-character attribute to overflow); a full user pool is refused with 422 naming the quota', async () => {
    const p = pool();
    await adapter().sync({ ...saml('acme'), groupsFrom: 'scim' }, null);
    expect([...p.providers.values()][0]).toMatchObject({ AttributeMapping: { email: 'email' } });
    expect(cognito.commandCalls(CreateIdentityProviderCommand)[0]!.args[0].input.AttributeMapping).toEqual({ email: 'email' });
    cognito.on(CreateIdentityProviderCommand).rejects(Object.assign(new Error('limit'), { name: 'LimitExceededException' }));
    await expect(adapter().sync(saml('globex'), null)).rejects.toMatchObject({ code: 'RULE_VIOLATION', message: expect.stringMatching(/300 per user pool/) });
  });
});
