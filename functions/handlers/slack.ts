import { slackAction, slackCommand } from '#domain/notify/slack-actions';
import { directoryFromEnv } from '../adapters/cognito-directory.ts';
import { slackEndpoint } from '../http/slack.ts';
import { workflowOnFirstUse } from '../adapters/workflow-on-first-use.ts';
import { schedulerOnFirstUse } from '../adapters/scheduler-on-first-use.ts';
import { compose } from '../http/deps.ts';
import { refusingDotSegments } from '../http/request.ts';

/** This function's adapters: the store, the directory (the linked account) and the workflow (a button's decision resumes the flow; the scheduler, loaded on first use, when a rejection cancels a change request). */
const wiring = compose({ directory: directoryFromEnv, workflow: workflowOnFirstUse, scheduler: () => schedulerOnFirstUse() });

const actions = slackEndpoint(wiring, slackAction);
const commands = slackEndpoint(wiring, slackCommand);

/**
 * The request URLs of the deployment's Slack app: POST /api/v1/slack/actions (interactivity:
 * Approve/Reject buttons) and POST /api/v1/slack/commands (`/stageline link CODE`).
 */
export const handler: typeof actions = refusingDotSegments((event, context) =>
  event.routeKey?.endsWith('/slack/commands') ? commands(event, context) : actions(event, context),
);
