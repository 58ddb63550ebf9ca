import { describe, expect, it, vi } from 'vitest';
import { Frozen } from '../../domain/kernel/errors.ts';
import { approvePromotion } from '../../domain/promotion/decide/approve.ts';
import { cancelPromotion } from '../../domain/promotion/decide/cancel.ts';
import { freezeHold } from '../../domain/promotion/run/freeze-hold.ts';
import { memoryDeps, userCtx } from '../support/memory-deps.ts';
import { awaitingApproval } from '../support/memory-promotions.ts';
import { freezeOver } from '../support/store-contract/fixtures.ts';

/**
 * The freeze hold of an approved promotion about to execute, as the record shows it: the audit entry
 * and event of a hold or a cancellation, a hold moved on by a window that opened meanwhile, and a
 * promotion someone else moved on in the meantime left as they left it.
 */

const bob = userCtx('acme', 'bob', 'deployer', 'approver');
const carol = userCtx('acme', 'carol', 'approver');

/** dev → prod, a promotion of one config approved by carol, and a freeze window over prod from 08:00 to 12:00 (the clock: 09:00). */
async function approvedInFreeze(whenFrozen: 'wait' | 'fail') {
  const m = memoryDeps();
  const id = await awaitingApproval(m, { whenFrozen });
  await approvePromotion(m.deps, carol, id);
  await m.store.commit('acme', [{ kind: 'freezeWindow', window: freezeOver('prod', '2030-01-01T08:00:00.000Z', '2030-01-01T12:00:00.000Z') }]);
  const read = async () => (await m.store.getPromotion('acme', id))!;
  const lastAudit = async () => (await m.store.queryAudit('acme', { limit: 1, entityType: 'promotion' })).items[0];
  return { ...m, id, read, lastAudit };
}

const frozenBy = "'prod' is frozen by window frz_prod (release freeze) until 2030-01-01T12:00:00.000Z";

describe('the freeze hold, as the record shows it', () => {
  it('a cancellation is audited and announced with the reason naming the window', async () => {
    const { deps, store, id, read, lastAudit } = await approvedInFreeze('fail');
    expect((await freezeHold(deps, 'acme', id)).held).toEqual({ next: 'done' });
    const reason = `${frozenBy}; request it again after the window (or with "whenFrozen": "wait"), or an admin may break glass`;
    expect((await read()).status).toBe('CANCELLED');
    expect(await lastAudit()).toMatchObject({ action: 'promotion.cancel', entityId: id, reason });
    const cancelled = store.outbox('acme').filter((e) => e.type === 'Promotion Cancelled');
    expect(cancelled).toHaveLength(1);
    expect(cancelled[0]!.detail).toMatchObject({ reason });
  });

  it('a hold is audited with the window named and when it resumes', async () => {
    const { deps, id, lastAudit } = await approvedInFreeze('wait');
    await expect(freezeHold(deps, 'acme', id)).rejects.toThrow(Frozen);
    expect(await lastAudit()).toMatchObject({ action: 'promotion.hold', entityId: id, reason: `${frozenBy}; it resumes then` });
  });

  it('a held promotion that a window opened meanwhile still covers when it resumes is held on to that window’s end', async () => {
    const { deps, store, id, read, advance, schedules } = await approvedInFreeze('wait');
    await expect(freezeHold(deps, 'acme', id)).rejects.toThrow(Frozen);
    expect(await read()).toMatchObject({ status: 'SCHEDULED', scheduledAt: '2030-01-01T12:00:00.000Z' });
    await store.commit('acme', [{ kind: 'freezeWindow', window: freezeOver('prod', '2030-01-01T11:00:00.000Z', '2030-01-01T14:00:00.000Z', 'frz_late') }]);
    advance(3 * 3600);
    await expect(freezeHold(deps, 'acme', id)).rejects.toThrow(
      "'prod' is frozen by window frz_late (release freeze) until 2030-01-01T14:00:00.000Z: held until 2030-01-01T14:00:00.000Z",
    );
    expect(await read()).toMatchObject({
      status: 'SCHEDULED',
      scheduledAt: '2030-01-01T14:00:00.000Z',
      heldBy: { window: 'frz_late', reason: 'release freeze', until: '2030-01-01T14:00:00.000Z' },
    });
    expect([...schedules.values()]).toContainEqual({ at: new Date('2030-01-01T14:00:00.000Z'), payload: { tenant: 'acme', promotionId: id } });
  });

  it('reads the promotion once: its write decides on the read that found the window', async () => {
    const { deps, store, id } = await approvedInFreeze('fail');
    const reads = vi.spyOn(store, 'getPromotion');
    await freezeHold(deps, 'acme', id);
    expect(reads).toHaveBeenCalledTimes(1);
  });

  it('a promotion cancelled by someone else between the read and the write is left as they left it', async () => {
    const { deps, store, id, read, lastAudit } = await approvedInFreeze('fail');
    const getPromotion = store.getPromotion.bind(store);
    let raced = false;
    vi.spyOn(store, 'getPromotion').mockImplementation(async (tenant, pid) => {
      const p = await getPromotion(tenant, pid);
      if (!raced) {
        raced = true;
        await cancelPromotion(deps, bob, id, 'not today');
      }
      return p;
    });
    expect((await freezeHold(deps, 'acme', id)).held).toEqual({ next: 'done' });
    const p = await read();
    expect(p.status).toBe('CANCELLED');
    expect(p.error?.code).not.toBe('FROZEN');
    expect(await lastAudit()).toMatchObject({ action: 'promotion.cancel', actor: bob.principal.id, reason: 'not today' });
    expect(store.outbox('acme').filter((e) => e.type === 'Promotion Cancelled')).toHaveLength(1);
  });
});
