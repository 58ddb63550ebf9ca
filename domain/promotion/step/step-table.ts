import * as z from '../../kernel/zod.ts';
import type { With } from '../../kernel/deps.ts';
import type { Next } from '../terms/deadlines.ts';
import { bakeStep, verifyStep } from '../run/complete.ts';
import { awaitGoStep, decideStep, executeStep } from './steps.ts';
import type { WaveBatch } from '../ports.ts';

/** What a task of statemachines/promotion.asl.json passes the step function (its Payload, past the step's name). */
export interface StepInput {
  tenant: string;
  promotionId: string;
  /** the task's token ($$.Task.Token): present for the steps that wait (`waitsForToken`) */
  taskToken?: string;
  /** fail: the error the flow caught */
  error?: unknown;
  /** execute: whether a bake time follows (false: change the target and complete in one step) */
  bake?: boolean;
  /** a rollout's per-target steps: the target */
  target?: string;
  /** wave-start: the wave */
  wave?: number;
  /** target-baked: how long the wave baked */
  bakeSeconds?: number;
  /** a child wave's batches (wave-apply, wave-baked): where the batch starts in the wave's targets */
  offset?: number;
  /** wave-end, wave-continue: the parent flow's WaveStart token the child answers */
  parentToken?: string;
  /** a child wave's loops (wave-apply, wave-confirm, wave-baked, wave-continue): its phase and the pass it is at */
  batch?: WaveBatch;
  /** wave-continue: which execution of the wave this is (0: the first) */
  part?: number;
}

/** A child wave's step input as its loop reads it (a batch the ASL did not pass: the first batch of the wave). */
const loop = (i: StepInput) => ({
  tenant: i.tenant,
  promotionId: i.promotionId,
  wave: i.wave ?? 0,
  bakeSeconds: i.bakeSeconds ?? 0,
  part: i.part ?? 0,
  batch: i.batch ?? { phase: 'apply' as const, offset: i.offset ?? 0, done: false, pending: 0, loops: 0, waitSeconds: 0, renew: false },
});

/** What the promotion step's function composes: the workflow (task tokens), the scheduler (a freeze's resume), webhook gates, registries, git targets, monitors' alarms, health URLs, GitOps controllers and metrics providers. */
export type StepDeps = With<'workflow' | 'scheduler' | 'gates' | 'registry' | 'git' | 'alarms' | 'probe' | 'gitopsStatus' | 'metrics' | 'anchor'> &
  Partial<With<'changes'>>;

export interface Step {
  /** the ASL task waits for its token (waitForTaskToken): the step needs `taskToken` */
  waitsForToken: boolean;
  /** what the task returns (a rollout's start returns its waves for the flow's Map) */
  run(deps: StepDeps, input: StepInput & { taskToken: string }): Promise<{ next?: Next } & Record<string, unknown>>;
}

/**
 * A rollout's steps (through an environment's targets and waves), a pull request's merge wait and the
 * failure path (fail, expire, with the rollback of a rollout) are loaded on their first run in a container
 * (chunks of their own), so the step function's module init reads only what every promotion runs:
 * decide, go, execute, verify.
 */
const rollout = () => import('./rollout-steps.ts');

/**
 * THE step table of the promotion flow: one row per `step` a task of statemachines/promotion.asl.json
 * names. The step function's input enum and its dispatch are derived from it, and a unit test walks
 * the ASL against it (test/unit/asl.test.ts). A new step is its ASL state, its module, and its row here.
 */
