import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasRole, ROLES, type Role } from '../../domain/access/auth.ts';
import { matchRoute } from '../../functions/http/router.ts';
import { ROUTES, routeKey, type Route } from '../../functions/http/routes.ts';
import { PIPELINE_ARN } from '../../local/stack.ts';
import { signedFetch } from '../support/sigv4.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

/**
 * A route's role is enforced in one place: the route table names it and the middleware refuses a
 * caller without it, before any use case runs (the domain keeps only the rules that depend on data:
 * protected environments, break-glass, approver groups, separation of duties). Driven from outside,
 * for every route of the table.
 */
let t: TestStack;
let tenant: string;
const tokens: Partial<Record<Role | 'none', string>> = {};

beforeAll(async () => {
  t = await startTestStack();
  tenant = t.tenant();
  for (const r of [...ROLES, 'none'] as const) tokens[r] = await t.token({ tenant, groups: r === 'none' ? [] : [r] });
});
afterAll(() => t.stop());

/** Path variables filled with a value no literal segment of the table uses, so the same route matches. */
const pathOf = (route: Route) => {
  const path = route.path.replace(/\{[^}]+\}/g, 'zz9');
  expect(matchRoute(route.method, path), routeKey(route)).toMatchObject({ kind: 'route', route: { method: route.method, path: route.path } });
  return path;
};
/** Every single role that does not include the one needed (a deployer is not an approver, nothing but admin is an admin). */
const lacking = (needed: Role): Role[] => ROLES.filter((r) => !hasRole({ roles: [r] }, needed));
const refusedByRoute = (needed: Role) => new RegExp(`^This route needs the '${needed}' role`);

describe('roles, enforced by the route table for every route', () => {
  it("a person one role short (or with no role) gets 403 naming the route's role on every JWT route; with the role, never a role refusal", async () => {
    const jwtRoutes = ROUTES.filter((r) => r.auth === 'jwt' && r.role);
    expect(jwtRoutes.length).toBeGreaterThan(90);
    let refused = 0;
    for (const route of jwtRoutes) {
      const path = pathOf(route);
      for (const who of [...lacking(route.role!), 'none' as const]) {
        const r = await t.call(route.method, path, { token: tokens[who] });
        expect(r.status, `${routeKey(route)} as ${who}`).toBe(403);
        expect(r.body.error.code).toBe('FORBIDDEN');
        expect(r.body.error.message, `${routeKey(route)} as ${who}`).toMatch(refusedByRoute(route.role!));
        refused++;
      }
      // The role the table names is enough: no use case asks for more on its own (it may refuse for data: not found, invalid, protected).
      const ok = await t.call(route.method, path, { token: tokens[route.role!] });
      expect(
        ok.status === 403 && /needs the '\w+' role/.test(ok.body?.error?.message ?? ''),
        `${routeKey(route)} as ${route.role}: ${JSON.stringify(ok.body)}`,
      ).toBe(false);
    }
    expect(refused).toBeGreaterThan(jwtRoutes.length);
  });

  it("a pipeline (IAM) registered with a lower role gets 403 naming the route's role on every machine route", async () => {
    const iamRoutes = ROUTES.filter((r) => r.auth === 'iam' && r.role);
    expect(iamRoutes.length).toBeGreaterThan(3);
    let refused = 0;
    let restore = () => {};
    try {
      for (const route of iamRoutes) {
        const path = pathOf(route);
        // MACHINE_PRINCIPALS is read on every request: the same credential, registered with each lower role in turn.
        for (const role of lacking(route.role!)) {
          restore();
          restore = t.stack.configure({ MACHINE_PRINCIPALS: JSON.stringify([{ arn: PIPELINE_ARN, tenant, roles: [role], name: `pipeline-${role}` }]) });
          const r = await signedFetch(t.url, route.method, path, undefined, t.stack.iam[0]!);
          expect(r.status, `${routeKey(route)} as ${role}`).toBe(403);
          expect(r.body.error.message, `${routeKey(route)} as ${role}`).toMatch(refusedByRoute(route.role!));
          refused++;
        }
      }
    } finally {
      restore();
    }
    // Every machine route but the viewer ones (every role includes viewer) is refused to someone.
    expect(refused).toBeGreaterThanOrEqual(iamRoutes.filter((r) => r.role !== 'viewer').length * 2);
  });

  it("a person reading an app route with their ID token is held to the route's role (checked where that token is verified)", async () => {
    const route = ROUTES.find((r) => r.auth === 'app' && r.path.includes('{env}'))!;
    const r = await t.call(route.method, pathOf(route), { token: tokens.none });
    expect(r.status).toBe(403);
    expect(r.body.error.message).toContain(`'${route.role}' role`);
  });
});
