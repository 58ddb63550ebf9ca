import { describe, expect, it } from 'vitest';
import { duration, soakAsked, soakBlockers, soakHoldOf, type SoakState } from '../../domain/promotion/run/soak.ts';
import { utcTime } from '../../domain/kernel/display.ts';
import type { Deps } from '../../domain/kernel/deps.ts';
import type { Policy } from '../../domain/kernel/promotion-model.ts';

const policy = (soakSeconds?: number): Policy => ({
  ruleId: soakSeconds === undefined ? null : 'rule_1',
  requiresApproval: false,
  requiredApprovers: 0,
  approverGroups: ['approver'],
  separationOfDuties: true,
  approvalExpirySeconds: 86_400,
  ...(soakSeconds === undefined ? {} : { soakSeconds }),
});

describe('soak', () => {
  it("takes the rule's soak over the target's (0 on the rule: none), none for a rollback", () => {
    expect(soakAsked({ policy: policy(), soakSeconds: 3600, rollback: null })).toEqual({ seconds: 3600, from: 'environment' });
    expect(soakAsked({ policy: policy(600), soakSeconds: 3600, rollback: null })).toEqual({ seconds: 600, from: 'rule' });
    expect(soakAsked({ policy: policy(0), soakSeconds: 3600, rollback: null })).toBeNull();
    expect(soakAsked({ policy: policy(), rollback: null })).toBeNull();
    expect(soakAsked({ policy: policy(600), soakSeconds: 3600, rollback: { reason: 'x' } as never })).toBeNull();
  });

  it('restarts from the last alarm after the release went live (on the environment, or on a promotion it rolled back there), not one before', async () => {
    const alarm = { arn: 'arn:aws:cloudwatch:us-east-1:1:alarm:a/p99', name: 'a/p99', reason: 'p99 high', at: '2026-11-25T10:30:00.000Z' };
    const rolled = { ...alarm, name: 'a/5xx', reason: '', at: '2026-11-25T10:40:00.000+0000' };
    const asked: unknown[] = [];
    const deps = {
      store: {
        listPromotions: async (...args: unknown[]) => (asked.push(args), { items: [{ monitorAlarm: rolled }, { monitorAlarm: null }], next: null }),
      },
    } as unknown as Deps;
    const staging = { tenant: 'acme', name: 'staging', lastAlarm: alarm };
    expect(await soakBlockers(deps, staging, '2026-11-25T10:00:00.000Z')).toEqual([
      { at: alarm.at, what: 'alarm a/p99 (p99 high)' },
      { at: '2026-11-25T10:40:00.000Z', what: 'alarm a/5xx' },
    ]);
    expect(asked[0]).toEqual(['acme', { status: ['ROLLED_BACK'], target: 'staging' }, 20]);
    expect(await soakBlockers(deps, staging, '2026-11-25T11:00:00.000Z')).toEqual([]);
    expect(await soakBlockers(deps, null, '2026-11-25T11:00:00.000Z')).toEqual([]);
  });

  it('says how far it has soaked and until when', () => {
    const state: SoakState = {
      environment: 'staging',
      seconds: 3600,
      from: 'environment',
      live: '2026-11-25T13:32:00.000Z',
      blocker: null,
      since: '2026-11-25T13:32:00.000Z',
      until: new Date('2026-11-25T14:32:00.000Z'),
      done: 2700,
    };
    expect(soakHoldOf(state)).toEqual({
      soak: { environment: 'staging', seconds: 3600, since: '2026-11-25T13:32:00.000Z', from: 'environment' },
      reason: 'soaking in staging until 14:32 UTC: 45 min of 60 min done',
      until: '2026-11-25T14:32:00.000Z',
    });
    expect(soakHoldOf({ ...state, live: null, since: null, done: 0 }).reason).toBe(
      'soaking in staging until 14:32 UTC: 0 s of 60 min done; the release has not run in staging yet',
    );
    // A hold that ends at 14:32:52 never reads 14:32, which is before it ends.
    expect(soakHoldOf({ ...state, until: new Date('2026-11-25T14:32:52.000Z') }).reason).toBe('soaking in staging until 14:32:52 UTC: 45 min of 60 min done');
    expect([utcTime('2026-11-25T04:26:00.000Z'), utcTime('2026-11-25T04:26:52.900Z'), utcTime(new Date('2026-11-25T04:26:52Z'), { date: true })]).toEqual([
      '04:26 UTC',
      '04:26:52 UTC',
      '2026-11-25 04:26:52 UTC',
    ]);
    expect([duration(45), duration(7500), duration(3 * 86_400 + 4 * 3600)]).toEqual(['45 s', '2 h 5 min', '3 d 4 h']);
  });
});
