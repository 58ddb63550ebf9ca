/** Why a git delivery failed, in words a tenant can act on (the promotion fails with it). */
export class GitDeliveryError extends Error {
  override readonly name = 'GitDeliveryError';
}
