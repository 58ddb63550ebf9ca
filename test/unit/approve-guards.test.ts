import { describe, expect, it } from 'vitest';
import { createItem } from '../../domain/config/items.ts';
import { freezeOver as freeze } from '../support/store-contract/fixtures.ts';
import { TransitionNotAllowed } from '../../domain/kernel/errors.ts';
import { createItem as itemSchema } from '../../domain/kernel/schemas.ts';
import type { Ctx } from '../../domain/ports.ts';
import { approvePromotion } from '../../domain/promotion/decide/approve.ts';
import { cancelPromotion } from '../../domain/promotion/decide/cancel.ts';
import { rejectPromotion } from '../../domain/promotion/decide/reject.ts';
import { rebasePromotion } from '../../domain/promotion/request/rebase.ts';
import { approvalDeadline } from '../../domain/promotion/terms/deadlines.ts';
import { memoryDeps, userCtx } from '../support/memory-deps.ts';
import { awaitingApproval, refusal } from '../support/memory-promotions.ts';

/**
 * Approving, as the store sees it: what an approval reads and writes (one read of the promotion and
 * of its approvals, one write with one audit entry when it meets the policy), approvals given side
 * by side or sent twice at once, the edge of the approval window, and what a refusal carries.
 */

type MemoryDeps = ReturnType<typeof memoryDeps>['deps'];

const admin = userCtx('acme', 'alice', 'admin');
const bob = userCtx('acme', 'bob', 'deployer', 'approver');
const carol = userCtx('acme', 'carol', 'approver');
const dave = userCtx('acme', 'dave', 'deployer', 'approver');
const erin = userCtx('acme', 'erin', 'approver');

/**
 * dev → prod with one config in dev, and bob's promotion of it waiting for approval (prod: one approver
 * by default, separation of duties); `spied` are the same deps with the promotion's and approvals' reads
 * counted, and a hook run once, inside the first read of the approvals (what happened meanwhile).
 */
async function waiting(rule?: Record<string, unknown>) {
  const m = memoryDeps();
  const id = await awaitingApproval(m, { rule });
  const read = async () => (await m.store.getPromotion('acme', id))!;
  const reads = { getPromotion: 0, listApprovals: 0 };
  let meanwhile: (() => Promise<unknown>) | null = null;
  const store = m.store;
  const spied = {
    ...m.deps,
    store: {
      ...store,
      getPromotion: (tenant: string, id: string) => (reads.getPromotion++, store.getPromotion(tenant, id)),
      listApprovals: async (tenant: string, id: string) => {
        reads.listApprovals++;
        const listed = await store.listApprovals(tenant, id);
        const hook = meanwhile;
        meanwhile = null;
        if (hook) await hook();
        return listed;
      },
    },
  };
  /** the promotion's approve/approved audit entries, oldest first */
  const decisions = async () =>
    (await store.queryAudit('acme', { limit: 50, entityType: 'promotion' })).items
      .filter((e) => e.entityId === id && e.action.startsWith('promotion.approve'))
      .reverse();
  return {
    ...m,
    id,
    read,
    first: await read(),
    spied,
    reads,
    decisions,
    /** runs `hook` inside the next read of the approvals through `spied` */
    meanwhile: (hook: () => Promise<unknown>) => void (meanwhile = hook),
  };
}

describe('what an approval reads and writes', () => {
  it('one that meets the policy reads the promotion and its approvals once and moves it in one write: one audit entry with the comment, the event with who and how long it waited, the flow resumed', async () => {
    const { spied, reads, id, decisions, store, answered, advance, first } = await waiting();
    advance(90);
    const approved = await approvePromotion(spied, carol, id, 'ship it');
    expect(approved).toMatchObject({ status: 'APPROVED', approvedBy: ['carol@acme.test'] });
    expect(reads).toEqual({ getPromotion: 1, listApprovals: 1 });
    expect(await decisions()).toEqual([
      expect.objectContaining({
        action: 'promotion.approved',
        actorName: 'carol@acme.test',
        reason: 'ship it',
        before: `AWAITING_APPROVAL:${first.releaseDigest}`,
        after: `APPROVED:${first.releaseDigest}`,
      }),
    ]);
    expect(store.outbox('acme').filter((e) => e.type === 'Promotion Approved')).toEqual([
      expect.objectContaining({ detail: expect.objectContaining({ promotionId: id, actor: 'carol@acme.test', approvalWaitSeconds: 90 }) }),
    ]);
    expect(answered).toEqual([{ token: 'token-1', output: expect.objectContaining({}) }]);
  });

  it('one stored alone reads the promotion once and counts the approvals again; the one that completes names every approver, sorted by name', async () => {
    const { spied, reads, id, decisions } = await waiting({ requiredApprovers: 2 });
    expect((await approvePromotion(spied, erin, id)).status).toBe('AWAITING_APPROVAL');
    expect(reads).toEqual({ getPromotion: 1, listApprovals: 2 });
    // Approving again is idempotent: nothing read but the promotion and its approvals, nothing written.
    expect((await approvePromotion(spied, erin, id)).status).toBe('AWAITING_APPROVAL');
    expect(reads).toEqual({ getPromotion: 2, listApprovals: 3 });
    // carol completes it: counted after erin, named before her.
    expect(await approvePromotion(spied, carol, id)).toMatchObject({ status: 'APPROVED', approvedBy: ['carol@acme.test', 'erin@acme.test'] });
    expect((await decisions()).map((e) => [e.action, e.actorName])).toEqual([
      ['promotion.approve', 'erin@acme.test'],
      ['promotion.approved', 'carol@acme.test'],
    ]);
  });

  it('a promotion the flow is not yet waiting on (no task token) is approved without resuming anything', async () => {
    const { deps, store, id, read, answered } = await waiting();
    const p = await read();
    await store.commit('acme', [{ kind: 'promotion', promotion: { ...p, taskToken: null, version: p.version + 1 }, expectedVersion: p.version }]);
    expect((await approvePromotion(deps, carol, id)).status).toBe('APPROVED');
    expect(answered).toEqual([]);
  });

  it('an approval from Slack records where it came from, on the approval and on the audit entry', async () => {
    const { deps, store, id, decisions } = await waiting({ requiredApprovers: 2 });
    const via = { channel: 'slack' as const, teamId: 'T1', userId: 'U1', linkId: 'slack_1' };
    await approvePromotion(deps, { ...carol, via }, id);
    expect(await store.listApprovals('acme', id)).toEqual([expect.objectContaining({ by: 'carol-id', via })]);
    expect(await decisions()).toEqual([expect.objectContaining({ action: 'promotion.approve', via })]);
  });
});

