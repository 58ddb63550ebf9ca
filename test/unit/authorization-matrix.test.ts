import { describe, expect, it } from 'vitest';
import { ROLES, type Principal, type Role } from '../../domain/access/auth.ts';
import type { Binding } from '../../domain/access/bindings.ts';
import { authorize, forgetBindings, ITEM_PARAM } from '../../functions/http/authorize.ts';
import { ROUTES, routeKey, type Route } from '../../functions/http/routes.ts';
import type { ItemKind } from '../../functions/http/routes/row.ts';
import { requestedBreakGlass } from '../../domain/freeze/break-glass.ts';
import openapi from '../../functions/http/openapi.json' with { type: 'json' };

/**
 * The authorization matrix over the route table (the class check for roles scoped to environments):
 * every route that changes something declares where its environment comes from, and for every such
 * route and every role, a caller bound to that role in staging only is allowed in staging and refused
 * (403 naming the environment and the role) in production, through the one decision the handler makes.
 */
const acting = ROUTES.filter((r) => (r.auth === 'jwt' || r.auth === 'iam') && r.role !== null && r.role !== 'viewer');
const RANK: Record<Role, number> = { viewer: 0, deployer: 1, approver: 1, admin: 2 };
/** Paths that address, by id or name, a stored item that lives in an environment (its kind for `env: { item }`). */
const ITEMS_IN_AN_ENVIRONMENT: [RegExp, ItemKind][] = [
  [/\/(rules|approval-policies)\/\{[^}]+\}/, 'rule'],
  [/\/freeze-windows\/\{[^}]+\}/, 'freeze'],
  [/\/recurring-promotions\/\{[^}]+\}/, 'recurring'],
];

