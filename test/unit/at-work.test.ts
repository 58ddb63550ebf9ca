import { describe, expect, it } from 'vitest';
import { createEnvironment } from '../../domain/config/environments.ts';
import { createItem } from '../../domain/config/items.ts';
import { createPromotion as promotionSchema } from '../../domain/kernel/promotion-schemas.ts';
import { auditQuery, createEnvironment as envSchema, createItem as itemSchema } from '../../domain/kernel/schemas.ts';
import { approvePromotion } from '../../domain/promotion/decide/approve.ts';
import { createPromotion } from '../../domain/promotion/request/request.ts';
import { stuckAfter } from '../../domain/promotion/terms/stuck.ts';
import { STEP_SECONDS } from '../../domain/promotion/terms/deadlines.ts';
import { markAtWork } from '../../domain/promotion/run/complete.ts';
import { decideStep } from '../../domain/promotion/step/steps.ts';
import { sweepPromotion } from '../../domain/promotion/sweep/sweep.ts';
import { memoryDeps, userCtx } from '../support/memory-deps.ts';

/** A dev → staging configuration promotion of tenant acme, requested by a deployer. */
async function requested(deps: ReturnType<typeof memoryDeps>['deps']) {
  const admin = userCtx('acme', 'alice', 'admin');
  const bob = userCtx('acme', 'bob', 'deployer');
  await createEnvironment(deps, admin, envSchema.parse({ name: 'dev', position: 0, reason: 'test' }));
  await createEnvironment(deps, admin, envSchema.parse({ name: 'staging', position: 1, reason: 'test' }));
  await createItem(deps, bob, 'config', 'dev', itemSchema.parse({ key: 'feature.x', value: true }));
  const created = await createPromotion(deps, bob, promotionSchema.parse({ sourceEnvironment: 'dev', targetEnvironment: 'staging' }));
  if ('dryRun' in created) throw new Error('not a dry run');
  return created;
}

/**
 * A delivery slower than the sweep's grace is a flow at work, not a flow gone. Seed 20261129 at 10 %: an artifact's or
 * a bundle's execution writes nothing until its delivery is done (a pull request, registry copies, a git commit, each
 * tried again when its host fails for a moment), and the sweep, which ends a promotion with no progress for a grace,
 * cancelled such promotions as "not executed in time" while their flows still ran. Each try of the execution says it is
 * at work first: the sweep counts the grace from then, and still ends a flow that stopped trying.
 */
describe('an execution at work is not swept', () => {
  it('each try moves the sweep’s deadline; a flow that stops trying is swept a grace after its last one', async () => {
    const { deps, store, advance } = memoryDeps();
    const created = await requested(deps);
    if ((await decideStep(deps, 'acme', created.id, 'decide-token')).next === 'await-approval')
      await approvePromotion(deps, userCtx('acme', 'carol', 'approver'), created.id);
    const approved = (await store.getPromotion('acme', created.id))!;
    expect(approved.status).toBe('APPROVED');
    const grace = deps.tunables.sweepGraceSeconds;

    // A try soon after the approval has the grace before it: nothing is written (an execution's usual cost).
    advance(5);
    expect(await markAtWork(deps, approved)).toEqual(approved);
    // A try at work near the end of the grace: the promotion says so, with no transition and no audit entry.
    advance(grace - 10);
    const audit = async () => (await store.queryAudit('acme', auditQuery.parse({}))).items.length;
    const audited = await audit();
    const atWork = await markAtWork(deps, approved);
    expect(atWork).toMatchObject({ status: 'APPROVED', version: approved.version + 1, transitions: approved.transitions });
    expect(atWork.updatedAt > approved.updatedAt).toBe(true);
    expect(await audit()).toBe(audited);

    // Past the grace counted from the approval, not from the try: the sweep looks again later and ends nothing.
    advance(10);
    expect(await sweepPromotion(deps, 'acme', created.id)).toMatchObject({ swept: false, status: 'APPROVED' });
    // A grace after the last try, nothing more came: its flow is gone, and the promotion ends.
    advance(grace);
    expect(await sweepPromotion(deps, 'acme', created.id)).toMatchObject({ swept: true, status: 'CANCELLED' });
    // Once it ended, a late try of a gone flow changes nothing.
    const ended = (await store.getPromotion('acme', created.id))!;
    expect(await markAtWork(deps, ended)).toEqual(ended);
  });
});

describe("the sweep's deadline of an approved promotion about to execute", () => {
  it("gives an artifact's or a bundle's execution its step's whole time (one try reaches outside hosts) before the grace; a configuration's only the grace", async () => {
    const { deps } = memoryDeps();
    const created = await requested(deps);
    const p = { ...(await deps.store.getPromotion('acme', created.id))!, status: 'APPROVED' as const, trigger: 'on_approval' as const };
    const grace = deps.tunables.sweepGraceSeconds;
    const due = (subject: Record<string, unknown>) =>
      (stuckAfter({ ...p, subject: { ...p.subject, ...subject } } as never, 0, deps.tunables)!.getTime() - Date.parse(p.updatedAt)) / 1000;
    expect(due({})).toBe(grace);
    expect(due({ type: 'artifact' })).toBe(STEP_SECONDS + grace);
    expect(due({ type: 'bundle' })).toBe(STEP_SECONDS + grace);
  });
});
