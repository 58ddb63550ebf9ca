import fc, { type Arbitrary } from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setSeams } from '../../functions/adapters/seams.ts';
import { ROUTES, routeKey, type Route } from '../../functions/http/routes.ts';
import { DOC, operations } from '../support/contract.ts';
import { arbitraryOf } from '../support/schema-arbitrary.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * The authorization oracle over the route table: the check for the class "the place that decides who may act
 * reads something other than what the action then uses". Every route that changes something is sent requests
 * generated from its documented body (fast-check), with the environment-naming fields set to the one environment
 * the caller may act in and then named a second way: another spelling, a duplicate JSON key, another case, an
 * array where a string is expected, the other environments, and path ids of items in other environments and
 * other tenants. The callers are bound to staging only (a deployer, an approver, an admin), so the environments
 * they were authorized in are {staging} at most. Every write the store makes is recorded at the store's DynamoDB
 * client (the seam every adapter's client passes through) and attributed to the environment it lands in (its key,
 * or the item's environment); any write outside staging while they act is a violation, named with the request.
 */
const RUNS = Number(process.env.STAGELINE_ORACLE_RUNS ?? 10);
/** The generation's seed: fixed, so a violation found is found again (set another to explore). */
const SEED = Number(process.env.STAGELINE_ORACLE_SEED ?? 74_2026);
const ALLOWED = 'staging';

type Item = Record<string, unknown>;
interface Write {
  pk: string;
  sk: string;
  item?: Item;
}
const writes: Write[] = [];

/** A DynamoDB document in either form (the client sees marshalled attribute values; a document client's input may not be yet). */
const plain = (v: unknown): Item => {
  const o = (v ?? {}) as Record<string, unknown>;
  const marshalled = Object.values(o).every(
    (x) => x !== null && typeof x === 'object' && Object.keys(x).length === 1 && /^(S|N|B|SS|NS|BS|M|L|NULL|BOOL)$/.test(Object.keys(x)[0]!),
  );
  return marshalled && Object.keys(o).length ? (unmarshall(o as never) as Item) : o;
};
function record(command: string, input: Record<string, any>): void {
  const add = (key: unknown, item?: unknown) => {
    const k = plain(key ?? item);
    if (typeof k.pk === 'string' && typeof k.sk === 'string') writes.push({ pk: k.pk, sk: k.sk, ...(item ? { item: plain(item) } : {}) });
  };
  if (command === 'PutItemCommand') add(undefined, input.Item);
  else if (command === 'UpdateItemCommand' || command === 'DeleteItemCommand') add(input.Key);
  else if (command === 'TransactWriteItemsCommand')
    for (const t of input.TransactItems ?? []) {
      if (t.Put) add(undefined, t.Put.Item);
      if (t.Update) add(t.Update.Key);
      if (t.Delete) add(t.Delete.Key);
    }
  else if (command === 'BatchWriteItemCommand')
    for (const requests of Object.values(input.RequestItems ?? {}) as any[])
      for (const r of requests) {
        if (r.PutRequest) add(undefined, r.PutRequest.Item);
        if (r.DeleteRequest) add(r.DeleteRequest.Key);
      }
}
const undoSeams = setSeams({
  dynamoClient: (client) =>
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        record(String((context as { commandName?: string }).commandName ?? ''), args.input as Record<string, any>);
        return out;
      },
      { step: 'initialize', name: 'oracleWrites' },
    ),
});

/** Promotion id → its target environment (what a write under the promotion's partition lands in). */
const promotionTargets = new Map<string, string>();

/**
 * The environment a write lands in (null: none, tenant data such as audit entries, config content nodes, events),
 * from its key (the keys module's patterns) or the item's own environment field.
 */