describe('approvals given at the same time', () => {
  it('two approvers side by side each see too few: both are stored alone, and the count after the second moves the promotion with both names', async () => {
    const { deps, spied, id, meanwhile, decisions, answered } = await waiting({ requiredApprovers: 2 });
    // erin approves after carol read the approvals and before carol writes.
    meanwhile(() => approvePromotion(deps, erin, id));
    expect(await approvePromotion(spied, carol, id)).toMatchObject({ status: 'APPROVED', approvedBy: ['carol@acme.test', 'erin@acme.test'] });
    expect((await decisions()).map((e) => [e.action, e.actorName])).toEqual([
      ['promotion.approve', 'erin@acme.test'],
      ['promotion.approve', 'carol@acme.test'],
      ['promotion.approved', 'carol@acme.test'],
    ]);
    expect(answered).toEqual([expect.objectContaining({ token: 'token-1' })]);
  });

  it('the same approval sent twice at once is stored once: the request that loses the race finds it stored and writes nothing more', async () => {
    const { deps, spied, store, id, meanwhile, decisions, answered } = await waiting();
    meanwhile(() => approvePromotion(deps, carol, id));
    expect(await approvePromotion(spied, carol, id)).toMatchObject({ status: 'APPROVED', approvedBy: ['carol@acme.test'] });
    expect(await store.listApprovals('acme', id)).toEqual([expect.objectContaining({ by: 'carol-id' })]);
    expect((await decisions()).map((e) => e.action)).toEqual(['promotion.approved']);
    expect(answered).toHaveLength(1);
  });

  it('an approval that loses the race to another approver’s completing one is still stored (audited), and the promotion stays approved by the other', async () => {
    const { deps, spied, store, id, meanwhile, decisions, answered } = await waiting();
    meanwhile(() => approvePromotion(deps, erin, id));
    expect(await approvePromotion(spied, carol, id)).toMatchObject({ status: 'APPROVED', approvedBy: ['erin@acme.test'] });
    expect((await store.listApprovals('acme', id)).map((a) => a.by).sort()).toEqual(['carol-id', 'erin-id']);
    expect((await decisions()).map((e) => [e.action, e.actorName])).toEqual([
      ['promotion.approved', 'erin@acme.test'],
      ['promotion.approve', 'carol@acme.test'],
    ]);
    expect(answered).toHaveLength(1);
  });

  // Found by the rollout model test (test/unit/rollout-model.test.ts): the approval that lost its write read the rejected
  // promotion again and was stored beside the rejection, answered 200.
  it.each([
    ['a rejection', (deps: MemoryDeps, id: string) => rejectPromotion(deps, erin, id, 'not this one')],
    ['a cancel', (deps: MemoryDeps, id: string) => cancelPromotion(deps, bob, id, 'changed my mind')],
  ])('an approval that loses the race to %s is refused as it is when read so (409), and not stored', async (_, decide) => {
    const { deps, spied, store, id, meanwhile, decisions, read } = await waiting();
    meanwhile(() => decide(deps, id));
    const err = await refusal(approvePromotion(spied, carol, id));
    expect(err).toBeInstanceOf(TransitionNotAllowed);
    expect(err.message).toMatch(/it is (REJECTED|CANCELLED)/);
    expect(await store.listApprovals('acme', id)).toEqual([]);
    expect((await decisions()).map((e) => e.action)).toEqual([]);
    expect(['REJECTED', 'CANCELLED']).toContain((await read()).status);
  });

  it('an approval of the release the promotion was on before a rebase meanwhile is refused, and leaves the approval of the new release alone', async () => {
    const { deps, spied, store, id, meanwhile, decisions, read } = await waiting();
    let fresh = '';
    meanwhile(async () => {
      await createItem(deps, bob, 'config', 'dev', itemSchema.parse({ key: 'query.retries', value: 3 }));
      const rebased = await rebasePromotion(deps, dave, id);
      fresh = rebased.releaseDigest;
      // carol's own approval of the new release, stored alone (its count has not run yet): the stale request must not replace it.
      const approval = { by: 'carol-id', name: 'carol@acme.test', at: '2030-01-01T09:30:00.000Z', digest: rebased.releaseDigest };
      await store.commit('acme', [{ kind: 'approval', promotionId: id, approval }]);
    });
    await expect(approvePromotion(spied, carol, id, 'looks good (the old release)')).rejects.toThrow(/rebased onto another release since this was sent/);
    expect((await read()).releaseDigest).toBe(fresh);
    expect((await store.listApprovals('acme', id)).map((a) => [a.by, a.digest])).toEqual([['carol-id', fresh]]);
    expect((await decisions()).map((e) => e.action)).toEqual([]);
  });

  it('under a policy of two, where the approval is stored alone, a stale approval still never replaces the approver’s approval of the new release', async () => {
    const { deps, spied, store, id, meanwhile, read } = await waiting({ requiredApprovers: 2 });
    let fresh = '';
    meanwhile(async () => {
      await createItem(deps, bob, 'config', 'dev', itemSchema.parse({ key: 'query.retries', value: 3 }));
      fresh = (await rebasePromotion(deps, dave, id)).releaseDigest;
      const approval = { by: 'carol-id', name: 'carol@acme.test', at: '2030-01-01T09:30:00.000Z', digest: fresh };
      await store.commit('acme', [{ kind: 'approval', promotionId: id, approval }]);
    });
    await expect(approvePromotion(spied, carol, id, 'the old release')).rejects.toThrow(/rebased onto another release since this was sent/);
    expect((await read()).status).toBe('AWAITING_APPROVAL');
    expect((await store.listApprovals('acme', id)).map((a) => [a.by, a.digest])).toEqual([['carol-id', fresh]]);
  });
});

