import { waveExecutionEnded } from '#domain/promotion/rollout/wave-run';
import { workflowOnFirstUse } from '../adapters/workflow-on-first-use.ts';
import { compose } from '../http/deps.ts';
import { logged, withLambdaContext } from '../adapters/observability.ts';

/** This function's adapters: the store and the workflow (it answers a parent flow's task token). */
const wiring = compose({
  workflow: workflowOnFirstUse,
});

/**
 * Target of the rule on "Step Functions Execution Status Change" (FAILED, TIMED_OUT, ABORTED) of the wave state
 * machine (infra: WaveStatusRule; the local bus under npm start): a wave's child execution that ended without
 * answering its parent is answered for here, with a failure, so the parent rolls back at once
 * (domain/promotion/rollout/wave-run.ts waveExecutionEnded).
 */
export const handler = withLambdaContext(async (event: unknown) =>
  logged(
    'wave execution status change',
    { executionArn: (event as { detail?: { executionArn?: unknown } })?.detail?.executionArn },
    () => waveExecutionEnded(wiring.deps(), event),
    (r) => ({ status: r.status, answered: r.answered }),
  ),
);
