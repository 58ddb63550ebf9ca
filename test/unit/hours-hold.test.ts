import { describe, expect, it } from 'vitest';
import { updateEnvironment } from '../../domain/config/environments.ts';
import { Frozen } from '../../domain/kernel/errors.ts';
import { updateEnvironment as updateSchema } from '../../domain/kernel/schemas.ts';
import { approvePromotion } from '../../domain/promotion/decide/approve.ts';
import { blockedBecause } from '../../domain/promotion/status.ts';
import { heldLine } from '../../cli/follow.ts';
import { executeStep } from '../../domain/promotion/step/steps.ts';
import { scheduleName } from '../../domain/promotion/run/schedule-name.ts';
import { memoryDeps, userCtx } from '../support/memory-deps.ts';
import { awaitingApproval } from '../support/memory-promotions.ts';

/**
 * The allowed-hours hold (domain/promotion/run/hours-hold.ts) on the memory store: a promotion about to execute
 * outside prod's hours waits SCHEDULED until the next opening, its schedule set then, audited once; at the opening
 * it executes; an admin's break-glass lets one past; one already executing is never stopped.
 */

const carol = userCtx('acme', 'carol', 'approver');
const admin = userCtx('acme', 'alice', 'admin');
const office = { timeZone: 'Europe/Berlin', windows: [{ cron: '0 9 * * 1-5', durationMinutes: 480 }] };
const monday = '2030-01-07T08:00:00.000Z';
const reason = `outside prod's allowed hours (Mon–Fri 09:00–17:00 Europe/Berlin): goes at ${monday}`;

/** dev → prod with office hours on prod (and a bake, so an execution stays EXECUTING), approved on Saturday 2030-01-05 at 10:00 Berlin. */
async function approvedOnSaturday(approver = carol) {
  const m = memoryDeps(new Date('2030-01-05T09:00:00.000Z'));
  const id = await awaitingApproval(m, { prod: { allowedHours: office, bakeSeconds: 600 } });
  await approvePromotion(m.deps, approver, id);
  const read = async () => (await m.store.getPromotion('acme', id))!;
  const audited = async (action: string) =>
    (await m.store.queryAudit('acme', { limit: 100, entityType: 'promotion' })).items.filter((e) => e.action === action);
  return { ...m, id, read, audited };
}

describe('allowed hours', () => {
  it('hold a promotion outside them until the next opening (SCHEDULED, heldBy, a schedule, audited once); at the opening it executes', async () => {
    const { deps, id, read, audited, schedules, advance } = await approvedOnSaturday();
    await expect(executeStep(deps, 'acme', id, true)).rejects.toThrow(new Frozen(`${reason}: held until ${monday}`));
    expect(await read()).toMatchObject({
      status: 'SCHEDULED',
      scheduledAt: monday,
      taskToken: null,
      heldBy: { hours: { environment: 'prod', summary: 'Mon–Fri 09:00–17:00 Europe/Berlin' }, reason, until: monday },
    });
    expect(schedules.get(scheduleName({ tenant: 'acme', id }))).toMatchObject({ at: new Date(monday), payload: { tenant: 'acme', promotionId: id } });
    expect(await audited('promotion.outside-hours')).toMatchObject([{ entityId: id, reason }]);
    // The status page and the CLI say why it waits and until when.
    expect(blockedBecause(await read(), deps.clock())).toBe(reason);
    expect(heldLine({ heldBy: (await read()).heldBy ?? null })).toBe(`${reason}; it goes on by itself then`);

    // Woken early (Sunday): held again to the same opening, not audited again.
    advance(24 * 3600);
    await expect(executeStep(deps, 'acme', id, true)).rejects.toBeInstanceOf(Frozen);
    expect(await audited('promotion.outside-hours')).toHaveLength(1);

    // Monday 09:00 Berlin: it executes.
    advance(47 * 3600);
    expect(await executeStep(deps, 'acme', id, true)).toEqual({ next: 'execute' });
    expect(await read()).toMatchObject({ status: 'EXECUTING' });

    // The window closes while it executes (baking): it is not stopped.
    advance(12 * 3600);
    expect(await executeStep(deps, 'acme', id, true)).toEqual({ next: 'execute' });
    expect((await read()).status).toBe('EXECUTING');
  });

  it('let an admin’s break-glass past them, recorded and audited', async () => {
    const glass = { ...userCtx('acme', 'dana', 'approver', 'admin'), breakGlassReason: 'hotfix for the weekend outage' };
    const { deps, id, read, audited } = await approvedOnSaturday(glass);
    expect((await read()).freezeOverride).toMatchObject({ by: 'dana@acme.test', reason: 'hotfix for the weekend outage' });
    expect(await audited('breakglass.promotion.approve')).toHaveLength(1);
    expect(await executeStep(deps, 'acme', id, true)).toEqual({ next: 'execute' });
    expect((await read()).status).toBe('EXECUTING');
    expect(await audited('promotion.outside-hours')).toHaveLength(0);
  });

  it('are kept by a partial update and removed by null', async () => {
    const { deps, store } = await approvedOnSaturday();
    const prod = async () => (await store.getEnvironment('acme', 'prod'))!;
    const v = (await prod()).version;
    await updateEnvironment(deps, admin, 'prod', await updateSchema.parseAsync({ version: v, description: 'production' }));
    expect((await prod()).allowedHours).toEqual(office);
    await updateEnvironment(deps, admin, 'prod', await updateSchema.parseAsync({ version: v + 1, allowedHours: null }));
    expect((await prod()).allowedHours).toBeUndefined();
  });
});
