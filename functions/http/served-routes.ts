import { routeKey, type Route, type RoutePath } from './routes/row.ts';

/**
 * What a handler reads of its route at run time: the table's row without the documentation the
 * OpenAPI document is made of (its schemas among it) and without its function's deployment settings.
 */
export type ServedRoute = Omit<Route, 'summary' | 'response' | 'form' | 'headers' | 'timeout' | 'heavy' | 'ownRole' | 'startsFlows'>;

/** A row of the table as a function's bundle carries it: plain data (the bundler writes it into the bundle as JSON). */
export const servedRow = ({
  summary: _summary,
  response: _response,
  form: _form,
  headers: _headers,
  timeout: _timeout,
  heavy: _heavy,
  ownRole: _ownRole,
  startsFlows: _startsFlows,
  ...row
}: Route): ServedRoute => row;

/**
 * The route table itself, where this code does not run from a bundle (the local gateway, tests,
 * scripts). In a bundle STAGELINE_SERVED_ROUTES is a build-time constant (infra/bundle.ts), so the
 * bundler drops this import unread: the table, the response schemas its rows hold and everything they
 * import stay out of the bundle, chunks included (every module the bundler reads brings its own
 * `import()`s along as chunks, used or not). Hence no static import of routes.ts here.
 */
const TABLE: readonly Route[] = process.env.STAGELINE_SERVED_ROUTES ? [] : (await import('./routes.ts')).ROUTES;

/**
 * The routes this code serves, by API Gateway's route key (`GET /api/v1/…`). A Lambda bundle carries
 * only its own function's rows, which the bundler puts in (infra/bundle.ts, STAGELINE_SERVED_ROUTES is
 * a build-time constant), so no function loads the whole table and its documentation; the local
 * gateway, tests and scripts read the table itself.
 */
const SERVED: Record<string, ServedRoute> = process.env.STAGELINE_SERVED_ROUTES
  ? (JSON.parse(process.env.STAGELINE_SERVED_ROUTES) as Record<string, ServedRoute>)
  : Object.fromEntries(TABLE.map((r) => [routeKey(r), r]));

/** The route a request came by (its `routeKey`), if this code serves it. */
export const routeByKey = (key: string): ServedRoute | undefined => (Object.hasOwn(SERVED, key) ? SERVED[key] : undefined);

/** The handlers of the routes this code serves. */
export const servedHandlers = (): Set<string> => new Set(Object.values(SERVED).map((r) => r.handler));

/**
 * Every route's method and path, and nothing else of the table: what the $default fallback tells a
 * wrong method (405) from an unknown path (404) with (functions/handlers/fallback.ts). A bundle carries
 * them as a build-time constant (STAGELINE_ROUTE_PATHS, infra/bundle.ts); elsewhere they come from the table.
 */
export const routePaths = (): RoutePath[] =>
  process.env.STAGELINE_ROUTE_PATHS ? (JSON.parse(process.env.STAGELINE_ROUTE_PATHS) as RoutePath[]) : TABLE.map(({ method, path }) => ({ method, path }));

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
