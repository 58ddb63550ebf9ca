import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as AC from 'adaptivecards';

/** One request the stand-in received: its path and query (the URL's signature), headers and JSON body. */
export interface WorkflowsPost {
  path: string;
  headers: IncomingHttpHeaders;
  body: any;
}

export interface WorkflowsStandIn {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** a webhook URL shaped like a Workflows trigger's (the signature in `sig` is its secret) */
  hook(name?: string): string;
  posts: WorkflowsPost[];
  /** the next answers, in order (then 202 again): a status, or 'hang' (never answers: the sender's time-out) */
  script: (number | 'hang')[];
  stop(): Promise<void>;
}

/**
 * A stand-in for a Teams Workflows webhook ("When a Teams webhook request is received"): it takes a POST of a
 * JSON message and answers 202 Accepted with an empty body, as the Workflows trigger does (the flow posts the
 * card later, so 202 says accepted, not delivered); scripted answers stand for its failures.
 */
export async function startWorkflowsStandIn(): Promise<WorkflowsStandIn> {
  const posts: WorkflowsPost[] = [];
  const script: WorkflowsStandIn['script'] = [];
  const server: Server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      let body: unknown = null;
      try {
        body = JSON.parse(data);
      } catch {
        /* recorded as null: a test sees it */
      }
      posts.push({ path: req.url ?? '', headers: req.headers, body });
      const next = script.shift() ?? 202;
      if (next === 'hang') return;
      res.writeHead(next, next === 202 ? {} : { 'content-type': 'application/json' });
      res.end(next === 202 ? '' : JSON.stringify({ error: { code: 'TriggerFailed', message: `stand-in answered ${next}` } }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    hook: (name = 'a1b2c3') =>
      `${url}/workflows/${name}/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=SECRETsig${name}`,
    posts,
    script,
    stop: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/**
 * Every problem the Adaptive Cards SDK finds in a card: its parse events (unknown types, bad values) and its
 * property validation (missing required properties, an unsupported version). Empty when the card is valid.
 */
export function adaptiveCardProblems(card: unknown): string[] {
  const parsed = new AC.AdaptiveCard();
  const context = new AC.SerializationContext();
  parsed.parse(card as never, context);
  const out: string[] = [];
  for (let i = 0; i < context.eventCount; i++) out.push(`parse: ${context.getEventAt(i).message}`);
  for (const e of parsed.validateProperties().validationEvents) out.push(`validate: ${e.message}`);
  return out;
}

/** The message envelope Workflows expects: one attachment, an Adaptive Card. Problems, or [] when it holds. */
export function workflowsEnvelopeProblems(message: any): string[] {
  const out: string[] = [];
  if (message?.type !== 'message') out.push('type must be "message"');
  const attachments = Array.isArray(message?.attachments) ? message.attachments : [];
  if (attachments.length !== 1) out.push(`${attachments.length} attachments, not 1`);
  for (const a of attachments) {
    if (a.contentType !== 'application/vnd.microsoft.card.adaptive') out.push(`contentType ${a.contentType}`);
    if (a.content?.type !== 'AdaptiveCard') out.push('content is not an AdaptiveCard');
    out.push(...adaptiveCardProblems(a.content));
  }
  return out;
}
