import * as z from '#domain/kernel/zod';
import { notify, NOTIFY_ON } from '#domain/notify/notifier';
import { parseEventDetail } from '#domain/kernel/events';
import { postToSealedSlack, postToSealedTeams, sesEmail } from '../adapters/channels.ts';
import { schedulerOnFirstUse } from '../adapters/scheduler-on-first-use.ts';
import { compose } from '../http/deps.ts';
import { notificationFailures } from '../adapters/metrics.ts';
import type { Channels } from '#domain/notify/ports';
import type { Directory } from '#domain/access/ports';
import { withLambdaContext } from '../adapters/observability.ts';

/** This function's adapters: the store, the directory and the channels (Slack, Teams, SES email), and the scheduler (approval reminders). */
const wiring = compose({ directory: directoryOnFirstUse, channels: emailOnFirstUse, scheduler: () => schedulerOnFirstUse() });

/** The Cognito directory is loaded when an email goes out (it finds the recipients): a Slack-only tenant never loads it. */
function directoryOnFirstUse(): Directory {
  let made: Promise<Directory> | undefined;
  const directory = () => (made ??= import('../adapters/cognito-directory.ts').then(({ directoryFromEnv }) => directoryFromEnv()));
  return {
    members: async (tenant, groups) => (await directory()).members(tenant, groups),
    byEmail: async (tenant, email) => (await directory()).byEmail(tenant, email),
  };
}

/** The SES client is made when the first email goes out (a Slack-only tenant never needs NOTIFY_FROM). */
function emailOnFirstUse(): Channels {
  let email: Channels['email'] | undefined;
  return { slack: postToSealedSlack, teams: postToSealedTeams, email: (m) => (email ??= sesEmail())(m) };
}

const event = z.object({ 'detail-type': z.enum(NOTIFY_ON), detail: z.record(z.string(), z.unknown()) });

/** Target of the notifications bus rule: delivers each event to Slack, Teams and email as configured (at least once in, once out per event id and target). */
export const handler = withLambdaContext(async (raw: unknown) => {
  const e = event.parse(raw);
  try {
    const deliveries = await notify(wiring.deps(), e['detail-type'], parseEventDetail(e['detail-type'], e.detail));
    return { delivered: deliveries.filter((d) => d.status !== 'failed').length };
  } catch (err) {
    // Failed deliveries are recorded on the promotion; counted here; the bus retries the event.
    notificationFailures(String((err as Error).message).split('; ').length);
    throw err;
  }
});
