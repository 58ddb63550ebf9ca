import type { Confirmation } from './target-schemas.ts';

/**
 * A rollout's model: the targets of a promotion's rollout (their own items), their confirmations, bakes,
 * analyses and deliveries, and the rollout's state on the promotion. Re-exported by promotion-model.ts.
 */

/** What a rollback records of the alarm that caused it. */
export interface MonitorAlarm {
  arn: string;
  name: string;
  reason: string;
  at: string;
}

/** Where one target of a rollout stands. */
export type TargetState = 'PENDING' | 'CONFIRMING' | 'BAKING' | 'DONE' | 'FAILED' | 'ROLLED_BACK' | 'SKIPPED';

/** One target of a rollout (its own item beside the promotion: the flow's Map iterations write them in parallel). */
/** A fleet target's convergence: instances seen, those that took the release, their share, the share it needs. */
export interface FleetConvergence {
  seen: number;
  took: number;
  share: number;
  minShare: number;
  /** instances over the cap (the tunable fleetMaxInstances, `cap`) that were not counted: only when there are any */
  over?: number;
  cap?: number;
}

export interface RolloutTarget {
  promotionId: string;
  name: string;
  wave: number;
  state: TargetState;
  /** what it ran before the change (null: nothing of this subject), put back on a rollback */
  before: { seq?: number; digest: string | null; version?: string } | null;
  appliedAt?: string;
  /**
   * The promotion's version the change was written against (its transaction was conditioned on it): it committed
   * before a decision to stop that wrote a later version. Its clock (`appliedAt`) is read before its write lands, so
   * only this orders it against the stop.
   */
  appliedOn?: number;
  deploymentId?: string;
  confirm: {
    mode: Confirmation['mode'];
    deadline?: string;
    at?: string;
    by?: string;
    detail?: string;
    /** a fleet target: its convergence at the last poll (what changed is written, an unchanged poll writes nothing) */
    fleet?: FleetConvergence;
    /**
     * a callback target of a wave run as a child execution: no task token waits for it (the marker instead); the
     * deployer's confirmation is written, and the wave's confirm loop reads it (domain/promotion/rollout/wave-loop.ts)
     */
    byWave?: true;
  } | null;
  /** the callback's task token, kept until the deployer confirms */
  taskToken?: string | null;
  bake?: { from: string; until: string; monitors: string[] } | null;
  alarm?: MonitorAlarm | null;
  error?: string | null;
  rolledBackAt?: string | null;
  /** the analyses measured while it baked (domain/promotion/rollout/analysis.ts): each with its measurements, bounded */
  analysis?: TargetAnalysisRun[] | null;
  /** a bundle: each member's own head on this target before the change (null: it ran none of it) and its per-target tag, put back together on a rollback */
  members?: { name: string; before: { version: string; digest: string } | null; registry?: TargetRegistryDelivery | null }[] | null;
  /** delivery per target (artifact promotions): the commit of the target's own git file (`{target}` in the git target's file), and what a rollback did to it */
  git?: TargetGitDelivery | null;
  /** delivery per target (artifact promotions into an environment with registries): the per-target tag in the target's registry, and what a rollback did to it (a bundle: each member's, on `members`) */
  registry?: TargetRegistryDelivery | null;
  version: number;
  updatedAt: string;
}

/** One measurement of an analysis (domain/verification/analysis.ts judges it). */
export interface MeasurementRecord {
  at: string;
  phase: 'Successful' | 'Failed' | 'Inconclusive' | 'Error';
  value: number | null;
  values?: number[];
  error?: string;
}

/** One analysis of one target's bake: the template as the bake started (`spec`), its arguments, its measurements and its answer. */
export interface TargetAnalysisRun {
  template: string;
  /** bake: the template's conditions judge each measurement; canary: the target is compared with the targets not changed yet */
  scope: 'bake' | 'canary';
  spec: Record<string, unknown>;
  args: { name: string; value: string }[];
  phase: 'Running' | 'Successful' | 'Failed' | 'Inconclusive' | 'Error';
  measurements: MeasurementRecord[];
  /** measurements taken but no longer kept (only the last ones are) */
  dropped?: number;
  /** every measurement's verdict counted, the ones no longer kept included (domain/verification/analysis.ts) */
  tally?: { successful: number; failed: number; inconclusive: number; error: number; consecutiveErrors: number };
  /** when the next measurement is due */
  nextAt?: string;
  message?: string;
  thresholds?: { success?: string; failure?: string };
  /** a guarded wave's comparison: its settings, the samples so far, the control targets and the result */
  compare?: {
    minSamples: number;
    maxRegression: number;
    alpha: number;
    direction: 'increase-is-bad' | 'decrease-is-bad';
    tooFewSamples: 'fail' | 'proceed';
    maxWaitSeconds: number;
    template: string;
    args?: { name: string; value: string }[];
  };
  samples?: { canary: number[]; control: number[] };
  controls?: string[];
  comparison?: {
    verdict: 'pass' | 'regression' | 'too-few-samples';
    relativeDifference: number;
    p: number;
    canaryMedian: number;
    controlMedian: number;
    samples: { canary: number; control: number };
  };
}

