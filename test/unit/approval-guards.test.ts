import { describe, expect, it } from 'vitest';
import { createItem } from '../../domain/config/items.ts';
import { freezeOver as freeze } from '../support/store-contract/fixtures.ts';
import { Forbidden, Frozen, NotAnApprover, SelfApprovalForbidden, TransitionNotAllowed } from '../../domain/kernel/errors.ts';
import { createItem as itemSchema } from '../../domain/kernel/schemas.ts';
import { approvePromotion } from '../../domain/promotion/decide/approve.ts';
import { rebasePromotion } from '../../domain/promotion/request/rebase.ts';
import { freezeHold } from '../../domain/promotion/run/freeze-hold.ts';
import { memoryDeps, userCtx } from '../support/memory-deps.ts';
import { awaitingApproval, refusal } from '../support/memory-promotions.ts';

/**
 * Approvals on the memory store: who may approve, separation of duties (also for whoever rebased),
 * the approval window, decisions bound to the release, and a freeze window over the target when an
 * approved promotion is about to execute.
 */

const admin = userCtx('acme', 'alice', 'admin');
const bob = userCtx('acme', 'bob', 'deployer', 'approver');
const carol = userCtx('acme', 'carol', 'approver');
const dave = userCtx('acme', 'dave', 'deployer', 'approver');
const erin = userCtx('acme', 'erin', 'approver');

/** dev → prod with one config in dev, and a promotion of it waiting for approval (prod: one approver, separation of duties). */
async function waiting(whenFrozen: 'wait' | 'fail' = 'fail', rule?: Record<string, unknown>) {
  const m = memoryDeps();
  const id = await awaitingApproval(m, { whenFrozen, rule });
  const read = async () => (await m.store.getPromotion('acme', id))!;
  return { ...m, id, read, first: await read() };
}

describe('approving', () => {
  it('someone outside the approver groups is refused, naming the groups; nothing is stored', async () => {
    const { deps, store, id } = await waiting();
    const viewer = userCtx('acme', 'vic', 'viewer', 'deployer');
    const e = await refusal(approvePromotion(deps, viewer, id));
    expect(e).toBeInstanceOf(NotAnApprover);
    expect(e.message).toBe('Approvals for dev → prod come from: approver, admin');
    expect(await store.listApprovals('acme', id)).toEqual([]);
  });

  it('two approvers needed: the first approval is stored alone (audited, still waiting), the second moves the promotion with both names', async () => {
    const { deps, store, id, read, answered } = await waiting('fail', { requiredApprovers: 2 });
    const first = await approvePromotion(deps, carol, id, 'fine by me');
    expect(first.status).toBe('AWAITING_APPROVAL');
    expect((await read()).status).toBe('AWAITING_APPROVAL');
    expect(await store.listApprovals('acme', id)).toEqual([expect.objectContaining({ by: 'carol-id', comment: 'fine by me' })]);
    const audit = (await store.queryAudit('acme', { limit: 5, entityType: 'promotion' })).items;
    expect(audit[0]).toMatchObject({ action: 'promotion.approve', entityId: id, reason: 'fine by me' });
    expect(answered).toEqual([]);
    // The same approver again counts once.
    expect((await approvePromotion(deps, carol, id)).status).toBe('AWAITING_APPROVAL');
    const second = await approvePromotion(deps, erin, id);
    expect(second).toMatchObject({ status: 'APPROVED', approvedBy: ['carol@acme.test', 'erin@acme.test'] });
    expect(answered).toEqual([expect.objectContaining({ token: 'token-1' })]);
  });

  it('an approval without a comment stores none', async () => {
    const { deps, store, id } = await waiting();
    await approvePromotion(deps, carol, id);
    expect(await store.listApprovals('acme', id)).toEqual([expect.not.objectContaining({ comment: expect.anything() })]);
  });

  it('the approval window closes after the policy’s expiry: a late approval is refused naming when it closed', async () => {
    const { deps, id, advance, first } = await waiting('fail', { approvalExpirySeconds: 600 });
    advance(601);
    const e = await refusal(approvePromotion(deps, carol, id));
    expect(e).toBeInstanceOf(TransitionNotAllowed);
    expect(e.message).toMatch(new RegExp(`^The approval window of ${id} closed at `));
    expect(first.status).toBe('AWAITING_APPROVAL');
  });

  it('an approval in the window (just before it closes) counts', async () => {
    const { deps, id, advance } = await waiting('fail', { approvalExpirySeconds: 600 });
    advance(590);
    expect((await approvePromotion(deps, carol, id)).status).toBe('APPROVED');
  });

  it('a decision made from what a message showed holds for that release only', async () => {
    const { deps, id, first } = await waiting();
    await expect(approvePromotion(deps, carol, id, undefined, 'another-release')).rejects.toThrow(TransitionNotAllowed);
    expect((await approvePromotion(deps, carol, id, undefined, first.releaseDigest)).status).toBe('APPROVED');
  });

  it('a refused approval with a break-glass leaves no override behind; an admin’s accepted one records it for this release', async () => {
    const { deps, store, id, read } = await waiting();
    await store.commit('acme', [{ kind: 'freezeWindow', window: freeze('prod') }]);
    // A non-admin asking to break glass is refused before anything else.
    await expect(approvePromotion(deps, { ...carol, breakGlassReason: 'hotfix' }, id)).rejects.toThrow(Forbidden);
    // An admin who requested it may not approve it, break-glass or not.
    const selfAdmin = { ...userCtx('acme', 'bob', 'admin'), breakGlassReason: 'hotfix' };
    await expect(approvePromotion(deps, selfAdmin, id)).rejects.toThrow(SelfApprovalForbidden);
    expect((await read()).freezeOverride ?? null).toBeNull();
    const approved = await approvePromotion(deps, { ...admin, breakGlassReason: 'hotfix' }, id);
    expect(approved).toMatchObject({ status: 'APPROVED', freezeOverride: { by: 'alice@acme.test', reason: 'hotfix', releaseDigest: approved.releaseDigest } });
  });
});

