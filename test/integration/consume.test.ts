import { OpenFeature as ServerFeature, type Client } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OpenFeature as WebFeature, ProviderEvents } from '@openfeature/web-sdk';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignVariant } from '../../domain/config/effective.ts';
import { cliOf } from '../support/cli.ts';
import { signedFetch } from '../support/sigv4.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';
import { waitFor } from '../support/promotions.ts';
import { READ_CACHE_TTL_MS, readCacheStats } from '../../functions/http/read-cache.ts';

let t: TestStack;
let admin: string;
let deployer: string;
const keys: Record<string, string> = {};
const ids: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestStack();
  // The pipeline's IAM principal is bound to acme (MACHINE_PRINCIPALS of the local stack).
  admin = await t.token({ tenant: 'acme', groups: ['admin'] });
  deployer = await t.token({ tenant: 'acme', groups: ['deployer'] });
  await makeLine(t, admin);
  for (const env of ['dev', 'staging']) {
    const r = await t.call('POST', `/api/v1/environments/${env}/items/batch`, {
      token: deployer,
      body: {
        set: [
          { kind: 'flag', key: 'checkout.new-flow', value: env === 'dev' },
          { kind: 'flag', key: 'checkout.banner', value: env === 'dev' ? 'dev banner' : 'hello' },
          { kind: 'flag', key: 'checkout.retries', value: 3 },
          { kind: 'flag', key: 'checkout.theme', value: { color: 'blue' } },
          { kind: 'config', key: 'checkout.timeout', value: '30s' },
          { kind: 'config', key: 'search.timeout', value: '5s' },
        ],
      },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    for (const prefix of [undefined, 'checkout.']) {
      const k = await t.call('POST', '/api/v1/app-keys', { token: admin, body: { name: `svc-${env}`, environment: env, ...(prefix ? { prefix } : {}) } });
      expect(k.status, JSON.stringify(k.body)).toBe(201);
      keys[`${env}${prefix ? '-prefixed' : ''}`] = k.body.key;
      ids[`${env}${prefix ? '-prefixed' : ''}`] = k.body.id;
    }
  }
}, 60_000);
afterAll(async () => {
  await ServerFeature.close();
  await WebFeature.close();
  await t.stop();
});

const read = (path: string, key: string, headers: Record<string, string> = {}) => t.call('GET', path, { headers: { 'x-api-key': key, ...headers } });
/**
 * A key revoked or rotated away is refused within the stated bound (READ_CACHE_TTL_MS: an instance
 * that checked it in the last second may still take it until then); never later.
 */
async function refused(path: string, key: string) {
  const until = Date.now() + READ_CACHE_TTL_MS + 500;
  for (;;) {
    const r = await read(path, key);
    if (r.status === 401 || Date.now() > until) return r;
    await new Promise((res) => setTimeout(res, 100));
  }
}

