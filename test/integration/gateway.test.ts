import { importJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../local/gateway.ts';
import { waitForToken } from '../support/promotions.ts';
import { signedFetch } from '../support/sigv4.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/** The local gateway is as strict as the deployed authorizers, and answers browsers like API Gateway's CORS. */
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

async function forge(claims: Record<string, unknown>, header: Record<string, unknown>, exp: boolean) {
  const key = await importJWK((t.stack.issuer as unknown as { privateJwk: Record<string, unknown> }).privateJwk as never, 'ES256');
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', ...header })
    .setSubject('u-x')
    .setIssuer(t.stack.issuer.issuer)
    .setAudience(t.stack.issuer.audience)
    .setIssuedAt();
  if (exp) jwt = jwt.setExpirationTime('1h');
  return jwt.sign(key);
}

describe('the published contract', () => {
  it('serves the OpenAPI 3.1 document at /api/v1/openapi.json without a token', async () => {
    const r = await t.call('GET', '/api/v1/openapi.json');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ openapi: '3.1.0', info: { title: 'Stageline API' } });
    expect(Object.keys(r.body.paths)).toContain('/api/v1/promotions/{id}/approve');
  });
});

describe('local gateway strictness', () => {
  it('refuses a validly signed JWT without kid or without exp (the JWT authorizer does)', async () => {
    const claims = { 'custom:tenant_id': 'acme', 'cognito:groups': ['admin'], email: 'x@acme.test' };
    const kid = (t.stack.issuer.jwks.keys[0] as { kid: string }).kid;
    const good = await forge(claims, { kid }, true);
    expect((await t.call('GET', '/api/v1/environments', { token: good })).status).toBe(200);
    expect((await t.call('GET', '/api/v1/environments', { token: await forge(claims, {}, true) })).status).toBe(401);
    expect((await t.call('GET', '/api/v1/environments', { token: await forge(claims, { kid }, false) })).status).toBe(401);
  });

  it('verifies SigV4 over the exact bytes (a non-UTF-8 body verifies, then fails as bad JSON), and refuses another region, service or an unsigned host', async () => {
    const admin = await t.token({ tenant: 'acme', groups: ['admin'] });
    await makeLine(t, admin);
    const creds = t.stack.iam[0]!;
    const path = '/api/v1/machine/environments/dev/items/batch';
    const latin1 = new Uint8Array([0x7b, 0x22, 0xe9, 0x22, 0x7d]); // {"é"} in Latin-1: not UTF-8
    const bytes = await signedFetch(t.url, 'POST', path, undefined, creds, { raw: latin1 });
    expect(bytes.status, JSON.stringify(bytes.body)).toBe(400);
    expect(bytes.body.error.code).toBe('MALFORMED_JSON');
    expect((await signedFetch(t.url, 'POST', path, { set: [{ key: 'k', value: 1 }] }, creds)).status).toBe(200);
    expect((await signedFetch(t.url, 'POST', path, { set: [{ key: 'k', value: 2 }] }, creds, { region: 'eu-west-1' })).status).toBe(403);
    expect((await signedFetch(t.url, 'POST', path, { set: [{ key: 'k', value: 2 }] }, creds, { service: 's3' })).status).toBe(403);
    expect((await signedFetch(t.url, 'POST', path, { set: [{ key: 'k', value: 2 }] }, creds, { signHost: false })).status).toBe(403);
  });

  it('a malformed percent-escape in the path answers 400 with a request id, not a 500', async () => {
    const res = await fetch(`${t.url}/api/v1/environments/%E0%A4%A`, {
      headers: { authorization: `Bearer ${await t.token({ tenant: 'acme', groups: ['viewer'] })}` },
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(((await res.json()) as { requestId: string }).requestId).toBe(res.headers.get('x-request-id'));
  });

  it('answers CORS preflight with the shared CORS config: Idempotency-Key allowed, X-Next-Cursor exposed', async () => {
    const pre = await fetch(`${t.url}/api/v1/promotions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'idempotency-key' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toContain('idempotency-key');
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
    const get = await fetch(`${t.url}/api/v1/environments`, {
      headers: { origin: 'https://app.example', authorization: `Bearer ${await t.token({ tenant: 'acme', groups: ['viewer'] })}` },
    });
    expect(get.headers.get('access-control-expose-headers')).toContain('x-next-cursor');
  });

  it('is not ready (503) until its owner says so — npm start: after the demo seed and tokens', async () => {
    // A second gateway over the same handlers (one stack per process: the handlers' deps are shared).
    let ready = false;
    const gateway = await startGateway({ issuer: t.stack.issuer, ready: () => ready });
    try {
      const before = await fetch(`${gateway.url}/health`);
      expect(before.status).toBe(503);
      expect(before.headers.get('retry-after')).toBe('1');
      ready = true;
      expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
    } finally {
      await gateway.close();
    }
  });
});

describe('identities and groups', () => {
  it('treats the groups claim as a list: a group named "release,admin" grants no admin', async () => {
    const tenant = t.tenant();
    const sneaky = await t.token({ tenant, groups: ['release,admin'] });
    const r = await t.call('POST', '/api/v1/environments', { token: sneaky, body: { name: 'dev', position: 0 } });
    expect(r.status).toBe(403);
  });

  it('separation of duties compares normalised identities: the requester under another case cannot approve', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.deployer, body: { key: 'k', value: 1 } });
    const both = await t.token({ sub: `Mallory-${tenant}`, tenant, groups: ['deployer', 'approver'] });
    const same = await t.token({ sub: `MALLORY-${tenant}`.toLowerCase(), tenant, groups: ['approver'] });
    const p = await t.call('POST', '/api/v1/promotions', { token: both, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
    await waitForToken(t, u.viewer, p.body.id);
    const self = await t.call('POST', `/api/v1/promotions/${p.body.id}/approve`, { token: same, body: {} });
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe('SELF_APPROVAL_FORBIDDEN');
  });

  it('Idempotency-Key belongs to one caller: a second approver with the same key is counted, not replayed', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: { name: 'two', source_environment: 'staging', target_environment: 'production', required_approvers: 2 },
    });
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.deployer, body: { key: 'k', value: 1 } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
    await waitForToken(t, u.viewer, p.body.id);
    const headers = { 'idempotency-key': 'approve-once' };
    const a = await t.call('POST', `/api/v1/promotions/${p.body.id}/approve`, { token: u.approver, body: {}, headers });
    const b = await t.call('POST', `/api/v1/promotions/${p.body.id}/approve`, { token: u.approver2, body: {}, headers });
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(b.headers.get('idempotent-replayed')).toBeNull();
    expect(b.body.approvals.given.map((g: { by: string }) => g.by).sort()).toEqual([`approver2@${tenant}.test`, `approver@${tenant}.test`]);
    // The same caller again with the same key: replayed.
    const again = await t.call('POST', `/api/v1/promotions/${p.body.id}/approve`, { token: u.approver, body: {}, headers });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });
});