function environmentOf(w: Write, tenant: string): string | null | undefined {
  const prefix = `T#${tenant}#`;
  if (!w.pk.startsWith(prefix)) return undefined;
  const pk = w.pk.slice(prefix.length);
  const item = w.item ?? {};
  const first = (s: string) => s.split('#')[0]!;
  if (pk === 'ENV') {
    const m = /^(?:ENV|TGTS|TGTP|PTR|LOCK|CUR|MON|TH)#([^#]+)/.exec(w.sk);
    return m ? m[1]! : null;
  }
  const byPk = /^(?:SNAP|DEP|DEPT|MET|METT|INST)#(.+)$/.exec(pk);
  if (byPk) return first(byPk[1]!);
  if (pk.startsWith('PROMO#') && pk !== 'PROMO#ACTIVE' && !pk.startsWith('PROMO#S#') && !pk.startsWith('PROMO#TGT#')) {
    const id = pk.slice('PROMO#'.length);
    if (w.sk === 'P' && typeof item.targetEnvironment === 'string') promotionTargets.set(id, item.targetEnvironment);
    return promotionTargets.get(id) ?? `unknown promotion ${id}`;
  }
  if (pk === 'RULE') return w.sk.startsWith('PAIR#') ? w.sk.split('#')[2]! : typeof item.targetEnvironment === 'string' ? item.targetEnvironment : null;
  if (pk === 'FREEZE') return typeof item.scope === 'string' ? (item.scope === '*' ? 'every environment' : item.scope) : null;
  if (pk === 'RECUR') return typeof item.target === 'string' ? item.target : null;
  if (pk === 'GIT') return w.sk.replace(/^G#/, '');
  if (pk.startsWith('TAG#')) return /^E#([^#]+)#/.exec(w.sk)?.[1] ?? null;
  return null;
}

let t: TestStack;
let tenant: string;
const tokens: Partial<Record<string, string>> = {};
/** Real values per path parameter: staging's, production's and another tenant's, so ids of items elsewhere are sent too. */
const real: Record<string, string[]> = {
  env: ['staging', 'staging', 'production', 'dev'],
  name: ['app'],
  id: [],
  consumer: ['web'],
  seq: ['0', '1'],
  version: ['v1.0.0'],
};
/** Ids by the collection that names them in a path. */
const realIds: Record<string, string[]> = { promotions: [], rules: [], 'approval-policies': [], 'freeze-windows': [], 'recurring-promotions': [] };

beforeAll(async () => {
  t = await startTestStack();
  tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  const admin = u.admin;
  const ok = async (method: string, path: string, body: unknown) => {
    const r = await t.call(method, path, { token: admin, body });
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  await ok('POST', '/api/v1/environments/dev/configs', { key: 'a', value: 1 });
  await ok('POST', '/api/v1/environments/staging/configs', { key: 'b', value: 2 });
  await ok('POST', '/api/v1/artifacts/app/versions', { version: 'v1.0.0', digest: `sha256:${'c'.repeat(64)}` });
  const ids: string[] = [];
  for (const [source, target] of [
    ['dev', 'staging'],
    ['staging', 'production'],
  ]) {
    const rule = (await ok('POST', '/api/v1/promotions/rules', { name: `into ${target}`, sourceEnvironment: source, targetEnvironment: target })).id;
    realIds.rules!.push(rule);
    realIds['approval-policies']!.push(rule);
    const p = await ok('POST', '/api/v1/promotions', { sourceEnvironment: source, targetEnvironment: target, trigger: 'manual' });
    promotionTargets.set(p.id, target!);
    realIds.promotions!.push(p.id);
    realIds['freeze-windows']!.push(
      (await ok('POST', '/api/v1/freeze-windows', { reason: 'r', environment: target, start: '2099-01-01T00:00:00Z', end: '2099-01-02T00:00:00Z' })).id,
    );
    await ok('PUT', `/api/v1/recurring-promotions/nightly-${target}`, { source, target, cron: '0 3 * * *', timeZone: 'UTC' });
    realIds['recurring-promotions']!.push(`nightly-${target}`);
  }
  ids.push(...Object.values(realIds).flat());
  // Another tenant's items: their ids are sent too (a 404, never a write).
  const other = t.tenant();
  const ou = await t.users(other);
  await makeLine(t, ou.admin);
  await t.call('POST', '/api/v1/environments/staging/configs', { token: ou.admin, body: { key: 'b', value: 2 } });
  const theirs = await t.call('POST', '/api/v1/promotions', {
    token: ou.admin,
    body: { sourceEnvironment: 'staging', targetEnvironment: 'production', trigger: 'manual' },
  });
  ids.push(theirs.body.id);
  realIds.promotions!.push(theirs.body.id);
  real.id = ids.filter(Boolean);
  const bound = await t.call('PUT', '/api/v1/access/bindings', {
    token: admin,
    body: {
      version: 0,
      bindings: ['deployer', 'approver', 'admin'].map((role) => ({ group: `staging-${role}s`, role, environments: [ALLOWED] })),
    },
  });
  if (bound.status !== 200) throw new Error(JSON.stringify(bound.body));
  for (const role of ['deployer', 'approver', 'admin']) tokens[role] = await t.token({ groups: [`staging-${role}s`], tenant, email: `${role}@${tenant}.test` });
  // Let the setup's own flows settle, then only the bound callers act.
  await new Promise((r) => setTimeout(r, 1500));
});
afterAll(async () => {
  undoSeams();
  await t.stop();
});

/**
 * Bodies a person bound to staging may send, per route (method and path): the generated ones are mostly refused by
 * the schema, so these make sure the attacks are also laid over requests that are accepted.
 */
const FUTURE = '2099-03-01T00:00:00Z';
const SAMPLES: Record<string, unknown[]> = {
  'POST /api/v1/promotions': [
    { sourceEnvironment: 'dev', targetEnvironment: 'staging', trigger: 'manual' },
    { sourceEnvironment: 'staging', targetEnvironment: 'staging' },
  ],
  'POST /api/v1/config/promotions': [{ sourceEnvironment: 'dev', targetEnvironment: 'staging' }],
  'POST /api/v1/promotions/rules': [{ name: 'r', sourceEnvironment: 'dev', targetEnvironment: 'staging', requiredApprovers: 1 }],
  'POST /api/v1/approval-policies': [{ name: 'p', sourceEnvironment: 'dev', targetEnvironment: 'staging', requiresApproval: false }],
  'PUT /api/v1/promotions/rules/{id}': [{ version: 1, name: 'moved', sourceEnvironment: 'dev', targetEnvironment: 'staging', requiresApproval: false }],
  'PUT /api/v1/approval-policies/{id}': [{ version: 1, name: 'moved', targetEnvironment: 'staging' }],
  'POST /api/v1/freeze-windows': [{ reason: 'r', environment: 'staging', start: FUTURE, end: '2099-03-02T00:00:00Z' }],
  'PUT /api/v1/recurring-promotions/{name}': [{ source: 'dev', target: 'staging', cron: '0 3 * * *', timeZone: 'UTC' }],
  'POST /api/v1/app-keys': [{ name: 'k', environment: 'staging' }],
  'POST /api/v1/environments/{env}/configs': [{ key: 'k', value: 1 }],
  'POST /api/v1/environments/{env}/items/batch': [{ set: [{ key: 'k2', value: 2 }] }],
  'POST /api/v1/environments/{env}/rollback': [{ snapshot: 0, reason: 'r', dryRun: true }],
  'POST /api/v1/promotions/{id}/approve': [{}],
  'POST /api/v1/promotions/{id}/reject': [{ reason: 'no' }],
  'POST /api/v1/promotions/{id}/evidence': [{ type: 'test_results', payload: { passed: 1, failed: 0 } }],
  'POST /api/v1/promotions/{id}/rollback': [{ reason: 'r', dryRun: true }],
  'POST /api/v1/promotions/{id}/schedule': [{ at: FUTURE }],
  'POST /api/v1/promotions/{id}/halt': [{ reason: 'r' }],
  'PUT /api/v1/artifacts/{name}/consumers/{consumer}': [{ constraint: '^1.0.0', environment: 'staging' }],
};

/** The fields that name an environment in some body of the API. */
const ENV_FIELD = /^(targetEnvironment|sourceEnvironment|environment|target|source|scope|from|env)$/;
const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

interface Attempt {
  body?: unknown;
  raw?: string;
  how: string;
}

/** Every way to name an environment the caller may not act in beside the one it may. */
function attacksOn(body: unknown, sample = false): Arbitrary<Attempt> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return fc.constant({ body, how: 'as generated' });
  const base = sample
    ? (body as Item)
    : Object.fromEntries(Object.entries(body).map(([k, v]) => [k, ENV_FIELD.test(k) && typeof v === 'string' ? ALLOWED : v]));
  const fields = Object.keys(base).filter((k) => ENV_FIELD.test(k));
  const named = fields.length ? fields : ['targetEnvironment', 'environment'];
  return fc
    .tuple(fc.constantFrom(...named), fc.constantFrom(...OTHERS, 'production'), fc.nat(7))
    .map(([field, other, kind]) => attack(base, field, other, kind));
}

const OTHERS = ['production', 'dev', '*'];

/** Every attack on a sample, in order: each environment field named each other way with each other environment. */
function everyAttackOn(sample: Item): Attempt[] {
  const fields = Object.keys(sample).filter((k) => ENV_FIELD.test(k));
  return [attack(sample, '', '', 0), ...fields.flatMap((f) => OTHERS.flatMap((o) => [2, 3, 4, 5, 6].map((kind) => attack(sample, f, o, kind))))];
}

function attack(base: Item, field: string, other: string, kind: number): Attempt {
  {
    const text = JSON.stringify(base);
    const more = (k: string, v: unknown) => `${text.length > 2 ? text.slice(0, -1) + ',' : '{'}${JSON.stringify(k)}:${JSON.stringify(v)}}`;
    switch (kind) {
      case 0:
      case 1:
        return { body: base, how: 'the allowed environment' };
      case 2:
        return { body: { ...base, [snake(field)]: other }, how: `${field} allowed, ${snake(field)}=${other}` };
      case 3:
        return { raw: more(field, other), how: `${field} given twice (duplicate key), second ${other}` };
      case 4:
        return { body: { ...base, [field[0]!.toUpperCase() + field.slice(1)]: other }, how: `${field} allowed, upper-case spelling=${other}` };
      case 5:
        return { body: { ...base, [field]: [ALLOWED, other] }, how: `${field} as an array` };
      default:
        return { body: { ...base, [field]: other }, how: `${field}=${other}` };
    }
  }
}

/** The values a path parameter is drawn from: ids of the kind the path names (in staging, production and another tenant). */
function valuesOf(path: string, param: string): string[] {
  const kind = /\/([a-z-]+)\/\{[^}]+\}(?:\/|$)/.exec(path.slice(0, path.indexOf(`{${param}}`) + param.length + 2))?.[1];
  const pool = (param === 'id' || param === 'name') && kind && Object.hasOwn(realIds, kind) ? realIds[kind]! : real[param];
  return pool?.length ? pool : ['x'];
}

