import * as z from 'zod';
import { time } from './common.ts';

/** What the notification-settings and Slack routes answer. */
const notificationSettings = /* @__PURE__ */ z
  .object({
    scope: z.string().describe("'tenant' or an environment"),
    slack: z
      .object({
        webhook: z.string().describe('origin only; the secret path is never returned'),
        channels: z.array(z.string()),
        teamId: z.string().nullable().describe('the Slack workspace bound to the tenant (its members who linked their own account act from Slack); the signing secret is the deployment\'s, never shown'),
      })
      .strict()
      .nullable(),
    email: z.object({ recipients: z.array(z.string()), approvers: z.boolean() }).strict().nullable(),
    events: z.array(z.string()),
    version: z.number().int(),
    updatedAt: time.optional(),
    updatedBy: z.string().optional(),
  })
  .strict()
  .meta({ id: 'NotificationSettings' });

/** A reply to a Slack interaction: shown to the one user who pressed the button. */
const slackLink = /* @__PURE__ */ z
  .object({ id: z.string(), teamId: z.string(), userId: z.string(), accountId: z.string(), email: z.string(), linkedAt: time })
  .strict()
  .meta({ id: 'SlackLink' });

const slackReply = /* @__PURE__ */ z
  .object({ response_type: z.literal('ephemeral'), replace_original: z.literal(false).optional().describe('the message with the buttons stays (absent on a 404)'), text: z.string() })
  .strict()
  .meta({ id: 'SlackReply' });

export const NOTIFICATION_RESPONSES: Record<string, z.ZodType> = {
  'notifications-get': notificationSettings,
  'notifications-put': notificationSettings,
  slack: slackReply,
  'slack-links': z
    .object({
      code: z.string().describe('<tenant>.<12 characters>: send it from Slack as `/stageline link CODE`'),
      command: z.string(),
      expiresAt: time,
      account: z.string().describe('the account the code links to: always the caller'),
      singleUse: z.literal(true),
    })
    .strict(),
  'slack-links-list': z.object({ items: z.array(slackLink) }).strict(),
};
