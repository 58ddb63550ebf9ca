import { FAULT_KINDS, type FaultKind } from '../local/faults.ts';
import { INVARIANTS, type Observed } from './checker.ts';
import { EFFECT_INVARIANTS } from './effects/checks.ts';
import { exercisedLines, type Vacuous } from './exercised.ts';
import type { ChaosPromotion, Exercised, Violation } from './types.ts';
import { upgradeLines, upgradeVacuous, type UpgradeFacts } from './upgrade.ts';

/**
 * A chaos run's report (the text `npm run chaos` prints, and the figures a test or the bench reads), made from what
 * the run recorded: a live run and `npm run chaos -- --check DIR` over its history on disk print the same one.
 */

export interface ChaosReport {
  seed: number;
  rate: number;
  promotions: number;
  byKind: Record<string, number>;
  byStatus: Record<string, number>;
  faults: Record<FaultKind, { injected: number; chances: number }>;
  violations: Violation[];
  byInvariant: Record<string, number>;
  /** what each invariant examined: per invariant, per measure (promotions, transitions, commits...), how many */
  exercised: Exercised;
  /** the invariants the run's promotions should have exercised that examined nothing (the run fails on one) */
  vacuous: Vacuous[];
  elapsedMs: number;
  text: string;
}

/** The command that runs a seed again, with every option that shapes its workload (a history without `concurrency` ran 6). */
export const againCommand = (run: { seed: number; rate: number; promotions: number; concurrency?: number; crashes?: number; upgrade?: unknown }): string =>
  `npm run chaos -- --seed ${run.seed} --rate ${run.rate} --promotions ${run.promotions} --concurrency ${run.concurrency ?? 6}${run.crashes ? ` --crashes ${run.crashes}` : ''}${run.upgrade ? ' --upgrade' : ''}`;

/** What the report says of the run itself: the command's options, its time, the faults the plan counted. */
export interface RunFacts {
  seed: number;
  rate: number;
  /** the promotions asked for (`--promotions`) */
  promotions: number;
  /** tenants driven at once (`--concurrency`); a history written before it was recorded ran 6, the default */
  concurrency?: number;
  elapsedMs: number;
  /** where the time went (stack, workload, settle, check), ms */
  phases?: Record<string, number>;
  faults?: ChaosReport['faults'];
  /** the run had the effect receivers (their invariants are in the report) */
  effects: boolean;
  /** crashes of the stack the run planned (`--crashes`; the faults' `crash` counts those that happened) */
  crashes?: number;
  /** the upgrade of the stack (`--upgrade`; the faults' `upgrade` counts it once it happened): where, what crossed it */
  upgrade?: UpgradeFacts;
}

const tally = (xs: string[]) => xs.reduce<Record<string, number>>((m, x) => ((m[x] = (m[x] ?? 0) + 1), m), {});

/** The report of a run: its promotions by kind and end, the requests refused, the faults, the verdict, what each invariant examined. */
export function summarize(
  run: RunFacts,
  requested: readonly ChaosPromotion[],
  observed: Observed,
  verdict: { violations: Violation[]; exercised: Exercised; vacuous: Vacuous[] },
): ChaosReport {
  const { violations, exercised } = verdict;
  // An upgrade no execution crossed proved nothing: the run fails as for an invariant that examined nothing.
  const vacuous = [...verdict.vacuous, ...(run.upgrade ? upgradeVacuous(run.upgrade) : [])];
  // A status and, for one that did not complete, why (its error's code, or how it ended).
  const statusOf = new Map(
    observed.tenants.flatMap((t) =>
      t.promotions.map((x) => {
        const p = x.promotion;
        const why = p.status === 'COMPLETED' ? '' : (p.error?.code ?? (p.monitorAlarm ? 'alarm' : p.rejection ? 'rejected' : ''));
        return [p.id, why ? `${p.status} (${why})` : p.status] as const;
      }),
    ),
  );
  const faults = run.faults ?? (Object.fromEntries(FAULT_KINDS.map((k) => [k, { injected: 0, chances: 0 }])) as ChaosReport['faults']);
  const byKind = tally(requested.map((p) => p.kind));
  const byStatus = tally(requested.map((p) => statusOf.get(p.id) ?? 'MISSING'));
  const byInvariant = tally(violations.map((v) => v.invariant));
  const lines: string[] = [];
  lines.push(`chaos: seed ${run.seed}, rate ${run.rate}, ${requested.length} promotions in ${Math.round(run.elapsedMs / 1000)} s`);
  const took = Object.entries(run.phases ?? {}).map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`);
  if (took.length) lines.push(`time by phase: ${took.join(', ')}`);
  lines.push('promotions by kind (and how they ended):');
  for (const [k, n] of Object.entries(byKind).sort()) {
    const ends = tally(requested.filter((p) => p.kind === k).map((p) => statusOf.get(p.id) ?? 'MISSING'));
    lines.push(
      `  ${k.padEnd(20)} ${String(n).padStart(4)}  ${Object.entries(ends)
        .sort()
        .map(([s, m]) => `${s} ${m}`)
        .join(', ')}`,
    );
  }
  lines.push('promotions by final state (why):');
  for (const [k, n] of Object.entries(byStatus).sort()) lines.push(`  ${k.padEnd(36)} ${n}`);
  // What the API refused the workload (a race lost, a state that no longer allows it): the routes by answer.
  const refused = tally(
    observed.history
      .filter((h) => h.status >= 400 || h.status === 0)
      .map((h) => `${h.method} ${h.path.replace(/prm_[0-9a-z]+/g, '{id}').replace(/\?.*$/, '')} → ${h.status}`),
  );
  lines.push('requests refused (route → status):');
  for (const [k, n] of Object.entries(refused).sort()) lines.push(`  ${k.padEnd(60)} ${n}`);
  lines.push('faults injected by kind (injected / chances):');
  for (const k of FAULT_KINDS) lines.push(`  ${k.padEnd(20)} ${faults[k]?.injected ?? 0} / ${faults[k]?.chances ?? 0}`);
  if (run.upgrade) lines.push(...upgradeLines(run.upgrade));
  const invariants = [...INVARIANTS, ...(run.effects ? EFFECT_INVARIANTS : [])];
  lines.push('violations by invariant:');
  for (const k of new Set([...invariants, ...Object.keys(byInvariant)])) lines.push(`  ${k.padEnd(20)} ${byInvariant[k] ?? 0}`);
  lines.push('invariants exercised (what each examined):');
  lines.push(...exercisedLines(exercised, invariants));
  const again = againCommand(run);
  for (const v of violations) {
    lines.push('');
    lines.push(`VIOLATION ${v.invariant}: tenant ${v.tenant}, promotion ${v.promotionId} (reproduce: ${again})`);
    lines.push(`  ${v.detail}`);
    for (const h of v.history) lines.push(`    ${h}`);
  }
  if (vacuous.length) lines.push('');
  for (const v of vacuous) lines.push(`NOT EXERCISED ${v.invariant}: it examined no ${v.measure}, though ${v.because}`);
  lines.push(`${violations.length} violations${vacuous.length ? `, ${vacuous.length} invariant${vacuous.length === 1 ? '' : 's'} not exercised` : ''}`);
  return {
    seed: run.seed,
    rate: run.rate,
    promotions: requested.length,
    byKind,
    byStatus,
    faults,
    violations,
    byInvariant,
    exercised,
    vacuous,
    elapsedMs: run.elapsedMs,
    text: lines.join('\n'),
  };
}
