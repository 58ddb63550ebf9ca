import { ROUTES, routeKey, type Route } from './routes.ts';

/** What a handler reads of its route at run time: the table's row without the documentation the OpenAPI document is made of. */
export type ServedRoute = Omit<Route, 'summary' | 'response' | 'headers'>;

/** A row of the table as a function's bundle carries it. */
export const servedRow = ({ summary: _summary, response: _response, headers: _headers, ...row }: Route): ServedRoute => row;

/**
 * The routes this code serves, by API Gateway's route key (`GET /api/v1/…`). A Lambda bundle carries
 * only its own function's rows, which the bundler puts in (infra/bundle.ts, STAGELINE_SERVED_ROUTES is
 * a build-time constant), so no function loads the whole table and its documentation; the local
 * gateway, tests and scripts read the table itself (routes.ts).
 */
const SERVED: Record<string, ServedRoute> = process.env.STAGELINE_SERVED_ROUTES
  ? (JSON.parse(process.env.STAGELINE_SERVED_ROUTES) as Record<string, ServedRoute>)
  : Object.fromEntries(ROUTES.map((r) => [routeKey(r), r]));

/** The route a request came by (its `routeKey`), if this code serves it. */
export const routeByKey = (key: string): ServedRoute | undefined => (Object.hasOwn(SERVED, key) ? SERVED[key] : undefined);

/** The handlers of the routes this code serves. */
export const servedHandlers = (): Set<string> => new Set(Object.values(SERVED).map((r) => r.handler));

/**
 * The app-read route a function URL request is for (a function URL sends every request as `$default`,
 * without API Gateway's route key and path parameters): only routes whose caller is checked in the
 * function (auth 'app': the app key) may be reached that way; every other route stays behind the
 * gateway's authorizers.
 */
export function appRouteOfUrl(method: string, path: string): { route: ServedRoute; params: Record<string, string> } | undefined {
  for (const route of Object.values(SERVED)) {
    if (route.auth !== 'app' || route.method !== method.toUpperCase()) continue;
    const names: string[] = [];
    const pattern = route.path
      .split('/')
      .map((seg) => (seg.startsWith('{') ? (names.push(seg.slice(1, -1)), '([^/]+)') : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    const re = new RegExp(`^${pattern}$`);
    const m = re.exec(path);
    if (!m) continue;
    try {
      return { route, params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)])) };
    } catch {
      return undefined; // a malformed percent-escape: no such route
    }
  }
  return undefined;
}