describe('app keys', () => {
  it('shows a key once, lists it without secret or hash, and audits the change', async () => {
    expect(keys.staging).toMatch(/^slk\.acme\.staging\.ak_[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/);
    const list = await t.call('GET', '/api/v1/app-keys?environment=staging', { token: await t.token({ tenant: 'acme', groups: ['viewer'] }) });
    expect(list.status).toBe(200);
    expect(list.body.items.map((k: { id: string }) => k.id).sort()).toEqual([ids.staging, ids['staging-prefixed']].sort());
    const secret = keys.staging!.split('.')[4]!;
    expect(JSON.stringify(list.body)).not.toContain(secret);
    const audit = await t.call('GET', `/api/v1/audit?entityType=app-key&entityId=${ids.staging}`, { token: admin });
    expect(audit.body.items[0]).toMatchObject({ action: 'app-key.create', entityId: ids.staging });
    expect(JSON.stringify(audit.body)).not.toContain(secret);
    // Only admins create; a viewer is refused, bad input is named.
    expect((await t.call('POST', '/api/v1/app-keys', { token: deployer, body: { name: 'x', environment: 'dev' } })).status).toBe(403);
    const bad = await t.call('POST', '/api/v1/app-keys', { token: admin, body: { name: 'x', environment: 'nowhere' } });
    expect(bad.status).toBe(404);
  });

  it('rotates with an overlap (both secrets work), then revokes at once; last-used is visible', async () => {
    const k = await t.call('POST', '/api/v1/app-keys', { token: admin, body: { name: 'fleet', environment: 'staging' } });
    const old = k.body.key as string;
    expect((await read('/api/v1/environments/staging/effective', old)).status).toBe(200);
    const rotated = await t.call('POST', `/api/v1/app-keys/${k.body.id}/rotate`, { token: admin, body: { overlapSeconds: 3600 } });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ status: 'rotating', id: k.body.id });
    expect(rotated.body.key).not.toBe(old);
    expect((await read('/api/v1/environments/staging/effective', old)).status).toBe(200);
    expect((await read('/api/v1/environments/staging/effective', rotated.body.key)).status).toBe(200);
    // A rotation with no overlap ends the previous secrets now.
    const now = await t.call('POST', `/api/v1/app-keys/${k.body.id}/rotate`, { token: admin, body: { overlapSeconds: 0 } });
    expect((await refused('/api/v1/environments/staging/effective', rotated.body.key)).status).toBe(401);
    expect((await read('/api/v1/environments/staging/effective', now.body.key)).status).toBe(200);
    const listed = (await t.call('GET', '/api/v1/app-keys', { token: admin })).body.items.find((x: { id: string }) => x.id === k.body.id);
    expect(listed.lastUsedAt).not.toBeNull();
    const revoked = await t.call('DELETE', `/api/v1/app-keys/${k.body.id}`, { token: admin });
    expect(revoked.body).toMatchObject({ status: 'revoked' });
    const after = await refused('/api/v1/environments/staging/effective', now.body.key);
    expect(after.status).toBe(401);
    expect(after.body.error.message).toMatch(/revoked/);
    expect((await t.call('POST', '/ofrep/v1/evaluate/flags/checkout.banner', { headers: { authorization: `Bearer ${now.body.key}` }, body: {} })).status).toBe(
      401,
    );
  });
});

describe('stageline keys (CLI)', () => {
  it('creates (printing the key once), lists, rotates and revokes', async () => {
    const cli = (...args: string[]) => cliOf(t)(admin, ...args);
    const created = await cli('keys', 'create', '--env', 'staging', '--name', 'cli-svc', '--prefix', 'checkout.');
    const key = created.stdout.trim();
    expect(key).toMatch(/^slk\.acme\.staging\./);
    expect((await read('/api/v1/environments/staging/effective', key)).body.prefix).toBe('checkout.');
    const id = key.split('.')[3]!;
    const listed = await cli('keys', 'list', '--env', 'staging');
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).not.toContain(key.split('.')[4]!);
    const rotated = (await cli('keys', 'rotate', id, '--overlap', '0')).stdout.trim();
    expect((await refused('/api/v1/environments/staging/effective', key)).status).toBe(401);
    expect((await read('/api/v1/environments/staging/effective', rotated)).status).toBe(200);
    await cli('keys', 'revoke', id);
    expect((await refused('/api/v1/environments/staging/effective', rotated)).status).toBe(401);
    await expect(cli('keys', 'revoke', 'ak_0000000000000000')).rejects.toThrow(/No app key/);
  }, 60_000);
});

