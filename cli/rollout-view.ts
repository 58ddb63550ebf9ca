import type { PromotionDetail } from './answers.ts';
import { seconds, when } from './output.ts';

/** A rollout through an environment's targets, as the CLI says it (promotions show, --wait, watch). */
type Rollout = NonNullable<PromotionDetail['rollout']>;
type TargetRow = Rollout['waves'][number]['targets'][number];

export const secondsLeft = (iso: string | null | undefined, extra = 0) =>
  iso ? Math.max(0, Math.round((new Date(iso).getTime() + extra * 1000 - Date.now()) / 1000)) : null;

/** What a target waiting for its confirmation waits for, by mode. */
const WAITS_FOR = new Map([
  ['health', 'health URL'],
  ['argocd', 'Argo CD application (Synced at the delivered commit, Healthy)'],
  ['flux', 'Flux Kustomization (Ready at the delivered commit)'],
  ['fleet', 'fleet'],
]);

/**
 * A fleet target's convergence: `: 9/10 instances (90 %, needs 90 %)`, and the instances over the cap that were not
 * counted (`; 2 over the cap of 1000 not counted`); nothing for another mode or before its first count.
 */
export function fleetText(t: Pick<TargetRow, 'confirmation'>): string {
  const f = t.confirmation?.mode === 'fleet' ? t.confirmation.fleet : null;
  if (!f) return '';
  const over = f.over ? `; ${f.over} over the cap of ${f.cap} not counted` : '';
  return `: ${f.took}/${f.seen} instances (${Math.floor(f.share * 100 + 1e-9)} %, needs ${Math.round(f.minShare * 100)} %${over})`;
}

/** One target as the CLI says it: its state, a confirmation's deadline, a bake's countdown, an alarm. */
export function targetText(t: TargetRow, bakeSeconds: number): string {
  if (t.state === 'CONFIRMING')
    return `${t.name} waits for its ${WAITS_FOR.get(t.confirmation?.mode ?? '') ?? 'deployer'}${fleetText(t)}${t.confirmation?.deadline ? ` (${seconds(secondsLeft(t.confirmation.deadline) ?? 0)} left)` : ''}`;
  if (t.state === 'BAKING' && (t.confirmation?.mode === 'argocd' || t.confirmation?.mode === 'flux'))
    return `${t.name} baking (${seconds(secondsLeft(t.confirmation?.at ?? t.appliedAt, bakeSeconds) ?? 0)} left; ${t.confirmation.detail ?? t.confirmation.mode})`;
  if (t.state === 'BAKING') return `${t.name} baking (${seconds(secondsLeft(t.confirmation?.at ?? t.appliedAt, bakeSeconds) ?? 0)} left)${fleetText(t)}`;
  if (t.alarm) return `${t.name} ${t.state.toLowerCase()}: alarm ${t.alarm.name}`;
  return `${t.name} ${t.state.toLowerCase().replace('_', ' ')}${fleetText(t)}`;
}

/**
 * What was delivered for a target (a git target file per target, a registry per target): its commit, short, and
 * its tag; after a rollback, what they went back to (or that they did not).
 */
export function deliveryText(t: Pick<TargetRow, 'git' | 'registry'>): string {
  const parts: string[] = [];
  if (t.git) {
    const back = t.git.revert ? (t.git.revert.commit ? `, reverted ${t.git.revert.commit.slice(0, 7)}` : ', not reverted') : '';
    parts.push(`git ${t.git.commit ? t.git.commit.slice(0, 7) : 'none'}${t.git.changed ? '' : ' (unchanged)'}${back}`);
  }
  if (t.registry) {
    const back = t.registry.revert ? (t.registry.revert.digest ? `, back to ${t.registry.revert.digest.slice(7, 19)}` : ', left as it is') : '';
    parts.push(`${t.registry.registry}:${t.registry.tag}${back}`);
  }
  return parts.length ? ` [${parts.join('; ')}]` : '';
}

type AnalysisRow = NonNullable<TargetRow['analysis']>[number];
type MeasurementRow = AnalysisRow['measurements'][number];