describe('the authorization matrix', () => {
  it('every route with a role beyond viewer declares where its environment comes from (env), consistently with its path and body', () => {
    const wrong: string[] = [];
    const paths = (openapi as { paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: unknown }> } }>> }).paths;
    for (const r of acting) {
      const key = routeKey(r);
      if (r.env === undefined) {
        wrong.push(`${key}: no env (say where its environment comes from, or 'tenant')`);
        continue;
      }
      if (r.path.includes('{env}') && !(typeof r.env === 'object' && 'path' in r.env && r.env.path === 'env'))
        wrong.push(`${key}: {env} in the path but env is not { path: 'env' }`);
      if (/\/promotions\/\{id\}/.test(r.path) && !(typeof r.env === 'object' && 'promotion' in r.env))
        wrong.push(`${key}: acts on a promotion but env is not { promotion: 'id' }`);
      // A stored item that lives in an environment, addressed by its id: the environment is the item's, looked up in the store.
      for (const [pattern, kind] of ITEMS_IN_AN_ENVIRONMENT)
        if (pattern.test(r.path) && !(typeof r.env === 'object' && 'item' in r.env && r.env.item === kind))
          wrong.push(`${key}: acts on a ${kind} (which lives in an environment) but env is not { item: '${kind}' }`);
      if (typeof r.env === 'object' && 'item' in r.env && !r.path.includes(`{${ITEM_PARAM[r.env.item]}}`))
        wrong.push(`${key}: env { item: '${r.env.item}' } reads path parameter ${ITEM_PARAM[r.env.item]} the path lacks`);
      if (r.env === 'changes' && routeKey(r) !== 'POST /api/v1/manifest/apply')
        wrong.push(`${key}: env 'changes' lets the use case decide per change: only the manifest apply does (domain/manifest/rights.ts)`);
      if (typeof r.env === 'object' && 'path' in r.env && !r.path.includes(`{${r.env.path}}`))
        wrong.push(`${key}: env names path parameter ${r.env.path} the path lacks`);
      if (typeof r.env === 'object' && 'promotion' in r.env && !r.path.includes(`{${r.env.promotion}}`))
        wrong.push(`${key}: env names path parameter ${r.env.promotion} the path lacks`);
      if (typeof r.env === 'object' && 'body' in r.env) {
        const schema = JSON.stringify(paths[r.path]?.[r.method.toLowerCase()]?.requestBody ?? {});
        const refs = [...schema.matchAll(/"#\/components\/schemas\/([^"]+)"/g)].map((m) => JSON.stringify((openapi as any).components.schemas[m[1]!]));
        if (![schema, ...refs].some((s) => s.includes(`"${r.env && typeof r.env === 'object' && 'body' in r.env ? r.env.body : ''}"`)))
          wrong.push(`${key}: env names body field ${r.env.body} the body does not have`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('every route that acts in an environment × every role: bound in staging only, allowed in staging and refused in production with a 403 naming both', async () => {
    const failures: string[] = [];
    const scoped = acting.filter((r) => typeof r.env === 'object');
    expect(scoped.length).toBeGreaterThan(30);
    for (const route of scoped) {
      for (const role of ROLES) {
        const bindings: Binding[] = [{ group: 'team', role, environments: ['staging'] }];
        const store = {
          getBindings: async () => ({ bindings, version: 1 }),
          getPromotion: async (_t: string, id: string) => ({ targetEnvironment: id === 'p-prod' ? 'production' : 'staging' }),
          getRule: async (_t: string, id: string) => ({ targetEnvironment: id === 'p-prod' ? 'production' : 'staging' }),
          getRecurringPromotion: async (_t: string, name: string) => ({ target: name === 'p-prod' ? 'production' : 'staging' }),
          listFreezeWindows: async () => [
            { id: 'p-prod', scope: 'production' },
            { id: 'p-staging', scope: 'staging' },
          ],
        } as never;
        const caller: Principal = { tenant: `t-${route.handler}-${role}`, id: 'u1', name: 'u1@acme.test', roles: [], groups: ['team'], kind: 'user' };
        forgetBindings(caller.tenant);
        const reqIn = (env: string) => {
          const from = route.env as Exclude<Route['env'], string | undefined>;
          if ('path' in from) return { params: { [from.path]: env } };
          if ('body' in from) return { params: {}, body: { [from.body]: env } };
          if ('item' in from) return { params: { [ITEM_PARAM[from.item]]: env === 'production' ? 'p-prod' : 'p-staging' } };
          return { params: { [from.promotion]: env === 'production' ? 'p-prod' : 'p-staging' } };
        };
        const enough = RANK[role] >= RANK[route.role!] && (role === route.role || role === 'admin');
        const decide = (env: string) => authorize({ store }, caller, route.role!, route.env, reqIn(env), false);
        const inStaging = await decide('staging').then(
          () => 'allowed',
          (e: Error) => e.message,
        );
        const inProd = await decide('production').then(
          () => null,
          (e: Error) => e,
        );
        if (enough && inStaging !== 'allowed') failures.push(`${routeKey(route)} as ${role}@staging: refused in staging (${inStaging})`);
        if (!enough && inStaging === 'allowed') failures.push(`${routeKey(route)} as ${role}@staging: allowed in staging without '${route.role}'`);
        if (inProd === null) failures.push(`${routeKey(route)} as ${role}@staging: allowed in production`);
        else if (!/in environment 'production'/.test(inProd.message) || !inProd.message.includes(`'${route.role}' role`))
          failures.push(`${routeKey(route)} as ${role}@staging: the 403 does not name production and '${route.role}': ${inProd.message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("a route that addresses a stored item: another tenant's id (none in this tenant) is a 404, never a 403; a body that moves a rule needs the role where it goes", async () => {
    const items = acting.filter((r) => typeof r.env === 'object' && 'item' in r.env);
    expect(items.map(routeKey).sort()).toEqual([
      'DELETE /api/v1/approval-policies/{id}',
      'DELETE /api/v1/freeze-windows/{id}',
      'DELETE /api/v1/promotions/rules/{id}',
      'DELETE /api/v1/recurring-promotions/{name}',
      'PUT /api/v1/approval-policies/{id}',
      'PUT /api/v1/promotions/rules/{id}',
      'PUT /api/v1/recurring-promotions/{name}',
    ]);
    const bindings: Binding[] = [{ group: 'team', role: 'admin', environments: ['staging'] }];
    const store = {
      getBindings: async () => ({ bindings, version: 1 }),
      getRule: async (_t: string, id: string) => (id === 'mine' ? { targetEnvironment: 'staging' } : null),
      getRecurringPromotion: async (_t: string, name: string) => (name === 'mine' ? { target: 'staging' } : null),
      listFreezeWindows: async () => [{ id: 'mine', scope: 'staging' }],
    } as never;
    for (const route of items) {
      const from = route.env as { item: ItemKind };
      const caller: Principal = { tenant: `items-${routeKey(route)}`, id: 'u1', name: 'u1', roles: [], groups: ['team'], kind: 'user' };
      const decide = (id: string, body?: unknown) =>
        authorize({ store }, caller, route.role!, route.env, { params: { [ITEM_PARAM[from.item]]: id }, body }, false);
      await expect(decide('mine'), routeKey(route)).resolves.toBeTruthy();
      const other = await decide('theirs').catch((e: Error) => e);
      expect((other as Error).name, routeKey(route)).toMatch(/NotFound$/);
    }
    const putRule = items.find((r) => routeKey(r) === 'PUT /api/v1/promotions/rules/{id}')!;
    const caller: Principal = { tenant: 'items-move', id: 'u1', name: 'u1', roles: [], groups: ['team'], kind: 'user' };
    await expect(
      authorize({ store }, caller, 'admin', putRule.env, { params: { id: 'mine' }, body: { targetEnvironment: 'production' } }, false),
    ).rejects.toThrow(/'admin' role in environment 'production'/);
    // A recurring promotion created by PUT is placed by its body's target.
    const putRecurring = items.find((r) => routeKey(r) === 'PUT /api/v1/recurring-promotions/{name}')!;
    await expect(
      authorize({ store }, caller, 'admin', putRecurring.env, { params: { name: 'new' }, body: { target: 'staging' } }, false),
    ).resolves.toBeTruthy();
    await expect(authorize({ store }, caller, 'admin', putRecurring.env, { params: { name: 'new' }, body: { target: 'production' } }, false)).rejects.toThrow(
      /in environment 'production'/,
    );
  });

  it("a tenant-wide route needs the role in every environment: a binding in staging does not reach it, a binding for '*' does", async () => {
    const tenantWide = acting.filter((r) => r.env === 'tenant');
    expect(tenantWide.length).toBeGreaterThan(10);
    for (const route of tenantWide) {
      for (const environments of [['staging'], ['*']]) {
        const store = { getBindings: async () => ({ bindings: [{ group: 'team', role: 'admin', environments }], version: 1 }) } as never;
        const caller: Principal = { tenant: `tw-${route.handler}-${environments[0]}`, id: 'u1', name: 'u1', roles: [], groups: ['team'], kind: 'user' };
        const allowed = await authorize({ store }, caller, route.role!, route.env, { params: {} }, false).then(
          () => true,
          () => false,
        );
        expect(allowed, `${routeKey(route)} with admin in ${environments[0]}`).toBe(environments[0] === '*');
      }
    }
  });

  it('with no binding, every decision is the token roles, as before bindings (no read either)', async () => {
    let reads = 0;
    const store = {
      getBindings: async () => {
        reads++;
        return null;
      },
    } as never;
    for (const route of acting) {
      for (const role of ROLES) {
        const caller: Principal = { tenant: 'nobind', id: 'u1', name: 'u1', roles: [role], groups: [role], kind: 'user' };
        const allowed = await authorize({ store }, caller, route.role!, route.env, { params: {} }, false).then(
          () => true,
          (e: Error) => (expect(e.message).toBe(`This route needs the '${route.role}' role; you have: ${role}`), false),
        );
        expect(allowed, `${routeKey(route)} as ${role}`).toBe(role === route.role || role === 'admin');
      }
    }
    // Only refusals read the bindings (a caller whose token allows the route reads nothing more), and they are cached.
    expect(reads).toBeLessThanOrEqual(1);
  });

  it('break-glass is a permission in the environments a binding names: a deployer bound break-glass in staging breaks glass there, not in production', async () => {
    const route = ROUTES.find((r) => r.method === 'POST' && r.path === '/api/v1/environments/{env}/rollback')!;
    const store = { getBindings: async () => ({ bindings: [{ group: 'oncall', role: 'break-glass', environments: ['staging'] }], version: 1 }) } as never;
    const caller: Principal = { tenant: 'glass', id: 'u1', name: 'u1', roles: ['deployer'], groups: ['deployer', 'oncall'], kind: 'user' };
    const at = new Date('2026-01-01T00:00:00Z');
    const glassIn = async (env: string) => {
      const principal = await authorize({ store }, caller, route.role!, route.env, { params: { env } }, true);
      return requestedBreakGlass({ principal, breakGlassReason: 'INC-1' }, 'freeze-window', 'environment.rollback', at);
    };
    expect(await glassIn('staging')).toMatchObject({ by: 'u1', reason: 'INC-1' });
    await expect(glassIn('production')).rejects.toThrow(/Break-glass needs the admin role; you have: viewer, deployer/);
    // Without the header nothing is read: the token's deployer role is enough, as before.
    forgetBindings('glass');
    let reads = 0;
    const counting = { getBindings: async () => (reads++, null) } as never;
    expect(await authorize({ store: counting }, caller, route.role!, route.env, { params: { env: 'production' } }, false)).toBe(caller);
    expect(reads).toBe(0);
  });
});
