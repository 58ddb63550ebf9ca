import * as z from '../../../domain/kernel/zod.ts';

/** Request bodies that are forms (application/x-www-form-urlencoded): a route's row names its form (`form`, functions/http/routes/). */
/** POST /review/{tenant}/{token}: the review page's approve/reject form. */
export const reviewForm = /* @__PURE__ */ z.schema(() =>
  z.object({
    action: z.enum(['approve', 'reject']),
    reason: z.optional(z.string()).check(z.describe('why; required to reject (at most 1,000 characters are kept)')),
    nonce: z.string().check(z.describe('the nonce of the page this form came from (valid for 30 minutes)')),
  }),
);

/** The Slack app's interactivity request URL: a button pressed. */
export const slackActionsForm = /* @__PURE__ */ z.schema(() =>
  z.object({
    payload: z
      .string()
      .check(
        z.describe(
          'the interaction as JSON, as Slack posts it: team.id (a workspace the tenant bound), user.id (who linked their own account), actions[0].action_id (approve | reject) and actions[0].value (<tenant>:<promotion id>)',
        ),
      ),
  }),
);

/** The Slack app's slash command request URL. */
export const slackCommandsForm = /* @__PURE__ */ z.schema(() =>
  z
    .looseObject({
      team_id: z.string().check(z.describe('the workspace (bound by the tenant)')),
      user_id: z.string().check(z.describe('the Slack user who sent the command: the one linked')),
      command: z.string().check(z.describe('/stageline')),
      text: z.string().check(z.describe('link CODE (the code from POST /api/v1/slack/link-codes)')),
    })
    .check(z.describe('as Slack posts a slash command (it sends more fields; they are ignored)')),
);
