import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../functions/http/routes.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
let token: string;
/** Real ids, so fuzzed requests also reach the code behind the id checks. */
const realIds: string[] = [];
beforeAll(async () => {
  t = await startTestStack();
  const u = await t.users(t.tenant());
  token = u.admin;
  await makeLine(t, token);
  const cfg = await t.call('POST', '/api/v1/environments/dev/configs', { token, body: { key: 'a', value: 1 } });
  await t.call('POST', '/api/v1/artifacts/app/versions', { token, body: { version: 'v1.0.0', digest: `sha256:${'c'.repeat(64)}` } });
  const rule = await t.call('POST', '/api/v1/promotions/rules', { token, body: { name: 'r', sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
  const promo = await t.call('POST', '/api/v1/promotions', { token, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', trigger: 'manual' } });
  realIds.push(cfg.body.id, rule.body.id, promo.body.id, 'app', 'v1.0.0', 'latest-dev');
});
afterAll(() => t.stop());

const segment = fc.oneof(
  fc.constantFrom('dev', 'staging', 'nope', '0', '-1', '99999999999', '%00', '..', 'a'.repeat(300), '6f65d939-b06e-52bb-9308-2300ab8298e4', 'dev@1'),
  fc.nat(5).map((i) => realIds[i] ?? 'dev'),
  fc.string({ maxLength: 20 }).map((s) => encodeURIComponent(s) || 'x'),
);
const queryArb = fc.dictionary(
  fc.constantFrom('limit', 'cursor', 'source', 'target', 'from', 'to', 'entityType', 'entityId', 'actor', 'reason', 'version', 'x'),
  fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('0', '-5', '1e9', 'dev', 'dev@0', '2026-01-01T00:00:00Z', 'config', 'eyJwayI6MX0')),
);
const bodyArb = fc.oneof(
  fc.json().map((j) => ({ raw: j })),
  fc.string({ maxLength: 40 }).map((s) => ({ raw: s })),
  fc.record({ name: fc.string(), position: fc.integer(), key: fc.string(), value: fc.jsonValue(), version: fc.integer(), reason: fc.string(), set: fc.anything() }, { requiredKeys: [] }).map((b) => ({ raw: JSON.stringify(b) })),
  fc
    .record(
      { sourceEnvironment: fc.constantFrom('dev', 'staging', 'x'), targetEnvironment: fc.constantFrom('staging', 'production', 'dev'), artifact: fc.constantFrom('app', 'nope'), version: fc.constantFrom('v1.0.0', '1.0', 'v9.9.9'), snapshot: fc.integer({ min: -1, max: 3 }), dryRun: fc.boolean(), constraint: fc.constantFrom('^1.0.0', '>=1, <2', 'latest-dev', '!!'), type: fc.constantFrom('test_results', 'alarm'), payload: fc.anything() },
      { requiredKeys: [] },
    )
    .map((b) => ({ raw: JSON.stringify(b) })),
  fc.constant({ raw: undefined as string | undefined }),
);

describe('fuzzing every route', () => {
  it('never answers 5xx to random paths, queries and bodies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), fc.array(segment, { minLength: 3, maxLength: 3 }), queryArb, bodyArb, async (route, segs, query, body) => {
        const path = route.path
          .replace('{env}', segs[0]!)
          .replace('{id}', segs[1]!)
          .replace('{seq}', segs[2]!)
          .replace('{name}', segs[0]!)
          .replace('{version}', segs[1]!)
          .replace('{tag}', segs[2]!)
          .replace('{consumer}', segs[2]!)
          .replace('{tenant}', segs[0]!)
          .replace('{token}', segs[1]!);
        const qs = new URLSearchParams(query).toString();
        const raw = route.method === 'GET' ? undefined : body.raw; // fetch cannot send a GET body
        const r = await t.call(route.method, path + (qs ? `?${qs}` : ''), { token, raw });
        expect(r.status, `${route.method} ${path}?${qs} ${body.raw} -> ${JSON.stringify(r.body)}`).toBeLessThan(500);
        // The review page answers people with a page that says why; everything else with a JSON error.
        if (r.status >= 400 && r.headers.get('content-type')?.startsWith('text/html')) expect(String(r.body)).toMatch(/<h1>[^<]+<\/h1>/);
        else if (r.status >= 400) expect(r.body.error?.message ?? r.body.message ?? r.body.text).toBeTruthy();
      }),
      { numRuns: 800 },
    );
  });

  it('answers 400 for malformed JSON, 404 for unknown routes, 405 for wrong methods, 413 for oversized bodies', async () => {
    expect((await t.call('POST', '/api/v1/environments', { token, raw: '{"name": "qa",' })).body.error.code).toBe('MALFORMED_JSON');
    const unknown = await t.call('GET', '/api/v1/nothing-here', { token });
    expect(unknown.status).toBe(404);
    const wrong = await t.call('DELETE', '/api/v1/config/promotions/diff', { token });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET');
    const big = await t.call('POST', '/api/v1/environments/dev/items/batch', { token, raw: JSON.stringify({ set: [{ key: 'k', value: 'x'.repeat(3 * 1024 * 1024) }] }) });
    expect(big.status).toBe(413);
  });
});
