import * as E from '#domain/kernel/errors';
import { logger } from '../adapters/observability.ts';

/** THE error → HTTP map. Anything not listed is a 500 whose body says nothing internal. */
const STATUS: [new (...args: never[]) => E.DomainError, number][] = [
  [E.ValidationFailed, 400],
  [E.MalformedJson, 400],
  [E.Unauthenticated, 401],
  [E.Forbidden, 403],
  [E.RouteNotFound, 404],
  [E.EnvironmentNotFound, 404],
  [E.ItemNotFound, 404],
  [E.SnapshotNotFound, 404],
  [E.MethodNotAllowed, 405],
  [E.PromotionNotFound, 404],
  [E.AttestationNotFound, 404],
  [E.RuleNotFound, 404],
  [E.ArtifactNotFound, 404],
  [E.DeploymentNotFound, 404],
  [E.FreezeWindowNotFound, 404],
  [E.SlackLinkNotFound, 404],
  [E.WebhookNotFound, 404],
  [E.GitTargetNotFound, 404],
  [E.SelfApprovalForbidden, 403],
  [E.NotAnApprover, 403],
  [E.TransitionNotAllowed, 409],
  [E.TargetBusy, 409],
  [E.BackwardPromotion, 422],
  [E.IdempotencyKeyReused, 422],
  [E.AlreadyExists, 409],
  [E.VersionConflict, 409],
  [E.ConcurrentModification, 409],
  [E.EnvironmentNotEmpty, 409],
  [E.PayloadTooLarge, 413],
  [E.EnvironmentFrozen, 423],
  [E.OutOfTime, 503],
  [E.RuleViolation, 422],
  [E.AppKeyNotFound, 404],
  [E.UserNotFound, 404],
  [E.TargetNotFound, 404],
  [E.TargetInUse, 409],
  [E.AnalysisTemplateNotFound, 404],
  [E.AnalysisTemplateInUse, 409],
  [E.RecurringPromotionNotFound, 404],
];

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

export function errorResponse(err: unknown, requestId?: string): HttpResult {
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
  const hit = err instanceof E.DomainError ? STATUS.find(([cls]) => err instanceof cls) : undefined;
  if (!hit || !(err instanceof E.DomainError)) {
    // Logged for operators; the caller gets no internal detail.
    logger.error('unhandled error', { requestId, error: String(err), stack: (err as Error)?.stack });
    return json(500, { error: { code: 'INTERNAL', message: 'Internal error; quote the request id when reporting it', requestId } });
  }
  const headers: Record<string, string> =
    err instanceof E.MethodNotAllowed
      ? { allow: err.allowed.join(', ') }
      : err instanceof E.ConcurrentModification || err instanceof E.OutOfTime
        ? { 'retry-after': '1' }
        : {};
  return json(hit[1], { error: { code: err.code, message: err.message, ...(err.details ?? {}) } }, headers);
}
