import { slackActionsForm, slackCommandsForm } from '../responses/forms.ts';
import { notificationSettings, slackLinkCodeResponse, slackLinksListResponse, slackReply } from '../responses/notifications.ts';
import { v1, type Route, type RouteResponse } from './row.ts';

/** Headers Slack signs its requests with (the deployment's Slack app). */
const SLACK_HEADERS = {
  'X-Slack-Request-Timestamp': 'set by Slack: Unix seconds, within 5 minutes of now',
  'X-Slack-Signature': "set by Slack: v0= and the hex HMAC-SHA256 of v0:<timestamp>:<raw body>, keyed with the signing secret of the deployment's Slack app",
};

const settings: RouteResponse = { schema: notificationSettings };

/**
 * Where notifications go (tenant-wide, or per environment), and the deployment's Slack app: its
 * request URLs (verified with the app's signing secret, so their function acts, with a role of its
 * own) and the links between Slack users and accounts.
 */
export const NOTIFICATION_ROUTES: Route[] = [
  {
    method: 'GET',
    path: `${v1}/notifications`,
    handler: 'notifications-get',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Where notifications go, tenant-wide (secrets never shown)',
    context: { scope: 'tenant' },
    response: settings,
  },
  {
    method: 'PUT',
    path: `${v1}/notifications`,
    handler: 'notifications-put',
    auth: 'jwt',
    role: 'admin',
    env: 'tenant',
    summary: 'Set tenant-wide notifications (Slack, Microsoft Teams and email)',
    context: { scope: 'tenant' },
    response: settings,
    // It seals the Slack and Teams webhooks it is given: with the other writers of a tenant's secrets, in a function of its own role (functions/http/topology.ts).
    startsFlows: false,
    ownRole: true,
  },
  {
    method: 'GET',
    path: `${v1}/environments/{env}/notifications`,
    handler: 'notifications-get',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Notifications for promotions into this environment',
    context: { scope: 'environment' },
    response: settings,
  },
  {
    method: 'PUT',
    path: `${v1}/environments/{env}/notifications`,
    handler: 'notifications-put',
    auth: 'jwt',
    role: 'admin',
    env: { path: 'env' },
    summary: 'Set notifications for promotions into this environment (overrides the tenant-wide ones)',
    context: { scope: 'environment' },
    response: settings,
    // It seals the Slack and Teams webhooks it is given: with the other writers of a tenant's secrets, in a function of its own role (functions/http/topology.ts).
    startsFlows: false,
    ownRole: true,
  },
  {
    method: 'POST',
    path: `${v1}/slack/actions`,
    handler: 'slack',
    auth: 'none',
    role: null,
    summary:
      "The deployment's Slack app, interactivity request URL: Approve/Reject buttons (verified with the app's signing secret; the Slack user acts as the account they linked)",
    form: slackActionsForm,
    headers: SLACK_HEADERS,
    response: {
      schema: slackReply,
      errors: {
        400: 'Not a Slack interaction payload, or not an approve/reject action of a tenant',
        401: 'This deployment has no Slack signing secret, or the signature does not hold (the reply says why)',
        413: 'The request is larger than 64 KiB',
      },
    },
    ownRole: true,
  },
  {
    method: 'POST',
    path: `${v1}/slack/commands`,
    handler: 'slack',
    auth: 'none',
    role: null,
    summary: "The deployment's Slack app, slash command request URL: `/stageline link CODE` links the Slack user who sends it to the account that got the code",
    form: slackCommandsForm,
    headers: SLACK_HEADERS,
    response: {
      schema: slackReply,
      errors: {
        400: 'Not a Slack slash command (no team_id or user_id)',
        401: 'This deployment has no Slack signing secret, or the signature does not hold (the reply says why)',
        413: 'The request is larger than 64 KiB',
      },
    },
    ownRole: true,
  },
  {
    method: 'POST',
    path: `${v1}/slack/link-codes`,
    handler: 'slack-links',
    auth: 'jwt',
    role: 'approver',
    env: 'any',
    summary: 'A one-time code (10 minutes, single use) to link your own Slack account: send `/stageline link CODE` from Slack',
    status: 201,
    response: { schema: slackLinkCodeResponse },
  },
  {
    method: 'GET',
    path: `${v1}/slack/links`,
    handler: 'slack-links',
    auth: 'jwt',
    role: 'viewer',
    summary: "Slack users linked to accounts: an admin sees the tenant's, anyone else their own",
    response: { schema: slackLinksListResponse },
  },
  {
    method: 'DELETE',
    path: `${v1}/slack/links/{team}/{user}`,
    handler: 'slack-links',
    auth: 'jwt',
    role: 'approver',
    env: 'any',
    summary: "Unlink a Slack user: your own, or (admin) anyone's; nobody links anyone else",
    status: 204,
  },
];
