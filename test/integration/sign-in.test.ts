import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/stack.ts';

/**
 * The local managed login: the OAuth 2.0 authorization code flow with PKCE that Cognito's user pool
 * domain serves on AWS (/dev/oauth2/authorize, /dev/oauth2/token, /logout), choosing a directory user
 * instead of typing a password. Played as a client does it, over HTTP.
 */
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

const pkce = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

function authorizeUrl(redirect: string, challenge: string, extra: Record<string, string> = {}) {
  const u = new URL(`${t.url}/dev/oauth2/authorize`);
  for (const [k, v] of Object.entries({
    response_type: 'code',
    client_id: 'stageline-local',
    redirect_uri: redirect,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'st-1',
    scope: 'openid email',
    ...extra,
  }))
    u.searchParams.set(k, v);
  return u;
}

async function codeFor(email: string, redirect: string, challenge: string): Promise<string> {
  const page = authorizeUrl(redirect, challenge);
  const form = new URLSearchParams(page.searchParams);
  form.set('email', email);
  const r = await fetch(`${t.url}/dev/oauth2/authorize`, {
    method: 'POST',
    body: form,
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.url, 'sec-fetch-site': 'same-origin' },
  });
  expect(r.status).toBe(302);
  const to = new URL(r.headers.get('location')!);
  expect(`${to.origin}${to.pathname}`).toBe(redirect);
  expect(to.searchParams.get('state')).toBe('st-1');
  return to.searchParams.get('code')!;
}

const tokenRequest = (fields: Record<string, string>) =>
  fetch(`${t.url}/dev/oauth2/token`, { method: 'POST', body: new URLSearchParams(fields), headers: { 'content-type': 'application/x-www-form-urlencoded' } });

describe('local managed login (authorization code + PKCE)', () => {
  it('GET /api/v1/auth/config names the endpoints and client (the local stand-in here; the user pool domain on AWS)', async () => {
    const r = await t.call('GET', '/api/v1/auth/config');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      issuer: 'https://stageline.local/issuer',
      clientId: 'stageline-local',
      authorizationEndpoint: `${t.url}/dev/oauth2/authorize`,
      tokenEndpoint: `${t.url}/dev/oauth2/token`,
      logoutEndpoint: `${t.url}/dev/logout`,
      scopes: ['openid', 'email', 'profile'],
      cliRedirectUri: 'http://localhost:53682/callback',
      idTokenSigningAlg: 'ES256',
      fragmentSignIn: true,
    });
    // On AWS (LOGIN_DOMAIN_URL set by the stack): Cognito's endpoints on the pool's domain.
    const { loginConfig } = await import('../../functions/adapters/login.ts');
    process.env.LOGIN_DOMAIN_URL = 'https://stageline-123456789012.auth.eu-west-1.amazoncognito.com';
    process.env.JWT_AUDIENCE = 'client123';
    try {
      expect(loginConfig('https://api.example')).toMatchObject({
        clientId: 'client123',
        authorizationEndpoint: 'https://stageline-123456789012.auth.eu-west-1.amazoncognito.com/oauth2/authorize',
        tokenEndpoint: 'https://stageline-123456789012.auth.eu-west-1.amazoncognito.com/oauth2/token',
        // No token taken from the console's address on AWS (login CSRF): the code flow alone signs in.
        fragmentSignIn: false,
      });
    } finally {
      delete process.env.LOGIN_DOMAIN_URL;
      delete process.env.JWT_AUDIENCE;
    }
  });

  it('lists the users to sign in as, trades a code and its verifier for an ID token the API accepts, once', async () => {
    const redirect = `${t.url}/dashboard`;
    const { verifier, challenge } = pkce();
    const page = await fetch(authorizeUrl(redirect, challenge));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await page.text();
    for (const email of ['alice@acme.example', 'carol@acme.example', 'pat@platform.example']) expect(html).toContain(email);
    expect(html).not.toMatch(/<script/i);

    const code = await codeFor('carol@acme.example', redirect, challenge);
    // A wrong verifier spends the code.
    expect(
      await (
        await tokenRequest({ grant_type: 'authorization_code', code, client_id: 'stageline-local', redirect_uri: redirect, code_verifier: pkce().verifier })
      ).json(),
    ).toMatchObject({ error: 'invalid_grant' });
    expect(
      (await tokenRequest({ grant_type: 'authorization_code', code, client_id: 'stageline-local', redirect_uri: redirect, code_verifier: verifier })).status,
    ).toBe(400);

    const again = pkce();
    const code2 = await codeFor('carol@acme.example', redirect, again.challenge);
    const tok = await tokenRequest({
      grant_type: 'authorization_code',
      code: code2,
      client_id: 'stageline-local',
      redirect_uri: redirect,
      code_verifier: again.verifier,
    });
    expect(tok.status).toBe(200);
    const body = (await tok.json()) as { id_token: string; token_type: string; expires_in: number };
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    const claims = JSON.parse(Buffer.from(body.id_token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ email: 'carol@acme.example', 'custom:tenant_id': 'acme', 'cognito:groups': ['approver'], aud: 'stageline-local' });
    expect((await t.call('GET', '/api/v1/environments', { token: body.id_token })).status).toBe(200);
    // Single use.
    expect(
      (
        await tokenRequest({
          grant_type: 'authorization_code',
          code: code2,
          client_id: 'stageline-local',
          redirect_uri: redirect,
          code_verifier: again.verifier,
        })
      ).status,
    ).toBe(400);
  });

  it('refuses what a managed login refuses: no PKCE, another client, a foreign redirect, a cross-site form post; logout goes back', async () => {
    const { challenge } = pkce();
    const redirect = `${t.url}/dashboard`;
    expect((await fetch(authorizeUrl(redirect, challenge, { code_challenge_method: 'plain' }))).status).toBe(400);
    expect((await fetch(authorizeUrl(redirect, challenge, { client_id: 'someone-else' }))).status).toBe(400);
    const foreign = await fetch(authorizeUrl('https://evil.example/cb', challenge), { redirect: 'manual' });
    expect(foreign.status).toBe(400);
    expect(foreign.headers.get('location')).toBeNull();
    // A CLI's loopback listener is a fine redirect.
    expect((await fetch(authorizeUrl('http://127.0.0.1:53682/callback', challenge))).status).toBe(200);
    const form = new URLSearchParams(authorizeUrl(redirect, challenge).searchParams);
    form.set('email', 'alice@acme.example');
    const cross = await fetch(`${t.url}/dev/oauth2/authorize`, {
      method: 'POST',
      body: form,
      redirect: 'manual',
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(cross.status).toBe(403);
    const out = await fetch(`${t.url}/dev/logout?client_id=stageline-local&logout_uri=${encodeURIComponent(redirect)}`, { redirect: 'manual' });
    expect(out.status).toBe(302);
    expect(out.headers.get('location')).toBe(redirect);
    const away = await fetch(`${t.url}/dev/logout?logout_uri=${encodeURIComponent('https://evil.example/')}`, { redirect: 'manual' });
    expect(away.headers.get('location')).toBe('/');
  });
});

