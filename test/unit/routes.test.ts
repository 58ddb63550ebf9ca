import { describe, expect, it } from 'vitest';
import { checkHandlerSettings, HANDLERS, handlerSettings, ROUTES, routeKey, WORKFLOW_HANDLERS, type Route } from '../../functions/http/routes.ts';
import { FUNCTIONS } from '../../functions/http/topology.ts';
import { servedRoutes } from '../../infra/bundle.ts';

/** A zod schema (zod/mini keeps its internals under `_zod`), not a name of one. */
const isSchema = (v: unknown): boolean => typeof v === 'object' && v !== null && '_zod' in v;

/** The success status of a route: its own, else its handler's (httpHandler keeps it on the handler), else 200. */
async function statusOf(route: Route): Promise<number> {
  const mod = (await import(`../../functions/handlers/${route.handler}.ts`)) as { handler: { spec?: { status?: number } } };
  return route.status ?? mod.handler.spec?.status ?? 200;
}

describe('the route table: rows carry their settings', () => {
  it('gives every JSON route its response schema (a schema object, not a name), and every error it declares with a schema a schema object', async () => {
    const missing: string[] = [];
    for (const route of ROUTES) {
      const status = await statusOf(route);
      const text = Object.keys(route.response?.text ?? {}).length > 0;
      if (status !== 204 && !text && !isSchema(route.response?.schema)) missing.push(`${routeKey(route)} (${status})`);
      if (route.response?.schema !== undefined && !isSchema(route.response.schema)) missing.push(`${routeKey(route)}: response.schema is no schema`);
      for (const [s, declared] of Object.entries(route.response?.errors ?? {}))
        if (typeof declared !== 'string' && declared.schema !== undefined && !isSchema(declared.schema)) missing.push(`${routeKey(route)} ${s}: no schema`);
    }
    expect(missing).toEqual([]);
  }, 60_000);

  it('gives every form route its form schema: each route of a handler that reads forms has one, and a form route has no JSON body besides', async () => {
    const formHandlers = new Set(ROUTES.filter((r) => r.form !== undefined).map((r) => r.handler));
    expect([...formHandlers].sort()).toEqual(['review', 'slack']);
    const wrong: string[] = [];
    for (const route of ROUTES.filter((r) => formHandlers.has(r.handler) && r.method !== 'GET')) {
      if (!isSchema(route.form)) wrong.push(`${routeKey(route)}: no form schema`);
      const mod = (await import(`../../functions/handlers/${route.handler}.ts`)) as { handler: { spec?: { body?: unknown } } };
      if (mod.handler.spec?.body !== undefined) wrong.push(`${routeKey(route)}: a form and a JSON body`);
    }
    for (const route of ROUTES.filter((r) => r.method === 'GET')) if (route.form !== undefined) wrong.push(`${routeKey(route)}: a GET with a form`);
    expect(wrong).toEqual([]);
  });

  it("keeps each handler's settings (timeout, ownRole, startsFlows) the same on all its rows, and refuses rows that differ", () => {
    expect(() => checkHandlerSettings()).not.toThrow();
    const differing: string[] = [];
    for (const handler of HANDLERS) {
      const rows = ROUTES.filter((r) => r.handler === handler);
      const seen = new Set(rows.map((r) => JSON.stringify([r.timeout ?? null, r.ownRole ?? false, r.startsFlows ?? true])));
      if (seen.size > 1) differing.push(`${handler}: ${[...seen].join(' vs ')}`);
    }
    expect(differing).toEqual([]);
    // items-batch serves two routes, both given 29 s: a row without it is refused, naming the handler and its routes.
    const batch = ROUTES.filter((r) => r.handler === 'items-batch');
    expect(batch.map((r) => r.timeout)).toEqual([29, 29]);
    expect(handlerSettings('items-batch')).toEqual({ timeout: 29, ownRole: false, startsFlows: true });
    const drifted = ROUTES.map((r) => (r === batch[1] ? { ...r, timeout: undefined } : r));
    expect(() => checkHandlerSettings(drifted)).toThrow(/items-batch disagree.*POST \/api\/v1\/machine\/environments\/\{env\}\/items\/batch/);
    // The workflow tasks carry the same settings, for functions no route reaches.
    expect(handlerSettings('promotion-step')).toEqual({ timeout: 360, ownRole: false, startsFlows: false });
    expect(WORKFLOW_HANDLERS.filter((h) => handlerSettings(h).startsFlows).sort()).toEqual(['auto-promote', 'schedule-fire']);
  });

  it('takes timeouts in plain seconds within what the invoker allows: API Gateway gives up at 29 s', () => {
    for (const route of ROUTES.filter((r) => r.timeout !== undefined)) {
      expect(Number.isInteger(route.timeout), routeKey(route)).toBe(true);
      expect(route.timeout!, routeKey(route)).toBeGreaterThan(10);
      expect(route.timeout!, routeKey(route)).toBeLessThanOrEqual(29);
    }
  });

  it("puts only run-time data of a function's own rows into its bundle: no schema, no documentation, no deployment setting", () => {
    const RUNTIME = new Set(['method', 'path', 'handler', 'auth', 'role', 'env', 'status', 'context']);
    const extra: string[] = [];
    for (const fn of FUNCTIONS) {
      const rows = servedRoutes(fn);
      expect(JSON.parse(JSON.stringify(rows)), fn).toEqual(rows);
      for (const [key, row] of Object.entries(rows))
        for (const field of Object.keys(row as object)) if (!RUNTIME.has(field)) extra.push(`${fn} ${key}: ${field}`);
    }
    expect(extra).toEqual([]);
  });
});