export const STEPS = {
  /** the gates, then (when it waits for approvers) the approval wait, under one timer */
  decide: { waitsForToken: true, run: (d, i) => decideStep(d, i.tenant, i.promotionId, i.taskToken) },
  /** the go wait: a manual or scheduled trigger, or the end of a freeze hold */
  'await-go': { waitsForToken: true, run: async (d, i) => (await awaitGoStep(d, i.tenant, i.promotionId, i.taskToken), {}) },
  execute: { waitsForToken: false, run: (d, i) => executeStep(d, i.tenant, i.promotionId, i.bake ?? true) },
  /** the merge wait of a pull-request delivery (domain/promotion/deliver/pull-request.ts): answered by the host's webhook or the poll */
  'await-merge': {
    waitsForToken: true,
    run: async (d, i) => (await (await import('../deliver/pull-request.ts')).awaitMergeStep(d, i.tenant, i.promotionId, i.taskToken), {}),
  },
  /** the bake time: the token kept for whoever asks the flow to end the bake early (an alarm, the sweep); its timer's end goes on to verify */
  bake: { waitsForToken: true, run: (d, i) => bakeStep(d, i.tenant, i.promotionId, i.taskToken) },
  verify: { waitsForToken: false, run: (d, i) => verifyStep(d, i.tenant, i.promotionId) },
  expire: { waitsForToken: false, run: async (d, i) => (await import('./fail.ts')).expireStep(d, i.tenant, i.promotionId) },
  /** the flow's failure: what changed put back; a rollout's rollback a batch per run, `more` while changed targets remain (MarkFailed runs again) */
  fail: { waitsForToken: false, run: async (d, i) => (await import('./fail.ts')).failStep(d, i.tenant, i.promotionId, i.error) },
  // A rollout through an environment's targets (domain/promotion/rollout/): start, per wave, per target, end.
  /** the freeze hold, the monitors, the lease, EXECUTING with the wave plan; returns the waves for the Waves map */
  'rollout-start': { waitsForToken: false, run: async (d, i) => (await rollout()).rolloutStartStep(d, i.tenant, i.promotionId) },
  /** a wave may start: at once, or when resumed (halt) or when a start window opens */
  'wave-start': { waitsForToken: true, run: async (d, i) => (await rollout()).waveStartStep(d, i.tenant, i.promotionId, i.wave ?? 0, i.taskToken) },
  /** change one target, then its confirmation (immediate, the deployer's callback, or CheckHealth into the poll) */
  'target-apply': { waitsForToken: true, run: async (d, i) => (await rollout()).targetApplyStep(d, i.tenant, i.promotionId, i.target ?? '', i.taskToken) },
  /** one poll of a polled target (its health URL, Argo CD application or Flux Kustomization) */
  'target-health': { waitsForToken: false, run: async (d, i) => (await rollout()).targetHealthStep(d, i.tenant, i.promotionId, i.target ?? '') },
  /** the target's waits (its bake, the interval between its polls, between its measurements): its token kept on its item for whoever asks the flow to stop (an alarm, the sweep); the timer's end goes on */
  'target-bake': { waitsForToken: true, run: async (d, i) => (await rollout()).targetBakeStep(d, i.tenant, i.promotionId, i.target ?? '', i.taskToken) },
  /** the target's measurements that are due (MeasureAgain loops), then, its bake over, its monitors (and a GitOps target's controller) read once more */
  'target-baked': {
    waitsForToken: false,
    run: async (d, i) => (await rollout()).targetBakedStep(d, i.tenant, i.promotionId, i.target ?? '', i.bakeSeconds ?? 0),
  },
  // A wave of many targets as a child execution (statemachines/wave.asl.json; rollout/wave-run.ts), started by wave-start.
  /** the child's WaveApply: one batch of the wave's targets changed (a polled or callback one counted pending) */
  'wave-apply': { waitsForToken: false, run: async (d, i) => (await rollout()).waveApplyStep(d, loop(i)) },
  /** the child's WaveConfirm: every confirming target of one batch polled once (a callback's confirmation read) */
  'wave-confirm': { waitsForToken: false, run: async (d, i) => (await rollout()).waveConfirmStep(d, loop(i)) },
  /** the child's WaveBaked: the wave's bake over, one batch of its targets measured (analyses due) and their monitors read */
  'wave-baked': { waitsForToken: false, run: async (d, i) => (await rollout()).waveBakedStep(d, loop(i)) },
  /** the child's waits (between polls, the bake, between measurements): its token kept for whoever asks the flow to stop */
  'wave-wait': { waitsForToken: true, run: async (d, i) => (await rollout()).waveWaitStep(d, loop(i), i.taskToken) },
  /** the child's WaveContinue: its loops as many as its history allows, the wave goes on in a new execution */
  'wave-continue': {
    waitsForToken: false,
    run: async (d, i) => (await rollout()).waveContinueStep(d, { ...loop(i), parentToken: z.string().check(z.minLength(1)).parse(i.parentToken) }),
  },
  /** the child's WaveEnd: the wave audited in one entry, the parent's token answered (success or the caught failure) */
  'wave-end': {
    waitsForToken: false,
    run: async (d, i) => (await rollout()).waveEndStep(d, i.tenant, i.promotionId, i.wave ?? 0, i.parentToken ?? '', i.error),
  },
  /** every wave done: the environment's head moves, the promotion completes */
  'rollout-complete': { waitsForToken: false, run: async (d, i) => (await rollout()).rolloutCompleteStep(d, i.tenant, i.promotionId) },
} as const satisfies Record<string, Step>;

