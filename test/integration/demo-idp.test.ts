import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localSecretVariable } from '../../functions/adapters/secrets.ts';
import {
  DEMO_IDP_ACCOUNTS,
  DEMO_IDP_CLIENT_ID,
  DEMO_IDP_CLIENT_SECRET,
  DEMO_IDP_DOMAIN,
  startDemoIdp,
  type DemoIdp,
  type DemoIdpAccount,
} from '../../local/demo-idp.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { browser } from '../support/federation.ts';

/**
 * The local stack's demo OIDC identity provider (local/demo-idp.ts, started by `npm start`): a tenant connects
 * to it through the normal PUT /api/v1/access/identity-provider with its client secret as a tenant secret,
 * and a person of the demo company signs in by HTTP alone — the local authorize page, the IdP's login form
 * (an address, posted), its answer to the local issuer, the code for a token — with the groups the IdP
 * sends going through the tenant's mapping. An address the IdP does not know is refused on its form;
 * the demo IdP is refused in a Lambda, and nothing a deployed function or the stack is built from reaches it.
 */
const root = join(import.meta.dirname, '..', '..');

let t: TestStack;
let idp: DemoIdp;
/** this run's demo company: the demo people at a domain of this run's (a domain is one tenant's alone) */
const domain = `corp-${randomBytes(4).toString('hex')}.test`;
const accounts: DemoIdpAccount[] = DEMO_IDP_ACCOUNTS.map((a) => ({ ...a, email: a.email.replace(DEMO_IDP_DOMAIN, domain) }));

beforeAll(async () => {
  t = await startTestStack();
  idp = await startDemoIdp({ redirectUris: [`${t.url}/dev/oauth2/idpresponse`], accounts });
});
afterAll(async () => {
  await idp?.close();
  await t?.stop();
});

type Step = { url: string; status: number; text: string };

