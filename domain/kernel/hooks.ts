import { timingSafeEqual } from 'node:crypto';

/**
 * What the inbound hooks (a deploy job's gate, a pull request's events) share: how a secret they are sent is compared,
 * and how they refuse.
 */

/** Whether a secret sent (a hook's token or signature) is the one kept, in time that does not depend on where they differ. */
export function sameSecret(sent: string, kept: string): boolean {
  const x = Buffer.from(sent);
  const y = Buffer.from(kept);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A hook's refusal: its HTTP status and the error it names, with what to fix. */
export const hookRefusal = (status: number, code: string, message: string) => ({ status, body: { error: { code, message } } });
