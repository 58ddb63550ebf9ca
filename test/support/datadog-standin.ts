import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One log the stand-in took, as Datadog stores it: the item's fields, its ddtags with the request's. */
export interface DatadogLog {
  ddsource?: string;
  ddtags?: string;
  service?: string;
  hostname?: string;
  message: string;
  [attribute: string]: unknown;
}

/** One request to the intake, whatever its answer. */
export interface DatadogIntakeRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  bytes: number;
  /** the array's length when the body was a JSON array */
  entries?: number;
  status: number;
}

export interface DatadogStandIn {
  /** `http://127.0.0.1:<port>`: the intake's base (the client adds /api/v2/logs) */
  url: string;
  /** every log taken (answered 202), in the order taken */
  logs: DatadogLog[];
  requests: DatadogIntakeRequest[];
  /** true: every request is answered 503 (an intake outage) until set back */
  outage: boolean;
  /** the next answers, in order, before the request is looked at (then the intake's own answer again): a status, or 'hang' */
  script: (number | 'hang')[];
  stop(): Promise<void>;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The intake's limits per request (Datadog's "Send logs" reference). */
const MAX_PAYLOAD = 5 * 1024 * 1024;
const MAX_ENTRIES = 1000;
const MAX_LOG = 1024 * 1024;

/** The error body of the intake (the client's `HTTPLogErrors` model): a list of {status, title, detail}. */
const errors = (status: number, title: string, detail: string) => ({ errors: [{ status: String(status), title, detail }] });

/**
 * A stand-in for Datadog's logs intake (`POST /api/v2/logs`, "Send logs" in Datadog's API reference), held
 * to its published description:
 * - the `DD-API-KEY` header must name the key the stand-in was started with: 403 otherwise;
 * - the body is JSON: one log object or an array of them, each with a `message` string: 400 otherwise;
 * - at most 5 MB (uncompressed) per payload: 413 past it; at most 1000 entries in an array: 400 past it;
 * - a log larger than 1 MB is taken truncated (the reference: accepted, truncated, 2xx);
 * - taken: 202 with `{}`; the request's `ddtags` query parameter is added to every log's tags;
 * - `GET /api/v1/validate` (the API's key check) answers `{valid: true}` for the key, 403 otherwise.
 * `outage` answers 503 to everything; `script` answers given statuses first (429, 500, 'hang').
 */
export async function startDatadogStandIn(apiKey: string): Promise<DatadogStandIn> {
  const state: Omit<DatadogStandIn, 'url' | 'stop'> = { logs: [], requests: [], outage: false, script: [] };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://intake');
      const seen: DatadogIntakeRequest = { method: req.method ?? 'GET', path: url.pathname, headers: req.headers, bytes: raw.length, status: 0 };
      state.requests.push(seen);
      const answer = (status: number, body: unknown) => {
        seen.status = status;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const next = state.script.shift();
      if (next === 'hang') return;
      if (next !== undefined) return answer(next, errors(next, TITLES[next] ?? 'Error', `scripted answer ${next}`));
      if (state.outage) return answer(503, errors(503, 'Service Unavailable', 'the intake is unavailable'));
      // The API key check (`GET /api/v1/validate`, Authentication in the API reference): {valid: true}, or 403 {errors: ["Forbidden"]}.
      if (seen.method === 'GET' && url.pathname === '/api/v1/validate')
        return req.headers['dd-api-key'] === apiKey ? answer(200, { valid: true }) : answer(403, { errors: ['Forbidden'] });
      if (seen.method !== 'POST' || url.pathname !== '/api/v2/logs') return answer(404, errors(404, 'Not Found', `${seen.method} ${url.pathname}`));
      if (req.headers['dd-api-key'] !== apiKey) return answer(403, errors(403, 'Forbidden', 'Forbidden: invalid API key'));
      if (req.headers['content-encoding']) return answer(400, errors(400, 'Bad Request', 'this stand-in takes uncompressed bodies only'));
      if (raw.length > MAX_PAYLOAD) return answer(413, errors(413, 'Payload Too Large', `the payload is ${raw.length} bytes, above 5MB`));
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return answer(400, errors(400, 'Bad Request', 'the body is not valid JSON'));
      }
      const items = Array.isArray(body) ? body : [body];
      if (Array.isArray(body)) seen.entries = body.length;
      if (items.length > MAX_ENTRIES) return answer(400, errors(400, 'Bad Request', `the array holds ${items.length} entries, above 1000`));
      // The published model of a log (HTTPLogItem): an object, `message` a string, ddsource/ddtags/hostname/service strings when given.
      const bad = items.findIndex(
        (i) =>
          typeof i !== 'object' ||
          i === null ||
          Array.isArray(i) ||
          typeof (i as DatadogLog).message !== 'string' ||
          (['ddsource', 'ddtags', 'hostname', 'service'] as const).some((k) => (i as DatadogLog)[k] !== undefined && typeof (i as DatadogLog)[k] !== 'string'),
      );
      if (bad >= 0) return answer(400, errors(400, 'Bad Request', `entry ${bad} is not a log as HTTPLogItem describes it`));
      const requestTags = url.searchParams.get('ddtags');
      for (const item of items as DatadogLog[]) {
        const log: DatadogLog = { ...item };
        if (Buffer.byteLength(JSON.stringify(log)) > MAX_LOG)
          log.message = Buffer.from(log.message)
            .subarray(0, MAX_LOG / 2)
            .toString('utf8');
        if (requestTags) log.ddtags = [log.ddtags, requestTags].filter(Boolean).join(',');
        state.logs.push(log);
      }
      answer(202, {});
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const standIn = state as DatadogStandIn;
  standIn.url = url;
  standIn.stop = async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  };
  return standIn;
}