describe('X-Tenant-ID on app reads', () => {
  it('naming another tenant answers 403 on /effective and /ofrep, with an app key or a viewer token, as on every route', async () => {
    const viewer = await t.token({ tenant: 'acme', groups: ['viewer'] });
    for (const headers of [{ 'x-api-key': keys.staging! }, { authorization: `Bearer ${viewer}` }] as Record<string, string>[]) {
      const other = await t.call('GET', '/api/v1/environments/staging/effective', { headers: { ...headers, 'x-tenant-id': 'globex' } });
      expect(other.status, JSON.stringify(other.body)).toBe(403);
      expect((await t.call('GET', '/api/v1/environments/staging/effective', { headers: { ...headers, 'x-tenant-id': 'acme' } })).status).toBe(200);
    }
    expect(
      (await t.call('POST', '/ofrep/v1/evaluate/flags', { headers: { 'x-api-key': keys.staging!, 'x-tenant-id': 'globex' }, body: { context: {} } })).status,
    ).toBe(403);
    expect(
      (
        await t.call('POST', '/ofrep/v1/evaluate/flags/checkout.banner', {
          headers: { 'x-api-key': keys.staging!, 'x-tenant-id': 'globex' },
          body: { context: {} },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await t.call('POST', '/ofrep/v1/evaluate/flags/checkout.banner', {
          headers: { 'x-api-key': keys.staging!, 'x-tenant-id': 'acme' },
          body: { context: {} },
        })
      ).status,
    ).toBe(200);
  });
});

describe('OFREP bodies have the shape limits of every body', () => {
  it('a context nested 3,000 deep, holding 1e400 or a reserved key answers 400 INVALID_CONTEXT, never 500', async () => {
    const deep = `{"context":${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}}`;
    for (const [name, raw] of [
      ['deep', deep],
      ['1e400', '{"context":{"targetingKey":"u","n":1e400}}'],
      ['huge integer', '{"context":{"n":123456789012345678901234567890}}'],
      ['__proto__', '{"context":{"__proto__":{"x":1}}}'],
    ] as const) {
      for (const path of ['/ofrep/v1/evaluate/flags', '/ofrep/v1/evaluate/flags/checkout.banner']) {
        const r = await t.call('POST', path, { headers: { 'x-api-key': keys.staging!, 'content-type': 'application/json' }, raw });
        expect(r.status, `${name} ${path}: ${JSON.stringify(r.body)}`).toBe(400);
        expect(r.body.errorCode, name).toBe('INVALID_CONTEXT');
      }
    }
  });
});

describe('app reads at the least cost', () => {
  it('an unchanged poll reads the key from memory and the head eventually consistently; a change is seen at once', async () => {
    const before = { ...readCacheStats };
    const first = await read('/api/v1/environments/dev/effective', keys.dev!);
    const etag = first.headers.get('etag')!;
    for (let i = 0; i < 3; i++) expect((await read('/api/v1/environments/dev/effective', keys.dev!, { 'if-none-match': etag })).status).toBe(304);
    // Within the bound the key record is not read again (at most one load for the four polls: the bound may pass once).
    expect(readCacheStats.hits - before.hits).toBeGreaterThanOrEqual(3 - (readCacheStats.loads - before.loads));
    expect(readCacheStats.loads - before.loads).toBeLessThanOrEqual(2);
    // A change is visible on the next poll: the head is read on every poll.
    expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: admin, body: { key: 'poll.seen', value: 1 } })).status).toBe(201);
    const next = await read('/api/v1/environments/dev/effective', keys.dev!, { 'if-none-match': etag });
    expect(next.status).toBe(200);
    expect(next.body.configs['poll.seen']).toBe(1);
  });

  it('serves app-key routes from a function URL (no API Gateway route key), and nothing else', async () => {
    const { handler: effective } = await import('../../functions/handlers/effective.ts');
    const { handler: ofrep } = await import('../../functions/handlers/ofrep.ts');
    const urlEvent = (method: string, path: string, headers: Record<string, string>, body?: string) =>
      ({
        version: '2.0',
        routeKey: '$default',
        rawPath: path,
        rawQueryString: '',
        headers,
        body,
        isBase64Encoded: false,
        requestContext: { http: { method, path }, requestId: 'url-1' },
      }) as never;
    const ctx = { awsRequestId: 'url-1', getRemainingTimeInMillis: () => 10_000 } as never;
    const r = (await effective(urlEvent('GET', '/api/v1/environments/staging/effective', { 'x-api-key': keys.staging! }), ctx)) as {
      statusCode: number;
      body: string;
    };
    expect(r.statusCode).toBe(200);
    expect(JSON.parse(r.body).environment).toBe('staging');
    const o = (await ofrep(
      urlEvent('POST', '/ofrep/v1/evaluate/flags/checkout.banner', { 'x-api-key': keys.staging!, 'content-type': 'application/json' }, '{"context":{}}'),
      ctx,
    )) as { statusCode: number; body: string };
    expect(o.statusCode).toBe(200);
    expect(JSON.parse(o.body)).toMatchObject({ key: 'checkout.banner', value: 'hello' });
    // No key: 401 as through the gateway; a path that is not an app read: 404 (the gateway's authorizers stay the only way to it).
    expect(((await effective(urlEvent('GET', '/api/v1/environments/staging/effective', {}), ctx)) as { statusCode: number }).statusCode).toBe(401);
    expect(((await effective(urlEvent('GET', '/api/v1/environments', { 'x-api-key': keys.staging! }), ctx)) as { statusCode: number }).statusCode).toBe(404);
  });
});

