import { flowDecision } from '../terms/deadlines.ts';
import { requestedBreakGlass } from '../../freeze/break-glass.ts';
import type { Ctx, Deps, With } from '../../kernel/deps.ts';
import { memoSource } from '../../config/tree.ts';
import { guard } from '../aggregate.ts';
import { stampFreezeOverride } from '../run/freeze-override.ts';
import type { Promotion } from '../../kernel/promotion-model.ts';
import { bundleChanges, changeView, configChanges } from '../terms/release.ts';
import { cancelSchedule } from '../run/schedule.ts';
import { loadPromotion } from '../write.ts';

/**
 * Gives an approved manual (or scheduled) promotion its go: the flow waiting at its go task
 * executes it now. A dry run previews what would change.
 */
export async function executePromotion(deps: With<'scheduler' | 'workflow'>, ctx: Ctx, id: string, dryRun: boolean) {
  const glass = requestedBreakGlass(ctx, 'freeze-window', 'promotion.execute', deps.clock());
  const { tenant } = ctx.principal;
  let p = await loadPromotion(deps, tenant, id);
  guard('execute', p);
  if (dryRun) return { dryRun: true as const, promotionId: id, ...(await previewExecution(deps, p)) };
  p = await stampFreezeOverride(deps, ctx, id, glass, p);
  // The flow waits at its "go" task for manual or scheduled promotions; an on-approval one is already executing.
  if (p.status === 'SCHEDULED') await cancelSchedule(deps, p);
  if (p.taskToken) await deps.workflow.sendTaskSuccess(p.taskToken, { ...flowDecision(p, 'execute', deps.clock()) });
  return { accepted: true as const, promotion: p };
}

export async function previewExecution(deps: Deps, p: Promotion): Promise<Record<string, unknown>> {
  const target = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
  if (!target) return { changes: [] };
  if (p.subject.type === 'artifact') {
    const cur = await deps.store.getPointer(p.tenant, p.targetEnvironment, p.subject.name);
    return { artifact: p.subject.name, from: cur?.version ?? null, to: p.subject.version, digest: p.subject.digest };
  }
  if (p.subject.type === 'bundle') {
    const c = await bundleChanges(deps, p.tenant, p.subject, target.name, target.head.roots);
    return {
      bundle: { name: p.subject.name, digest: p.subject.digest },
      members: c.members.map((m) => ({
        artifact: m.member.name,
        from: m.from?.version ?? null,
        to: m.member.version,
        digest: m.member.digest,
        moves: m.moves,
      })),
      ...(c.config ? { changes: c.config.changes.map(changeView), unchanged: c.config.unchanged } : {}),
    };
  }
  const snap = await deps.store.getSnapshot(p.tenant, p.sourceEnvironment, p.subject.sourceSnapshot.seq);
  if (!snap) return { changes: [] };
  const { changes, unchanged } = await configChanges(memoSource(deps.store.nodes(p.tenant)), target.head.roots, snap.roots, p.subject);
  return { changes: changes.map(changeView), unchanged };
}
