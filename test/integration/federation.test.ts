import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localSecretVariable } from '../../functions/adapters/secrets.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliOf, cliWith, outcome, spawnCli } from '../support/cli.ts';
import { browse, OIDC_SECRET, oidcSignIn, startOidcIdp, type TestOidcIdp } from '../support/federation.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

/**
 * Federation through the API on the local stack, against a real OpenID Connect provider run by the test
 * (panva's oidc-provider, in-process on a loopback port): a tenant's admin connects the tenant to it, a
 * person of the IdP signs in through the local issuer's authorize page (authorization code + PKCE, as the
 * console and `stageline login` do), and the token they get names the connection's tenant, their email
 * and subject, and the roles the tenant's mapping makes of the IdP's groups. Whatever the IdP asserts about the tenant
 * is ignored; the sign-in is audited with the IdP's subject; bad connections are refused naming the field.
 */

let t: TestStack;
let idp: TestOidcIdp;
beforeAll(async () => {
  t = await startTestStack();
  idp = await startOidcIdp(`${t.url}/dev/oauth2/idpresponse`);
});
afterAll(async () => {
  await idp?.close();
  await t?.stop();
});

/** A tenant whose admin holds the IdP's client secret as the tenant secret OKTA (STAGELINE_SECRET_<TENANT>__IDP_CLIENT_SECRET__OKTA locally). */
async function tenantWithSecret() {
  const tenant = t.tenant();
  process.env[localSecretVariable(tenant, 'idp-client-secret', 'OKTA')!] = OIDC_SECRET;
  const u = await t.users(tenant);
  return { tenant, u, domain: `${tenant}.example` };
}

const connect = (token: string, body: unknown) => t.call('PUT', '/api/v1/access/identity-provider', { token, body });

const signIn = (provider: string | { idpIdentifier: string }) => oidcSignIn(t, provider);

