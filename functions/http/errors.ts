import type * as Errors from '#domain/kernel/errors';
import { DomainError, MethodNotAllowed } from '#domain/kernel/errors';
import { logger } from '../adapters/observability.ts';
import { WriteConflict } from '#domain/kernel/retry';

/** Every domain error's code (domain/kernel/errors.ts), read from the classes' types. */
type ErrorCode = {
  [K in Exclude<keyof typeof Errors, 'DomainError'>]: (typeof Errors)[K] extends abstract new (...args: never[]) => { code: infer C } ? C : never;
}[Exclude<keyof typeof Errors, 'DomainError'>];

/**
 * THE error → HTTP map, by each domain error's code: the compiler asks for every one (null: never an HTTP
 * answer). Anything else is a 500 whose body says nothing internal. Keyed by code rather than class, so that a
 * function's bundle holds only the error classes its own code can throw, not every one (about 3 KiB).
 */
const STATUS: Record<ErrorCode, number | null> = {
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  ROUTE_NOT_FOUND: 404,
  ENVIRONMENT_NOT_FOUND: 404,
  ITEM_NOT_FOUND: 404,
  SNAPSHOT_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PROMOTION_NOT_FOUND: 404,
  ATTESTATION_NOT_FOUND: 404,
  RULE_NOT_FOUND: 404,
  ARTIFACT_NOT_FOUND: 404,
  DEPLOYMENT_NOT_FOUND: 404,
  FREEZE_WINDOW_NOT_FOUND: 404,
  SLACK_LINK_NOT_FOUND: 404,
  NOT_FOUND: 404,
  GIT_TARGET_NOT_FOUND: 404,
  DEPLOYMENT_GATE_NOT_FOUND: 404,
  CHANGE_CONTROL_NOT_FOUND: 404,
  AUDIT_DESTINATION_NOT_FOUND: 404,
  SELF_APPROVAL_FORBIDDEN: 403,
  NOT_AN_APPROVER: 403,
  TRANSITION_NOT_ALLOWED: 409,
  TARGET_BUSY: 409,
  BACKWARD_PROMOTION: 422,
  IDEMPOTENCY_KEY_REUSED: 422,
  ALREADY_EXISTS: 409,
  VERSION_CONFLICT: 409,
  NO_ADMIN_LEFT: 409,
  CONCURRENT_MODIFICATION: 409,
  ENVIRONMENT_NOT_EMPTY: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  ENVIRONMENT_FROZEN: 423,
  OUT_OF_TIME: 503,
  UNAVAILABLE: 503,
  RULE_VIOLATION: 422,
  APP_KEY_NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  TARGET_NOT_FOUND: 404,
  TARGET_IN_USE: 409,
  ANALYSIS_TEMPLATE_NOT_FOUND: 404,
  ANALYSIS_TEMPLATE_IN_USE: 409,
  RECURRING_PROMOTION_NOT_FOUND: 404,
  SCIM_RESOURCE_NOT_FOUND: 404,
  METRICS_TOKEN_NOT_FOUND: 404,
  // Frozen: what the flow catches by name (Step Functions), never an HTTP answer
  FROZEN: null,
};

export interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult =>
  // 204 and 304 carry no body (a 304 answers a conditional read: the client's copy is current).
  statusCode === 204 || statusCode === 304
    ? { statusCode, headers: statusCode === 304 ? headers : { 'content-type': 'application/json', ...headers }, body: '' }
    : { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };

/** The answer to a request its function's deadline cut off (middy's early time-out, before Lambda's): it may have been saved. */
const cutOff = (err: unknown) =>
  err instanceof Error && err.name === 'TimeoutError' && (err.cause as { package?: string } | undefined)?.package === '@middy/core';

/**
 * What DynamoDB (or another AWS service behind a handler) answers when it is busy for a moment, after the SDK's
 * own retries: a write meeting a transaction on the same item, throttling, an internal error, a lost answer. The
 * request may or may not have been saved (a write whose answer was lost was), so the caller is told to send it
 * again, as for a request cut off by its deadline: never a 500.
 */
export const TRANSIENT_AWS_ERRORS = [
  'TransactionConflictException',
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
] as const;
const TRANSIENT = new Set<string>(TRANSIENT_AWS_ERRORS);
const transient = (err: unknown) => err instanceof Error && TRANSIENT.has(err.name) && !(err instanceof DomainError);

export function errorResponse(err: unknown, requestId?: string): HttpResult {
  // A lost race a use case did not read again and retry (retryOnConflict): nothing of it was saved; the caller sends
  // it again, as for too many concurrent changes. Never a 500.
  if (err instanceof WriteConflict)
    return json(
      409,
      { error: { code: 'CONCURRENT_MODIFICATION', message: 'Someone changed the same data at the same moment and this request saved nothing: send it again' } },
      { 'retry-after': '1' },
    );
  if (transient(err) && !cutOff(err)) {
    logger.warn('transient error', { requestId, error: String(err) });
    return json(
      503,
      {
        error: {
          code: 'UNAVAILABLE',
          message:
            'The store was busy and this request may not have been saved: send it again with the same Idempotency-Key to get its answer (one change at most), or read before you retry without one',
          requestId,
        },
      },
      { 'retry-after': '1' },
    );
  }
  if (cutOff(err))
    return json(
      503,
      {
        error: {
          code: 'OUT_OF_TIME',
          message:
            'This request ran out of time before it was answered, and it may have been saved: send it again with the same Idempotency-Key to get its answer (one change at most), or read before you retry without one',
          requestId,
        },
      },
      { 'retry-after': '2' },
    );
  const status = err instanceof DomainError && Object.hasOwn(STATUS, err.code) ? STATUS[err.code as ErrorCode] : null;
  if (status === null || !(err instanceof DomainError)) {
    // Logged for operators; the caller gets no internal detail.
    logger.error('unhandled error', { requestId, error: String(err), stack: (err as Error)?.stack });
    return json(500, { error: { code: 'INTERNAL', message: 'Internal error; quote the request id when reporting it', requestId } });
  }
  const headers: Record<string, string> =
    err instanceof MethodNotAllowed
      ? { allow: err.allowed.join(', ') }
      : err.code === 'CONCURRENT_MODIFICATION' || err.code === 'OUT_OF_TIME'
        ? { 'retry-after': '1' }
        : err.code === 'UNAVAILABLE'
          ? { 'retry-after': '5' }
          : {};
  return json(status, { error: { code: err.code, message: err.message, ...asWritten(err.details) } }, headers);
}

/**
 * An issue's path as the caller wrote the field. Inside, a body field is named under `body.` (beside `query.`,
 * `path.` and `header.`, which the request's parts are named by, and `body` alone for the whole body); the answer
 * names a body field by its own name (`constraint`, `targets.0.name`), a parameter as such (`query.status`). Here,
 * in the one error map, so that every route and every issue a domain rule raises answers the same way.
 */
export const callerPath = (path: string): string => (path.startsWith('body.') ? path.slice('body.'.length) : path);

function asWritten(details: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!details || !Array.isArray(details.issues)) return details ?? {};
  return {
    ...details,
    issues: (details.issues as unknown[]).map((i) =>
      i !== null && typeof i === 'object' && typeof (i as Errors.Issue).path === 'string' ? { ...i, path: callerPath((i as Errors.Issue).path) } : i,
    ),
  };
}
