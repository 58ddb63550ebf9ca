import { checkScimToken, parseScimToken, presentedScimToken } from '#domain/access/scim';
import { DomainError } from '#domain/kernel/errors';
import type { Ctx } from '#domain/ports';
import { errorResponse, type HttpResult } from './errors.ts';
import { refusalOf, SCIM_MEDIA_TYPE, scimError, type People, type ScimAnswer, type ScimType } from './scim-shared.ts';

/**
 * The SCIM 2.0 protocol (RFC 7643/7644) over the rules of domain/access/scim.ts, with the SCIM library
 * (scimmy): it validates what comes in and goes out against the SCIM schemas (core User with the
 * enterprise extension, Group), parses filters and matches them, applies PATCH operations, makes the
 * ListResponse (startIndex/count paging) and the SCIM error message. The handler (functions/handlers/scim.ts)
 * authenticates the tenant's SCIM token and hands each request here.
 */

export { SCIM_BASE, SCIM_MAX_RESULTS, SCIM_MEDIA_TYPE, refusalOf, scimError, type Call, type People, type ScimAnswer, type ScimType } from './scim-shared.ts';

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
