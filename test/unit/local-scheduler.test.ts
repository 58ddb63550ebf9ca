import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalScheduler } from '../../local/scheduler.ts';
import { LocalClock } from '../../local/clock.ts';
import type { SchedulePayload } from '../../domain/kernel/ports.ts';

const payload: SchedulePayload = { tenant: 'acme', recurring: 'train' };
const fired: SchedulePayload[] = [];
const stopped: LocalScheduler[] = [];
const make = (file: string) => {
  const s = new LocalScheduler({ fire: async (p) => void fired.push(p), file });
  stopped.push(s);
  return s;
};
/** Lets the timers' callbacks and the promises they start run. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await vi.advanceTimersByTimeAsync(0);
};

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-25T09:01:00Z') });
  fired.length = 0;
});
afterEach(() => {
  for (const s of stopped.splice(0)) s.stop();
  vi.useRealTimers();
});

describe('the local scheduler: recurring schedules (a cron calendar in a time zone)', () => {
  it('fires at each time of the calendar and stays armed for the next, kept in its file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sched-')), 'schedules.json');
    const s = make(file);
    await s.scheduleRecurring('train', { cron: '*/5 * * * *', timeZone: 'UTC', enabled: true }, payload);
    expect(s.describe('train')).toMatchObject({ at: '2026-11-25T09:05:00.000Z', recurring: { cron: '*/5 * * * *', enabled: true } });
    await vi.advanceTimersByTimeAsync(3 * 60_000);
    expect(fired).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(60_000 + 1);
    await settle();
    expect(fired).toEqual([payload]);
    expect(s.describe('train')?.at).toBe('2026-11-25T09:10:00.000Z');
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    await settle();
    expect(fired).toHaveLength(2);
    const kept = JSON.parse(readFileSync(file, 'utf8')) as { name: string; at: string; recurring: unknown }[];
    expect(kept).toEqual([expect.objectContaining({ name: 'train', at: '2026-11-25T09:15:00.000Z', recurring: expect.objectContaining({ enabled: true }) })]);
  });

  it('a disabled one fires nothing, by the clock or when fired now; enabled again it fires', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sched-')), 'schedules.json');
    const s = make(file);
    await s.scheduleRecurring('train', { cron: '*/5 * * * *', timeZone: 'UTC', enabled: false }, payload);
    await vi.advanceTimersByTimeAsync(30 * 60_000);
    await settle();
    expect(await s.fireNow('train')).toBeUndefined();
    expect(fired).toHaveLength(0);
    expect(s.pending()).toEqual(['train']);
    await s.scheduleRecurring('train', { cron: '*/5 * * * *', timeZone: 'UTC', enabled: true }, payload);
    await vi.advanceTimersByTimeAsync(5 * 60_000 + 1);
    await settle();
    expect(fired).toEqual([payload]);
    await s.cancel('train');
    expect(s.pending()).toEqual([]);
  });

  it('a restarted scheduler arms what its file keeps, and does not catch up a time that passed while it was down', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sched-')), 'schedules.json');
    const first = make(file);
    await first.scheduleRecurring('train', { cron: '0 9 * * *', timeZone: 'Europe/Berlin', enabled: true }, payload);
    expect(first.describe('train')?.at).toBe('2026-11-26T08:00:00.000Z');
    first.stop();
    // Down for two days: the two 09:00s that passed are not fired; the next one is armed.
    vi.setSystemTime(new Date('2026-11-28T12:00:00Z'));
    const again = make(file);
    again.resume();
    await settle();
    expect(fired).toHaveLength(0);
    expect(again.describe('train')?.at).toBe('2026-11-29T08:00:00.000Z');
    await vi.advanceTimersByTimeAsync(20 * 3600_000 + 1);
    await settle();
    expect(fired).toEqual([payload]);
  });
});

describe("the local scheduler on the stack's clock (local/clock.ts)", () => {
  it('fires a schedule when the clock is moved to its time, not before, without waiting for the wall; a recurring one is armed for its next time on that clock', async () => {
    vi.useRealTimers();
    const clock = new LocalClock();
    const s = new LocalScheduler({ fire: async (p) => void fired.push(p), clock });
    stopped.push(s);
    await s.scheduleOnce('once', new Date(clock.now() + 3600_000), payload);
    await new Promise((r) => setTimeout(r, 50));
    expect(fired).toHaveLength(0);
    clock.advance(3599_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(fired).toHaveLength(0);
    clock.advance(1_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(fired).toEqual([payload]);
    expect(s.pending()).toEqual([]);

    await s.scheduleRecurring('train', { cron: '0 9 * * *', timeZone: 'UTC', enabled: true }, payload);
    const first = Date.parse(s.describe('train')!.at);
    clock.advanceTo(first);
    for (let i = 0; i < 100 && Date.parse(s.describe('train')!.at) === first; i++) await new Promise((r) => setTimeout(r, 5));
    expect(fired).toHaveLength(2);
    expect(Date.parse(s.describe('train')!.at) - first).toBe(24 * 3600_000);
  });
});
