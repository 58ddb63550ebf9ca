import { inLambda } from './faults.ts';

/**
 * The local stack's clock: what the handlers read (deps.clock), what the local scheduler fires schedules by
 * and what the local workflow runner's Wait states and task-token time-outs wait for. It runs with the wall
 * clock, plus an offset a test (or a person at a local stack) moves forward with `advance`: a soak of an hour,
 * a freeze window's end or a re-check minutes away comes at once, and every timer armed on this clock is armed
 * again for its new time. Never the time of a deployed function (refused in a Lambda, like the fault plan):
 * there AWS keeps the time.
 *
 * People's tokens, idempotency records and the stream poller keep the wall clock: they are the edge, not the
 * domain's time.
 */
export class LocalClock {
  private offsetMs = 0;
  private readonly listeners = new Set<() => void>();

  constructor() {
    if (inLambda()) throw new Error('the settable clock is for the local stack only: a deployed function reads the time AWS keeps');
  }

  /** Milliseconds since the epoch, as this clock reads them. */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  date(): Date {
    return new Date(this.now());
  }

  /** How far ahead of the wall clock this clock is, ms. */
  get offset(): number {
    return this.offsetMs;
  }

  /** Moves the clock forward (never back: what was armed for a time that came has fired); every timer on it is armed again. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`the clock moves forward only: advance(${ms})`);
    this.offsetMs += ms;
    for (const listener of [...this.listeners]) listener();
  }

  /** Moves the clock to a time (at least now). */
  advanceTo(at: Date | number): void {
    this.advance(Math.max(0, (typeof at === 'number' ? at : at.getTime()) - this.now()));
  }

  /**
   * Like setTimeout, for a time on this clock: fires when the clock reads `at` or later, whether the wall
   * clock gets there or `advance` does. Answers a function that cancels it.
   */
  at(at: number, fire: () => void): () => void {
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    // Always on a timer, never inside the caller (or inside advance): a time that has come fires on the next turn, as a timer of 0 does.
    const arm = () => {
      if (done) return;
      clearTimeout(timer);
      const wait = Math.max(0, at - this.now());
      // A Node timer waits at most about 24.8 days; a later time is armed again when it wakes.
      timer = setTimeout(
        () => {
          if (done) return;
          if (this.now() < at) return arm();
          cancel();
          fire();
        },
        Math.min(wait, 2 ** 31 - 1),
      );
      timer.unref();
    };
    const cancel = () => {
      done = true;
      clearTimeout(timer);
      this.listeners.delete(arm);
    };
    this.listeners.add(arm);
    arm();
    return cancel;
  }
}
