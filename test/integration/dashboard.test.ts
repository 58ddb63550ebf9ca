import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUDGET_GZIP_BYTES } from '../../scripts/console.ts';
import { startTestStack, type Res, type TestStack } from '../support/stack.ts';

/** The console's page and assets as the gateway serves them (the browser tests walk it: browser.test.ts). */
let t: TestStack;
let page: Res<string>;

beforeAll(async () => {
  t = await startTestStack();
  page = await t.call('GET', '/dashboard');
});
afterAll(() => t.stop());

const directives = () =>
  Object.fromEntries(
    page.headers
      .get('content-security-policy')!
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .map(([k, ...v]) => [k!, v]),
  );
const assets = () =>
  [
    ...page.body.matchAll(
      /<(?:script type="module" src|link rel="(?:stylesheet|modulepreload)" href)="(dashboard\/assets\/[^"]+)" integrity="(sha384-[A-Za-z0-9+/=]+)"/g,
    ),
  ].map((m) => ({
    path: `/${m[1]!}`,
    integrity: m[2]!,
  }));

describe('GET /dashboard: the console', () => {
  it('is a shell page without a token: no inline script or style, a strict CSP, no framing', () => {
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const csp = directives();
    expect(csp).toMatchObject({
      'default-src': ["'none'"],
      'script-src': ["'self'"],
      'style-src': ["'self'"],
      'connect-src': ["'self'"],
      'frame-ancestors': ["'none'"],
      'base-uri': ["'none'"],
    });
    expect(page.headers.get('content-security-policy')).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(page.body).not.toMatch(/<script>|<style>|\son\w+=|\sstyle=/i);
    // The entry script (a module: the views it does not need at first load are chunks it imports when opened), the stylesheet, and the chunks it imports at once, preloaded.
    expect(page.body).toMatch(/<script type="module" src="dashboard\/assets\/app\.[0-9a-f]{12}\.js" integrity="sha384-/);
    expect(assets().length).toBeGreaterThanOrEqual(2);
  });

  it('loads its script and stylesheet by content hash with Subresource Integrity; they are cached for a year; others are 404', async () => {
    let gzip = 0;
    for (const a of assets()) {
      const r = await t.call('GET', a.path);
      expect(r.status).toBe(200);
      const body = typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
      expect(`sha384-${createHash('sha384').update(body).digest('base64')}`).toBe(a.integrity);
      expect(a.path).toContain(createHash('sha256').update(body).digest('hex').slice(0, 12));
      expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(r.headers.get('content-type')).toMatch(/^text\/(javascript|css); charset=utf-8$/);
      gzip += gzipSync(body).length;
    }
    // The page-weight budget (docs/guide/14-dashboard.md): what a first visit transfers, compressed (entry, style, preloaded chunks).
    expect(gzip).toBeLessThan(BUDGET_GZIP_BYTES);
    expect((await t.call('GET', '/dashboard/assets/app.000000000000.js')).status).toBe(404);
    expect((await t.call('GET', '/dashboard/assets/settings.000000000000.js')).status).toBe(404);
    expect((await t.call('GET', '/dashboard/assets/__proto__')).status).toBe(404);
  });

  it('serves the chunks the entry imports when a view opens: each by its content hash, as a script, cached for a year', async () => {
    const entry = assets().find((a) => /\/app\.[0-9a-f]{12}\.js$/.test(a.path))!;
    const script = (await t.call('GET', entry.path)).body as string;
    const chunks = [...new Set([...script.matchAll(/"\.\/([\w-]+\.[0-9a-f]{12}\.js)"/g)].map((m) => m[1]!))];
    expect(chunks.length).toBeGreaterThanOrEqual(5);
    for (const name of chunks) {
      const r = await t.call('GET', `/dashboard/assets/${name}`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(name).toContain(
        createHash('sha256')
          .update(r.body as string)
          .digest('hex')
          .slice(0, 12),
      );
    }
  });

  it('serves its assets gzipped to a browser that takes gzip (the bytes the integrity names, a third of them on the wire), as they are to one that does not', async () => {
    /** The raw answer (node:http does not decode: fetch would). */
    const raw = (path: string, acceptEncoding: string) =>
      new Promise<{ status: number; headers: Record<string, unknown>; bytes: Buffer }>((done, fail) => {
        request(`${t.url}${path}`, { headers: { 'accept-encoding': acceptEncoding } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, bytes: Buffer.concat(chunks) }));
        })
          .on('error', fail)
          .end();
      });
    for (const a of assets()) {
      const zipped = await raw(a.path, 'gzip, deflate, br, zstd');
      expect(zipped.status).toBe(200);
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(String(zipped.headers.vary)).toMatch(/accept-encoding/i);
      const body = gunzipSync(zipped.bytes);
      expect(`sha384-${createHash('sha384').update(body).digest('base64')}`).toBe(a.integrity);
      // (a chunk of a few hundred bytes gains little)
      if (body.length > 1024) expect(zipped.bytes.length).toBeLessThan(body.length / 2);
      for (const plain of ['identity', 'gzip;q=0, br']) {
        const r = await raw(a.path, plain);
        expect(r.headers['content-encoding']).toBeUndefined();
        expect(r.bytes.equals(body)).toBe(true);
      }
    }
  });

  it('where sign-in starts: GET /api/v1/auth/config names the authorization code + PKCE endpoints', async () => {
    const r = await t.call('GET', '/api/v1/auth/config');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      authorizationEndpoint: `${t.url}/dev/oauth2/authorize`,
      tokenEndpoint: `${t.url}/dev/oauth2/token`,
      scopes: expect.arrayContaining(['openid']),
    });
  });
});
