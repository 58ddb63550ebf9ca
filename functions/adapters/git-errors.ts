/** Why a git delivery failed, in words a tenant can act on (the promotion fails with it). */
export class GitDeliveryError extends Error {
  override readonly name = 'GitDeliveryError';
  constructor(
    message: string,
    /** true when the host's answer leaves it unknown whether the change was made (a 5xx or no answer to a write) */
    readonly outcomeUnknown = false,
  ) {
    super(message);
  }
}
