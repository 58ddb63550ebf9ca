/** Idempotency-Key on POST: one side effect per key and body, replayed answers, and answers that show a secret never kept. */
import { type Principal } from '#domain/access/auth';
import { sha256Hex } from '#domain/kernel/canonical';
import { AlreadyExists, ConcurrentModification, IdempotencyKeyReused, ValidationFailed } from '#domain/kernel/errors';
import type { Deps } from '#domain/ports';
import { logger } from '../adapters/observability.ts';
import { errorResponse, type HttpResult } from './errors.ts';

export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

/** What an Idempotency-Key may be (the OpenAPI document publishes the same pattern). */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * Idempotency-Key on POST: the same key and body replays the first response
 * (one side effect); the same key with another body answers 422; a request
 * still running under the key answers 409. Records expire by TTL after a day.
 */
export async function idempotent(
  d: Deps,
  principal: Principal,
  rawKey: string,
  request: string,
  leaseSeconds: number,
  run: () => Promise<HttpResult>,
  kept: (result: HttpResult) => HttpResult = (r) => r,
): Promise<HttpResult> {
  if (!IDEMPOTENCY_KEY.test(rawKey)) {
    throw new ValidationFailed([{ path: 'header.idempotency-key', message: 'must be 1-128 characters: letters, digits, _ . : -' }]);
  }
  // Keys belong to one caller: two approvers sending the same key are two requests.
  const tenant = principal.tenant;
  const key = `${sha256Hex(principal.id.toLowerCase()).slice(0, 24)}:${rawKey}`;
  const hash = sha256Hex(request);
  const claim = await d.store.claimIdempotency(tenant, key, hash, d.clock(), IDEMPOTENCY_TTL_SECONDS, leaseSeconds);
  if (claim.state === 'mismatch') throw new IdempotencyKeyReused('This Idempotency-Key was used with a different request; use a new key');
  if (claim.state === 'in-progress') throw new ConcurrentModification('A request with this Idempotency-Key is still running; retry shortly');
  if (claim.state === 'replay')
    return { statusCode: claim.statusCode, headers: { 'content-type': 'application/json', 'idempotent-replayed': 'true' }, body: claim.body };
  let result: HttpResult;
  try {
    result = await run();
  } catch (err) {
    const r = errorResponse(err);
    // A 4xx is the request's answer and is replayed; a 5xx, or a conflict the client is told to retry
    // (Retry-After: concurrent writers), may succeed on retry, so the key is freed for that retry.
    // Either way the key never stays claimed by a request that has ended: a busy store is tried again, and an
    // answer that cannot be remembered frees the key (a retry then runs, and meets what this one did).
    try {
      if (r.statusCode >= 500 || r.headers['retry-after'] !== undefined) await retryTransient(() => d.store.releaseIdempotency(tenant, key));
      else
        await retryTransient(() => d.store.completeIdempotency(tenant, key, hash, r)).catch(() =>
          retryTransient(() => d.store.releaseIdempotency(tenant, key)),
        );
    } catch (lost) {
      logger.error('idempotency record not released', { tenant, error: String(lost) });
    }
    throw err;
  }
  try {
    // A transaction on the record at that moment or a lost answer: the same update, sent again (it is idempotent).
    await retryTransient(() => d.store.completeIdempotency(tenant, key, hash, kept(result)));
  } catch (err) {
    // The write is committed: failing to remember its answer must not turn it into a 500. The lease frees the key.
    logger.error('idempotency record not completed', { tenant, error: String(err) });
  }
  return result;
}

/** Whether a success answer shows a secret once (Spec.showsSecret). */
export function showsSecret(spec: { showsSecret?: true | ((answer: unknown) => boolean) }, r: HttpResult): boolean {
  if (!spec.showsSecret) return false;
  if (spec.showsSecret === true) return true;
  try {
    return spec.showsSecret(JSON.parse(r.body ?? 'null'));
  } catch {
    return true;
  }
}

/** What a replay of an answer that showed a secret gets instead (the secret is shown once and never kept). */
export const SECRET_NOT_KEPT = () =>
  errorResponse(
    new AlreadyExists(
      'A request with this Idempotency-Key succeeded already; its answer showed a secret once, and secrets are not kept for replays. Read the resource for what it made (rotate for a new secret), or send a new key to make another',
    ),
  );

/** Runs `write` again (three times in all, 50 then 100 ms apart) while DynamoDB answers that it is busy for a moment. */
async function retryTransient(write: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (attempt >= 3 || (name !== 'TransactionConflictException' && name !== 'ThrottlingException' && name !== 'TimeoutError')) throw err;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}