describe('the edges of an approval', () => {
  it('the approval window includes its closing instant; a millisecond later a refusal names the status', async () => {
    const late = await waiting({ approvalExpirySeconds: 600 });
    const closes = approvalDeadline(late.first)!.getTime();
    late.deps.clock = () => new Date(closes + 1);
    const e = await refusal(approvePromotion(late.deps, carol, late.id));
    expect(e).toBeInstanceOf(TransitionNotAllowed);
    expect(e.message).toBe(`The approval window of ${late.id} closed at ${new Date(closes).toISOString()}`);
    expect(e.details).toEqual({ status: 'AWAITING_APPROVAL' });

    const onTime = await waiting({ approvalExpirySeconds: 600 });
    onTime.deps.clock = () => new Date(approvalDeadline(onTime.first)!.getTime());
    expect((await approvePromotion(onTime.deps, carol, onTime.id)).status).toBe('APPROVED');
  });

  it('a decision bound to another release is refused naming the status, and tells to review the current release', async () => {
    const { deps, id, store } = await waiting();
    const e = await refusal(approvePromotion(deps, carol, id, undefined, 'sha256:old'));
    expect(e).toBeInstanceOf(TransitionNotAllowed);
    expect(e.message).toBe(
      `${id} was rebased onto another release since this was sent (decisions are bound to the exact release); review the current release and decide on it`,
    );
    expect(e.details).toEqual({ status: 'AWAITING_APPROVAL' });
    expect(await store.listApprovals('acme', id)).toEqual([]);
  });

  it('an approver who approved the release before a rebase approves the new one anew (their old approval is not this one)', async () => {
    const { deps, store, id, first } = await waiting({ requiredApprovers: 2 });
    await approvePromotion(deps, admin, id);
    await createItem(deps, bob, 'config', 'dev', itemSchema.parse({ key: 'query.retries', value: 3 }));
    const rebased = await rebasePromotion(deps, dave, id);
    expect(rebased.releaseDigest).not.toBe(first.releaseDigest);
    expect((await approvePromotion(deps, admin, id)).status).toBe('AWAITING_APPROVAL');
    expect(await store.listApprovals('acme', id)).toEqual([expect.objectContaining({ by: 'alice-id', digest: rebased.releaseDigest })]);
    expect(await approvePromotion(deps, erin, id)).toMatchObject({ status: 'APPROVED', approvedBy: ['alice@acme.test', 'erin@acme.test'] });
  });

  it('an admin’s break-glass sent with a repeated approval of a promotion already approved records no override', async () => {
    const { deps, store, id, read } = await waiting();
    await store.commit('acme', [{ kind: 'freezeWindow', window: freeze('prod') }]);
    expect((await approvePromotion(deps, admin, id)).status).toBe('APPROVED');
    const again = await approvePromotion(deps, { ...admin, breakGlassReason: 'hotfix' } as Ctx, id);
    expect(again.status).toBe('APPROVED');
    expect((await read()).freezeOverride ?? null).toBeNull();
  });
});
