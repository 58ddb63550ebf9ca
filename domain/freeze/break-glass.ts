import { hasRole } from '../access/auth.ts';
import { Forbidden } from '../kernel/errors.ts';
import type { BreakGlassUse, Environment } from '../kernel/model.ts';
import type { Ctx } from '../kernel/deps.ts';

/** The reason header a caller sends to break glass (HTTP: `X-Break-Glass-Reason`). */
export const BREAK_GLASS_HEADER = 'x-break-glass-reason';

/** A protected environment: flagged so, or the last environment of the line (production) by default. */
export function isProtected(env: Environment, line: Environment[]): boolean {
  return env.protected || line[line.length - 1]?.name === env.name;
}

/**
 * The one answer to a request that carries the break-glass header, on every path that can move an
 * environment past a guard (promotion create, approve, execute, schedule, rebase, both rollbacks,
 * direct writes, snapshot restore): only an admin may break glass, so anyone else is refused with
 * 403 naming the role, before anything is read or changed — whether or not a guard would hold right
 * now (the same request never gets two answers, and never a 202 that ends CANCELLED later).
 * Returns the record to use when a guard applies, or null when no break-glass was asked for.
 */
export function requestedBreakGlass(ctx: Ctx, guard: BreakGlassUse['guard'], action: string, now: Date): BreakGlassUse | null {
  const reason = ctx.breakGlassReason?.trim();
  if (!reason) return null;
  if (!hasRole(ctx.principal, 'admin') && !ctx.principal.breakGlass) {
    throw new Forbidden(
      `Break-glass needs the admin role; you have: ${ctx.principal.roles.join(', ') || 'none'}. Send the request without X-Break-Glass-Reason, or ask an admin (or for a break-glass binding in this environment)`,
      { guard, requiredRole: 'admin' },
    );
  }
  return { by: ctx.principal.name, at: now.toISOString(), reason: reason.slice(0, 500), action, guard };
}

/**
 * Lets a guarded action through only as an admin break-glass with a reason, and returns the record
 * to audit and publish. `what` says what is guarded and how to do it the normal way.
 */
export function breakGlass(ctx: Ctx, guard: BreakGlassUse['guard'], action: string, what: string, now: Date): BreakGlassUse {
  const glass = requestedBreakGlass(ctx, guard, action, now);
  if (!glass) {
    throw new Forbidden(`${what}. An admin may override this once, audited as break-glass, by sending the header X-Break-Glass-Reason with the reason`, {
      guard,
    });
  }
  return glass;
}

/** A break-glass past freeze windows holds for the release it was given for only (a rebase voids it). */
export function freezeOverridden(p: { freezeOverride?: BreakGlassUse | null; releaseDigest: string }): boolean {
  const o = p.freezeOverride;
  return !!o && (o.releaseDigest === undefined || o.releaseDigest === p.releaseDigest);
}
