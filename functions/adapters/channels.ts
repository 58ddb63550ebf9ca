import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { Channels } from '#domain/notify/ports';
import { guardedFetch, OutboundRefused, readLimited } from './outbound.ts';
import * as env from '../configuration.ts';
import { traced } from './tracing.ts';
import { openSealed } from './secret-box.ts';

/**
 * Posts a Slack message to an incoming webhook: the tenant's URL goes through the outbound guard
 * (https only, no private/metadata addresses after DNS, no redirects), and an error carries a
 * short reason — never the webhook URL, whose path is the secret, nor the body of its answer.
 */
export async function postToSlack(webhook: string, message: Record<string, unknown>): Promise<void> {
  let res: Response;
  try {
    res = await guardedFetch(webhook, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(message), timeoutMs: 5000 });
  } catch (err) {
    if (err instanceof OutboundRefused) throw new Error(`the Slack webhook is refused: ${err.message}`);
    throw new Error(`the Slack webhook did not answer (${(err as Error).name})`);
  }
  // The answer's words are not echoed (viewers see the delivery status: it would read whatever the URL
  // points at); its status is. At most 512 bytes are read, to let the connection be reused.
  await readLimited(res, 512).catch(() => '');
  if (res.status >= 300 && res.status < 400) throw new Error(`Slack answered a redirect (HTTP ${res.status}); redirects are not followed`);
  if (res.status < 200 || res.status >= 300) throw new Error(`Slack answered HTTP ${res.status}`);
}

/** The notifier's Slack channel: the tenant's webhook is stored sealed and opened here, where it is posted to. */
export const postToSealedSlack: Channels['slack'] = async (webhook, message) => postToSlack(await openSealed(webhook), message);

/** A failed delivery; `permanent` when sending the same message again cannot help (the notifier records it and does not retry). */
export class ChannelRefused extends Error {
  override name = 'ChannelRefused';
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

/**
 * Posts a message (an Adaptive Card in the envelope Workflows takes) to a Teams Workflows webhook, through the same
 * outbound guard as Slack (https, public addresses after DNS, no redirects). Workflows answers 202 when its trigger
 * took the request: the flow posts the card later, so that is 'accepted', not delivered. A 5xx, 408, 429, no answer
 * or a time-out is transient (the event is delivered again, as for every channel); another 4xx, a redirect or a
 * refused address is permanent. The error never carries the URL (its `sig` is the secret) nor the answer's body.
 */
export async function postToTeams(webhook: string, message: Record<string, unknown>): Promise<'sent' | 'accepted'> {
  let res: Response;
  try {
    res = await guardedFetch(webhook, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(message), timeoutMs: 5000 });
  } catch (err) {
    if (err instanceof OutboundRefused) throw new ChannelRefused(`the Teams webhook is refused: ${err.message}`, true);
    throw new ChannelRefused(`the Teams webhook did not answer (${(err as Error).name})`, false);
  }
  await readLimited(res, 512).catch(() => '');
  if (res.status >= 300 && res.status < 400) throw new ChannelRefused(`Workflows answered a redirect (HTTP ${res.status}); redirects are not followed`, true);
  if (res.status < 200 || res.status >= 300) {
    const transient = res.status >= 500 || res.status === 408 || res.status === 429;
    throw new ChannelRefused(`Workflows answered HTTP ${res.status}${transient ? '' : ' (not sent again: check the flow and its URL)'}`, !transient);
  }
  return res.status === 202 ? 'accepted' : 'sent';
}

/** The notifier's Teams channel: the Workflows URL (its `sig` is the secret) is stored sealed and opened here, where it is posted to. */
export const postToSealedTeams: Channels['teams'] = async (webhook, message) => postToTeams(await openSealed(webhook), message);

/** Email through SES v2: HTML and plain-text parts, from the configured sender (NOTIFY_FROM, a verified identity). */
export function sesEmail(client = traced(new SESv2Client({}))): Channels['email'] {
  return async (m) => {
    const from = env.NOTIFY_FROM();
    if (!from) throw new Error('no email sender is configured: deploy with -c notifyFrom=<a verified SES identity>');
    try {
      await client.send(
        new SendEmailCommand({
          FromEmailAddress: from,
          Destination: { ToAddresses: [m.to] },
          Content: {
            Simple: {
              Subject: { Data: m.subject, Charset: 'UTF-8' },
              Body: { Html: { Data: m.html, Charset: 'UTF-8' }, Text: { Data: m.text, Charset: 'UTF-8' } },
            },
          },
        }),
      );
    } catch (err) {
      const name = (err as { name?: string }).name ?? 'Error';
      // MessageRejected / MailFromDomainNotVerified / NotFound: a configuration problem, said plainly.
      throw new Error(`SES refused the email (${name}): ${String((err as Error).message).slice(0, 160)}`);
    }
  };
}
