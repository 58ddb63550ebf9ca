import { analysesOf, targetAnalyses, targetsOf, waveCompare, wavesByNumber } from '../../config/targets.ts';
import type { Environment } from '../../kernel/model.ts';
import type { Promotion, RolloutTarget, TargetAnalysisRun } from '../../kernel/promotion-model.ts';
import type { AnalysisRef, CompareSpec, Target } from '../../kernel/target-schemas.ts';
import type { With } from '../../kernel/deps.ts';
import { compareCanary } from '../../verification/compare.ts';
import { measureOnce } from '../../verification/measure.ts';
import { analysisTemplate, celReady, type AnalysisTemplate, type QueryContext } from '../../verification/template.ts';
import { recordMeasurement, type AnalysisRun, type Measurement } from '../../verification/analysis.ts';
import { ENGINE, patched } from '../aggregate.ts';
import { writePromotion } from '../write.ts';

/**
 * Analysis during a target's bake (domain/verification/ measures, this file decides what the rollout does
 * with it). The flow waits the target's first measurement time, then runs TargetBaked every `measureSeconds`
 * (a task-token wait and a task per measurement: MeasureAgain loops) until every analysis of the target has an answer and
 * its bake time is over. A Failed analysis fails the target (the rollout rolls back every changed target, newest
 * wave first); an Inconclusive one halts the rollout before its next wave and asks a person (resume goes on).
 *
 * A guarded wave (`rollout.waves[].compare`) also compares each of its changed targets with the targets that have
 * not changed yet (the later waves' targets), on the same query per target: Mann-Whitney U over the samples and the
 * relative difference of the medians (domain/verification/compare.ts).
 */

/** Keep at most this many measurements per analysis on a target's item (the count of the rest is kept). */
export const MAX_MEASUREMENTS = 50;
/** Control targets queried per measurement of a guarded wave. */
export const MAX_CONTROLS = 10;

/** The templates a tenant has, by name (an absent one: the rollout fails closed naming it). */
export type TemplateBook = ReadonlyMap<string, AnalysisTemplate>;

export const templateBook = (templates: readonly AnalysisTemplate[] | undefined): TemplateBook => new Map((templates ?? []).map((t) => [t.name, t]));

/** What the flow's per-target bake (TargetBake's timer) and measuring wait use: when the first measurement is due, and the loop's interval (0: no analysis). */
export function measureTiming(env: Environment, book: TemplateBook, target: string, wave: number, bakeSeconds: number) {
  const specs = targetSpecs(env, book, target, wave);
  if (!specs.length) return { firstWaitSeconds: bakeSeconds, measureSeconds: 0 };
  const first = Math.min(...specs.map((s) => s.template.initialDelaySeconds + s.template.intervalSeconds));
  const every = Math.min(...specs.map((s) => s.template.intervalSeconds));
  return { firstWaitSeconds: Math.max(1, Math.min(first, bakeSeconds || first)), measureSeconds: Math.max(1, every) };
}

interface Spec {
  ref: AnalysisRef;
  template: AnalysisTemplate;
  scope: 'bake' | 'canary';
  compare?: CompareSpec;
}

/** The analyses a target's bake measures: the environment's, its wave's and its own, and its wave's comparison. */
function targetSpecs(env: Environment, book: TemplateBook, target: string, wave: number): Spec[] {
  const out: Spec[] = [];
  for (const ref of targetAnalyses(env, target)) {
    const template = book.get(ref.template);
    if (template) out.push({ ref, template, scope: 'bake' });
  }
  const compare = waveCompare(env, wave);
  const template = compare ? book.get(compare.template) : undefined;
  if (compare && template) out.push({ ref: { template: compare.template, args: compare.args }, template, scope: 'canary', compare });
  return out;
}

/** The templates the environment's targets measure with (none: a rollout reads no template). */
export function analysisNames(env: Environment): string[] {
  // Each target with its wave looked up once (not found again per target: a fleet of thousands walks in linear time).
  const waves = wavesByNumber(env);
  const names = new Set<string>();
  for (const t of targetsOf(env)) {
    const wave = waves.get(t.wave);
    for (const r of analysesOf(env, t, wave)) names.add(r.template);
    if (wave?.compare) names.add(wave.compare.template);
  }
  return [...names];
}

/** Templates referenced by the environment that the tenant does not have (named in the failure). */
export const missingTemplates = (env: Environment, book: TemplateBook): string[] => analysisNames(env).filter((n) => !book.has(n));

/** The runs a target starts its bake with (one per analysis, the template as it is now). */
export function startRuns(env: Environment, book: TemplateBook, target: string, wave: number, from: string): TargetAnalysisRun[] {
  return targetSpecs(env, book, target, wave).map((s) => ({
    template: s.template.name,
    scope: s.scope,
    spec: s.template as unknown as Record<string, unknown>,
    args: s.ref.args ?? [],
    ...(s.compare ? { compare: s.compare } : {}),
    phase: 'Running',
    measurements: [],
    dropped: 0,
    nextAt: new Date(new Date(from).getTime() + (s.template.initialDelaySeconds + s.template.intervalSeconds) * 1000).toISOString(),
    ...(s.template.successCondition || s.template.failureCondition
      ? {
          thresholds: {
            ...(s.template.successCondition ? { success: s.template.successCondition } : {}),
            ...(s.template.failureCondition ? { failure: s.template.failureCondition } : {}),
          },
        }
      : {}),
  }));
}

