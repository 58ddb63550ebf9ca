import * as z from '../../../domain/kernel/zod.ts';

/** Request bodies that are forms (application/x-www-form-urlencoded), per handler of a route declaring `form`. */
export const FORMS: Record<string, z.ZodMiniType> = {
  review: z.object({
    action: z.enum(['approve', 'reject']),
    reason: z.optional(z.string()).check(z.describe('why; required to reject (at most 1,000 characters are kept)')),
    nonce: z.string().check(z.describe('the nonce of the page this form came from (valid for 30 minutes)')),
  }),
  'slack-actions': z.object({
    payload: z
      .string()
      .check(
        z.describe(
          'the interaction as JSON, as Slack posts it: team.id (a workspace the tenant bound), user.id (who linked their own account), actions[0].action_id (approve | reject) and actions[0].value (<tenant>:<promotion id>)',
        ),
      ),
  }),
  'slack-commands': z
    .looseObject({
      team_id: z.string().check(z.describe('the workspace (bound by the tenant)')),
      user_id: z.string().check(z.describe('the Slack user who sent the command: the one linked')),
      command: z.string().check(z.describe('/stageline')),
      text: z.string().check(z.describe('link CODE (the code from POST /api/v1/slack/link-codes)')),
    })
    .check(z.describe('as Slack posts a slash command (it sends more fields; they are ignored)')),
};
