import { evaluateCondition, type AnalysisTemplate } from './template.ts';

/**
 * Judging measurements, with Argo Rollouts' rules:
 *
 * - one measurement (judge): a failureCondition that holds → Failed; else a successCondition that holds →
 *   Successful. With only a successCondition, its being false is Failed; with only a failureCondition,
 *   its being false is Successful; with both and neither true → Inconclusive. A condition that cannot be
 *   evaluated (an index out of range) is an Error. A query that answered no value at all is
 *   Inconclusive (Stageline's rule: Argo leaves that to the expression).
 * - a run (verdict), over every measurement taken: Failed once failed > failureLimit, Inconclusive once
 *   inconclusive > inconclusiveLimit, Error once consecutive errors > consecutiveErrorLimit (checked in
 *   this order, the later winning when several trip, as Argo does); else Successful once `count`
 *   measurements were taken (errors are not counted: a measurement that errs is taken again); else Running.
 */

export type MeasurementPhase = 'Successful' | 'Failed' | 'Inconclusive' | 'Error';

/** Values a measurement keeps (the first is its `value`). */
export const MAX_VALUES = 50;
/** Characters of an error message a measurement keeps. */
export const MAX_ERROR = 300;
/** Measurements a run keeps (the older ones are only counted in its tally). */
export const MAX_MEASUREMENTS = 50;

export interface Measurement {
  /** when it was taken (ISO 8601) */
  at: string;
  phase: MeasurementPhase;
  /** the first value (what `result` was), null when the query answered none or failed */
  value: number | null;
  /** every value, at most MAX_VALUES */
  values?: number[];
  /** why it is an Error, at most MAX_ERROR characters (never a secret) */
  error?: string;
}

/** What every measurement of a run came to, the ones no longer kept included. */
export interface Tally {
  successful: number;
  failed: number;
  inconclusive: number;
  error: number;
  /** errors since the last measurement that was not one */
  consecutiveErrors: number;
}

export type RunPhase = 'Running' | 'Successful' | 'Failed' | 'Inconclusive' | 'Error';

export interface AnalysisRun {
  /** the template's name */
  template: string;
  /** the target measured, when the run is per target */
  target?: string;
  scope: 'bake' | 'pre-promotion' | 'canary';
  startedAt: string;
  /** the last MAX_MEASUREMENTS measurements, oldest first */
  measurements: Measurement[];
  /** how many older measurements were dropped from `measurements` (their phases stay in the tally) */
  dropped?: number;
  tally?: Tally;
  phase: RunPhase;
  message?: string;
  /** the conditions judged by, as they were when the run started */
  thresholds?: { success?: string; failure?: string };
}

type Judged = Pick<AnalysisTemplate, 'successCondition' | 'failureCondition'>;
type Limits = Pick<AnalysisTemplate, 'count' | 'failureLimit' | 'inconclusiveLimit' | 'consecutiveErrorLimit'>;

/** One measurement's phase from the values its query answered (see the rules above). */
export function judge(template: Judged, values: number[]): { phase: MeasurementPhase; value: number | null; error?: string } {
  const value = values[0] ?? null;
  if (values.length === 0) return { phase: 'Inconclusive', value };
  const { successCondition: success, failureCondition: failure } = template;
  let succeeded = false;
  let failed = false;
  try {
    if (success !== undefined) succeeded = evaluateCondition(success, values);
    if (failure !== undefined) failed = evaluateCondition(failure, values);
  } catch (err) {
    return { phase: 'Error', value, error: bounded(`the condition could not be evaluated: ${(err as Error).message}`) };
  }
  if (success === undefined && failure === undefined) return { phase: 'Successful', value };
  if (success !== undefined && failure === undefined) failed = !succeeded;
  if (success === undefined && failure !== undefined) succeeded = !failed;
  if (failed) return { phase: 'Failed', value };
  if (!succeeded) return { phase: 'Inconclusive', value };
  return { phase: 'Successful', value };
}

/** A message cut to MAX_ERROR characters. */
export const bounded = (message: string): string => (message.length > MAX_ERROR ? `${message.slice(0, MAX_ERROR - 1)}…` : message);

/** The tally of a list of measurements, oldest first. */
export function tallyOf(measurements: readonly Measurement[], from: Tally = emptyTally()): Tally {
  const t = { ...from };
  for (const m of measurements) {
    if (m.phase === 'Error') {
      t.error++;
      t.consecutiveErrors++;
      continue;
    }
    t.consecutiveErrors = 0;
    if (m.phase === 'Successful') t.successful++;
    else if (m.phase === 'Failed') t.failed++;
    else t.inconclusive++;
  }
  return t;
}