describe('sign-out, locally as on Cognito', () => {
  it('a code issued before the person was demoted or removed gives no token; one issued after carries their roles now', async () => {
    const redirect = `${t.url}/dashboard`;
    const alice = await t.stack.issuer.sign({ sub: 'u-alice', email: 'alice@acme.example', tenant: 'acme', groups: ['admin'] });
    const before = pkce();
    const code = await codeFor('dave@acme.example', redirect, before.challenge);
    expect((await t.call('PATCH', '/api/v1/users/u-dave', { token: alice, body: { roles: ['viewer'] } })).status).toBe(200);
    const stale = await tokenRequest({
      grant_type: 'authorization_code',
      code,
      client_id: 'stageline-local',
      redirect_uri: redirect,
      code_verifier: before.verifier,
    });
    expect(stale.status).toBe(400);
    expect(await stale.json()).toMatchObject({ error: 'invalid_grant' });

    const after = pkce();
    const code2 = await codeFor('dave@acme.example', redirect, after.challenge);
    const fresh = await tokenRequest({
      grant_type: 'authorization_code',
      code: code2,
      client_id: 'stageline-local',
      redirect_uri: redirect,
      code_verifier: after.verifier,
    });
    expect(fresh.status).toBe(200);
    const { id_token } = (await fresh.json()) as { id_token: string };
    expect(JSON.parse(Buffer.from(id_token.split('.')[1]!, 'base64url').toString())).toMatchObject({ 'cognito:groups': ['viewer'] });

    // Removed between the code and its exchange: no token either.
    const last = pkce();
    const code3 = await codeFor('dave@acme.example', redirect, last.challenge);
    expect((await t.call('DELETE', '/api/v1/users/u-dave', { token: alice })).status).toBe(204);
    const gone = await tokenRequest({
      grant_type: 'authorization_code',
      code: code3,
      client_id: 'stageline-local',
      redirect_uri: redirect,
      code_verifier: last.verifier,
    });
    expect(gone.status).toBe(400);
  });
});