const PHASE_MARK: Record<string, string> = { Successful: '✓', Failed: '✗', Inconclusive: '?', Error: '!', Running: '…', Stopped: '·' };

/** A value as a person reads it: at most 4 significant digits. */
const num = (v: number | null) => (v === null ? 'no value' : Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4))));

/** One measurement as --wait says it when it lands: `✓ eu-1 error-rate 0.012 (successful; failure: result > 0.05)`. */
export function measurementLine(target: string, run: AnalysisRow, m: MeasurementRow): string {
  const th = run.thresholds
    ? [run.thresholds.success && `success: ${run.thresholds.success}`, run.thresholds.failure && `failure: ${run.thresholds.failure}`]
        .filter(Boolean)
        .join('; ')
    : '';
  const what = m.error ? `${num(m.value)} (${m.error})` : num(m.value);
  return `${PHASE_MARK[m.phase] ?? '?'} measured ${target} ${run.template}: ${what} · ${m.phase.toLowerCase()}${th ? ` (${th})` : ''}`;
}

/** An analysis of a target in one line (promotions show): its answer, its last values, a comparison's result. */
export function analysisLine(target: string, run: AnalysisRow): string {
  const values = run.measurements
    .slice(-5)
    .map((m) => num(m.value))
    .join(', ');
  const cmp = run.comparison
    ? `; vs ${run.controls?.length ?? 0} control targets ${(run.comparison.relativeDifference * 100).toFixed(1)} % (p ${num(run.comparison.p)})`
    : '';
  return `  ${PHASE_MARK[run.phase] ?? '?'} ${target} ${run.scope === 'canary' ? 'compared by ' : ''}${run.template}: ${run.phase.toLowerCase()} after ${run.measurements.length + run.dropped} measurement${run.measurements.length + run.dropped === 1 ? '' : 's'}${values ? ` (${values})` : ''}${cmp}${run.message ? ` — ${run.message}` : ''}`;
}

/**
 * A wave that fits one line is said target by target (`canary waits for its deployer`); a larger one (a fleet's)
 * as its progress: `wave 3/10  120 targets  118 applied  2 confirming  0 failed`, and the few targets that need
 * a person (a callback confirmation, an alarm, an error), never a line per target (--targets pages through them).
 */
export const WAVE_LINE_TARGETS = 10;
/** The targets of a large wave named on its progress line (those that need a person), and the analyses said in all. */
const NAMED = 5;
const ANALYSES = 10;

type Wave = Rollout['waves'][number] & { count?: number; states?: Record<string, number>; counts?: Record<string, number> };

/** A wave's counts per state: the answer's own when it pages (count, states), else counted from its targets. */
export function waveCounts(w: Wave): { total: number; states: Record<string, number> } {
  const given = w.states ?? w.counts;
  const states: Record<string, number> = {};
  if (given && typeof given === 'object') {
    for (const [k, n] of Object.entries(given)) if (typeof n === 'number') states[k] = n;
  } else for (const t of w.targets) states[t.state] = (states[t.state] ?? 0) + 1;
  const total = typeof w.count === 'number' ? w.count : given ? Object.values(states).reduce((a, b) => a + b, 0) : w.targets.length;
  return { total, states };
}

/** `120 targets  118 applied  2 confirming  0 failed` (applied: done or baking), then any rolled back or skipped. */
export function progressText(w: Wave): string {
  const { total, states } = waveCounts(w);
  const n = (k: string) => states[k] ?? 0;
  const extra = [
    n('PENDING') && n('PENDING') !== total ? `  ${n('PENDING')} pending` : '',
    n('ROLLED_BACK') ? `  ${n('ROLLED_BACK')} rolled back` : '',
    n('SKIPPED') ? `  ${n('SKIPPED')} skipped` : '',
  ].join('');
  return `${total} target${total === 1 ? '' : 's'}  ${n('DONE') + n('BAKING')} applied  ${n('CONFIRMING')} confirming  ${n('FAILED')} failed${extra}`;
}

