import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ecrRegistryOf, EcrTokens, REFRESH_BEFORE_MS } from '../../functions/adapters/ecr-tokens.ts';
import { Client } from '../../functions/adapters/oci/client.ts';
import { loadRegistryCredentials } from '../../functions/adapters/registry-credentials.ts';

/** Amazon ECR registries: credentials from ecr:GetAuthorizationToken, kept until shortly before they expire, renewed on a 401. */

const ecr = mockClient(ECRClient);
afterEach(() => ecr.reset());

const ORIGIN = 'https://123456789012.dkr.ecr.eu-west-1.amazonaws.com';
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 27, 12);
/** An answer of the token API: `AWS:<password>` in base64, valid 12 h from `from`. */
const answer = (password: string, from: number) => ({
  authorizationData: [{ authorizationToken: Buffer.from(`AWS:${password}`).toString('base64'), expiresAt: new Date(from + 12 * HOUR), proxyEndpoint: ORIGIN }],
});

/** The clock the cache reads. */
function clock() {
  let t = T0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('EcrTokens (aws-sdk-client-mock)', () => {
  it('asks the token API once and keeps the token (AWS:<password> as Basic credentials) while it is valid', async () => {
    ecr.on(GetAuthorizationTokenCommand).resolvesOnce(answer('tok-1', T0));
    const c = clock();
    const tokens = new EcrTokens({ client: (region) => new ECRClient({ region }), now: c.now });
    const creds = tokens.forOrigin(ORIGIN);
    await expect(creds.current()).resolves.toEqual({ username: 'AWS', password: 'tok-1' });
    c.advance(12 * HOUR - REFRESH_BEFORE_MS - 1);
    // Concurrent requests share the answer.
    const all = await Promise.all([creds.current(), creds.current(), tokens.forOrigin(ORIGIN).current()]);
    expect(all.map((x) => x.password)).toEqual(['tok-1', 'tok-1', 'tok-1']);
    expect(ecr.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(1);
  });

  it('asks again shortly before the token expires, and keeps the new one', async () => {
    const c = clock();
    ecr
      .on(GetAuthorizationTokenCommand)
      .resolvesOnce(answer('tok-1', T0))
      .resolvesOnce(answer('tok-2', T0 + 12 * HOUR - REFRESH_BEFORE_MS));
    const creds = new EcrTokens({ client: (region) => new ECRClient({ region }), now: c.now }).forOrigin(ORIGIN);
    expect((await creds.current()).password).toBe('tok-1');
    c.advance(12 * HOUR - REFRESH_BEFORE_MS);
    expect((await creds.current()).password).toBe('tok-2');
    expect((await creds.current()).password).toBe('tok-2');
    expect(ecr.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(2);
    // The region of the registry's host.
    expect(await ecr.call(0).thisValue.config.region()).toBe('eu-west-1');
  });

  it('asks again after the registry refused the token, unless another request already replaced it', async () => {
    const c = clock();
    ecr
      .on(GetAuthorizationTokenCommand)
      .resolvesOnce(answer('tok-1', T0))
      .resolvesOnce(answer('tok-2', T0 + HOUR));
    const creds = new EcrTokens({ client: (region) => new ECRClient({ region }), now: c.now }).forOrigin(ORIGIN);
    const first = await creds.current();
    expect((await creds.refresh(first)).password).toBe('tok-2');
    expect((await creds.refresh(first)).password).toBe('tok-2');
    expect(ecr.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(2);
  });

  it('knows an ECR registry by its host, and only over https', () => {
    expect(ecrRegistryOf(ORIGIN)).toEqual({ account: '123456789012', region: 'eu-west-1' });
    expect(ecrRegistryOf('https://123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com')).toEqual({ account: '123456789012', region: 'us-gov-west-1' });
    expect(ecrRegistryOf('http://123456789012.dkr.ecr.eu-west-1.amazonaws.com')).toBeNull();
    expect(ecrRegistryOf('https://123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example')).toBeNull();
    expect(ecrRegistryOf('https://registry.example.com')).toBeNull();
    expect(() => new EcrTokens().forOrigin('https://registry.example.com')).toThrow(/not an Amazon ECR registry/);
  });
});

describe('an ECR registry through the Distribution API client', () => {
  /** A registry that takes only the token it was last told is valid (Basic AWS:<token>). */
  let server: Server;
  let url: string;
  let valid = '';
  const seen: string[] = [];
  beforeAll(async () => {
    vi.stubEnv('STAGELINE_ALLOW_LOOPBACK_OUTBOUND', 'true');
    server = createServer((req, res) => {
      const auth = req.headers.authorization ?? '';
      seen.push(auth);
      if (auth !== `Basic ${Buffer.from(`AWS:${valid}`).toString('base64')}`) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/",service="ecr.amazonaws.com"' });
        res.end();
        return;
      }
      res.writeHead(404).end();
    }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    server.close();
  });
  afterEach(() => {
    seen.length = 0;
  });

  const client = (tokens: EcrTokens) => new Client({ name: 'ecr', url }, 'app', 'pull,push', tokens.forOrigin(ORIGIN), new Map(), 5_000);

  it('sends the token with the first request, and on a 401 asks for a new one once and sends the request again', async () => {
    const c = clock();
    ecr
      .on(GetAuthorizationTokenCommand)
      .resolvesOnce(answer('tok-1', T0))
      .resolvesOnce(answer('tok-2', T0 + HOUR));
    const tokens = new EcrTokens({ client: (region) => new ECRClient({ region }), now: c.now });
    valid = 'tok-1';
    await expect(client(tokens).tagDigest('v1')).resolves.toBeNull();
    expect(seen).toHaveLength(1);
    // The registry no longer takes tok-1 (revoked, or expired before its time): one 401, a new token, the same request again.
    valid = 'tok-2';
    await expect(client(tokens).tagDigest('v1')).resolves.toBeNull();
    expect(seen.map((a) => Buffer.from(a.replace(/^Basic /, ''), 'base64').toString())).toEqual(['AWS:tok-1', 'AWS:tok-1', 'AWS:tok-2']);
    expect(ecr.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(2);
  });

  it('refreshes once per request: a new token refused too is the answer (401), not a loop', async () => {
    ecr
      .on(GetAuthorizationTokenCommand)
      .resolvesOnce(answer('tok-1', T0))
      .resolvesOnce(answer('tok-2', T0 + HOUR));
    const tokens = new EcrTokens({ client: (region) => new ECRClient({ region }), now: clock().now });
    valid = 'never';
    await expect(client(tokens).tagDigest('v1')).rejects.toThrow(/GET manifest v1 failed: unauthorized \(401\)/);
    expect(seen).toHaveLength(2);
    expect(ecr.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(2);
  });

  it('says why when the token API refuses (the role lacks ecr:GetAuthorizationToken), without sending the request', async () => {
    ecr
      .on(GetAuthorizationTokenCommand)
      .rejects(Object.assign(new Error('not authorized to perform: ecr:GetAuthorizationToken'), { name: 'AccessDeniedException' }));
    const tokens = new EcrTokens({ client: (region) => new ECRClient({ region }), now: clock().now });
    await expect(client(tokens).tagDigest('v1')).rejects.toThrow(
      /no registry token: AccessDeniedException: not authorized to perform: ecr:GetAuthorizationToken/,
    );
    expect(seen).toEqual([]);
  });
});

describe('registry credentials of an ECR origin', () => {
  const load = (value: unknown) => loadRegistryCredentials({ REGISTRY_CREDENTIALS: JSON.stringify(value) });

  it('take "ecr": true, and refuse a static password (a copy of a token expires after 12 h)', async () => {
    await expect(load([{ tenant: 'acme', origin: ORIGIN, ecr: true }])).resolves.toEqual([{ tenant: 'acme', origin: ORIGIN, ecr: true }]);
    await expect(load([{ tenant: 'acme', origin: ORIGIN, username: 'AWS', password: 'eyJwYXlsb2Fk' }])).rejects.toThrow(
      /an Amazon ECR origin takes .*ecr.*: true/,
    );
    await expect(load([{ tenant: 'acme', origin: 'https://harbor.example.com', ecr: true }])).rejects.toThrow(/Amazon ECR origin/);
    await expect(load([{ tenant: 'acme', origin: 'https://harbor.example.com', username: 'u', password: 'p' }])).resolves.toHaveLength(1);
  });
});