describe('rebasing onto the current release', () => {
  it('moves the release, voids what was decided on the old one, records who rebased; they may not approve it, nor may a message about the old release', async () => {
    const { deps, store, id, first, read } = await waiting('fail', { requiredApprovers: 2 });
    await store.commit('acme', [{ kind: 'freezeWindow', window: freeze('prod', '2031-01-01T00:00:00Z', '2031-01-02T00:00:00Z') }]);
    // One approval and an admin's break-glass past the freeze, both for the first release.
    await approvePromotion(deps, { ...admin, breakGlassReason: 'first' }, id);
    expect(await read()).toMatchObject({ status: 'AWAITING_APPROVAL', freezeOverride: { releaseDigest: first.releaseDigest } });
    // Unchanged source: nothing to rebase onto, nothing voided.
    expect(await rebasePromotion(deps, dave, id)).toMatchObject({ releaseDigest: first.releaseDigest, freezeOverride: { reason: 'first' } });

    await createItem(deps, bob, 'config', 'dev', itemSchema.parse({ key: 'query.retries', value: 3 }));
    const rebased = await rebasePromotion(deps, dave, id);
    expect(rebased.releaseDigest).not.toBe(first.releaseDigest);
    expect(rebased).toMatchObject({
      status: 'AWAITING_APPROVAL',
      rebasedBy: { id: 'dave-id', name: 'dave@acme.test' },
      freezeOverride: null,
      approvedBy: [],
      changeSummary: { added: 2 },
    });
    expect(rebased.notes).toMatch(
      /^Rebased by dave@acme.test onto dev@\d+: 2 added, 0 modified, 0 removed\. .* The break-glass past freeze windows given by alice@acme.test for the earlier release no longer applies\.$/,
    );
    const audit = (await store.queryAudit('acme', { limit: 1, entityType: 'promotion' })).items[0];
    expect(audit).toMatchObject({ action: 'promotion.rebase', reason: expect.stringMatching(/; voids the break-glass of alice@acme.test \(first\)$/) });

    // Whoever rebased chose the content: separation of duties keeps them from approving it.
    const e = await refusal(approvePromotion(deps, dave, id));
    expect(e).toBeInstanceOf(SelfApprovalForbidden);
    expect(e.message).toBe('You rebased this promotion onto its current release; separation of duties needs someone else to approve it');
    const mine = await refusal(approvePromotion(deps, bob, id));
    expect(mine.message).toMatch(/^You requested this promotion;/);
    // A decision from a message about the old release is refused; the admin's approval of the old release no longer counts.
    await expect(approvePromotion(deps, carol, id, undefined, first.releaseDigest)).rejects.toThrow(TransitionNotAllowed);
    expect((await approvePromotion(deps, carol, id)).status).toBe('AWAITING_APPROVAL');
    expect((await approvePromotion(deps, erin, id)).status).toBe('APPROVED');
  });

  it('a promotion no longer awaiting approval is not rebased', async () => {
    const { deps, id } = await waiting();
    await approvePromotion(deps, carol, id);
    await expect(rebasePromotion(deps, dave, id)).rejects.toThrow(TransitionNotAllowed);
  });
});

