import { INLINE_WAVE_TARGETS, WAVE_BATCH } from '../../domain/promotion/rollout/plan.ts';
import { LocalWorkflow, WAVE_MACHINE } from '../workflow.ts';

/**
 * The state transitions and history events of a fleet rollout, counted by running the REAL ASL
 * (statemachines/promotion.asl.json and wave.asl.json) on the local runner with steps that answer as the real
 * ones do for a rollout of immediate targets without bake (no store: only the path through the states is
 * measured). test/integration/waves-child.test.ts checks it against the real flow at 1,000 targets.
 */
export interface FleetFlowCounts {
  targets: number;
  waves: number;
  /** every execution's transitions together (parent and children) */
  transitions: number;
  /** the largest execution history, in events (Step Functions fails an execution past 25,000) */
  largestHistory: number;
  /** the parent's history, in events */
  parentHistory: number;
  /** step Lambda invocations (one per task) */
  stepInvocations: number;
}

/** `targets` immediate targets without bake in `waves` waves of equal size (a wave of at most 25 stays inline, as plan.ts decides). */
export async function fleetFlowCounts(targets: number, waves: number): Promise<FleetFlowCounts> {
  const sizes = Array.from({ length: waves }, (_, i) => Math.floor(((i + 1) * targets) / waves) - Math.floor((i * targets) / waves));
  let invocations = 0;
  const later = (f: () => Promise<unknown>) => void setImmediate(() => void f());
  const workflow: LocalWorkflow = new LocalWorkflow({
    invokeStep: async (payload) => {
      invocations++;
      const p = payload as { step: string; taskToken?: string; wave?: number; parentToken?: string; batch?: { offset: number; done: boolean; loops: number } };
      switch (p.step) {
        case 'decide':
          later(() => workflow.sendTaskSuccess(p.taskToken!, { next: 'execute', waves: waves }));
          return { next: 'await-approval' };
        case 'rollout-start':
          return {
            next: 'execute',
            waves: sizes.map((count, i) => {
              const child = count > INLINE_WAVE_TARGETS;
              const timing = { timeoutSeconds: 900, intervalSeconds: 15, firstWaitSeconds: 0, measureSeconds: 0 };
              const names = child ? [] : Array.from({ length: count }, (_, j) => ({ name: `w${i + 1}-${j}`, ...timing }));
              return { wave: i + 1, child, count, targets: names, bakeSeconds: 0, maxParallel: 10 };
            }),
          };
        case 'wave-start':
          // As rollout/wave-go.ts goOn: an inline wave's token answered, a large wave's child started with it.
          if (sizes[p.wave! - 1]! > INLINE_WAVE_TARGETS)
            await workflow.startWave({ tenant: 'model', promotionId: 'fleet', wave: p.wave!, bakeSeconds: 0, parentToken: p.taskToken! });
          else later(() => workflow.sendTaskSuccess(p.taskToken!, { wave: p.wave! }));
          return { next: 'execute' };
        case 'wave-apply':
        case 'wave-baked': {
          // As rollout/wave-loop.ts answers for immediate targets: nothing pending; a finished pass starts the next at 0.
          const from = p.batch?.done ? 0 : (p.batch?.offset ?? 0);
          const offset = Math.min(sizes[p.wave! - 1]!, from + WAVE_BATCH);
          const done = offset >= sizes[p.wave! - 1]!;
          const phase = p.step === 'wave-apply' && !done ? 'apply' : 'bake';
          return { next: 'execute', phase, offset, done, pending: 0, loops: p.batch?.loops ?? 0, waitSeconds: 0, renew: false };
        }
        case 'wave-end':
          await workflow.sendTaskSuccess(p.parentToken!, { wave: p.wave! });
          return { next: 'execute' };
        case 'target-apply':
          later(() => workflow.sendTaskSuccess(p.taskToken!, {}));
          return { next: 'execute' };
        case 'target-baked':
          return { next: 'done' };
        case 'rollout-complete':
          return { next: 'done' };
        default:
          throw new Error(`fleet model: no answer for step ${p.step}`);
      }
    },
  });
  try {
    const parent = await workflow.start({ tenant: 'model', promotionId: 'fleet', approvalTimeoutSeconds: 3600 });
    const status = await workflow.done(parent);
    if (status !== 'SUCCEEDED') throw new Error(`fleet model: the flow ended ${status}`);
    const children = workflow.executions(WAVE_MACHINE);
    const ids = [parent, ...children.map((c) => c.id)];
    return {
      targets,
      waves,
      transitions: ids.reduce((n, id) => n + workflow.transitions(id), 0),
      largestHistory: Math.max(...ids.map((id) => workflow.events(id))),
      parentHistory: workflow.events(parent),
      stepInvocations: invocations,
    };
  } finally {
    await workflow.stop();
  }
}
