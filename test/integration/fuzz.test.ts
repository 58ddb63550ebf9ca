import fc, { type Arbitrary } from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOC, operations, requestProblems, statedFields, type Operation } from '../support/contract.ts';
import { shapeProblem } from '../../domain/kernel/json-shape.ts';
import { isReservedKey } from '../../domain/kernel/reserved-keys.ts';
import { arbitraryOf, mutationOf } from '../support/schema-arbitrary.ts';
import { signedFetch } from '../support/sigv4.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * The contract fuzz: for every operation of functions/http/openapi.json (so every route, present
 * and future), requests generated from the document's own schemas — path and query parameters and
 * bodies, valid ones and mutations — against the local stack. The document decides which are
 * valid. Every answer must be: never a 5xx; a 4xx for a request the document refuses; for one it
 * accepts, no 400 (a refusal the document does not state); and, as for every test (TestStack.call),
 * an answer the document describes. Each operation is called with the credential its security names
 * (a user's token, an app key, a SigV4 signature), so the validation behind every kind of
 * authentication is reached. STAGELINE_FUZZ_RUNS sets the requests per operation.
 */
const RUNS = Number(process.env.STAGELINE_FUZZ_RUNS ?? 25);

let t: TestStack;
let token: string;
let appKey: string;
/** Real values per path parameter, so generated requests also reach the code behind the lookups. */
const real: Record<string, string[]> = {
  env: ['dev', 'staging', 'production'],
  name: ['app'],
  version: ['v1.0.0'],
  seq: ['1', '0'],
  tag: ['latest-dev'],
  consumer: ['web'],
  id: [],
};

beforeAll(async () => {
  t = await startTestStack();
  const tenant = t.tenant();
  const u = await t.users(tenant);
  token = u.admin;
  real.tenant = [tenant];
  await makeLine(t, token);
  const cfg = await t.call('POST', '/api/v1/environments/dev/configs', { token, body: { key: 'a', value: 1 } });
  await t.call('POST', '/api/v1/artifacts/app/versions', { token, body: { version: 'v1.0.0', digest: `sha256:${'c'.repeat(64)}` } });
  const rule = await t.call('POST', '/api/v1/promotions/rules', { token, body: { name: 'r', sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
  const promo = await t.call('POST', '/api/v1/promotions', { token, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', trigger: 'manual' } });
  const freeze = await t.call('POST', '/api/v1/freeze-windows', { token, body: { reason: 'r', start: '2099-01-01T00:00:00Z', end: '2099-01-02T00:00:00Z' } });
  real.id = [cfg.body.id, rule.body.id, promo.body.id, freeze.body.id].filter(Boolean);
  appKey = (await t.call('POST', '/api/v1/app-keys', { token, body: { environment: 'dev', name: 'fuzz' } })).body.key;
  // The IAM routes act for the local pipeline credential's tenant, acme: it gets a line too.
  await makeLine(t, (await t.users('acme')).admin);
});
afterAll(() => t.stop());

interface Req {
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  bodyGiven: boolean;
}

/** A 400 whose every issue names a field the document states a rule for in words (statedFields). */
function stated(o: Operation, body: { error?: { issues?: { path: string }[] } }): boolean {
  const issues = body?.error?.issues ?? [];
  const fields = statedFields(o);
  return issues.length > 0 && issues.every((i) => i.path.split(/[.:]/).some((p) => fields.has(p)));
}

const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

function requestOf(o: Operation): Arbitrary<Req> {
  const params = ((o.op.parameters ?? []) as { name: string; in: string; required?: boolean; schema: Record<string, unknown> }[]).filter(
    (p) => p.in === 'path' || p.in === 'query',
  );
  const pathArb = fc.record(
    Object.fromEntries(
      params
        .filter((p) => p.in === 'path')
        .map((p) => [
          p.name,
          fc.oneof(
            { weight: 2, arbitrary: fc.constantFrom(...(real[p.name]?.length ? real[p.name]! : ['x'])) },
            { weight: 1, arbitrary: arbitraryOf(p.schema, DOC).map(text) },
            { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) },
          ),
        ]),
    ),
  ) as Arbitrary<Record<string, string>>;
  const queryParams = params.filter((p) => p.in === 'query');
  const validQuery = fc.record(Object.fromEntries(queryParams.map((p) => [p.name, arbitraryOf(p.schema, DOC).map(text)])), {
    requiredKeys: queryParams.filter((p) => p.required).map((p) => p.name),
  }) as Arbitrary<Record<string, string>>;
  const queryArb = fc.oneof(
    { weight: 3, arbitrary: validQuery },
    {
      weight: 1,
      arbitrary: fc
        .tuple(validQuery, fc.constantFrom(...queryParams.map((p) => p.name), 'zz'), fc.constantFrom('', '-1', 'x', '99999999999999999999', '2030-13-01'))
        .map(([q, k, v]) => ({ ...q, [k]: v })),
    },
  );
  const media = o.op.requestBody ? Object.keys(o.op.requestBody.content)[0] : undefined;
  let bodyArb: Arbitrary<{ body: unknown; bodyGiven: boolean }> = fc.constant({ body: undefined, bodyGiven: false });
  if (media === 'application/json') {
    const schema = o.op.requestBody.content[media].schema;
    const valid = arbitraryOf(schema, DOC);
    bodyArb = fc.oneof(
      { weight: 4, arbitrary: valid.map((body) => ({ body, bodyGiven: true })) },
      { weight: 3, arbitrary: valid.chain((v) => mutationOf(v, schema, DOC)).map((body) => ({ body, bodyGiven: true })) },
      { weight: 1, arbitrary: fc.constantFrom({ body: undefined, bodyGiven: false }, { body: null, bodyGiven: true }) },
    );
  }
  return fc
    .record({ params: pathArb, query: o.method === 'GET' || o.method === 'DELETE' || queryParams.length ? queryArb : fc.constant({}), b: bodyArb })
    .map(({ params, query, b }) => ({ params, query, ...b }));
}

/** Deletions last, so the line and the ids the other operations use live through most of the run. */
const OPS = operations().sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'));

describe('contract fuzz: every operation of the OpenAPI document', () => {
  it(`answers every generated request as the document says (${RUNS} requests per operation, ${OPS.length} operations)`, async () => {
    const failures: string[] = [];
    let sent = 0;
    let valid = 0;
    for (const o of OPS) {
      let failure = '';
      // A GET changes nothing: the same GET sent again in this run proves nothing new (an operation without
      // parameters draws the same request most times). Anything else is sent every time it is drawn.
      const seen = new Set<string>();
      try {
        await fc.assert(
          fc.asyncProperty(requestOf(o), async (req) => {
            const path = o.path.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(req.params[name] ?? 'x'));
            const qs = new URLSearchParams(req.query).toString();
            const once = `${path}?${qs} ${req.bodyGiven ? JSON.stringify(req.body) : '(none)'}`;
            if (o.method === 'GET' && seen.has(once)) return true;
            seen.add(once);
            const problems = requestProblems(o, req);
            sent++;
            if (!problems.length) valid++;
            const security = JSON.stringify(o.op.security ?? []);
            const raw = req.bodyGiven ? JSON.stringify(req.body) : undefined;
            const r = security.includes('sigv4')
              ? await signedFetch(
                  t.url,
                  o.method,
                  path + (qs ? `?${qs}` : ''),
                  undefined,
                  t.stack.iam[0]!,
                  raw === undefined ? {} : { raw: new TextEncoder().encode(raw) },
                )
              : await t.call(o.method, path + (qs ? `?${qs}` : ''), {
                  token: security.includes('appKey') ? appKey : security.includes('cognito') ? token : undefined,
                  ...(raw === undefined ? {} : { raw }),
                  headers: req.bodyGiven ? { 'content-type': 'application/json' } : {},
                });
            const what = `${o.method} ${path}${qs ? `?${qs}` : ''} body=${req.bodyGiven ? JSON.stringify(req.body)?.slice(0, 300) : '(none)'} -> ${r.status} ${JSON.stringify(r.body)?.slice(0, 300)}`;
            if (r.status >= 500) failure = `5xx: ${what}`;
            else if (problems.length && r.status < 400) failure = `accepted a request the document refuses (${problems.join('; ')}): ${what}`;
            else if (!problems.length && r.status === 400 && !stated(o, r.body)) failure = `refused with 400 a request the document accepts: ${what}`;
            return !failure;
          }),
          { numRuns: RUNS, endOnFailure: true },
        );
      } catch (err) {
        const cause = (err as Error & { cause?: Error & { cause?: unknown } }).cause;
        failures.push((failure || `${o.method} ${o.path}: ${String(cause ?? err)} ${cause?.cause ? String(cause.cause) : ''}`).slice(0, 900));
      }
    }
    expect(sent).toBeGreaterThanOrEqual(OPS.length);
    // Generation is from the document: a fair share of what is sent is valid, so both kinds are exercised.
    expect(valid / sent).toBeGreaterThan(0.2);
    expect(failures, failures.join('\n')).toEqual([]);
  }, 240_000); // up to 25 requests for each of ~160 operations (a repeated GET is not sent): 12-20 s alone, several times that on a loaded two-core machine

  it('refuses a lone surrogate in every string of every JSON body, and in a key, with a 400 naming where it is: never a 5xx', async () => {
    // JSON text may escape half of a UTF-16 pair alone ("\ud800"): JSON.parse gives a string no UTF-8 encoder takes (a
    // URI encoder throws, a hash of it is not of the bytes stored). Every string a body carries, in turn, and a key.
    const LONE = '\ud800';
    // OFREP checks its key before the body, and the generated requests above may have deleted the key's environment:
    // this pass mints its own key, on an environment nothing else here touches.
    const envMade = await t.call('POST', '/api/v1/environments', { token, body: { name: 'surrogate-pass', position: 90 } });
    expect(envMade.status, JSON.stringify(envMade.body)).toBe(201);
    const ownKey = (await t.call('POST', '/api/v1/app-keys', { token, body: { environment: 'surrogate-pass', name: 'surrogate' } })).body.key as string;
    expect(ownKey).toBeTruthy();
    const failures: string[] = [];
    let sent = 0;
    const stringsOf = (v: unknown, at: string[] = []): string[][] =>
      typeof v === 'string' ? [at] : v && typeof v === 'object' ? Object.entries(v).flatMap(([k, c]) => stringsOf(c, [...at, k])) : [];
    const withLone = (v: unknown, at: string[]): unknown => {
      if (!at.length) return LONE;
      const copy = (Array.isArray(v) ? [...v] : { ...(v as object) }) as Record<string, unknown>;
      copy[at[0]!] = withLone(copy[at[0]!], at.slice(1));
      return copy;
    };
    // The body's only fault is the surrogate: numbers a body may not carry become 1, keys JavaScript reserves go.
    const clean = (v: unknown): unknown =>
      typeof v === 'number'
        ? shapeProblem(v)
          ? 1
          : v
        : Array.isArray(v)
          ? v.map(clean)
          : v && typeof v === 'object'
            ? Object.fromEntries(
                Object.entries(v)
                  .filter(([k]) => !isReservedKey(k))
                  .map(([k, c]) => [k, clean(c)]),
              )
            : v;
    for (const o of OPS.filter((x) => x.op.requestBody?.content?.['application/json'])) {
      const schema = o.op.requestBody.content['application/json'].schema;
      const body = clean(fc.sample(arbitraryOf(schema, DOC), { numRuns: 1, seed: 7 })[0]);
      const path = o.path.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(real[name]?.[0] ?? 'x'));
      const security = JSON.stringify(o.op.security ?? []);
      const send = (raw: string) =>
        security.includes('sigv4')
          ? signedFetch(t.url, o.method, path, undefined, t.stack.iam[0]!, { raw: new TextEncoder().encode(raw) })
          : t.call(o.method, path, {
              token: security.includes('appKey') ? ownKey : security.includes('cognito') ? token : undefined,
              raw,
              headers: { 'content-type': 'application/json' },
            });
      const cases = stringsOf(body).map((at) => ({ where: at.join('.'), raw: JSON.stringify(withLone(body, at)) }));
      // A key: named with its escape written out (the answer never carries the lone half back).
      if (body && typeof body === 'object' && !Array.isArray(body)) cases.push({ where: '\\ud800k', raw: JSON.stringify({ ...body, [`${LONE}k`]: 1 }) });
      for (const c of cases) {
        // It travels as the six characters \ud800: what JSON.stringify writes for a lone surrogate.
        expect(c.raw).toContain('\\ud800');
        sent++;
        // A connection the stack closed while idle is sent again once (a transport error, never an answer).
        const attempt = () => send(c.raw).catch((err: Error) => ({ status: 0, body: `${String(err)} ${String(err.cause)}` }));
        let r = await attempt();
        if (r.status === 0) r = await attempt();
        // Named: an issue at its path, or (OFREP's own error format) the details saying where.
        const answer = r.body as { error?: { issues?: { path: string }[] }; errorDetails?: string };
        const named = (answer?.error?.issues ?? []).some((i) => i.path === c.where) || !!answer?.errorDetails?.startsWith(`${c.where}:`);
        if (r.status !== 400 || !named) failures.push(`${o.method} ${o.path} ${c.where}: ${r.status} ${JSON.stringify(r.body)?.slice(0, 240)}`);
      }
    }
    expect(sent).toBeGreaterThan(100);
    expect(failures, failures.join('\n')).toEqual([]);
  }, 240_000);

  it('answers 400 for malformed JSON, 404 for unknown routes, 405 for wrong methods, 413 for oversized bodies, 431 (JSON) for oversized headers', async () => {
    expect((await t.call('POST', '/api/v1/environments', { token, raw: '{"name": "qa",' })).body.error.code).toBe('MALFORMED_JSON');
    const unknown = await t.call('GET', '/api/v1/nothing-here', { token });
    expect(unknown.status).toBe(404);
    const wrong = await t.call('DELETE', '/api/v1/config/promotions/diff', { token });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET');
    // Every oversized body is answered 413, also the next one on a kept-alive connection (not a reset).
    for (let i = 0; i < 3; i++) {
      const big = await t.call('POST', '/api/v1/environments/dev/items/batch', {
        token,
        raw: JSON.stringify({ set: [{ key: 'k', value: 'x'.repeat(3 * 1024 * 1024) }] }),
      });
      expect(big.status).toBe(413);
      expect((await t.call('GET', '/health')).status).toBe(200);
    }
    const headers = await t.call('GET', '/api/v1/environments', { token, headers: { 'x-padding': 'x'.repeat(20 * 1024) } });
    expect(headers.status).toBe(431);
    expect(headers.body).toEqual({ message: 'Request Header Fields Too Large' });
  });
});
