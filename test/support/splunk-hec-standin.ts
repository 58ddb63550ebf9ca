import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';

/**
 * A Splunk HTTP Event Collector stand-in held to Splunk's published description of HEC ("Format events for HTTP
 * Event Collector", "HTTP Event Collector REST API endpoints", "About HTTP Event Collector Indexer Acknowledgment"):
 * - `POST /services/collector/event` with `Authorization: Splunk <token>`: a body of event objects, concatenated
 *   (whitespace between them allowed), each `{time?, host?, source?, sourcetype?, index?, fields?, event}`, `time`
 *   epoch seconds (a number), `event` present and not blank; anything else is refused as HEC refuses it (400, its
 *   code and text) and recorded in `violations`;
 * - a token that asks for indexer acknowledgement requires `X-Splunk-Request-Channel` (a GUID; code 10 without it) and
 *   answers each accepted request with an `ackId`, per channel; `POST /services/collector/ack?channel=…` `{"acks":[…]}`
 *   answers `{"acks":{"<id>":bool}}` — an ack turns true on the second query of it (indexing takes a while);
 * - 401 without a token (code 2), 403 with a wrong one (code 4), 503 "Server is busy" (code 9) while `outage` is on,
 *   and 400 "Incorrect index" (code 7) for an index `refusedIndexes` names.
 * `events` holds what was indexed (acknowledged or not), `bodies` every request body received (to grep for secrets).
 */
export interface SplunkHecStandin {
  url: string;
  token: string;
  /** answers 503 (server busy) while true */
  outage: boolean;
  /** indexes answered "Incorrect index" (code 7) */
  refusedIndexes: Set<string>;
  readonly events: HecEvent[];
  readonly bodies: string[];
  readonly violations: string[];
  /** requests answered 503 */
  busy: number;
  stop(): Promise<void>;
}

export interface HecEvent {
  time?: number;
  host?: string;
  source?: string;
  sourcetype?: string;
  index?: string;
  fields?: Record<string, unknown>;
  event: any;
  channel?: string;
}

const KNOWN = new Set(['time', 'host', 'source', 'sourcetype', 'index', 'fields', 'event']);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Splits a HEC body into its concatenated JSON objects (strings and nesting respected); throws at the first that is not one. */
export function splitConcatenated(raw: string): unknown[] {
  const out: unknown[] = [];
  let i = 0;
  while (i < raw.length) {
    while (i < raw.length && /\s/.test(raw[i]!)) i++;
    if (i >= raw.length) break;
    if (raw[i] !== '{') throw new Error(`event ${out.length}: not a JSON object`);
    let depth = 0;
    let inString = false;
    let j = i;
    for (; j < raw.length; j++) {
      const c = raw[j];
      if (inString) {
        if (c === '\\') j++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{') depth++;
      else if (c === '}' && --depth === 0) break;
    }
    if (depth !== 0 || j >= raw.length) throw new Error(`event ${out.length}: not a JSON object`);
    out.push(JSON.parse(raw.slice(i, j + 1)));
    i = j + 1;
  }
  return out;
}

export async function startSplunkHecStandin(o: { token?: string; ack?: boolean } = {}): Promise<SplunkHecStandin> {
  const token = o.token ?? `hec-${randomUUID()}`;
  const acks = new Map<string, { next: number; pending: Map<number, { asked: number }> }>();
  let server: Server;
  const s: SplunkHecStandin = {
    url: '',
    token,
    outage: false,
    refusedIndexes: new Set(),
    events: [],
    bodies: [],
    violations: [],
    busy: 0,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      s.bodies.push(raw);
      const url = new URL(req.url ?? '/', 'http://hec');
      const answer = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify(body));
      const auth = req.headers.authorization;
      if (!auth) return answer(401, { text: 'Token is required', code: 2 });
      if (auth !== `Splunk ${token}`) return answer(403, { text: 'Invalid token', code: 4 });
      if (s.outage) {
        s.busy++;
        return answer(503, { text: 'Server is busy', code: 9 });
      }
      const channel = (req.headers['x-splunk-request-channel'] as string | undefined) ?? url.searchParams.get('channel') ?? undefined;
      if (req.method === 'POST' && url.pathname === '/services/collector/ack') {
        if (!o.ack) return answer(400, { text: 'ACK is disabled', code: 14 });
        if (!channel || !GUID.test(channel)) return answer(400, { text: 'Data channel is missing', code: 10 });
        let ids: unknown;
        try {
          ids = (JSON.parse(raw) as { acks?: unknown }).acks;
        } catch {
          ids = undefined;
        }
        if (!Array.isArray(ids) || !ids.every((x) => Number.isInteger(x))) {
          s.violations.push(`ack: the body is not {"acks":[ids]}: ${raw.slice(0, 100)}`);
          return answer(400, { text: 'Invalid data format', code: 6 });
        }
        const ch = acks.get(channel);
        const status: Record<string, boolean> = {};
        for (const id of ids as number[]) {
          const p = ch?.pending.get(id);
          status[String(id)] = !!p && ++p.asked >= 2;
        }
        return answer(200, { acks: status });
      }
      if (req.method !== 'POST' || (url.pathname !== '/services/collector/event' && url.pathname !== '/services/collector/event/1.0')) {
        s.violations.push(`${req.method} ${url.pathname}: not an endpoint of HEC`);
        return answer(404, { text: 'The requested URL was not found on this server.', code: 404 });
      }
      if (o.ack && (!channel || !GUID.test(channel))) return answer(400, { text: 'Data channel is missing', code: 10 });
      let objects: unknown[];
      try {
        objects = splitConcatenated(raw);
      } catch (err) {
        s.violations.push(`event body: ${(err as Error).message}`);
        return answer(400, { text: 'Invalid data format', code: 6, 'invalid-event-number': 0 });
      }
      if (!objects.length) return answer(400, { text: 'No data', code: 5 });
      const parsed: HecEvent[] = [];
      for (const [n, e] of objects.entries()) {
        const ev = e as Record<string, unknown>;
        const bad = Object.keys(ev).find((k) => !KNOWN.has(k));
        const why =
          bad !== undefined
            ? `unknown key ${bad}`
            : !('event' in ev)
              ? 'Event field is required'
              : ev.event === '' || ev.event === null
                ? 'Event field cannot be blank'
                : ev.time !== undefined && typeof ev.time !== 'number'
                  ? 'time is not epoch seconds'
                  : ['host', 'source', 'sourcetype', 'index'].find((k) => ev[k] !== undefined && typeof ev[k] !== 'string');
        if (why) {
          s.violations.push(`event ${n}: ${why}`);
          return answer(400, {
            text: why.startsWith('Event field') ? why : 'Invalid data format',
            code: why.startsWith('Event field') ? 12 : 6,
            'invalid-event-number': n,
          });
        }
        if (typeof ev.index === 'string' && s.refusedIndexes.has(ev.index)) return answer(400, { text: 'Incorrect index', code: 7, 'invalid-event-number': n });
        parsed.push({ ...(ev as unknown as HecEvent), ...(channel ? { channel } : {}) });
      }
      s.events.push(...parsed);
      if (!o.ack) return answer(200, { text: 'Success', code: 0 });
      const ch = acks.get(channel!) ?? { next: 0, pending: new Map() };
      acks.set(channel!, ch);
      const ackId = ch.next++;
      ch.pending.set(ackId, { asked: 0 });
      return answer(200, { text: 'Success', code: 0, ackId });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  s.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return s;
}
