import { describe, expect, it, vi } from 'vitest';
import type { FreezeWindow } from '../../domain/freeze/model.ts';
import { activeWindowOf, nextAllowedOf, upcomingWindowOf } from '../../domain/freeze/windows.ts';

/** cron-parser (and luxon with it) is loaded only for windows that recur: a tenant with none never loads it. */

const loads = vi.hoisted(() => ({ count: 0 }));
vi.mock('cron-parser', async (original) => {
  loads.count++;
  return original();
});

const window = (patch: Partial<FreezeWindow>): FreezeWindow => ({
  id: 'frz_1',
  tenant: 'acme',
  scope: 'prod',
  reason: 'release freeze',
  kind: 'once',
  start: '2030-01-01T08:00:00.000Z',
  end: '2030-01-01T12:00:00.000Z',
  createdBy: 'alice',
  createdAt: '2029-12-31T00:00:00.000Z',
  ...patch,
});

describe('the cron parser for freeze windows', () => {
  it('is not loaded for windows that are only once, and is for one that recurs', async () => {
    const t = new Date('2030-01-01T09:00:00.000Z');
    const onlyOnce = [window({}), window({ id: 'frz_2', start: '2030-01-02T08:00:00.000Z', end: '2030-01-02T12:00:00.000Z' })];
    expect((await activeWindowOf(onlyOnce, 'prod', t))?.window.id).toBe('frz_1');
    expect((await upcomingWindowOf(onlyOnce, 'prod', t))?.window.id).toBe('frz_2');
    expect(await nextAllowedOf(onlyOnce, 'prod', t)).toEqual(new Date('2030-01-01T12:00:00.000Z'));
    expect(await activeWindowOf([], 'prod', t)).toBeNull();
    expect(loads.count).toBe(0);
    const nightly = window({ id: 'frz_night', kind: 'recurring', start: undefined, end: undefined, cron: '0 22 * * *', endCron: '0 6 * * *', timezone: 'UTC' });
    expect((await activeWindowOf([...onlyOnce, nightly], 'prod', new Date('2030-01-01T23:00:00.000Z')))?.window.id).toBe('frz_night');
    expect(loads.count).toBe(1);
  });
});
