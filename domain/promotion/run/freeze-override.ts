import type { BreakGlassUse } from '../../kernel/model.ts';
import { breakGlassEvent } from '../../config/commit.ts';
import type { Ctx, Deps, WriteOp } from '../../kernel/deps.ts';
import { actorOf, patched } from '../aggregate.ts';
import { isTerminal } from '../../kernel/lifecycle.ts';
import type { Promotion } from '../../kernel/promotion-model.ts';
import { loadPromotion, writePromotion } from '../write.ts';

/**
 * Whether freeze windows cover an environment (now or later), or it has allowed hours (run/hours-hold.ts): a
 * break-glass past them is worth recording, and it lets the promotion past both.
 */
export async function hasFreezeWindows(deps: Deps, tenant: string, env: string): Promise<boolean> {
  if ((await deps.store.listFreezeWindows(tenant)).some((w) => w.scope === '*' || w.scope === env)) return true;
  return !!(await deps.store.getEnvironment(tenant, env))?.allowedHours;
}

/** What a break-glass past a freeze writes besides the promotion: the environment's `lastBreakGlass` and the `Break Glass Used` event. */
export async function freezeGlassOps(deps: Deps, tenant: string, envName: string, glass: BreakGlassUse, promotionId: string): Promise<WriteOp[]> {
  const ops: WriteOp[] = [];
  const env = await deps.store.getEnvironment(tenant, envName);
  if (env)
    ops.push({
      kind: 'environment',
      env: { ...env, lastBreakGlass: glass, version: env.version + 1, updatedAt: glass.at, updatedBy: glass.by },
      expectedVersion: env.version,
    });
  ops.push({ kind: 'event', event: breakGlassEvent(tenant, envName, glass, promotionId) });
  return ops;
}

/**
 * An admin's break-glass sent with an action on an existing promotion (approve, execute, schedule,
 * rebase): once the role is checked (`requestedBreakGlass`, before anything else), it is recorded on
 * the promotion for its current release when freeze windows cover the target, audited as
 * `breakglass.<action>`. Returns the promotion as it is now (`read`: the caller's own fresh read).
 */
export async function stampFreezeOverride(deps: Deps, ctx: Ctx, id: string, glass: BreakGlassUse | null, read?: Promotion): Promise<Promotion> {
  const { tenant } = ctx.principal;
  if (!glass) return read ?? loadPromotion(deps, tenant, id);
  const { before, after } = await writePromotion(
    deps,
    tenant,
    id,
    async (p) => {
      if (isTerminal(p.status) || p.status === 'EXECUTING' || !(await hasFreezeWindows(deps, tenant, p.targetEnvironment))) return null;
      const override: BreakGlassUse = { ...glass, releaseDigest: p.releaseDigest };
      return {
        next: patched(p, glass.at, { freezeOverride: override }),
        action: `breakglass.${glass.action}`,
        by: actorOf(ctx.principal),
        ops: await freezeGlassOps(deps, tenant, p.targetEnvironment, override, id),
        reason: `break-glass (freeze-window): ${glass.reason}`,
        requestId: ctx.requestId,
      };
    },
    { read },
  );
  return after ?? before;
}