/** The routes that change something and take a person's token, with the document's operation of each. */
const acting = ROUTES.filter((r) => r.auth === 'jwt' && r.role !== null && r.method !== 'GET');
const opOf = (r: Route) => operations().find((o) => o.method === r.method && o.path === r.path)!;

async function probe(routes: Route[], runs: number) {
  const violations: string[] = [];
  let sent = 0;
  let accepted = 0;
  const acceptedRoutes = new Set<string>();
  for (const route of routes) {
    const o = opOf(route);
    const params = ((o.op.parameters ?? []) as { name: string; in: string }[]).filter((p) => p.in === 'path').map((p) => p.name);
    const schema = o.op.requestBody?.content?.['application/json']?.schema;
    const samples = SAMPLES[routeKey(route).replace('/api/v1/config/promotions/{id}', '/api/v1/promotions/{id}')] ?? [];
    const generated: Arbitrary<Attempt> = schema ? arbitraryOf(schema, DOC).chain((b) => attacksOn(b)) : fc.constant({ how: 'no body' });
    const bodies = samples.length
      ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...samples).chain((b) => attacksOn(b, true)) }, { weight: 1, arbitrary: generated })
      : generated;
    const request = fc.record({
      path: fc.record(Object.fromEntries(params.map((p) => [p, fc.constantFrom(...valuesOf(route.path, p))]))) as Arbitrary<Record<string, string>>,
      attempt: bodies,
    });
    const token = tokens[route.role === 'viewer' ? 'deployer' : route.role!]!;
    // Every attack on every sample first (the path's first values: staging's), then generated requests.
    const first = Object.fromEntries(params.map((p) => [p, valuesOf(route.path, p)[0]!]));
    for (const attempt of samples.flatMap((b) => everyAttackOn(b as Item))) await send(first, attempt);
    await fc.assert(
      fc.asyncProperty(request, async ({ path: p, attempt }) => {
        await send(p, attempt);
        return true;
      }),
      { numRuns: runs, seed: SEED + routes.indexOf(route) },
    );
    async function send(p: Record<string, string>, attempt: Attempt) {
      const path = route.path.replace(/\{([^}]+)\}/g, (_m, n: string) => encodeURIComponent(p[n] ?? 'x'));
      const from = writes.length;
      const r = await t.call(route.method, path, {
        token,
        ...(attempt.raw !== undefined ? { raw: attempt.raw } : attempt.body !== undefined ? { body: attempt.body } : {}),
      });
      sent++;
      if (process.env.ORACLE_DEBUG)
        console.log(
          `${r.status} ${route.method} ${path} ${attempt.how} ${(attempt.raw ?? JSON.stringify(attempt.body))?.slice(0, 150)} -> ${JSON.stringify(r.body)?.slice(0, 200)}`,
        );
      if (r.status < 300) {
        accepted++;
        acceptedRoutes.add(routeKey(route));
      }
      // Whatever the answer, nothing may land outside staging (a refused request writes nothing there either).
      for (const w of writes.slice(from)) {
        const env = environmentOf(w, tenant);
        if (env !== undefined && env !== null && env !== ALLOWED)
          violations.push(
            `${route.method} ${path} (${attempt.how}) as ${route.role}@${ALLOWED} -> ${r.status}: wrote ${w.pk} ${w.sk} in '${env}'; body ${attempt.raw ?? JSON.stringify(attempt.body)?.slice(0, 200)}`,
          );
      }
    }
  }
  return { violations, sent, accepted, acceptedRoutes };
}

