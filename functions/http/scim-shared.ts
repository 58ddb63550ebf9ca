import { DomainError, ValidationFailed } from '#domain/kernel/errors';
import type { Ctx, With } from '#domain/ports';
import { callerPath, errorResponse } from './errors.ts';

/**
 * What the SCIM endpoint (functions/http/scim.ts) and the SCIM library's handlers (functions/http/scim-library.ts,
 * loaded on first use) share: the paths and limits, what a handler is given, and the SCIM error message. Both import
 * it, neither the other's module, so the lazily read library imports nothing back.
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
