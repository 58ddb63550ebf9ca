import { checkScimToken, parseScimToken, presentedScimToken } from '#domain/access/scim';
import { DomainError, ValidationFailed } from '#domain/kernel/errors';
import type { Ctx, With } from '#domain/ports';
import { callerPath, errorResponse, type HttpResult } from './errors.ts';

/**
 * The SCIM 2.0 protocol (RFC 7643/7644) over the rules of domain/access/scim.ts, with the SCIM library
 * (scimmy): it validates what comes in and goes out against the SCIM schemas (core User with the
 * enterprise extension, Group), parses filters and matches them, applies PATCH operations, makes the
 * ListResponse (startIndex/count paging) and the SCIM error message. The handler (functions/handlers/scim.ts)
 * authenticates the tenant's SCIM token and hands each request here.
 */

export const SCIM_BASE = '/scim/v2';
/** The most resources one list answers (a larger `count` is cut to it). */
export const SCIM_MAX_RESULTS = 200;
export const SCIM_MEDIA_TYPE = 'application/scim+json';

export type People = With<'users'>;
/** What each library handler is given: the request's deps and context, and the failure that is not a SCIM answer (kept to answer as the API does). */
export interface Call {
  deps: People;
  ctx: Ctx;
  failure?: unknown;
}

/** The scimType keywords of RFC 7644 §3.12. */
export type ScimType =
  'invalidFilter' | 'tooMany' | 'uniqueness' | 'mutability' | 'invalidSyntax' | 'invalidPath' | 'noTarget' | 'invalidValue' | 'invalidVers' | 'sensitive';

/** What a domain error says, as a SCIM error's detail: each issue at the attribute it names. */
const detailOf = (err: DomainError) =>
  err instanceof ValidationFailed ? err.issues.map((i) => `${callerPath(i.path)}: ${i.message}`).join('; ') : err.message;

/**
 * A domain refusal as the SCIM error RFC 7644 §3.12 has for it, or null for what is no refusal (a store that is
 * busy, a deadline: 503 with Retry-After, answered by scimFailure). Identity providers retry a 5xx for ever and
 * stop at a 4xx, so every refusal is one they can act on:
 * - a name or address another user holds: 409 uniqueness;
 * - a change the current state does not allow (the tenant's last admin deactivated or deleted): 400 mutability;
 * - a body that is not JSON, or not of a JSON media type: 400 invalidSyntax; larger than a body may be: 413;
 * - a value a rule refuses (an address outside the tenant's domains, a member who is not a user): 400 invalidValue,
 *   and a path with a dot segment 400 invalidPath;
 * - no token 401, another tenant's X-Tenant-ID 403, nothing of that id 404, a write that met another 409.
 */
export function refusalOf(err: DomainError): { status: number; scimType?: ScimType; detail: string } | null {
  const detail = detailOf(err);
  switch (err.code) {
    case 'ALREADY_EXISTS':
      return { status: 409, scimType: 'uniqueness', detail };
    case 'NO_ADMIN_LEFT':
    case 'RULE_VIOLATION':
      return { status: 400, scimType: 'mutability', detail };
    case 'MALFORMED_JSON':
    case 'UNSUPPORTED_MEDIA_TYPE':
      return { status: 400, scimType: 'invalidSyntax', detail };
    case 'PAYLOAD_TOO_LARGE':
      return { status: 413, detail };
  }
  const status = errorResponse(err).statusCode;
  if (status === 401 || status === 403 || status === 404 || status === 409) return { status, detail };
  if (status >= 500) return null;
  const path = err instanceof ValidationFailed && err.issues.every((i) => i.path === 'path' || i.path.startsWith('path.'));
  return { status: 400, scimType: path ? 'invalidPath' : 'invalidValue', detail };
}

/**
 * The SCIM library's error class, once the library is loaded (functions/http/scim-library.ts, on the first SCIM
 * request that needs it): before, no error of it can exist. The library and its schemas, some 80 KiB, are read on
 * first use, so module init of the people function does not read them.
 */
let libraryError: (new (...args: never[]) => Error & { status: number; scimType?: string | null }) | undefined;

/**
 * Answers one SCIM request. `path` is what follows /scim/v2 (`/Users`, `/Users/{id}`, …); `body` the
 * parsed JSON body (undefined when none). Every success body has passed the library's schema.
 */
export async function answerScim(
  deps: People,
  ctx: Ctx,
  req: { method: string; resource: string; id?: string; query: Record<string, string | undefined>; body: unknown },
): Promise<ScimAnswer> {
  const library = await import('./scim-library.ts');
  libraryError = library.LibraryError;
  return library.answerScim(deps, ctx, req);
}

export interface ScimAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** The SCIM error message (RFC 7644 §3.12) for a status, its scimType and detail, e.g. 401 for a missing token. */
export function scimError(status: number, detail: string, scimType?: ScimType, headers: Record<string, string> = {}): ScimAnswer {
  return {
    status,
    body: { schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail },
    headers: { ...(status === 401 ? { 'www-authenticate': 'Bearer realm="scim"' } : {}), ...headers },
  };
}

/**
 * Any error of a SCIM request as a SCIM error message in SCIM's media type: what httpHandler answers for the
 * SCIM routes (also what is refused before the handler runs: a dot segment, a body that is not UTF-8). A domain
 * refusal as refusalOf has it; a busy store, a deadline or a lost race with the status and Retry-After the API
 * gives them; anything else a 500 that says nothing internal.
 */
export function scimFailure(err: unknown, requestId?: string): HttpResult {
  const refusal = err instanceof DomainError ? refusalOf(err) : null;
  let a: ScimAnswer;
  if (libraryError && err instanceof libraryError) a = scimError(err.status, err.message, (err.scimType ?? undefined) as ScimType | undefined);
  else {
    // The API's answer says what to do next (Retry-After) and, for a 500, the request id to quote.
    const api = errorResponse(err, requestId);
    const { 'content-type': _type, ...headers } = api.headers;
    if (refusal) a = scimError(refusal.status, refusal.detail, refusal.scimType, headers);
    else {
      const { error } = JSON.parse(api.body) as { error: { message: string; requestId?: string } };
      a = scimError(api.statusCode, error.requestId ? `${error.message} (request ${error.requestId})` : error.message, undefined, headers);
    }
  }
  return { statusCode: a.status, headers: { 'content-type': SCIM_MEDIA_TYPE, ...a.headers }, body: JSON.stringify(a.body) };
}

/** The tenant a SCIM request is of, from its token (read from the tenant's store); 401 (in SCIM's format) for anything else. */
export async function scimCaller(
  headers: Record<string, string | undefined>,
  store: (tenant: string) => People,
): Promise<{ ctx: Ctx; deps: People } | ScimAnswer> {
  const parsed = parseScimToken(presentedScimToken(headers) ?? '');
  const deps = parsed ? store(parsed.tenant) : null;
  const record = parsed && deps ? await deps.store.getScimToken(parsed.tenant) : null;
  try {
    const principal = checkScimToken(parsed, record, deps ? deps.clock() : new Date(0));
    if (headers['x-tenant-id'] !== undefined && headers['x-tenant-id'] !== principal.tenant)
      return scimError(403, 'X-Tenant-ID does not match the tenant of your credentials');
    return { ctx: { principal }, deps: deps! };
  } catch (err) {
    return scimError(401, (err as Error).message);
  }
}
