import type { Workflow } from '#domain/promotion/ports';
import type { Source } from '../configuration.ts';
import { onFirstUse } from './on-first-use.ts';

/*
 * One module per adapter loaded on first use (onFirstUse): a bundle reads only the `import()`s of
 * the modules it imports, so each function carries (as chunks) only the adapters it composes, and
 * infra/adapters.ts gives it only their env and IAM.
 */

/** Step Functions (functions/adapters/sfn-workflow.ts): starts flows and resumes waiting tasks. */
export const workflowOnFirstUse = (source?: Source): Workflow =>
  onFirstUse<Workflow>(() => import('./sfn-workflow.ts').then(({ sfnWorkflowFromEnv }) => sfnWorkflowFromEnv(source)), {
    start: true,
    sendTaskSuccess: true,
    sendTaskFailure: true,
    startWave: true,
  });