/** Signs `email` in through the demo IdP's login form, as scripts/sso-sign-in.sh does: the token, or where it stopped. */
async function signIn(provider: string, email: string): Promise<{ token?: string; stopped?: Step }> {
  const verifier = randomBytes(32).toString('base64url');
  const back = `${t.url}/signed-in`;
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: 'stageline-local',
    redirect_uri: back,
    state: 's-1',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    identity_provider: provider,
  });
  const go = browser();
  const form = await go(`${t.url}/dev/oauth2/authorize?${q}`, back);
  // The IdP's own login page, on its own origin, with a form that takes an address.
  expect(form.url.startsWith(`${idp.issuer}/interaction/`), form.url).toBe(true);
  expect(form.text).toContain('method="post"');
  const end = await go(`${form.url}/login`, back, new URLSearchParams({ login: email }));
  if (!end.url.startsWith(back)) return { stopped: end };
  const res = await fetch(`${t.url}/dev/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: new URL(end.url).searchParams.get('code')!,
      client_id: 'stageline-local',
      redirect_uri: back,
      code_verifier: verifier,
    }),
  });
  expect(res.status).toBe(200);
  return { token: ((await res.json()) as { id_token: string }).id_token };
}

describe('the demo identity provider of the local stack', () => {
  it('a tenant connects to it through the API with its client secret as a tenant secret; its people sign in by HTTP, their groups through the mapping', async () => {
    const tenant = t.tenant();
    process.env[localSecretVariable(tenant, 'idp-client-secret', 'DEMO_IDP')!] = DEMO_IDP_CLIENT_SECRET;
    const u = await t.users(tenant);
    const put = await t.call('PUT', '/api/v1/access/identity-provider', {
      token: u.admin,
      body: { kind: 'oidc', oidc: { issuer: idp.issuer, clientId: DEMO_IDP_CLIENT_ID, clientSecret: 'DEMO_IDP' }, emailDomains: [domain] },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const mapped = await t.call('PUT', '/api/v1/access/group-mapping', {
      token: u.admin,
      body: {
        entries: [
          { idpGroup: 'Payments Engineers', group: 'payments' },
          { idpGroup: 'Release Managers', roles: ['approver'] },
        ],
      },
    });
    expect(mapped.status, JSON.stringify(mapped.body)).toBe(200);

    const erin = await signIn(`t-${tenant}-oidc`, `erin@${domain}`);
    expect(erin.stopped, JSON.stringify(erin.stopped)).toBeUndefined();
    const claims = decodeJwt(erin.token!);
    expect(claims).toMatchObject({ 'custom:tenant_id': tenant, email: `erin@${domain}`, 'cognito:groups': ['payments'] });
    expect(claims['custom:idp_groups']).toBeUndefined();
    expect(decodeJwt((await signIn(`t-${tenant}-oidc`, `dana@${domain}`)).token!)['cognito:groups']).toEqual(['approver']);
    // The IdP's subject is what the sign-in's audit names.
    const audit = await t.call('GET', '/api/v1/audit?entityType=user', { token: u.admin });
    const subjects = (audit.body.items as { action: string; after: string }[])
      .filter((e) => e.action === 'auth.federated-sign-in')
      .map((e) => JSON.parse(e.after).idpSubject);
    expect(subjects).toEqual(expect.arrayContaining(['ec-0002', 'ec-0001']));
  });

  it('refuses on its login form an address that is not one of its people, naming it; a wrong client secret gets no token', async () => {
    const tenant = t.tenant();
    const other = `corp-${randomBytes(4).toString('hex')}.test`;
    const u = await t.users(tenant);
    process.env[localSecretVariable(tenant, 'idp-client-secret', 'WRONG')!] = 'not-the-demo-secret';
    // A connection whose domain the demo IdP's people are not of: set up with a wrong secret, to see the IdP refuse the code exchange.
    const put = await t.call('PUT', '/api/v1/access/identity-provider', {
      token: u.admin,
      body: { kind: 'oidc', oidc: { issuer: idp.issuer, clientId: DEMO_IDP_CLIENT_ID, clientSecret: 'WRONG' }, emailDomains: [other] },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    await t.call('PUT', '/api/v1/access/group-mapping', { token: u.admin, body: { entries: [] } });
    const nobody = await signIn(`t-${tenant}-oidc`, `mallory@${other}`);
    expect(nobody.stopped?.status).toBe(400);
    expect(nobody.stopped?.text).toContain(`mallory@${other} is not a person of Example Corp`);
    const wrongSecret = await signIn(`t-${tenant}-oidc`, `erin@${domain}`);
    expect(wrongSecret.token).toBeUndefined();
    expect(wrongSecret.stopped?.status).toBe(400);
  });

  it('is refused in a Lambda', async () => {
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'stageline-api';
    try {
      await expect(startDemoIdp({ redirectUris: ['http://127.0.0.1:1/dev/oauth2/idpresponse'] })).rejects.toThrow(/local stack only/);
    } finally {
      delete process.env.AWS_LAMBDA_FUNCTION_NAME;
    }
  });

  it('is reached from no deployed code: nothing under functions/, infra/ or domain/ imports local/ or oidc-provider', () => {
    const files = (dir: string): string[] =>
      readdirSync(join(root, dir)).flatMap((f) => {
        const p = join(dir, f);
        if (statSync(join(root, p)).isDirectory()) return f === 'node_modules' || f === 'cdk.out' ? [] : files(p);
        return /\.tsx?$/.test(f) ? [p] : [];
      });
    const offenders = ['functions', 'infra', 'domain'].flatMap(files).filter((f) => {
      const text = readFileSync(join(root, f), 'utf8');
      return [...text.matchAll(/(?:from\s+|import\s*\(?)\s*['"]([^'"]+)['"]/g)].some(
        (m) => m[1] === 'oidc-provider' || m[1]!.startsWith('#local/') || (m[1]!.startsWith('.') && /(^|\/)local\//.test(m[1]!)),
      );
    });
    expect(offenders).toEqual([]);
  });
});