export const emptyTally = (): Tally => ({ successful: 0, failed: 0, inconclusive: 0, error: 0, consecutiveErrors: 0 });

/** Measurements that count toward `count` (every one but the errors). */
export const taken = (t: Tally): number => t.successful + t.failed + t.inconclusive;

/** A run's phase and why, from its tally. */
export function verdictOf(template: Limits, t: Tally): { phase: RunPhase; message?: string } {
  let out: { phase: RunPhase; message?: string } | null = null;
  if (t.failed > template.failureLimit) out = { phase: 'Failed', message: `failed (${t.failed}) > failureLimit (${template.failureLimit})` };
  if (t.inconclusive > template.inconclusiveLimit)
    out = { phase: 'Inconclusive', message: `inconclusive (${t.inconclusive}) > inconclusiveLimit (${template.inconclusiveLimit})` };
  if (t.consecutiveErrors > template.consecutiveErrorLimit)
    out = { phase: 'Error', message: `consecutive errors (${t.consecutiveErrors}) > consecutiveErrorLimit (${template.consecutiveErrorLimit})` };
  if (out) return out;
  if (taken(t) >= template.count) return { phase: 'Successful', message: `${taken(t)} of ${template.count} measurements taken, none over a limit` };
  return { phase: 'Running' };
}

/** A run's phase from its measurements (all of them, oldest first). */
export function verdict(template: Limits, measurements: readonly Measurement[]): RunPhase {
  return verdictOf(template, tallyOf(measurements)).phase;
}

/** A new run of a template, Running with no measurement. */
export function startRun(template: AnalysisTemplate, scope: AnalysisRun['scope'], startedAt: Date, target?: string): AnalysisRun {
  return {
    template: template.name,
    ...(target !== undefined ? { target } : {}),
    scope,
    startedAt: startedAt.toISOString(),
    measurements: [],
    tally: emptyTally(),
    phase: 'Running',
    thresholds: {
      ...(template.successCondition !== undefined ? { success: template.successCondition } : {}),
      ...(template.failureCondition !== undefined ? { failure: template.failureCondition } : {}),
    },
  };
}

/** The run with one more measurement: kept (the oldest beyond MAX_MEASUREMENTS dropped and counted), tallied, judged. A finished run is left as it is. */
export function recordMeasurement(template: Limits, run: AnalysisRun, m: Measurement): AnalysisRun {
  if (run.phase !== 'Running') return run;
  const tally = tallyOf([m], run.tally ?? tallyOf(run.measurements));
  const all = [...run.measurements, boundedMeasurement(m)];
  const drop = Math.max(0, all.length - MAX_MEASUREMENTS);
  const { phase, message } = verdictOf(template, tally);
  return {
    ...run,
    measurements: all.slice(drop),
    ...(drop || run.dropped ? { dropped: (run.dropped ?? 0) + drop } : {}),
    tally,
    phase,
    ...(message !== undefined ? { message } : {}),
  };
}

/** A measurement within its bounds (values, error text). */
export function boundedMeasurement(m: Measurement): Measurement {
  return {
    ...m,
    ...(m.values ? { values: m.values.slice(0, MAX_VALUES) } : {}),
    ...(m.error !== undefined ? { error: bounded(m.error) } : {}),
  };
}

/** Measurements still to take before the run can be Successful (errors are taken again, so they do not count). */
export function measurementsLeft(template: Limits, run: Pick<AnalysisRun, 'measurements' | 'tally'>): number {
  return Math.max(0, template.count - taken(run.tally ?? tallyOf(run.measurements)));
}

/** When the next measurement is due: initialDelaySeconds after the start, then every intervalSeconds after the last; null when the run is over. */
export function nextMeasurementAt(
  template: Pick<AnalysisTemplate, 'initialDelaySeconds' | 'intervalSeconds'> & Limits,
  run: Pick<AnalysisRun, 'startedAt' | 'measurements' | 'tally' | 'phase'>,
): Date | null {
  if (run.phase !== 'Running' || measurementsLeft(template, run) === 0) return null;
  const last = run.measurements.at(-1);
  if (!last) return new Date(Date.parse(run.startedAt) + template.initialDelaySeconds * 1000);
  return new Date(Date.parse(last.at) + template.intervalSeconds * 1000);
}
