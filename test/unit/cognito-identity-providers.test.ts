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
  return { providers, client: () => client };
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
    cognito
      .on(DescribeUserPoolClientCommand)
      .callsFake(() => ({ UserPoolClient: { ...p.client(), SupportedIdentityProviders: ['COGNITO', 't-zeta-oidc', 't-beta-saml'] } }));
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
