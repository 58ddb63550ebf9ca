/** Why a git delivery failed, in words a tenant can act on (the promotion fails with it). */
export class GitDeliveryError extends Error {
  override readonly name = 'GitDeliveryError';
  constructor(
    message: string,
    /** true when the host's answer leaves it unknown whether the change was made (a 5xx or no answer to a write) */
    readonly outcomeUnknown = false,
    /**
     * true when the host failed for a moment before anything was written (a read answered 429 or 5xx, or no answer):
     * the flow tries the step again with backoff (Unavailable), where a refusal fails the promotion at once.
     */
    readonly transient = false,
  ) {
    super(message);
  }
}

/** Whether a failed read of a git host was of the moment: a 429 or a 5xx answer, or none (a dropped or refused connection, a time-out). */
export function transientGitFailure(err: unknown): boolean {
  const e = err as { code?: string; message?: string; data?: { statusCode?: number }; status?: number; cause?: { code?: string } };
  const status = e?.data?.statusCode ?? e?.status;
  if (typeof status === 'number') return status === 429 || status >= 500;
  const code = e?.code ?? e?.cause?.code ?? '';
  if (['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT'].includes(code)) return true;
  return /fetch failed|socket hang up|connection reset|timed out|aborted/i.test(String(e?.message ?? ''));
}
