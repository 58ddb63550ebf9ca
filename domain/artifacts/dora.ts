import type { MetricDelta } from './ports.ts';

/**
 * DORA's five software delivery metrics, per environment (and summed over the line), from O(1) counters
 * written in the same transaction that ends a promotion (domain/promotion/run/end.ts) — nothing scans
 * history when they are read. The definitions follow DORA's published ones (docs/reference/dora.md):
 *
 * - deployment frequency: deployments into the environment per day of the range (the `deployments` counter:
 *   every deployment record, a promotion's or a CD pipeline's, and an execution that failed before it recorded one);
 * - change lead time: from a change's first appearance in the line to its deployment here (`leadMs`/`leadCount`);
 * - change fail rate: deployments that failed or were rolled back (by an alarm, a failed verification, or a
 *   later rollback) over deployments (`changeFailed`, added once per deployment when it becomes FAILED or ROLLED_BACK);
 * - failed deployment recovery time: from a failed or rolled-back promotion to the next successful promotion
 *   into the same environment (`recoveryMs`/`recoveryCount`); a rollback promotion of a change that had
 *   completed recovers from when that change went live;
 * - deployment rework rate: deployments that were not planned over deployments (`rework`): rollback promotions
 *   that completed, and fix-forwards — a successful promotion that is not a rollback, ending within
 *   {@link FIX_FORWARD_HOURS} hours of a failed or rolled-back promotion into the same environment while that
 *   failure was still unrecovered.
 *
 * Whether the environment has an unrecovered failure is itself two counters on one item of the environment's
 * metrics partition (day {@link OPEN_FAILURE_DAY}): `open` (0 or 1) and `sinceMs` (when it began, ms since the
 * epoch), moved with ADD like every counter (opened: +1, +t; recovered: −1, −t). Promotions into one
 * environment end one at a time (the environment's lease), and each end reads the item again on every retry.
 */
export const FIX_FORWARD_HOURS = 24;

/** The day key of an environment's open-failure counters (sk `D#open`: outside every yyyy-mm-dd range a read asks for). */
export const OPEN_FAILURE_DAY = 'open';

/** An environment's unrecovered failure, from its counters (null when none). */
export function openFailureOf(counters: Record<string, number> | undefined): { sinceMs: number } | null {
  if (!counters || !((counters.open ?? 0) > 0)) return null;
  return { sinceMs: (counters.sinceMs ?? 0) / (counters.open ?? 1) };
}

export interface PromotionEnd {
  environment: string;
  /** how the promotion ended */
  outcome: 'COMPLETED' | 'FAILED' | 'ROLLED_BACK';
  /** it was a rollback promotion (of a promotion or of the environment) */
  rollback: boolean;
  /** when it ended */
  at: Date;
  /** for a rollback of a promotion that had completed: when that promotion went live */
  undoneLiveAt?: string | null;
}

/**
 * What a promotion's end adds to its environment's DORA counters: the day's counters (recovery, rework)
 * and the change to the open-failure item. Pure: the caller reads the open failure and writes the deltas
 * in the promotion's transaction. An end that changes nothing of either returns no delta for it.
 */
export function doraDeltas(end: PromotionEnd, open: { sinceMs: number } | null): { figures: Record<string, number>; deltas: MetricDelta[] } {
  const t = end.at.getTime();
  const day = end.at.toISOString().slice(0, 10);
  const figures: Record<string, number> = {};
  const state: Record<string, number> = {};
  if (end.outcome !== 'COMPLETED') {
    // A failure opens one (a second failure before a recovery keeps the first one's start).
    if (!open) Object.assign(state, { open: 1, sinceMs: t });
  } else {
    let from: number | null = null;
    if (open) {
      from = open.sinceMs;
      Object.assign(state, { open: -1, sinceMs: -open.sinceMs });
    } else if (end.rollback && end.undoneLiveAt) {
      from = new Date(end.undoneLiveAt).getTime();
    }
    if (from !== null && Number.isFinite(from)) {
      figures.recoveryMs = Math.max(0, t - from);
      figures.recoveryCount = 1;
    }
    if (end.rollback) figures.rework = 1;
    else if (open && t - open.sinceMs <= FIX_FORWARD_HOURS * 3_600_000) {
      figures.rework = 1;
      figures.fixForward = 1;
    }
  }
  const deltas: MetricDelta[] = [];
  if (Object.keys(figures).length) deltas.push({ environment: end.environment, day, add: figures });
  if (Object.keys(state).length) deltas.push({ environment: end.environment, day: OPEN_FAILURE_DAY, add: state });
  return { figures, deltas };
}

/** The counters the five are read from, summed over a range (an environment's, or the line's). */
export interface DoraSums {
  deployments: number;
  changeFailed: number;
  leadMs: number;
  leadCount: number;
  recoveryMs: number;
  recoveryCount: number;
  rework: number;
}

export const DORA_COUNTERS = ['deployments', 'changeFailed', 'leadMs', 'leadCount', 'recoveryMs', 'recoveryCount', 'rework'] as const;

export const emptyDora = (): DoraSums => ({ deployments: 0, changeFailed: 0, leadMs: 0, leadCount: 0, recoveryMs: 0, recoveryCount: 0, rework: 0 });

export function addDora(a: DoraSums, c: Partial<Record<string, number>> | DoraSums): DoraSums {
  const from = c as Partial<Record<string, number>>;
  for (const k of DORA_COUNTERS) a[k] += from[k] ?? 0;
  return a;
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * The five, over `days` days. Rates are 0..1 (null with no deployment); times are null when nothing was measured.
 * Times in hours are for reading (2 decimals: 36 seconds apart); the same times in seconds are to the second,
 * from the exact durations (never from the rounded hours): what a scraper and a dashboard compute with.
 */
export function doraFigures(s: DoraSums, days: number) {
  const lead = s.leadCount ? s.leadMs / s.leadCount : null;
  const recovery = s.recoveryCount ? s.recoveryMs / s.recoveryCount : null;
  return {
    deploymentFrequencyPerDay: days > 0 ? round(s.deployments / days, 4) : 0,
    leadTimeHours: lead === null ? null : round(lead / 3_600_000, 2),
    leadTimeSeconds: lead === null ? null : Math.round(lead / 1000),
    changeFailureRate: s.deployments ? round(Math.min(1, s.changeFailed / s.deployments), 4) : null,
    recoveryTimeHours: recovery === null ? null : round(recovery / 3_600_000, 2),
    recoveryTimeSeconds: recovery === null ? null : Math.round(recovery / 1000),
    reworkRate: s.deployments ? round(Math.min(1, s.rework / s.deployments), 4) : null,
    deployments: s.deployments,
    changeFailures: s.changeFailed,
    recoveries: s.recoveryCount,
    reworkDeployments: s.rework,
  };
}
export type DoraFigures = ReturnType<typeof doraFigures>;

/** Days from `from` to `to` inclusive (yyyy-mm-dd). */
export const daysBetween = (from: string, to: string) =>
  Math.round((new Date(`${to}T00:00:00Z`).getTime() - new Date(`${from}T00:00:00Z`).getTime()) / 86_400_000) + 1;