describe('federation with an OpenID Connect provider', () => {
  it('a person of the IdP signs in, gets a token for the connection’s tenant with their groups, acts under a binding, and the sign-in is audited with their IdP subject', async () => {
    const { tenant, u, domain } = await tenantWithSecret();
    const put = await connect(u.admin, { kind: 'oidc', oidc: { issuer: idp.issuer, clientId: 'stageline', clientSecret: 'OKTA' }, emailDomains: [domain] });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({ kind: 'oidc', providerName: `t-${tenant}-oidc`, groupsClaim: 'groups', version: 1, emailDomains: [domain] });
    expect(put.body.oidc).toEqual({ issuer: idp.issuer, clientId: 'stageline', clientSecret: 'OKTA' });
    // Only an admin reads or changes it.
    expect((await t.call('GET', '/api/v1/access/identity-provider', { token: u.deployer })).status).toBe(403);
    expect((await t.call('GET', '/api/v1/access/identity-provider', { token: u.admin })).body.providerName).toBe(`t-${tenant}-oidc`);

    idp.accounts.set('okta-00u1', { email: `pat@${domain}`, groups: ['payments', 'release-managers'] });
    idp.as = 'okta-00u1';
    const signed = await signIn(`t-${tenant}-oidc`);
    expect(signed.refused, signed.refused).toBeUndefined();
    const claims = decodeJwt(signed.token!);
    expect(claims['custom:tenant_id']).toBe(tenant);
    expect(claims.email).toBe(`pat@${domain}`);
    // A raw IdP group is never a role by itself (the tenant's mapping turns groups into roles), nor in the token (as on AWS).
    expect(claims['custom:idp_groups']).toBeUndefined();
    expect(claims['cognito:groups']).toEqual([]);

    // The gateway takes the token: with no role yet it is refused; bound as viewer by email, it reads the tenant.
    expect((await t.call('GET', '/api/v1/environments', { token: signed.token })).status).toBe(403);
    const bound = await t.call('PUT', '/api/v1/access/bindings', {
      token: u.admin,
      body: { bindings: [{ user: `pat@${domain}`, role: 'viewer', environments: ['*'] }] },
    });
    expect(bound.status, JSON.stringify(bound.body)).toBe(200);
    expect((await t.call('GET', '/api/v1/environments', { token: signed.token })).status).toBe(200);

    const audit = await t.call('GET', '/api/v1/audit?entityType=user', { token: u.admin });
    const entry = (audit.body.items as { action: string; actor: string; after: string }[]).find((e) => e.action === 'auth.federated-sign-in');
    expect(entry, JSON.stringify(audit.body)).toBeDefined();
    expect(JSON.parse(entry!.after)).toMatchObject({ provider: `t-${tenant}-oidc`, idpSubject: 'okta-00u1', idpGroups: ['payments', 'release-managers'] });
    const connected = await t.call('GET', '/api/v1/audit?entityType=identity-provider', { token: u.admin });
    expect(connected.body.items.map((e: { action: string }) => e.action)).toContain('idp.connect');

    // The tenant maps the IdP's groups: release-managers become approvers tenant-wide, payments the group `payments`.
    const mapped = await t.call('PUT', '/api/v1/access/group-mapping', {
      token: u.admin,
      body: {
        entries: [
          { idpGroup: 'release-managers', roles: ['approver'] },
          { idpGroup: 'payments', group: 'payments' },
        ],
        version: 0,
      },
    });
    expect(mapped.status, JSON.stringify(mapped.body)).toBe(200);
    const again = decodeJwt((await signIn(`t-${tenant}-oidc`)).token!);
    expect([...(again['cognito:groups'] as string[])].sort()).toEqual(['approver', 'payments']);
    // An IdP group the mapping does not name grants nothing, whatever it is called.
    idp.accounts.set('okta-00u2', { email: `quinn@${domain}`, groups: ['admin', 'platform-admin'] });
    idp.as = 'okta-00u2';
    expect(decodeJwt((await signIn(`t-${tenant}-oidc`)).token!)['cognito:groups']).toEqual([]);
  });

  it('the tenant is the connection’s, never one the IdP asserts; an address outside the connection’s domains is refused', async () => {
    const a = await tenantWithSecret();
    const b = await tenantWithSecret();
    expect(
      (await connect(b.u.admin, { kind: 'oidc', oidc: { issuer: idp.issuer, clientId: 'stageline', clientSecret: 'OKTA' }, emailDomains: [b.domain] })).status,
    ).toBe(200);
    // B's IdP says its person is of tenant A: the token says B.
    idp.accounts.set('mallory', { email: `mallory@${b.domain}`, groups: ['admin'], extra: { 'custom:tenant_id': a.tenant } });
    idp.as = 'mallory';
    const signed = await signIn(`t-${b.tenant}-oidc`);
    const claims = decodeJwt(signed.token!);
    expect(claims['custom:tenant_id']).toBe(b.tenant);
    expect(claims['cognito:groups']).toEqual([]);
    // and that token reads nothing of A
    expect((await t.call('GET', '/api/v1/environments', { token: signed.token })).status).toBe(403);
    // B's IdP cannot sign in an address of A's domain (A holds it), nor any address outside B's domains.
    idp.accounts.set('mallory2', { email: `alice@${a.domain}`, groups: [] });
    idp.as = 'mallory2';
    const refused = await signIn(`t-${b.tenant}-oidc`);
    expect(refused.refused).toMatch(/^400 .*not an email domain of this connection/);
    // A has no connection: its name signs nobody in.
    expect((await signIn(`t-${a.tenant}-oidc`)).refused).toMatch(/^400 .*no identity provider/);
  });

  it('refuses bad connections naming the field: a domain another tenant holds (409), a public mail domain (422), a missing secret (422), an unreachable or private issuer (400), SAML metadata that does not parse (400)', async () => {
    const a = await tenantWithSecret();
    const b = await tenantWithSecret();
    const oidc = { issuer: idp.issuer, clientId: 'stageline', clientSecret: 'OKTA' };
    expect((await connect(a.u.admin, { kind: 'oidc', oidc, emailDomains: [a.domain] })).status).toBe(200);

    const taken = await connect(b.u.admin, { kind: 'oidc', oidc, emailDomains: [b.domain, a.domain] });
    expect(taken.status, JSON.stringify(taken.body)).toBe(409);
    expect(JSON.stringify(taken.body)).toContain(a.domain);
    expect(JSON.stringify(taken.body)).toContain('"path":"emailDomains.1"');
    // nothing of the refused request stays claimed: B can claim its own domain after
    expect((await connect(b.u.admin, { kind: 'oidc', oidc, emailDomains: [b.domain] })).status).toBe(200);

    const pub = await connect(b.u.admin, { kind: 'oidc', oidc, emailDomains: ['gmail.com'] });
    expect(pub.status).toBe(422);
    expect(JSON.stringify(pub.body)).toContain('"path":"emailDomains.0"');

    const noSecret = await connect(b.u.admin, { kind: 'oidc', oidc: { ...oidc, clientSecret: 'NOPE' }, emailDomains: [b.domain] });
    expect(noSecret.status).toBe(422);
    expect(JSON.stringify(noSecret.body)).toContain('"path":"oidc.clientSecret"');

    for (const issuer of ['http://127.0.0.1:1', 'http://10.0.0.1', 'http://169.254.169.254/latest']) {
      const bad = await connect(b.u.admin, { kind: 'oidc', oidc: { ...oidc, issuer }, emailDomains: [b.domain] });
      expect(bad.status, `${issuer}: ${JSON.stringify(bad.body)}`).toBe(400);
      expect(JSON.stringify(bad.body)).toContain('"path":"oidc.issuer"');
    }
    // An issuer whose discovery document names another issuer (here: the IdP's, under a path) is refused.
    const other = await connect(b.u.admin, { kind: 'oidc', oidc: { ...oidc, issuer: `${idp.issuer}/elsewhere` }, emailDomains: [b.domain] });
    expect(other.status).toBe(400);

    for (const metadataXml of ['<not xml', '<root/>', '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>']) {
      const bad = await connect(b.u.admin, { kind: 'saml', saml: { metadataXml }, emailDomains: [b.domain] });
      expect(bad.status, JSON.stringify(bad.body)).toBe(400);
      expect(JSON.stringify(bad.body)).toContain('"path":"saml.metadataXml"');
    }
    const unreachable = await connect(b.u.admin, { kind: 'saml', saml: { metadataUrl: 'http://10.1.2.3/metadata' }, emailDomains: [b.domain] });
    expect(unreachable.status).toBe(400);
    expect(JSON.stringify(unreachable.body)).toContain('"path":"saml.metadataUrl"');

    // The stored connection is unchanged by every refusal; a partial body (no clientSecret) keeps the secret.
    const kept = await connect(b.u.admin, {
      kind: 'oidc',
      oidc: { issuer: idp.issuer, clientId: 'stageline' },
      emailDomains: [b.domain],
      groupsClaim: 'roles',
    });
    expect(kept.status, JSON.stringify(kept.body)).toBe(200);
    expect(kept.body.oidc.clientSecret).toBe('OKTA');
    expect(kept.body.groupsClaim).toBe('roles');

    // Disconnected: the domain is free again, and the name signs nobody in.
    expect((await t.call('DELETE', '/api/v1/access/identity-provider', { token: a.u.admin })).status).toBe(204);
    expect((await t.call('GET', '/api/v1/access/identity-provider', { token: a.u.admin })).body).toMatchObject({ kind: null, version: 0 });
    expect((await connect(b.u.admin, { kind: 'oidc', oidc, emailDomains: [b.domain, a.domain] })).status).toBe(200);
  });

  it('stageline idp set-oidc, show, remove: the connection through the CLI; a refusal names the field and exits non-zero', async () => {
    const { tenant, u, domain } = await tenantWithSecret();
    const cli = cliOf(t);
    const set = await cli(u.admin, 'idp', 'set-oidc', '--issuer', idp.issuer, '--client-id', 'stageline', '--client-secret', 'OKTA', '--domain', domain);
    expect(set.stdout).toContain(`t-${tenant}-oidc (OIDC)`);
    const shown = await cli(u.admin, 'idp', 'show');
    expect(shown.stdout).toContain(`client secret tenant secret OKTA`);
    expect(shown.stdout).toContain(domain);
    const json = JSON.parse((await cli(u.admin, '--json', 'idp', 'show')).stdout);
    expect(json).toMatchObject({ kind: 'oidc', emailDomains: [domain] });
    const bad = await outcome(cli(u.admin, 'idp', 'set-saml', '--metadata-url', 'http://10.9.9.9/md', '--domain', domain));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('saml.metadataUrl');
    await cli(u.admin, 'idp', 'remove');
    expect((await cli(u.admin, 'idp', 'show')).stdout).toContain('no identity provider');
    // A deployer is refused.
    expect((await outcome(cli(u.deployer, 'idp', 'show'))).code).not.toBe(0);
  });
});

