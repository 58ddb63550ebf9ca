import { directoryFromEnv } from '../adapters/cognito-directory.ts';
import { workflowOnFirstUse } from '../adapters/workflow-on-first-use.ts';
import { schedulerOnFirstUse } from '../adapters/scheduler-on-first-use.ts';
import { compose } from '../http/deps.ts';
import { reviewEndpoint } from '../review/serve.ts';
import { refusingDotSegments } from '../http/request.ts';

/** This function's adapters: the store, the directory (who the link's approver is now) and the workflow (a decision resumes the flow; the scheduler, loaded on first use, when a rejection cancels a change request). */
const wiring = compose({ directory: directoryFromEnv, workflow: workflowOnFirstUse, scheduler: () => schedulerOnFirstUse() });

/** GET/POST /review/{tenant}/{token}: the page behind a signed approval link (functions/review/serve.ts). */
export const handler = refusingDotSegments(reviewEndpoint(wiring));