/** What the arguments of a query resolve to for one target of a promotion. */
export function queryContext(
  p: Promotion,
  env: Environment,
  target: Target | undefined,
  name: string,
  args: { name: string; value: string }[],
  template: AnalysisTemplate,
): QueryContext {
  const values = new Map<string, string>();
  for (const a of template.args ?? []) if (a.value !== undefined) values.set(a.name, a.value);
  for (const a of args) values.set(a.name, a.value);
  const parameters = new Map<string, unknown>((target?.parameters ?? []).map((x) => [x.key, x.value]));
  return {
    target: {
      name,
      ...(target?.region ? { region: target.region } : {}),
      labels: Object.fromEntries(Object.entries(target?.labels ?? {})),
      parameters: Object.fromEntries(parameters),
    },
    environment: env.name,
    release: {
      version:
        p.subject.type === 'artifact'
          ? p.subject.version
          : p.subject.type === 'bundle'
            ? `${p.subject.name}@${p.subject.digest.slice(7, 19)}`
            : String(p.subject.sourceSnapshot.seq),
    },
    promotion: { id: p.id },
    args: Object.fromEntries(values),
  };
}

const bounded = (ms: Measurement[], m: Measurement) => [...ms, m].slice(-MAX_MEASUREMENTS);

/** What one pass of the loop decided for a target. */
export interface MeasureOutcome {
  runs: TargetAnalysisRun[];
  /** a run that failed: the target fails, the rollout rolls back */
  failed: string | null;
  /** runs that became inconclusive in this pass: the rollout halts */
  inconclusive: string[];
  /** every run has its answer */
  finished: boolean;
}

/**
 * Takes the measurements that are due for one target (each analysis at its own interval), judges them and
 * returns the runs as they stand. Provider errors are Error measurements (consecutiveErrorLimit decides);
 * nothing here throws for a metric that cannot be read.
 */
export async function measureDue(deps: With<'metrics'>, p: Promotion, env: Environment, item: RolloutTarget, now: Date): Promise<MeasureOutcome> {
  const target = targetsOf(env).find((t) => t.name === item.name);
  const runs: TargetAnalysisRun[] = [];
  let failed: string | null = null;
  const inconclusive: string[] = [];
  // Parsing a stored template compiles its conditions: the CEL library is loaded on first use.
  if (item.analysis?.length) await celReady();
  for (const run of item.analysis ?? []) {
    if (run.phase !== 'Running' || new Date(run.nextAt ?? 0).getTime() > now.getTime() + 1000) {
      runs.push(run);
      if (run.phase === 'Failed' || run.phase === 'Error') failed ??= runFailure(item.name, run);
      continue;
    }
    const template = analysisTemplate.parse(run.spec);
    const ctx = queryContext(p, env, target, item.name, run.args, template);
    const place = { ...(target?.region ? { region: target.region } : {}), ...(target?.account ? { account: target.account } : {}) };
    const m = await measureOnce(deps, p.tenant, template, ctx, place);
    let next: TargetAnalysisRun;
    if (run.scope === 'canary' && run.compare) {
      next = await canaryPass(
        deps,
        p,
        env,
        { ...run, measurements: bounded(run.measurements, m), dropped: (run.dropped ?? 0) + (run.measurements.length >= MAX_MEASUREMENTS ? 1 : 0) },
        template,
        { ...run.compare, args: run.compare.args ?? [] },
        m,
        now,
      );
    } else {
      // Judged by the template's conditions and limits (errors are taken again; the tally counts what is no longer kept).
      const rec = recordMeasurement(template, { ...run, startedAt: run.measurements[0]?.at ?? now.toISOString() } as AnalysisRun, m);
      next = {
        ...run,
        measurements: rec.measurements,
        dropped: rec.dropped ?? 0,
        ...(rec.tally ? { tally: rec.tally } : {}),
        phase: rec.phase,
        ...(rec.message ? { message: rec.message } : {}),
      };
    }
    next.nextAt = new Date(now.getTime() + template.intervalSeconds * 1000).toISOString();
    if (next.phase === 'Failed' || next.phase === 'Error') failed ??= runFailure(item.name, next);
    if (next.phase === 'Inconclusive')
      inconclusive.push(`analysis '${run.template}' of '${item.name}' is inconclusive${next.message ? `: ${next.message}` : ''}`);
    runs.push(next);
  }
  return { runs, failed, inconclusive, finished: runs.every((r) => r.phase !== 'Running') };
}

