import * as z from '../../../domain/kernel/zod.ts';
import { time } from './common.ts';

/** What the notification-settings and Slack routes answer. */
export const notificationSettings = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      scope: z.string().check(z.describe("'tenant' or an environment")),
      slack: z.nullable(
        z.strictObject({
          webhook: z.string().check(z.describe('origin only; the secret path is never returned')),
          channels: z.array(z.string()),
          teamId: z
            .nullable(z.string())
            .check(
              z.describe(
                "the Slack workspace bound to the tenant (its members who linked their own account act from Slack); the signing secret is the deployment's, never shown",
              ),
            ),
        }),
      ),
      teams: z.nullable(
        z.strictObject({ webhook: z.string().check(z.describe('origin only: the Workflows URL carries its signature (sig=…), never returned')) }),
      ),
      email: z.nullable(z.strictObject({ recipients: z.array(z.string()), approvers: z.boolean() })),
      events: z.array(z.string()),
      version: z.number().check(z.int()),
      updatedAt: z.optional(time),
      updatedBy: z.optional(z.string()),
    })
    .check(z.meta({ id: 'NotificationSettings' })),
);

/** A reply to a Slack interaction: shown to the one user who pressed the button. */
export const slackLink = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({ id: z.string(), teamId: z.string(), userId: z.string(), accountId: z.string(), email: z.string(), linkedAt: time })
    .check(z.meta({ id: 'SlackLink' })),
);

export const slackReply = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      response_type: z.literal('ephemeral'),
      replace_original: z.optional(z.literal(false)).check(z.describe('the message with the buttons stays (absent on a 404)')),
      text: z.string(),
    })
    .check(z.meta({ id: 'SlackReply' })),
);

export const slackLinkCodeResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    code: z.string().check(z.describe('<tenant>.<12 characters>: send it from Slack as `/stageline link CODE`')),
    command: z.string(),
    expiresAt: time,
    account: z.string().check(z.describe('the account the code links to: always the caller')),
    singleUse: z.literal(true),
  }),
);
export const slackLinksListResponse = /* @__PURE__ */ z.schema(() => z.strictObject({ items: z.array(slackLink) }));
