import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import * as AC from 'adaptivecards';
import { contractAjv } from './contract-ajv.ts';
import ADAPTIVE_CARD_1_4 from '../fixtures/adaptive-card-1.4/adaptive-card.json' with { type: 'json' };

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

let schema14: ((card: unknown) => boolean) & { errors?: any } = undefined as never;

/**
 * Where a card breaks the Adaptive Card 1.4 schema (the published schema's definitions for the elements Stageline
 * sends, test/fixtures/adaptive-card-1.4): a property the version does not define, a value outside its enum, an
 * element or action type it does not know. Empty when the card is valid for 1.4 and says it is 1.4.
 */
export function adaptiveCard14Problems(card: any): string[] {
  if (!schema14) {
    const ajv = contractAjv({ verbose: true });
    const fromAjv = createRequire(createRequire(import.meta.url).resolve('ajv-formats'));
    ajv.addMetaSchema(fromAjv('ajv/dist/refs/json-schema-draft-06.json'));
    schema14 = ajv.compile(ADAPTIVE_CARD_1_4);
  }
  const out: string[] = [];
  if (card?.version !== '1.4') out.push(`version ${JSON.stringify(card?.version)}, not "1.4"`);
  if (schema14(card)) return out;
  // Each branch of an anyOf reports its own misses: keep those of the definition the element names by its `type`.
  const at = (path: string) =>
    path
      .split('/')
      .slice(1)
      .reduce((n: any, k) => n?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], card);
  const errors = (schema14.errors ?? []) as { instancePath: string; keyword: string; message?: string; params: any; parentSchema?: any }[];
  const lines: string[] = [];
  for (const e of errors) {
    const node = at(e.instancePath);
    const named: unknown[] | undefined = e.parentSchema?.properties?.type?.enum;
    const typed = node && typeof node === 'object' && typeof node.type === 'string';
    if (e.keyword === 'anyOf' || (named && typed && !named.includes(node.type))) continue;
    if ((e.keyword === 'type' && typed) || (e.keyword === 'enum' && e.instancePath.endsWith('/type'))) continue;
    const where = `${e.instancePath || '/'}${typed ? ` (${node.type})` : ''}`;
    lines.push(e.keyword === 'additionalProperties' ? `${where} has ${e.params.additionalProperty}, not in 1.4` : `${where} ${e.message ?? e.keyword}`);
  }
  // Nothing left: no definition takes the element at all (a type 1.4 does not have).
  if (!lines.length)
    lines.push(...errors.filter((e) => e.keyword === 'anyOf').map((e) => `${e.instancePath || '/'} (${String(at(e.instancePath)?.type)}) is no 1.4 element`));
  out.push(...new Set(lines));
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
    out.push(...adaptiveCardProblems(a.content), ...adaptiveCard14Problems(a.content));
  }
  return out;
}
