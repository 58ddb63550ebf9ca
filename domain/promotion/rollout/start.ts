import { firstOf } from '../../kernel/display.ts';
import type { Environment } from '../../kernel/model.ts';
import type { Promotion, RolloutState } from '../../kernel/promotion-model.ts';
import type { StartWindow } from '../../kernel/target-schemas.ts';
import type { Deps, WriteOp, With } from '../../kernel/deps.ts';
import { ENGINE, patched } from '../aggregate.ts';
import { type Next } from '../terms/deadlines.ts';
import { waveCompletion } from '../run/complete.ts';
import { activeWindowOf, nextAllowedOf } from '../../freeze/windows.ts';
import { freezeOverridden } from '../../freeze/break-glass.ts';
import { scheduleName } from '../run/schedule-name.ts';
import { loadPromotion, promotionEvent, writePromotion } from '../write.ts';
import { rolloutLockSeconds } from './plan.ts';
import { planNames, waveSize } from '../terms/stored-plan.ts';
import { goOn } from './wave-go.ts';

/**
 * A wave starts (WaveStart): through the freeze, break-glass and start-window checks every wave start
 * shares (waveGate), or it waits saying why; halted before it, it parks.
 */

/** Whether `now` is inside one of the windows (none: any time), and if not, the next time one opens. */
export function windowAt(windows: readonly StartWindow[], now: Date): { open: boolean; opens: Date | null } {
  if (!windows.length) return { open: true, opens: null };
  const inside = (at: Date) => windows.some((w) => insideWindow(w, at));
  if (inside(now)) return { open: true, opens: null };
  // The next minute one opens, within a week (windows are by the minute).
  const start = Math.ceil(now.getTime() / 60_000) * 60_000;
  for (let m = 0; m <= 7 * 24 * 60; m++) {
    const at = new Date(start + m * 60_000);
    if (inside(at)) return { open: false, opens: at };
  }
  return { open: false, opens: null };
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

function insideWindow(w: StartWindow, at: Date): boolean {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: w.timezone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = get('weekday').toLowerCase().slice(0, 3);
  const minute = Number(get('hour')) * 60 + Number(get('minute'));
  const [sh, sm] = w.start.split(':').map(Number);
  const [eh, em] = w.end.split(':').map(Number);
  const from = sh! * 60 + sm!;
  const to = eh! * 60 + em!;
  if (from <= to) return w.days.includes(day as (typeof DAYS)[number]) && minute >= from && minute < to;
  // Spans midnight: the part after midnight belongs to the day before.
  if (minute >= from) return w.days.includes(day as (typeof DAYS)[number]);
  const before = DAYS[(DAYS.indexOf(day as (typeof DAYS)[number]) + 6) % 7]!;
  return minute < to && w.days.includes(before);
}

/**
 * WaveStart (a task-token wait, once per wave): a halted rollout keeps the token for resume; outside the
 * start windows the promotion says why and until when, and a schedule answers the token when a window
 * opens; otherwise the wave starts at once (the step answers its own token).
 */
export async function waveStartStep(deps: With<'workflow' | 'scheduler'>, tenant: string, id: string, wave: number, token: string): Promise<{ next: Next }> {
  const p = await loadPromotion(deps, tenant, id);
  if (p.status !== 'EXECUTING' || !p.rollout) {
    await deps.workflow.sendTaskFailure(token, 'RolloutStopped', `promotion is ${p.status}`);
    return { next: 'done' };
  }
  const env = await deps.store.getEnvironment(tenant, p.targetEnvironment);
  const now = deps.clock();
  // The lease is renewed with every wave (and kept through a halt or a start window: the renewal covers a day more).
  if (env) await deps.store.acquireLock(tenant, p.targetEnvironment, id, now, rolloutLockSeconds(env));
  const gate = await waveGate(deps, p, env, wave, now);
  // The wave before ended: every target of it DONE. A wave that ended otherwise (a target failed: the flow decides to
  // stop) is not complete, and no later wave starts after it. A DONE target changes again only by a rollback, which
  // writes its decision to stop on the promotion first, and the write below is conditioned on the promotion as read.
  const before = [...p.rollout.waves].reverse().find((w) => w.wave < wave);
  const unfinished = before ? await unfinishedTargets(deps, p, await planNames(deps.store, p, before.wave)) : [];
  const notDone = unfinished.length ? `wave ${before!.wave} did not complete: ${firstOf(unfinished)}` : null;
  let refused: string | null = null;
  const { after } = await writePromotion(deps, tenant, id, (cur) => {
    refused = null;
    if (cur.status !== 'EXECUTING' || !cur.rollout) return null;
    refused = cur.rollout.stopping ? `the rollout stopped: ${cur.rollout.stopping.reason}` : notDone;
    if (refused) return null;
    // This step runs when the wave before has ended (every target of it confirmed and baked): that wave is
    // complete now, whether this one starts, waits for a resume or waits for a start window or a freeze.
    // When this wave does not start now, the completion of the one before says why (its event's reason).
    const halted = cur.rollout.halted;
    const waits = halted
      ? `the rollout is halted by ${halted.by}${halted.reason ? ` (${halted.reason})` : ''}: wave ${wave} waits for a resume`
      : gate.open
        ? undefined
        : gate.reason;
    const done = waveCompletion(deps, cur, [...cur.rollout.waves].reverse().find((w) => w.wave < wave)?.wave, waits);
    const base: Promotion = done ? { ...cur, rollout: done.rollout } : cur;
    const rollout = base.rollout!;
    const ops = done?.ops ?? [];
    if (rollout.halted) return { next: { ...base, taskToken: token }, action: null, by: ENGINE, ops };
    if (!gate.open) {
      const waiting = { reason: gate.reason, until: gate.until, for: gate.for };
      return {
        next: patched(base, now, { taskToken: token, rollout: { ...rollout, waiting } }),
        action: 'promotion.wave.wait',
        by: ENGINE,
        reason: gate.for === 'start-window' ? `${waiting.reason}; opens ${waiting.until}` : waiting.reason,
        ops,
      };
    }
    // A retried step finds its wave started already: no second start (nor its event). A wave a resume started and did
    // not hand on yet (its token kept, handOn): this step hands it on below, with its own token, and clears the mark.
    if (rollout.wave >= wave && !rollout.waiting && rollout.handOn === wave)
      return { next: patched(cur, now, { taskToken: null, rollout: { ...cur.rollout, handOn: null } }), action: null, by: ENGINE };
    if (rollout.wave >= wave && !rollout.waiting && !cur.taskToken) return null;
    // A wave planned to pause: the rollout halts here, keeping the token for the release manager's resume.
    const paused = pausedBefore(base, wave, now, token);
    if (paused) return { ...paused, ops: [...ops, ...paused.ops] };
    const start = waveStarted(deps, base, wave, now);
    const prev = done?.rollout.completedWaves?.at(-1);
    return { ...start, reason: done ? `wave ${prev} complete; ${start.reason}` : start.reason, ops: [...ops, ...start.ops] };
  });
  const cur = after ?? (await loadPromotion(deps, tenant, id));
  if (refused || cur.status !== 'EXECUTING' || !cur.rollout || cur.rollout.stopping) {
    await deps.workflow.sendTaskFailure(token, 'RolloutStopped', refused ?? `promotion is ${cur.status}`);
    return { next: 'done' };
  }
  if (cur.rollout?.halted) return { next: 'await-go' };
  if (!gate.open) {
    await deps.scheduler.scheduleOnce(scheduleName(cur), new Date(cur.rollout!.waiting!.until), { tenant, promotionId: id });
    return { next: 'await-go' };
  }
  // An inline wave's token is answered; a wave of many targets starts its child execution with it (rollout/wave-run.ts).
  await goOn(deps, cur, wave, token);
  return { next: 'execute' };
}

/**
 * Whether a wave may start now, the one check every path that starts a wave goes through (WaveStart, a
 * resume, a start window's schedule): no freeze window over the environment (unless an admin broke glass
 * for this promotion) and inside the environment's start windows, if it has any. When it may not, the
 * reason a person reads and when to look again (the freeze's end, or the next start window).
 */
export async function waveGate(
  deps: Deps,
  p: Promotion,
  env: Environment | null,
  wave: number,
  now: Date,
  opts: { windowOpened?: boolean } = {},
): Promise<{ open: true } | { open: false; reason: string; until: string; for: 'start-window' | 'freeze' }> {
  if (!freezeOverridden(p)) {
    const windows = await deps.store.listFreezeWindows(p.tenant);
    const frozen = await activeWindowOf(windows, p.targetEnvironment, now);
    if (frozen) {
      const until = (await nextAllowedOf(windows, p.targetEnvironment, now)).toISOString();
      const reason = `wave ${wave} waits: '${p.targetEnvironment}' is frozen by window ${frozen.window.id} (${frozen.window.reason}) until ${until}`;
      return { open: false, reason, until, for: 'freeze' };
    }
  }
  // The schedule of a start window fires when the window opens: what the wave waited for is over.
  if (opts.windowOpened) return { open: true };
  const starts = env?.rollout?.startWindows ?? [];
  const window = windowAt(starts, now);
  if (window.open) return { open: true };
  const until = (window.opens ?? new Date(now.getTime() + 3600_000)).toISOString();
  return { open: false, reason: `wave ${wave} waits for a start window (${describeWindows(starts)})`, until, for: 'start-window' };
}

/** The targets (of `names`) that are not DONE, each with its state: a wave with any did not complete. */
async function unfinishedTargets(deps: Deps, p: Promotion, names: string[]): Promise<string[]> {
  const items = new Map((await deps.store.listRolloutTargets(p.tenant, p.id)).map((t) => [t.name, t.state]));
  return names.filter((n) => items.get(n) !== 'DONE').map((n) => `${n} ${items.get(n) ?? 'not changed'}`);
}

/** The wave a parked WaveStart task waits to start (halted, or outside the start windows): the one after the rollout's current wave. */
export const parkedWave = (r: RolloutState): number => r.waves.find((w) => w.wave > r.wave)?.wave ?? r.wave;

/**
 * The move that starts a wave: the rollout's wave, its audit entry and its event (`Promotion Wave Started`,
 * with the wave's targets). WaveStart makes it, and so do resume and a start window's schedule when they
 * answer a parked WaveStart task: `waited` says what the wave waited for (the event's reason, which the
 * wave-started notification shows).
 */
export function waveStarted(deps: Deps, cur: Promotion, wave: number, now: Date, rollout: Partial<RolloutState> = {}, waited?: string) {
  // A small plan's names (a large one's are in its pages, read with waveTargets: the reason counts them).
  const w = cur.rollout!.waves.find((x) => x.wave === wave);
  const targets = w?.targets ?? [];
  const next = patched(cur, now, { taskToken: null, rollout: { ...cur.rollout!, ...rollout, wave, waiting: null } });
  return {
    next,
    action: 'promotion.wave.start',
    by: ENGINE,
    reason: `wave ${wave}: ${w && !w.targets ? `${waveSize(w)} targets` : `${targets.slice(0, 50).join(', ')}${targets.length > 50 ? ` and ${targets.length - 50} more` : ''}`}`,
    ops: [promotionEvent(deps, 'Promotion Wave Started', next, { wave, targets, reason: waited })],
  };
}

/**
 * A wave the environment's rollout options pause before (`rollout.waves[].pause`): instead of starting,
 * the rollout halts (by Stageline, saying why) with the parked WaveStart token; resume starts the wave.
 * Null when the wave does not pause. Resume answers the token and starts the wave itself, so a paused
 * wave pauses once.
 */
export function pausedBefore(cur: Promotion, wave: number, now: Date, token: string) {
  if (!cur.rollout?.waves.find((w) => w.wave === wave)?.pause) return null;
  const reason = `wave ${wave} of ${cur.rollout.waves.length} is planned to pause before it starts: resume to start it`;
  const halted = { by: ENGINE.name, at: now.toISOString(), reason };
  return {
    next: patched(cur, now, { taskToken: token, rollout: { ...cur.rollout, waiting: null, halted } }),
    action: 'promotion.halt',
    by: ENGINE,
    reason,
    ops: [] as WriteOp[],
  };
}

const describeWindows = (ws: readonly StartWindow[]) => ws.map((w) => `${w.days.join(',')} ${w.start}-${w.end} ${w.timezone}`).join('; ');