/** The sentence a failed run fails its target with: the template, the last value and the thresholds. */
function runFailure(target: string, run: TargetAnalysisRun): string {
  const last = run.measurements.at(-1);
  const value = last ? (last.value === null ? (last.error ?? 'no value') : `last value ${last.value}`) : 'no measurement';
  const th = run.thresholds
    ? [run.thresholds.success && `success: ${run.thresholds.success}`, run.thresholds.failure && `failure: ${run.thresholds.failure}`]
        .filter(Boolean)
        .join('; ')
    : '';
  return `analysis '${run.template}' of '${target}' ${run.phase === 'Error' ? 'could not measure' : 'failed'}${run.message ? ` (${run.message})` : ''}: ${value}${th ? ` (${th})` : ''}`;
}

/**
 * One pass of a guarded wave's comparison for one changed target: the same query for each control target (a
 * target of a later wave, not changed yet), samples pooled; once `count` measurements are in, the canary's
 * samples are compared with the controls'. Too few samples wait up to `maxWaitSeconds`, then fail closed or
 * proceed as configured.
 */
async function canaryPass(
  deps: With<'metrics'>,
  p: Promotion,
  env: Environment,
  run: TargetAnalysisRun,
  template: AnalysisTemplate,
  spec: CompareSpec,
  m: Measurement,
  now: Date,
): Promise<TargetAnalysisRun> {
  const controls = controlTargets(p, env);
  const samples = run.samples ?? { canary: [], control: [] };
  const canary = [...samples.canary, ...(m.values ?? (m.value === null ? [] : [m.value]))].slice(-500);
  const control = [...samples.control];
  for (const c of controls) {
    const ctx = queryContext(p, env, c, c.name, run.args, template);
    const got = await measureOnce(deps, p.tenant, template, ctx, { ...(c.region ? { region: c.region } : {}), ...(c.account ? { account: c.account } : {}) });
    control.push(...(got.values ?? (got.value === null ? [] : [got.value])));
  }
  const next: TargetAnalysisRun = { ...run, samples: { canary, control: control.slice(-500) }, controls: controls.map((c) => c.name) };
  const taken = next.measurements.length + (next.dropped ?? 0);
  if (taken < template.count) return { ...next, phase: 'Running' };
  const result = compareCanary(next.samples!.canary, next.samples!.control, {
    minSamples: spec.minSamples,
    maxRegression: spec.maxRegression,
    alpha: spec.alpha,
    direction: spec.direction,
  });
  const comparison = {
    verdict: result.verdict,
    relativeDifference: result.relativeDifference,
    p: result.p,
    canaryMedian: result.canaryMedian,
    controlMedian: result.controlMedian,
    samples: result.samples,
  };
  const pct = `${(result.relativeDifference * 100).toFixed(1)} %`;
  if (result.verdict === 'regression') {
    return {
      ...next,
      comparison,
      phase: 'Failed',
      message: `a significant regression against ${controls.length} control targets: ${pct} (p = ${result.p.toPrecision(3)}, at most ${spec.maxRegression * 100} %)`,
    };
  }
  if (result.verdict === 'too-few-samples') {
    const started = new Date(next.measurements[0]?.at ?? now.toISOString()).getTime();
    if (now.getTime() - started < spec.maxWaitSeconds * 1000)
      return {
        ...next,
        comparison,
        phase: 'Running',
        message: `waiting for samples (${result.samples.canary} canary, ${result.samples.control} control; ${spec.minSamples} needed)`,
      };
    const msg = `too few samples to compare (${result.samples.canary} canary, ${result.samples.control} control; ${spec.minSamples} needed)`;
    return spec.tooFewSamples === 'proceed'
      ? { ...next, comparison, phase: 'Successful', message: `${msg}: proceeding as configured` }
      : { ...next, comparison, phase: 'Failed', message: `${msg}: failing closed as configured` };
  }
  return {
    ...next,
    comparison,
    phase: 'Successful',
    message: `no significant regression against ${controls.length} control targets: ${pct} (p = ${result.p.toPrecision(3)})`,
  };
}

/** The control targets of a guarded wave's comparison: the targets of later waves (not changed yet), at most MAX_CONTROLS. */
function controlTargets(p: Promotion, env: Environment): Target[] {
  const current = p.rollout?.wave ?? 0;
  return targetsOf(env)
    .filter((t) => t.wave > current)
    .slice(0, MAX_CONTROLS);
}

/** An inconclusive analysis halts the rollout before its next wave (what is done stays; a person resumes or rolls back). */
export async function haltForAnalysis(deps: With<'metrics'>, p: Promotion, reasons: string[]): Promise<void> {
  const reason = reasons.join('; ').slice(0, 500);
  await writePromotion(deps, p.tenant, p.id, (cur) => {
    if (cur.status !== 'EXECUTING' || !cur.rollout || cur.rollout.halted) return null;
    const at = deps.clock().toISOString();
    return {
      next: patched(cur, deps.clock(), { rollout: { ...cur.rollout, halted: { by: ENGINE.name, at, reason } } }),
      action: 'promotion.halt',
      by: ENGINE,
      reason,
    };
  });
}
