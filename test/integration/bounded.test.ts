import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/** One request may not hold the service hostage: its work, what it reads and what it writes are bounded. */
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(async () => {
  await t.stop();
});

describe('bounded work per request', () => {
  it('a PATTERN dry run with a backtracking glob against a 255-character key answers at once', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    const key = 'a'.repeat(255);
    expect((await t.call('POST', '/api/v1/environments/staging/configs', { token: u.admin, body: { key, value: 1 } })).status).toBe(201);
    const attack = '*a*a*a*a*a*a*a*ab';
    const dry = (keyPatterns: string[]) =>
      t.call('POST', '/api/v1/config/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production', promotionType: 'PATTERN', keyPatterns, dryRun: true } });
    const miss = await dry([attack]);
    expect(miss.status, JSON.stringify(miss.body)).toBe(422);
    expect(miss.body.error.message).toContain('Nothing to promote');
    const hit = await dry([attack, '*a*a*a*a*a*a*a*a']);
    expect(hit.body.changes.map((c: any) => c.key)).toEqual([key]);
    // More stars than a pattern may hold, or than a request may hold in all: refused up front.
    const nine = await dry(['*a*a*a*a*a*a*a*a*a']);
    expect(nine.status).toBe(400);
    expect(JSON.stringify(nine.body)).toContain('at most 8 stars');
    const many = await dry(Array.from({ length: 5 }, (_, i) => `${i}*a*a*a*a*a*a*a*`));
    expect(many.status).toBe(400);
    expect(JSON.stringify(many.body)).toContain('at most 32 stars in all');
    expect((await dry(['query.{a,b}'])).status).toBe(400);
  });
});

/**
 * A registry the admin points at, answering with bodies far larger than anything we may read:
 * an error message, a token, a manifest. Written in chunks until the client hangs up.
 */
type Mode = 'error' | 'token' | 'manifest';
let hostile: Server;
let hostileUrl = '';
let mode: Mode = 'error';
const MARKER = 'REMOTE-WORDS-';
const HUGE = 64 * 1024 * 1024;
let written = 0;
function huge(res: import('node:http').ServerResponse, status: number, type: string, head: string) {
  res.writeHead(status, { 'content-type': type });
  written = 0;
  const chunk = Buffer.from(MARKER.repeat(64 * 1024 / MARKER.length));
  res.write(head);
  const pump = () => {
    while (written < HUGE) {
      written += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    res.end('"}]}');
  };
  res.on('error', () => {});
  pump();
}
beforeAll(async () => {
  hostile = createServer((req, res) => {
    req.resume();
    const auth = req.headers.authorization;
    if (mode === 'token' && req.url?.startsWith('/token')) return huge(res, 200, 'application/json', '{"token":"');
    if (mode === 'token' && !auth) {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${hostileUrl}/token",service="hostile"` });
      return void res.end();
    }
    if (mode === 'manifest') return huge(res, 200, 'application/vnd.oci.image.manifest.v1+json', '{"schemaVersion":2,"x":"');
    return huge(res, 500, 'application/json', `{"errors":[{"code":"INTERNAL","message":"`);
  });
  await new Promise<void>((r) => hostile.listen(0, '127.0.0.1', () => r()));
  hostileUrl = `http://127.0.0.1:${(hostile.address() as { port: number }).port}`;
});
afterAll(async () => {
  hostile.closeAllConnections();
  await new Promise((r) => hostile.close(r));
});

describe('outbound answers are read with a small bound', () => {
  it("a registry's huge error, token or manifest never reaches the caller and is never read whole", async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    expect((await t.call('PATCH', '/api/v1/environments/dev', { token: u.admin, body: { version: 1, registries: [{ name: 'hostile', url: hostileUrl }] } })).status).toBe(200);
    const digest = `sha256:${'ab'.repeat(32)}`;
    for (const [n, m] of (['error', 'token', 'manifest'] as Mode[]).entries()) {
      mode = m;
      const r = await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: `v1.0.${n}`, digest } });
      expect(r.status, m).toBe(422);
      const text = JSON.stringify(r.body);
      expect(text.length, m).toBeLessThan(2048);
      expect(text, m).not.toContain(MARKER);
      expect(text, m).toMatch(m === 'error' ? /failed: HTTP 500 \(push/ : m === 'token' ? /token realm .* returned no token|larger than/ : /larger than 4096 KiB/);
      // the client hung up long before the end
      expect(written, m).toBeLessThan(HUGE);
    }
  });
});
