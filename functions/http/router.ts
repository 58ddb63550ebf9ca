import type { Route, RoutePath } from './routes/row.ts';

export type Match<R extends RoutePath = Route> =
  { kind: 'route'; route: R; params: Record<string, string> } | { kind: 'method-not-allowed'; allowed: string[] } | { kind: 'not-found' };

/** A matcher over `routes` that matches like API Gateway: the most specific path (most literal segments) wins. */
export function routerOf<R extends RoutePath>(routes: readonly R[]): (method: string, path: string) => Match<R> {
  const compiled = routes.map((route) => {
    const names: string[] = [];
    const pattern = route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, n: string) => {
      names.push(n);
      return '([^/]+)';
    });
    return { route, names, re: new RegExp(`^${pattern}$`), literals: route.path.split('/').filter((s) => !s.startsWith('{')).length };
  });
  return (method, path) => {
    const hits = compiled.filter((c) => c.re.test(path)).sort((a, b) => b.literals - a.literals);
    if (hits.length === 0) return { kind: 'not-found' };
    const best = hits.filter((h) => h.literals === hits[0]!.literals);
    const hit = best.find((h) => h.route.method === method.toUpperCase());
    if (!hit) return { kind: 'method-not-allowed', allowed: [...new Set(best.map((h) => h.route.method))] };
    const values = hit.re.exec(path)!.slice(1);
    const params = Object.fromEntries(hit.names.map((n, i) => [n, decodeURIComponent(values[i]!)]));
    return { kind: 'route', route: hit.route, params };
  };
}

/**
 * The whole table's matcher, where this code does not run from a bundle (the local gateway, tests,
 * scripts). A bundle reads no table: STAGELINE_ROUTE_PATHS is a build-time constant there
 * (infra/bundle.ts), so the bundler drops this import unread (with the table's response schemas and
 * what they import), and the $default fallback matches the methods and paths it carries
 * (served-routes.ts routePaths) with routerOf.
 */
const WHOLE = process.env.STAGELINE_ROUTE_PATHS ? undefined : routerOf((await import('./routes.ts')).ROUTES);

/** Matches a request against the whole route table (the local gateway, tests, scripts; never in a bundle). */
export function matchRoute(method: string, path: string): Match {
  if (!WHOLE) throw new Error('A bundle carries no route table: match its routePaths() with routerOf (functions/handlers/fallback.ts)');
  return WHOLE(method, path);
}