describe('sign-in routed by email (GET /api/v1/auth/config?email=)', () => {
  it('answers the domain to route by (idp_identifier) when a connection holds it, never the provider’s name (it names the tenant); an unknown domain answers the same shape; a malformed address is 400 naming query.email', async () => {
    const { tenant, u, domain } = await tenantWithSecret();
    const put = await connect(u.admin, { kind: 'oidc', oidc: { issuer: idp.issuer, clientId: 'stageline', clientSecret: 'OKTA' }, emailDomains: [domain] });
    expect(put.status, JSON.stringify(put.body)).toBe(200);

    const plain = await t.call('GET', '/api/v1/auth/config');
    expect(plain.status).toBe(200);
    expect(plain.body.idpIdentifier).toBeUndefined();

    const routed = await t.call('GET', `/api/v1/auth/config?email=${encodeURIComponent(`Pat@${domain.toUpperCase()}`)}`);
    expect(routed.status, JSON.stringify(routed.body)).toBe(200);
    expect(routed.body).toEqual({ ...plain.body, idpIdentifier: domain });
    expect(JSON.stringify(routed.body)).not.toContain(`t-${tenant}-`);
    // A per-person answer is never kept by a shared cache.
    expect(routed.headers.get('cache-control')).toBe('no-store');

    // An unknown domain and a tenant with no connection answer alike: null, the same keys, nothing about who holds what.
    const unknown = await t.call('GET', `/api/v1/auth/config?email=${encodeURIComponent('pat@nobody-holds-this.example')}`);
    expect(unknown.status).toBe(200);
    expect(unknown.body).toEqual({ ...plain.body, idpIdentifier: null });
    expect(JSON.stringify(unknown.body)).not.toContain(tenant);

    // The identifier answered signs the person in through the connection; one nobody holds is refused saying nothing more.
    idp.accounts.set('okta-route-1', { email: `pat@${domain}`, groups: [] });
    idp.as = 'okta-route-1';
    expect((await signIn({ idpIdentifier: routed.body.idpIdentifier })).token).toBeDefined();
    expect((await signIn({ idpIdentifier: 'nobody-holds-this.example' })).refused).toMatch(/^400 .*no identity provider for that identifier/);

    for (const bad of ['not-an-email', 'a@', '@x.example', `${'a'.repeat(300)}@x.example`, 'a@b@c.example']) {
      const r = await t.call('GET', `/api/v1/auth/config?email=${encodeURIComponent(bad)}`);
      expect(r.status, bad).toBe(400);
      expect(r.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['query.email']);
    }
    const twice = await t.call('GET', `/api/v1/auth/config?email=a@x.example&email=b@x.example`);
    expect(twice.status).toBe(400);
  });

  it('stageline login --email sends the person to their company’s identity provider', async () => {
    const { tenant, u, domain } = await tenantWithSecret();
    expect(
      (await connect(u.admin, { kind: 'oidc', oidc: { issuer: idp.issuer, clientId: 'stageline', clientSecret: 'OKTA' }, emailDomains: [domain] })).status,
    ).toBe(200);
    idp.accounts.set('okta-cli-1', { email: `lee@${domain}`, groups: [] });
    idp.as = 'okta-cli-1';
    const vars = { ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: '', XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'stageline-email-')) };
    const port = 40000 + Math.floor(Math.random() * 20000);
    const child = spawnCli(vars, ['login', '--email', `lee@${domain}`, '--callback-port', String(port)], 'ignore');
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    for (let i = 0; i < 200 && !stderr.includes('waiting for the sign-in'); i++) await new Promise((r) => setTimeout(r, 50));
    const address = /Sign in in your browser:\n\s+(\S+)/.exec(stderr)?.[1];
    expect(address, stderr).toBeDefined();
    expect(new URL(address!).searchParams.get('idp_identifier')).toBe(domain);
    expect(address).not.toContain(`t-${tenant}-`);
    const back = await browse(address!, `http://localhost:${port}/callback`);
    expect(back.url).toMatch(new RegExp(`^http://localhost:${port}/callback\\?code=`));
    expect(await (await fetch(back.url.replace('localhost', '127.0.0.1'))).text()).toContain('Signed in');
    expect(await exited, stderr).toBe(0);
    expect(stdout).toContain(`as lee@${domain} (tenant ${tenant})`);

    // An address no connection holds is said plainly, before any browser opens.
    const none = await outcome(cliWith(vars, 'login', '--email', 'lee@nobody-holds-this.example'));
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/no identity provider.*nobody-holds-this\.example/i);
  });
});