/** Whether a wave is said target by target: every target is in the answer, and they fit one line. */
const small = (w: Wave) => waveCounts(w).total <= WAVE_LINE_TARGETS && w.targets.length === waveCounts(w).total;

/** The targets of a large wave a person should look at (a callback waiting, an alarm, an error), at most NAMED of them. */
function needsAPerson(w: Wave): string {
  const which = w.targets.filter((t) => t.alarm || t.error || t.state === 'FAILED' || (t.state === 'CONFIRMING' && t.confirmation?.mode === 'callback'));
  if (!which.length) return '';
  const more = which.length > NAMED ? `, and ${which.length - NAMED} more` : '';
  return `: ${which
    .slice(0, NAMED)
    .map((t) => targetText(t, w.bakeSeconds))
    .join(', ')}${more}`;
}

/**
 * A rollout wave by wave (promotions show, --wait at the end): a small wave target by target, a large one as its
 * progress; the analyses of the first targets that have any, then how many more (bounded, whatever the fleet).
 */
export function rolloutLines(r: Rollout, id?: string): string[] {
  const waves = r.waves as Wave[];
  const analyses = waves.flatMap((w) => w.targets.flatMap((t) => (t.analysis ?? []).map((a) => ({ w: w.wave, line: analysisLine(t.name, a) }))));
  const said = analyses.slice(0, ANALYSES);
  const paged = 'nextCursor' in r || waves.some((w) => waveCounts(w).total > w.targets.length);
  const big = waves.some((w) => !small(w));
  return [
    `rollout: ${r.phase.toLowerCase().replace('_', ' ')}${r.halted ? ` by ${r.halted.by}: ${r.halted.reason}` : ''}${r.waiting ? `: ${r.waiting.reason} until ${when(r.waiting.until)}` : ''}`,
    ...waves.flatMap((w) => [
      small(w)
        ? `wave ${w.wave} (bake ${seconds(w.bakeSeconds)}): ${w.targets.map((t) => `${targetText(t, w.bakeSeconds)}${deliveryText(t)}`).join(', ')}`
        : `wave ${w.wave}/${waves.length}  ${progressText(w)}  (bake ${seconds(w.bakeSeconds)})${needsAPerson(w)}`,
      ...said.filter((a) => a.w === w.wave).map((a) => a.line),
    ]),
    ...(analyses.length > said.length ? [`  … and ${analyses.length - said.length} more analyses`] : []),
    ...(big || paged ? [`targets one by one: stageline promotions show ${id ?? '<id>'} --targets [--state <state>] [--wave <n>] [--name <glob>]`] : []),
  ];
}

/** Every measurement of a rollout, keyed, so --wait says each once as it lands. */
export function measurementsOf(r: Rollout): { key: string; line: string }[] {
  return r.waves.flatMap((w) =>
    w.targets.flatMap((t) =>
      (t.analysis ?? []).flatMap((a) =>
        a.measurements.map((m) => ({ key: `${t.name}|${a.template}|${a.scope}|${m.at}`, line: measurementLine(t.name, a, m) })),
      ),
    ),
  );
}

/** The --wait line of a rollout: the wave running and each of its targets, or why it waits. */
export function rolloutStep(id: string, r: Rollout): string {
  if (r.halted) return `halted by ${r.halted.by} before wave ${r.wave + 1} (${r.halted.reason}); to go on: stageline resume ${id}`;
  if (r.waiting) return `${r.waiting.reason}, until ${when(r.waiting.until)}`;
  const w = r.waves.find((x) => x.wave === r.wave) as Wave | undefined;
  if (!w) return 'rolling out';
  if (!small(w)) return `wave ${w.wave}/${r.waves.length}  ${progressText(w)}${needsAPerson(w)}`;
  const callback = w.targets.find((t) => t.state === 'CONFIRMING' && t.confirmation?.mode === 'callback');
  return `wave ${w.wave} of ${r.waves.length}: ${w.targets.map((t) => targetText(t, w.bakeSeconds)).join(', ')}${callback ? ` (stageline confirm ${id} ${callback.name})` : ''}`;
}