describe('a freeze window over the target of an approved promotion about to execute', () => {
  it('cancels a promotion that did not ask to wait, naming the window', async () => {
    const { deps, store, id, read } = await waiting();
    await approvePromotion(deps, carol, id);
    await store.commit('acme', [{ kind: 'freezeWindow', window: freeze('prod') }]);
    expect((await freezeHold(deps, 'acme', id)).held).toEqual({ next: 'done' });
    const p = await read();
    expect(p.status).toBe('CANCELLED');
    expect(p.error).toEqual({
      code: 'FROZEN',
      message:
        '\'prod\' is frozen by window frz_prod (release freeze) until 2030-01-01T12:00:00.000Z; request it again after the window (or with "whenFrozen": "wait"), or an admin may break glass',
    });
  });

  it('holds one that asked to wait until the window ends (scheduled, with the window named) and resumes it then', async () => {
    const { deps, store, id, read, schedules } = await waiting('wait');
    await approvePromotion(deps, carol, id);
    await store.commit('acme', [{ kind: 'freezeWindow', window: freeze('prod') }]);
    const e = await refusal(freezeHold(deps, 'acme', id));
    expect(e).toBeInstanceOf(Frozen);
    expect(e.message).toBe("'prod' is frozen by window frz_prod (release freeze) until 2030-01-01T12:00:00.000Z: held until 2030-01-01T12:00:00.000Z");
    const p = await read();
    expect(p).toMatchObject({
      status: 'SCHEDULED',
      scheduledAt: '2030-01-01T12:00:00.000Z',
      heldBy: { window: 'frz_prod', reason: 'release freeze', until: '2030-01-01T12:00:00.000Z' },
    });
    expect([...schedules.values()]).toContainEqual({ at: new Date('2030-01-01T12:00:00.000Z'), payload: { tenant: 'acme', promotionId: id } });
    // Still frozen when the schedule fires early: held again, the same status.
    await expect(freezeHold(deps, 'acme', id)).rejects.toThrow(Frozen);
    expect((await read()).status).toBe('SCHEDULED');
  });

  it('lets through a promotion with an admin’s break-glass for its release, or with no window over its target', async () => {
    const glassed = await waiting();
    await glassed.store.commit('acme', [{ kind: 'freezeWindow', window: freeze('prod') }]);
    await approvePromotion(glassed.deps, { ...admin, breakGlassReason: 'outage' }, glassed.id);
    expect((await freezeHold(glassed.deps, 'acme', glassed.id)).held).toBeNull();
    expect((await glassed.read()).status).toBe('APPROVED');

    const elsewhere = await waiting();
    await approvePromotion(elsewhere.deps, carol, elsewhere.id);
    await elsewhere.store.commit('acme', [{ kind: 'freezeWindow', window: freeze('dev') }]);
    expect((await freezeHold(elsewhere.deps, 'acme', elsewhere.id)).held).toBeNull();
    expect((await elsewhere.read()).status).toBe('APPROVED');
  });

  it('does nothing to a promotion not yet approved', async () => {
    const { deps, store, id, read } = await waiting();
    await store.commit('acme', [{ kind: 'freezeWindow', window: freeze('prod') }]);
    expect((await freezeHold(deps, 'acme', id)).held).toBeNull();
    expect((await read()).status).toBe('AWAITING_APPROVAL');
  });
});
