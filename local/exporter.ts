import { once } from 'node:events';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny metrics exporter for the local stack's demos and the tests: `GET /metrics` answers the
 * Prometheus text format with two counters per target, `requests_total{target="…"}` and
 * `errors_total{target="…"}`. Every scrape counts 100 requests for each target and, of those,
 * `rate × 100` errors (fractions carried over), so `rate(errors_total[…]) / rate(requests_total[…])`
 * is the error rate set with `setErrorRate`, which can be raised per target while it runs.
 */
export interface Exporter {
  /** the base URL (`http://127.0.0.1:<port>`); Prometheus scrapes `<url>/metrics` */
  url: string;
  /** `host:port`, as a Prometheus scrape config names a target */
  address: string;
  /** sets a target's error rate (0..1) from the next scrape on; a new target starts at 0 */
  setErrorRate(target: string, rate: number): void;
  /** how many times /metrics was read */
  scrapes(): number;
  stop(): Promise<void>;
}

const REQUESTS_PER_SCRAPE = 100;

/** A label value in the text format: backslash, quote and newline escaped. */
const label = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export async function startExporter(targets: string[] = [], port = 0): Promise<Exporter> {
  const state = new Map<string, { rate: number; requests: number; errors: number; carry: number }>();
  const add = (t: string) => {
    if (!state.has(t)) state.set(t, { rate: 0, requests: 0, errors: 0, carry: 0 });
    return state.get(t)!;
  };
  for (const t of targets) add(t);
  let scrapes = 0;
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'POST' && u.pathname === '/error-rate') {
      // A demo's knob: POST /error-rate?target=<name>&rate=<0..1> raises (or lowers) a target's error rate.
      const rate = Number(u.searchParams.get('rate'));
      const target = u.searchParams.get('target');
      if (!target || !Number.isFinite(rate) || rate < 0 || rate > 1) return void res.writeHead(400).end('POST /error-rate?target=<name>&rate=<0..1>\n');
      add(target).rate = rate;
      return void res.writeHead(200, { 'content-type': 'text/plain' }).end(`${target}: error rate ${rate}\n`);
    }
    if (req.method !== 'GET' || u.pathname !== '/metrics') return void res.writeHead(404).end();
    scrapes++;
    const lines = ['# HELP requests_total Requests served.', '# TYPE requests_total counter'];
    const errors = ['# HELP errors_total Requests that failed.', '# TYPE errors_total counter'];
    for (const [t, s] of state) {
      s.requests += REQUESTS_PER_SCRAPE;
      const due = s.rate * REQUESTS_PER_SCRAPE + s.carry;
      const whole = Math.floor(due);
      s.carry = due - whole;
      s.errors += whole;
      lines.push(`requests_total{target="${label(t)}"} ${s.requests}`);
      errors.push(`errors_total{target="${label(t)}"} ${s.errors}`);
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(`${[...lines, ...errors].join('\n')}\n`);
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    address: `127.0.0.1:${bound}`,
    setErrorRate(target, rate) {
      add(target).rate = Math.min(1, Math.max(0, rate));
    },
    scrapes: () => scrapes,
    async stop() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** `tsx local/exporter.ts [--port N] [target…]`: the exporter on its own (the guide's analysis page runs it beside `npm start`). */
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--port');
  const ex = await startExporter(
    args.filter((_, i) => at < 0 || (i !== at && i !== at + 1)),
    at >= 0 ? Number(args[at + 1]) : 0,
  );
  console.log(`exporter: ${ex.url}/metrics (POST ${ex.url}/error-rate?target=<name>&rate=<0..1> changes a target's error rate)`);
}