describe('the authorization oracle over the route table', () => {
  it('every acting route has a scope in its row (a new route without one fails here)', () => {
    const missing = acting.filter((r) => r.env === undefined && r.role !== 'viewer').map(routeKey);
    expect(missing).toEqual([]);
    expect(acting.length).toBeGreaterThan(80);
  });

  it('no route decides rights on the raw request: the authorizer reads no event, and every call of it passes the parsed command', () => {
    const authorizer = readFileSync('functions/http/authorize.ts', 'utf8');
    expect(authorizer).not.toMatch(/\bevent\b|rawBody|queryStringParameters|pathParameters|JSON\.parse/);
    const callers = ['functions/http', 'functions/handlers'].flatMap((d) =>
      readdirSync(d)
        .filter((f) => f.endsWith('.ts'))
        .map((f) => `${d}/${f}`),
    );
    const calls = callers.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/\bawait authorize\(([^;]*?)\);/gs)].map((m) => ({ f, args: m[1]! })));
    expect(calls.length).toBeGreaterThanOrEqual(3);
    for (const { f, args } of calls) expect(args, f).toMatch(/commandOf\(|\{ params: \{\} \}, breakGlassAsked, true/);
  });

  it(`people bound to staging only write nothing outside staging, on every acting route (${RUNS} generated requests each)`, async () => {
    const { violations, sent, accepted, acceptedRoutes } = await probe(acting, RUNS);
    console.log(
      `authorization oracle: ${acting.length} routes, ${sent} requests, ${accepted} accepted on ${acceptedRoutes.size} routes, ${violations.length} violations`,
    );
    expect(violations.slice(0, 20)).toEqual([]);
    expect(sent).toBeGreaterThan(acting.length * RUNS);
    // Not vacuous: the bound callers' requests are accepted on many routes (they act in staging).
    expect(acceptedRoutes.size).toBeGreaterThanOrEqual(12);
  }, 600_000);

  it('removing the right scope from a row is caught: promotions-create scoped by its source lets a staging deployer write into production', async () => {
    const row = ROUTES.find((r) => r.method === 'POST' && r.path === '/api/v1/promotions')!;
    const scope = row.env;
    row.env = { body: 'sourceEnvironment' };
    try {
      // Something new in staging, so a promotion from it is no repeat of one already on its way.
      const changed = await t.call('POST', '/api/v1/environments/staging/configs', { token: tokens.deployer, body: { key: 'mutant', value: Date.now() } });
      expect(changed.status).toBe(201);
      const { violations } = await probe([row], 1);
      expect(violations.length).toBeGreaterThan(0);
      expect(violations.join('\n')).toMatch(/in 'production'/);
    } finally {
      row.env = scope;
    }
  }, 120_000);
});
