import type { SchedulePayload } from '#domain/kernel/ports';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { reportError } from './terminal.ts';
import type { Scheduler } from '#domain/kernel/ports';

type Payload = SchedulePayload;
interface Entry {
  name: string;
  at: string;
  payload: Payload;
}

/** Longest delay a Node timer takes (about 24.8 days); a later schedule re-arms when it wakes. */
const MAX_DELAY = 2 ** 31 - 1;

/**
 * The local stand-in for EventBridge Scheduler: one-time schedules kept in a
 * JSON file (so a restarted stack still fires them), fired by timers into the
 * same schedule-fire handler the AWS schedules invoke, retried like the AWS
 * retry policy when the target fails, and deleted after they run.
 */
export class LocalScheduler implements Scheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly opts: { fire: (payload: Payload) => Promise<unknown>; file?: string; retryDelayMs?: number; maxRetries?: number }) {
    if (opts.file && existsSync(opts.file)) {
      for (const e of JSON.parse(readFileSync(opts.file, 'utf8')) as Entry[]) this.entries.set(e.name, e);
    }
  }

  /** Arms every persisted schedule (after a restart). */
  resume(): void {
    for (const e of this.entries.values()) this.arm(e, 0);
  }

  async scheduleOnce(name: string, at: Date, payload: Payload): Promise<void> {
    const e = { name, at: at.toISOString(), payload };
    this.entries.set(name, e);
    this.persist();
    this.arm(e, 0);
  }

  async cancel(name: string): Promise<void> {
    clearTimeout(this.timers.get(name));
    this.timers.delete(name);
    if (this.entries.delete(name)) this.persist();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  pending(): string[] {
    return [...this.entries.keys()];
  }

  private arm(e: Entry, attempt: number): void {
    if (this.stopped) return;
    clearTimeout(this.timers.get(e.name));
    const wait = attempt > 0 ? (this.opts.retryDelayMs ?? 1000) : Math.max(0, new Date(e.at).getTime() - Date.now());
    const timer = setTimeout(
      () => {
        if (wait > MAX_DELAY) return this.arm(e, attempt);
        void this.run(e, attempt);
      },
      Math.min(wait, MAX_DELAY),
    );
    timer.unref();
    this.timers.set(e.name, timer);
  }

  private async run(e: Entry, attempt: number): Promise<void> {
    if (this.stopped || this.entries.get(e.name) !== e) return;
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

  private persist(): void {
    if (!this.opts.file) return;
    mkdirSync(dirname(this.opts.file), { recursive: true });
    const tmp = `${this.opts.file}.tmp`;
    writeFileSync(tmp, JSON.stringify([...this.entries.values()], null, 2));
    renameSync(tmp, this.opts.file);
  }
}
