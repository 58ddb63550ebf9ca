import type { Directory } from '#domain/ports';
import { slackAction, slackCommand } from '#domain/notify/slack-actions';
import { directoryFromEnv } from '../adapters/cognito-directory.ts';
import { slackEndpoint } from '../http/slack.ts';
import { lazy, registerNotify } from '../http/deps.ts';

registerNotify(() => ({ directory: lazy<Directory>(() => directoryFromEnv()) }));

const actions = slackEndpoint(slackAction);
const commands = slackEndpoint(slackCommand);

/**
 * The request URLs of the deployment's Slack app: POST /api/v1/slack/actions (interactivity:
 * Approve/Reject buttons) and POST /api/v1/slack/commands (`/stageline link CODE`).
 */
export const handler: typeof actions = (event) => (event.routeKey?.endsWith('/slack/commands') ? commands(event) : actions(event));
