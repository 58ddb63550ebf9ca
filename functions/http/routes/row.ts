import type { Role } from '#domain/access/auth';
import type * as z from '#domain/kernel/zod';

/**
 * A row of the route table: one API Gateway route (functions/http/routes.ts composes the rows of
 * the areas beside this file). A row carries everything about its route: what the handler reads at
 * run time (method, path, handler, auth, role, status, context), what the OpenAPI document is made
 * of (summary, response, form, headers), and what its function is deployed with (timeout, heavy,
 * ownRole, startsFlows; infra/ reads them). A Lambda bundle carries only the run-time part
 * (functions/http/served-routes.ts servedRow).
 */
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
/** 'app': an app key (Authorization: Bearer slk.… or X-API-Key), checked by the handler (functions/http/app-read.ts); API Gateway lets the request through (NONE). */
/** 'scim': the tenant's SCIM token (Authorization: Bearer scim.…), checked by the handler (functions/http/scim.ts); API Gateway lets the request through (NONE). */
export type AuthType = 'jwt' | 'iam' | 'none' | 'app' | 'scim';

export interface Route {
  method: Method;
  path: string;
  /** file in functions/handlers/ (one Lambda each, or one per group: functions/http/topology.ts) */
  handler: string;
  auth: AuthType;
  role: Role | null;
  /**
   * Where the environment the route acts in comes from, for role bindings scoped to environments
   * (domain/access/bindings.ts; the handler checks the caller's role there): every row whose role is
   * more than viewer declares it (test/unit/authorization-matrix.test.ts).
   */
  env?: EnvFrom;
  summary: string;
  /** the success status, where a handler serving several routes answers this one differently (a DELETE's 204) */
  status?: number;
  /** static values the handler reads for this route */
  context?: { kind?: 'config' | 'flag'; subject?: 'config'; scope?: 'tenant' | 'environment' };
  /** what the success answer is: its JSON schema (every JSON answer has one), its text, its headers, the errors it answers itself */
  response?: RouteResponse;
  /** the request body is a form (application/x-www-form-urlencoded), not JSON: its fields (functions/http/responses/forms.ts) */
  form?: z.ZodMiniType;
  /** request headers the route reads beyond the usual ones: name → meaning (the OpenAPI document lists them) */
  headers?: Record<string, string>;

  // What the route's function is deployed with (infra/access.ts). timeout, ownRole and startsFlows are
  // the handler's: every row of a handler says the same (routes.ts handlerSettings refuses rows that differ).
  /** seconds the handler's function may run, where the default 10 s is not enough (API Gateway gives up at 29 s) */
  timeout?: number;
  /** tighter throttling of its own (infra/api.ts API_THROTTLE): a route whose request may cost far more than most */
  heavy?: true;
  /** the handler's function keeps an execution role of its own: it has grants the shared roles must not get (the audit anchor, the user pool, registry credentials, secrets) */
  ownRole?: true;
  /** false: a write route that never touches a promotion's flow (no state machine or schedule grants); writers start flows otherwise */
  startsFlows?: false;
}

/** Answers that are text, not JSON. */
export type TextMediaType = 'text/html' | 'text/plain' | 'application/yaml' | 'application/x-ndjson' | 'text/javascript' | 'text/css';

export interface RouteResponse {
  /** the JSON answer (functions/http/responses/<area>.ts); with `text` too, the route answers either (e.g. by ?format=) */
  schema?: z.ZodMiniType;
  /** the answer as text: media type → what the text holds */
  text?: Partial<Record<TextMediaType, string>>;
  /** response headers of a success: name → meaning */
  headers?: Record<string, string>;
  /** errors the handler answers itself in the format of its success (an HTML page, a Slack reply) instead of the API's Error, or in the JSON schema given: status → when */
  errors?: Record<number, string | { description: string; headers?: Record<string, string>; schema?: z.ZodMiniType }>;
}

/**
 * `{ path }`: a path parameter names the environment; `{ body }`: a body field does (left out: the act is
 * tenant-wide); `{ promotion }`: the target environment of the promotion the path parameter names;
 * `'tenant'`: the act is tenant-wide (only the role tenant-wide, by token or a `*` binding, allows it);
 * `{ item }`: the environment of the stored item the path names (functions/http/authorize.ts ITEM_PARAM; a rule: its target;
 * a freeze window: its environment, or tenant-wide when it covers every one; a recurring promotion: its target), looked up
 * in the store (404 when the tenant has no such item); a body that moves the item (a new target) needs the role there too;
 * `'tenant'`: the act is tenant-wide (only the role tenant-wide, by token or a `*` binding, allows it);
 * `'any'`: the act is the caller's own and needs the role in some environment (linking Slack);
 * `'changes'`: the act changes several environments at once (a manifest): the route lets through a caller with the role
 * somewhere, and the use case checks each change in the environment it touches (domain/manifest/rights.ts).
 */
export type EnvFrom = { path: string } | { body: string } | { promotion: string } | { item: ItemKind } | 'tenant' | 'any' | 'changes';

/** Stored items that live in an environment and are addressed by id (`{id}` in the path). */
export type ItemKind = 'rule' | 'freeze' | 'recurring';

export const v1 = '/api/v1';

/** What identifies a route: its method and path. */
export type RoutePath = Pick<Route, 'method' | 'path'>;

/** API Gateway's name of a route: `GET /api/v1/…`. */
export const routeKey = (r: RoutePath) => `${r.method} ${r.path}`;