export type StepName = keyof typeof STEPS;

/** The step names, for the step function's input schema (z.enum). */
export const STEP_NAMES = Object.keys(STEPS) as [StepName, ...StepName[]];

/**
 * Runs one task of the flow (the step function's whole job, after it parsed its input): the row of the
 * step table, with the task token required of the steps that wait for one.
 */
/**
 * The steps after which a baked or failed promotion may have ended: its change request (if it has one) is noted and
 * closed then. Execute closes its own (it knows whether the promotion is change-controlled: no read more for the rest).
 */
const MAY_END: ReadonlySet<StepName> = new Set(['verify', 'fail', 'expire', 'rollout-complete']);

export async function runStep(deps: StepDeps, input: StepInput & { step: StepName }) {
  const step: Step = STEPS[input.step];
  const taskToken = step.waitsForToken ? z.string().check(z.minLength(1)).parse(input.taskToken) : (input.taskToken ?? '');
  const out = await step.run(deps, { ...input, taskToken });
  // A rollback with more batches to run has not ended the promotion yet.
  if (MAY_END.has(input.step) && out.more !== true) await closeIfChangeControlled(deps, input);
  return out;
}

/** A promotion that ended with a change request open: closed (domain/promotion/run/change-hold.ts), loaded only when it has one. */
async function closeIfChangeControlled(deps: StepDeps, input: StepInput): Promise<void> {
  const p = await deps.store.getPromotion(input.tenant, input.promotionId);
  if (!p?.changeRequest?.ref || p.changeRequest.closed) return;
  if (!deps.changes) throw new Error('a change-controlled promotion, and no change tools composed in this function');
  await (await import('../run/change-hold.ts')).closeChange({ ...deps, changes: deps.changes }, input.tenant, input.promotionId);
}

/** The promotion step function's input as the flow (statemachines/promotion.asl.json) sends it: checked before any step runs. */
export const stepInput = /* @__PURE__ */ z.schema(() =>
  z.object({
    step: z.enum(STEP_NAMES),
    tenant: z.string().check(z.minLength(1)),
    promotionId: z.string().check(z.minLength(1)),
    taskToken: z.optional(z.string()),
    error: z.optional(z.unknown()),
    /** execute: whether a bake time follows (false: change the target and complete in one step) */
    bake: z.optional(z.boolean()),
    /** a rollout's steps: the target (target-apply, target-health, target-bake, target-baked), the wave (wave-start), the wave's bake (target-baked) */
    target: z.optional(z.string().check(z.minLength(1), z.maxLength(40))),
    wave: z.optional(z.number().check(z.int(), z.minimum(1))),
    bakeSeconds: z.optional(z.number().check(z.int(), z.minimum(0))),
    /** a child wave's batch: where it starts in the wave's targets */
    offset: z.optional(z.number().check(z.int(), z.minimum(0))),
    /** wave-end: the parent's WaveStart token */
    parentToken: z.optional(z.string().check(z.minLength(1))),
    /** a child wave's loops: its phase and the pass it is at (statemachines/wave.asl.json) */
    batch: z.optional(
      z.object({
        phase: z.enum(['apply', 'confirm', 'bake']),
        offset: z.number().check(z.int(), z.minimum(0)),
        done: z.boolean(),
        pending: z.number().check(z.int(), z.minimum(0)),
        loops: z.number().check(z.int(), z.minimum(0)),
        waitSeconds: z.number().check(z.minimum(0)),
        renew: z.boolean(),
      }),
    ),
    /** wave-continue: which execution of the wave this is */
    part: z.optional(z.number().check(z.int(), z.minimum(0))),
    /** the execution running this step ($$.Execution.Id): logged with the step, for following one promotion across services */
    executionArn: z.optional(z.string()),
  }),
);
