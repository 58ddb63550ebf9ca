import { randomUUID } from 'node:crypto';
import { AuditSendRefused, AuditSendUnavailable, type AuditSender, type StreamedAuditEntry } from '#domain/audit/stream-ports';
import { guardedFetch, OutboundRefused, readLimited, sleep } from '../outbound.ts';

/** A Splunk HTTP Event Collector destination's settings, and its (opened) token. */
export interface SplunkSettings {
  url: string;
  token: string;
  index?: string;
  sourcetype?: string;
  ack?: boolean;
}

/** What a HEC answer says (its documented `{text, code, ackId?}`). */
interface HecAnswer {
  text?: string;
  code?: number;
  ackId?: number;
  acks?: Record<string, boolean>;
}

export const SPLUNK_SOURCE = 'stageline';
export const SPLUNK_SOURCETYPE = 'stageline:audit';
/** How many times an acknowledgement is asked for, and the first wait between (doubling, at most 5 s): about a minute in all. */
export const ACK_POLLS = { tries: 15, firstMs: 200, maxMs: 5000 };

/** One audit entry as a HEC event: `time` the entry's, `event` the entry with its chain place (tenant, seq, hashes: the de-duplication key). */
export function hecEvent(e: StreamedAuditEntry, s: Pick<SplunkSettings, 'index' | 'sourcetype'>): Record<string, unknown> {
  return {
    time: Date.parse(e.entry.at) / 1000,
    host: 'stageline',
    source: SPLUNK_SOURCE,
    sourcetype: s.sourcetype ?? SPLUNK_SOURCETYPE,
    ...(s.index ? { index: s.index } : {}),
    event: { tenant: e.tenant, seq: e.seq, hash: e.hash, prevHash: e.prevHash, entryHash: e.entryHash, linkedAt: e.link.linkedAt, entry: e.entry },
  };
}

const base = (url: string) => url.replace(/\/+$/, '');

/** A HEC answer as one of the port's failures: 429 and 5xx transient, every other refusal said with HEC's text and code. */
async function failure(res: Response, what: string): Promise<Error> {
  const text = await readLimited(res, 4096).catch(() => '');
  let a: HecAnswer = {};
  try {
    a = JSON.parse(text) as HecAnswer;
  } catch {
    /* not JSON: the status says it */
  }
  const said = a.text ? `${a.text}${a.code !== undefined ? ` (code ${a.code})` : ''}` : text.slice(0, 200) || res.statusText;
  const message = `Splunk HEC ${what} answered ${res.status}: ${said}`;
  return res.status === 429 || res.status >= 500 ? new AuditSendUnavailable(message) : new AuditSendRefused(message, res.status);
}

/** A network failure or a refused address as the port's failures: an address the outbound rules refuse is not transient. */
function unreachable(err: unknown, what: string): Error {
  if (err instanceof OutboundRefused) return new AuditSendRefused(`Splunk HEC ${what}: ${err.message}`);
  return new AuditSendUnavailable(`Splunk HEC ${what}: no answer (${(err as Error)?.message ?? String(err)})`);
}

/**
 * The Splunk HEC sender: `POST /services/collector/event` with `Authorization: Splunk <token>`, the batch as event
 * objects concatenated (Splunk's documented format); with `ack`, on one request channel (X-Splunk-Request-Channel), and
 * the batch counts as taken only once `POST /services/collector/ack` says its ackId is indexed.
 */
export function splunkSender(s: SplunkSettings, wait: (ms: number) => Promise<unknown> = sleep): AuditSender {
  const channel = randomUUID();
  const headers = {
    authorization: `Splunk ${s.token}`,
    'content-type': 'application/json',
    ...(s.ack ? { 'x-splunk-request-channel': channel } : {}),
  };
  const post = async (path: string, body: string, what: string) => {
    try {
      return await guardedFetch(`${base(s.url)}${path}`, { method: 'POST', headers, body, timeoutMs: 15_000 });
    } catch (err) {
      throw unreachable(err, what);
    }
  };
  return {
    kind: 'splunk',
    async send(batch: readonly StreamedAuditEntry[]): Promise<void> {
      if (!batch.length) return;
      const body = batch.map((e) => JSON.stringify(hecEvent(e, s))).join('\n');
      const res = await post('/services/collector/event', body, 'event');
      if (!res.ok) throw await failure(res, 'event');
      const answer = JSON.parse((await readLimited(res, 4096)) || '{}') as HecAnswer;
      if (!s.ack) return;
      if (typeof answer.ackId !== 'number')
        throw new AuditSendRefused('Splunk HEC gave no ackId: the token does not ask for indexer acknowledgement; set ack to false or turn it on at the token');
      let delay = ACK_POLLS.firstMs;
      for (let i = 0; i < ACK_POLLS.tries; i++) {
        const r = await post(`/services/collector/ack?channel=${channel}`, JSON.stringify({ acks: [answer.ackId] }), 'ack');
        if (!r.ok) throw await failure(r, 'ack');
        const acks = (JSON.parse((await readLimited(r, 4096)) || '{}') as HecAnswer).acks ?? {};
        if (acks[String(answer.ackId)] === true) return;
        await wait(delay);
        delay = Math.min(delay * 2, ACK_POLLS.maxMs);
      }
      throw new AuditSendUnavailable(`Splunk HEC did not acknowledge ackId ${answer.ackId} on channel ${channel}: the batch is sent again`);
    },
  };
}

/**
 * The save's check of a HEC endpoint (through the outbound rules): an empty event request, which HEC answers 400
 * "No data" (code 5) when the token is good, 401/403 when not. Issues name the field.
 */
export async function checkSplunk(
  s: Pick<SplunkSettings, 'url' | 'ack'> & { token?: string },
): Promise<{ field: 'url' | 'token' | 'ack'; message: string } | null> {
  let res: Response;
  try {
    res = await guardedFetch(`${base(s.url)}/services/collector/event`, {
      method: 'POST',
      headers: { authorization: `Splunk ${s.token ?? ''}`, 'content-type': 'application/json' },
      body: '',
      timeoutMs: 5000,
    });
  } catch (err) {
    return { field: 'url', message: err instanceof OutboundRefused ? err.message : `cannot be reached: ${(err as Error)?.message ?? String(err)}` };
  }
  const text = await readLimited(res, 4096).catch(() => '');
  if (s.token === undefined) return null;
  if (res.status === 401 || res.status === 403)
    return { field: 'token', message: `is refused by the HTTP Event Collector (${res.status}: ${text.slice(0, 120)})` };
  if (res.status === 404) return { field: 'url', message: 'has no HTTP Event Collector (/services/collector/event answered 404)' };
  let code: number | undefined;
  try {
    code = (JSON.parse(text) as HecAnswer).code;
  } catch {
    code = undefined;
  }
  // Code 10 ("Data channel is missing"): the token asks for indexer acknowledgement, which needs a request channel.
  if (code === 10 && !s.ack)
    return { field: 'ack', message: 'is false, but the token asks for indexer acknowledgement (HEC: "Data channel is missing"): set ack to true' };
  return null;
}
