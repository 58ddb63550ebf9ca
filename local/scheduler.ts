import type { RecurringSchedule, SchedulePayload } from '#domain/kernel/ports';
import { nextOccurrence } from '#domain/promotion/run/recurring-cron';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { reportError } from './terminal.ts';
import type { Scheduler } from '#domain/kernel/ports';
import { LocalClock } from './clock.ts';
import { CrashedError } from './crash.ts';

type Payload = SchedulePayload;
interface Entry {
  name: string;
  /** a one-time schedule's time; a recurring one's next firing (recomputed when it is armed) */
  at: string;
  payload: Payload;
  /** a recurring schedule: its calendar (kept after each firing, until cancelled) */
  recurring?: RecurringSchedule;
}

/**
 * The local stand-in for EventBridge Scheduler: schedules kept in a JSON file (so a
 * restarted stack still fires them), fired by timers into the same schedule-fire
 * handler the AWS schedules invoke, retried like the AWS retry policy when the
 * target fails. One-time schedules are deleted after they run; recurring ones (a
 * cron calendar in a time zone) are armed again for their next time, and a
 * disabled one keeps its calendar and fires nothing. Times are the stack's clock (local/clock.ts): a
 * schedule fires when that clock reaches it, whether the wall clock gets there or a test moves it.
 */
export class LocalScheduler implements Scheduler {
  private readonly entries = new Map<string, Entry>();
  /** each armed schedule's cancel (local/clock.ts `at`) */
  private readonly timers = new Map<string, () => void>();
  private stopped = false;
  private halted = false;
  private readonly clock: LocalClock;

  constructor(
    private readonly opts: { fire: (payload: Payload) => Promise<unknown>; file?: string; retryDelayMs?: number; maxRetries?: number; clock?: LocalClock },
  ) {
    this.clock = opts.clock ?? new LocalClock();
    if (opts.file && existsSync(opts.file)) {
      for (const e of JSON.parse(readFileSync(opts.file, 'utf8')) as Entry[]) this.entries.set(e.name, e);
    }
  }

  /** Arms every persisted schedule (after a restart). */
  resume(): void {
    for (const e of this.entries.values()) {
      // A calendar's time that passed while the stack was down is not caught up (nor is it on AWS): its next one is.
      if (e.recurring && Date.parse(e.at) < this.clock.now()) void this.scheduleRecurring(e.name, e.recurring, e.payload);
      else this.arm(e, 0);
    }
  }

  async scheduleOnce(name: string, at: Date, payload: Payload): Promise<void> {
    this.refuseWhenHalted();
    const e = { name, at: at.toISOString(), payload };
    this.entries.set(name, e);
    this.persist();
    this.arm(e, 0);
  }

  async scheduleRecurring(name: string, schedule: RecurringSchedule, payload: Payload): Promise<void> {
    this.refuseWhenHalted();
    const next = await nextOccurrence(schedule.cron, schedule.timeZone, this.clock.date());
    const e: Entry = { name, at: (next ?? new Date(8.64e15)).toISOString(), payload, recurring: { ...schedule } };
    this.entries.set(name, e);
    this.persist();
    this.arm(e, 0);
  }

  /** A schedule as it is kept (tests look at a recurring one's calendar and state). */
  describe(name: string): { at: string; payload: Payload; recurring?: RecurringSchedule } | undefined {
    const e = this.entries.get(name);
    return e && structuredClone({ at: e.at, payload: e.payload, ...(e.recurring ? { recurring: e.recurring } : {}) });
  }

  /**
   * Fires an enabled schedule now, as its time coming would (tests: a calendar's next time may be days
   * away); answers what the target answered, or undefined when there is no such enabled schedule. A
   * recurring schedule stays armed for its next time; a one-time one is gone after it ran.
   */
  async fireNow(name: string): Promise<unknown> {
    const e = this.entries.get(name);
    if (!e || (e.recurring && !e.recurring.enabled)) return undefined;
    const out = await this.opts.fire(e.payload);
    if (!e.recurring && this.entries.get(name) === e) {
      this.timers.get(name)?.();
      this.timers.delete(name);
      this.entries.delete(name);
      this.persist();
    }
    return out;
  }

  async cancel(name: string): Promise<void> {
    this.refuseWhenHalted();
    this.timers.get(name)?.();
    this.timers.delete(name);
    if (this.entries.delete(name)) this.persist();
  }

  /**
   * A crashed stack's scheduler takes nothing more: its work, cut off, is refused (a dead process's call never
   * returns as if done), so what that work did last is redone by whatever redelivers it, not lost in a silent no-op.
   */
  private refuseWhenHalted(): void {
    if (this.halted) throw new CrashedError('the scheduler');
  }

  /** A crash (local/crash.ts): stopped, and its file never written again. */
  halt(): void {
    this.halted = true;
    this.stop();
  }

  stop(): void {
    this.stopped = true;
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
  }

  pending(): string[] {
    return [...this.entries.keys()];
  }

  private arm(e: Entry, attempt: number): void {
    if (this.stopped) return;
    this.timers.get(e.name)?.();
    this.timers.delete(e.name);
    if (e.recurring && !e.recurring.enabled) return;
    const at = attempt > 0 ? this.clock.now() + (this.opts.retryDelayMs ?? 1000) : new Date(e.at).getTime();
    this.timers.set(
      e.name,
      this.clock.at(at, () => void this.run(e, attempt)),
    );
  }

  private async run(e: Entry, attempt: number): Promise<void> {
    if (this.stopped || this.entries.get(e.name) !== e) return;
    if (e.recurring) return this.runRecurring(e, attempt);
    try {
      await this.opts.fire(e.payload);
      // The target may have replaced this schedule while it ran (same name, new time): keep that one.
      if (this.entries.get(e.name) === e) {
        this.entries.delete(e.name);
        this.timers.delete(e.name);
        this.persist();
      }
    } catch (err) {
      if (attempt < (this.opts.maxRetries ?? 10)) this.arm(e, attempt + 1);
      else {
        reportError(`local scheduler: ${e.name} failed after ${attempt + 1} attempts`, err);
        this.entries.delete(e.name);
        this.persist();
      }
    }
  }

  /** A recurring schedule's firing: retried like a one-time one, then armed for the calendar's next time after this one. */
  private async runRecurring(e: Entry, attempt: number): Promise<void> {
    try {
      await this.opts.fire(e.payload);
    } catch (err) {
      if (attempt < (this.opts.maxRetries ?? 10)) return this.arm(e, attempt + 1);
      reportError(`local scheduler: ${e.name} failed after ${attempt + 1} attempts`, err);
    }
    if (this.stopped || this.entries.get(e.name) !== e) return;
    const next = await nextOccurrence(e.recurring!.cron, e.recurring!.timeZone, new Date(Math.max(this.clock.now(), Date.parse(e.at))));
    if (this.entries.get(e.name) !== e) return;
    const again: Entry = { ...e, at: (next ?? new Date(8.64e15)).toISOString() };
    this.entries.set(e.name, again);
    this.persist();
    this.arm(again, 0);
  }

  private persist(): void {
    if (!this.opts.file || this.halted) return;
    mkdirSync(dirname(this.opts.file), { recursive: true });
    const tmp = `${this.opts.file}.tmp`;
    writeFileSync(tmp, JSON.stringify([...this.entries.values()], null, 2));
    renameSync(tmp, this.opts.file);
  }
}