/** A target's own git file as its apply committed it (`commit` null: nothing could be committed, see `error`). */
export interface TargetGitDelivery {
  commit: string | null;
  file: string;
  changed: boolean;
  /** the rollback's commit of the file back to what the target ran before, or why it did not write one */
  revert?: { commit: string | null; changed: boolean; error?: string } | null;
}

/** A target's per-target tag (`latest-<env>-<target>`) in its registry, moved to `digest` by its apply. */
export interface TargetRegistryDelivery {
  registry: string;
  tag: string;
  digest: string;
  /** the rollback: the digest the tag points at again, or (digest null) why it was left where it is */
  revert?: { digest: string | null; reason?: string } | null;
}

/** One wave of a stored plan: its names inline (a small plan) or its count and the number of its pages. */
export interface PlannedWave {
  wave: number;
  /** the wave's target names in order, when the plan is small (≤ INLINE_PLAN_NAMES in all); absent: in pages */
  targets?: string[];
  /** how many targets the wave has (set when its names are in pages) */
  count?: number;
  /** how many pages hold its names (absent: inline) */
  pages?: number;
  bakeSeconds: number;
  maxParallel: number;
  pause?: boolean;
}

/** A promotion's rollout through an environment's waves (the targets' own state is in RolloutTarget items). */
export interface RolloutState {
  /**
   * The stored plan, resolved when the rollout started (domain/promotion/terms/stored-plan.ts). Per wave its number
   * of targets (`count`), bake, parallelism and pause; the names themselves inline (`targets`) when the whole plan has at
   * most INLINE_PLAN_NAMES of them (a promotion through a few targets keeps its one-item cost), otherwise in `pages`
   * pages of their own (PlanPage, read with waveTargets). Read a wave's names only through waveTargets / planNames.
   */
  waves: PlannedWave[];
  /** the id of the stored plan whose pages hold the names (absent: a small plan, its names inline) */
  plan?: string;
  /** the wave running (0: none started yet) */
  wave: number;
  /** halted by a release manager before the next wave (resume goes on from there) */
  halted?: { by: string; at: string; reason: string } | null;
  /** why the flow waits (outside the start windows: until when) */
  /** why the next wave does not start yet and when it is looked at again: a start window, or a freeze window over the environment */
  waiting?: { reason: string; until: string; for?: 'start-window' | 'freeze' } | null;
  /**
   * The flow decided to stop (a failed step, an analysis, an alarm: domain/promotion/rollout/rollback.ts), written
   * before any target is put back: from then no wave starts and no target changes (each step that would change one
   * writes conditioned on the promotion's version, so a step that read it before the decision loses its write).
   */
  stopping?: {
    at: string;
    reason: string;
    /** the promotion's version this decision wrote: a target change written against it or a later one came after it */
    version?: number;
  } | null;
  /**
   * A wave whose start was written by what is not its flow (a resume, a start window's schedule) and whose parked
   * WaveStart token (the promotion's `taskToken`) is not answered yet: cleared once the answer is given. A lost answer
   * (a crash, a failed call) leaves it set, and the sweep hands the wave on (domain/promotion/sweep/sweep.ts).
   */
  handOn?: number | null;
  /** how it ended per target, once it has (the decision record) */
  outcome?: 'COMPLETED' | 'ROLLED_BACK' | null;
  /** the waves whose completion was announced (`Promotion Wave Completed`, once per wave: the write is conditional on it) */
  completedWaves?: number[];
}

/** A bundle's per-target tags on one target, one per member it moved there (what the API and the events show as `registries`). */
export const registriesOf = (t: Pick<RolloutTarget, 'members'>): (TargetRegistryDelivery & { artifact: string })[] =>
  (t.members ?? []).flatMap((m) => (m.registry ? [{ artifact: m.name, ...m.registry }] : []));
