import { createHmac, timingSafeEqual } from 'node:crypto';

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

/** A hook's header, by its lower-case name. */
export type HookHeader = (name: string) => string | undefined;

/**
 * Whether a hook's request is made with `secret` as its host makes it: GitHub's X-Hub-Signature-256 (an HMAC-SHA256 of
 * the exact body), GitLab's X-Gitlab-Token (the secret itself).
 */
export function signedWith(host: 'github' | 'gitlab', header: HookHeader, body: Buffer, secret: string): boolean {
  return host === 'github'
    ? sameSecret(header('x-hub-signature-256') ?? '', `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`)
    : sameSecret(header('x-gitlab-token') ?? '', secret);
}

/** The event a hook's host names (X-GitHub-Event, X-Gitlab-Event). */
export const hookEvent = (host: 'github' | 'gitlab', header: HookHeader): string | undefined => header(host === 'github' ? 'x-github-event' : 'x-gitlab-event');