describe('effective config', () => {
  it('answers the document with the snapshot digest as ETag, 304 with no body while current, a subtree by ?prefix=', async () => {
    const r = await read('/api/v1/environments/staging/effective', keys.staging!);
    expect(r.status).toBe(200);
    expect(r.body.configs).toEqual({ 'checkout.timeout': '30s', 'search.timeout': '5s' });
    expect(r.body.flags['checkout.banner']).toBe('hello');
    const etag = r.headers.get('etag')!;
    expect(etag).toBe(`"${r.body.snapshot.digest}"`);
    expect(r.headers.get('cache-control')).toBe('private, no-cache');
    const again = await fetch(`${t.url}/api/v1/environments/staging/effective`, {
      headers: { authorization: `Bearer ${keys.staging}`, 'if-none-match': etag },
    });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    const sub = await read('/api/v1/environments/staging/effective?prefix=search.', keys.staging!);
    expect(sub.body).toMatchObject({ prefix: 'search.', configs: { 'search.timeout': '5s' }, flags: {} });
    // A key bound to a prefix reads only that subtree.
    const scoped = await read('/api/v1/environments/staging/effective', keys['staging-prefixed']!);
    expect(Object.keys(scoped.body.configs)).toEqual(['checkout.timeout']);
    // Cache-Control follows the environment's setting.
    const staging = await t.call('GET', '/api/v1/environments/dev', { token: admin });
    expect((await t.call('PATCH', '/api/v1/environments/dev', { token: admin, body: { version: staging.body.version, cacheMaxAgeSeconds: 30 } })).status).toBe(
      200,
    );
    expect((await read('/api/v1/environments/dev/effective', keys.dev!)).headers.get('cache-control')).toBe('private, max-age=30');
    // … which the manifest manages too, and exports.
    const applied = await t.call('POST', '/api/v1/manifest/apply', {
      token: admin,
      body: { document: 'artifacts:\n  promotion:\n    environment_settings:\n      dev:\n        cache_max_age_seconds: 60\n' },
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect((await read('/api/v1/environments/dev/effective', keys.dev!)).headers.get('cache-control')).toBe('private, max-age=60');
    expect(
      (await t.call('GET', '/api/v1/manifest?format=json', { token: admin })).body.artifacts.promotion.environment_settings.dev.cache_max_age_seconds,
    ).toBe(60);
  });

  it('refuses another environment (403), another tenant (401), no key, altered keys and a bad prefix', async () => {
    const other = await read('/api/v1/environments/dev/effective', keys.staging!);
    expect(other.status).toBe(403);
    expect(JSON.stringify(other.body)).not.toContain('dev banner');
    expect((await read('/api/v1/environments/staging/effective', keys.staging!.replace('.staging.', '.dev.'))).status).toBe(401);
    // A key of another tenant, pointed at acme, finds no record there.
    const eve = await t.token({ tenant: 'globex', groups: ['admin'] });
    await t.call('POST', '/api/v1/environments', { token: eve, body: { name: 'staging', position: 0 } });
    const g = await t.call('POST', '/api/v1/app-keys', { token: eve, body: { name: 'g', environment: 'staging' } });
    expect((await read('/api/v1/environments/staging/effective', g.body.key.replace('slk.globex.', 'slk.acme.'))).status).toBe(401);
    const own = await read('/api/v1/environments/staging/effective', g.body.key);
    expect(own.status).toBe(200);
    expect(own.body.flags).toEqual({});
    expect((await t.call('GET', '/api/v1/environments/staging/effective')).status).toBe(401);
    // A person's ID token reads their own tenant's environments (viewer); a forged or foreign one does not.
    const viewer = await t.token({ tenant: 'acme', groups: ['viewer'] });
    expect((await t.call('GET', '/api/v1/environments/staging/effective', { token: viewer })).body.flags['checkout.retries']).toBe(3);
    expect((await t.call('GET', '/api/v1/environments/staging/effective', { token: `${viewer.slice(0, -4)}AAAA` })).status).toBe(401);
    expect((await t.call('GET', '/api/v1/environments/staging/effective', { token: eve })).body.flags).toEqual({});
    expect((await t.call('POST', '/ofrep/v1/evaluate/flags/checkout.banner', { token: viewer, body: {} })).status).toBe(401);
    expect((await read('/api/v1/environments/staging/effective?prefix=', keys.staging!)).status).toBe(400);
  });

  it('serves IAM (SigV4) callers on the machine route', async () => {
    const r = await signedFetch(t.url, 'GET', '/api/v1/machine/environments/staging/effective', undefined, t.stack.iam[0]!);
    expect(r.status).toBe(200);
    expect(r.body.flags['checkout.retries']).toBe(3);
    expect((await t.call('GET', '/api/v1/machine/environments/staging/effective')).status).toBe(403);
  });
});

describe('OFREP', () => {
  let client: Client;
  beforeAll(async () => {
    await ServerFeature.setProviderAndWait('staging', new OFREPProvider({ baseUrl: t.url, headers: { authorization: `Bearer ${keys.staging}` } }));
    client = ServerFeature.getClient('staging');
  });

  it('evaluates boolean, string, number and object flags through the OpenFeature server SDK', async () => {
    expect(await client.getBooleanValue('checkout.new-flow', true)).toBe(false);
    expect(await client.getStringValue('checkout.banner', 'x')).toBe('hello');
    expect(await client.getNumberValue('checkout.retries', 0)).toBe(3);
    expect(await client.getObjectValue('checkout.theme', {})).toEqual({ color: 'blue' });
    const missing = await client.getBooleanDetails('checkout.nope', true);
    expect(missing).toMatchObject({ value: true, errorCode: 'FLAG_NOT_FOUND' });
  });

  it('sees a flag promoted dev → staging only once the promotion completed', async () => {
    expect(await client.getStringValue('checkout.banner', 'x')).toBe('hello');
    const p = await t.call('POST', '/api/v1/promotions', {
      token: deployer,
      body: { autoStart: true, sourceEnvironment: 'dev', targetEnvironment: 'staging', promotionType: 'PATTERN', keyPatterns: ['checkout.banner'] },
    });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    await waitFor(t, deployer, p.body.id, ['COMPLETED']);
    expect(await client.getStringValue('checkout.banner', 'x')).toBe('dev banner');
    // Untouched by the pattern: still staging's own.
    expect(await client.getBooleanValue('checkout.new-flow', true)).toBe(false);
  });

  it('splits a rollout by targetingKey (SPLIT + variant), stable, monotone when raised, TARGETING_KEY_MISSING without one', async () => {
    const rollout = (on: number) => ({ $rollout: { variants: { on: true, off: false }, weights: { on, off: 100 - on } } });
    const created = await t.call('POST', '/api/v1/environments/staging/flags', { token: deployer, body: { key: 'checkout.rollout', value: rollout(10) } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    // Promoted like any value: the diff towards production shows the weights.
    const diff = await t.call('GET', '/api/v1/config/promotions/diff?source=staging&target=production', { token: deployer });
    expect(diff.body.added.find((a: { key: string }) => a.key === 'checkout.rollout').value).toEqual(rollout(10));
    const users = Array.from({ length: 100 }, (_, i) => `user-${i}`);
    const at10 = await Promise.all(users.map((u) => client.getBooleanDetails('checkout.rollout', false, { targetingKey: u })));
    expect(at10.every((d) => d.reason === 'SPLIT' && (d.variant === 'on') === d.value)).toBe(true);
    const on10 = users.filter((_, i) => at10[i]!.value);
    expect(on10.length).toBeGreaterThan(2);
    expect(on10.length).toBeLessThan(25);
    // The server's assignment is the published hash rule.
    expect(on10).toEqual(users.filter((u) => assignVariant('checkout.rollout', u, rollout(10).$rollout) === 'on'));
    await t.call('PUT', `/api/v1/environments/staging/flags/${created.body.id}`, { token: deployer, body: { value: rollout(20) } });
    const at20 = await Promise.all(users.map((u) => client.getBooleanValue('checkout.rollout', false, { targetingKey: u })));
    const on20 = users.filter((_, i) => at20[i]);
    expect(on20.length).toBeGreaterThan(on10.length);
    expect(on10.every((u) => on20.includes(u))).toBe(true);
    const noKey = await t.call('POST', '/ofrep/v1/evaluate/flags/checkout.rollout', { headers: { 'x-api-key': keys.staging! }, body: { context: {} } });
    expect(noKey.status).toBe(400);
    expect(noKey.body).toMatchObject({ key: 'checkout.rollout', errorCode: 'TARGETING_KEY_MISSING' });
    // A malformed rollout is refused where it is written.
    const bad = await t.call('POST', '/api/v1/environments/staging/flags', {
      token: deployer,
      body: { key: 'checkout.bad', value: { $rollout: { variants: { on: true }, weights: { of: 100 } } } },
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('no variant');
  });

  it('answers OFREP errors for bad input and refuses keys of other environments', async () => {
    const h = { 'x-api-key': keys.staging! };
    const notJson = await t.call('POST', '/ofrep/v1/evaluate/flags/checkout.banner', { headers: { ...h, 'content-type': 'application/json' }, raw: '{nope' });
    expect(notJson).toMatchObject({ status: 400, body: { errorCode: 'PARSE_ERROR' } });
    const badCtx = await t.call('POST', '/ofrep/v1/evaluate/flags/checkout.banner', { headers: h, body: { context: 'me' } });
    expect(badCtx).toMatchObject({ status: 400, body: { errorCode: 'INVALID_CONTEXT' } });
    const badKey = await t.call('POST', '/ofrep/v1/evaluate/flags/checkout.banner', { headers: h, body: { context: { targetingKey: 42 } } });
    expect(badKey).toMatchObject({ status: 400, body: { errorCode: 'INVALID_CONTEXT' } });
    const prefixed = await t.call('POST', '/ofrep/v1/evaluate/flags/search.x', { headers: { 'x-api-key': keys['staging-prefixed']! }, body: {} });
    expect(prefixed).toMatchObject({ status: 404, body: { errorCode: 'FLAG_NOT_FOUND' } });
    expect((await t.call('POST', '/ofrep/v1/evaluate/flags/checkout.banner', { body: {} })).status).toBe(401);
    const config = await t.call('GET', '/ofrep/v1/configuration', { headers: h });
    expect(config.body.capabilities.cacheInvalidation.polling.enabled).toBe(true);
  });

  it('serves the bulk evaluation with an ETag and 304, which the web SDK polls', async () => {
    const h = { 'x-api-key': keys.staging!, 'content-type': 'application/json' };
    const body = JSON.stringify({ context: { targetingKey: 'user-1' } });
    const first = await fetch(`${t.url}/ofrep/v1/evaluate/flags`, { method: 'POST', headers: h, body });
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag')!;
    const flags = ((await first.json()) as { flags: { key: string }[] }).flags;
    expect(flags.map((f) => f.key)).toContain('checkout.theme');
    const second = await fetch(`${t.url}/ofrep/v1/evaluate/flags`, { method: 'POST', headers: { ...h, 'if-none-match': etag }, body });
    expect(second.status).toBe(304);
    expect(await second.text()).toBe('');
    // Another context is another answer.
    const other = await fetch(`${t.url}/ofrep/v1/evaluate/flags`, {
      method: 'POST',
      headers: { ...h, 'if-none-match': etag },
      body: JSON.stringify({ context: { targetingKey: 'user-2' } }),
    });
    expect(other.status).toBe(200);

    await WebFeature.setContext({ targetingKey: 'user-1' });
    await WebFeature.setProviderAndWait(new OFREPWebProvider({ baseUrl: t.url, headers: [['x-api-key', keys.staging!]], pollInterval: 100 }));
    const web = WebFeature.getClient();
    expect(web.getStringValue('checkout.banner', 'x')).toBe('dev banner');
    const changed = new Promise<void>((resolve) => web.addHandler(ProviderEvents.ConfigurationChanged, () => resolve()));
    const item = await t.call('GET', '/api/v1/environments/staging/flags?limit=100', { token: deployer });
    const banner = item.body.items.find((i: { key: string }) => i.key === 'checkout.banner');
    await t.call('PUT', `/api/v1/environments/staging/flags/${banner.id}`, { token: deployer, body: { value: 'polled' } });
    await changed;
    expect(web.getStringValue('checkout.banner', 'x')).toBe('polled');
  });
});
