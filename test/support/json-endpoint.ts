import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface JsonEndpoint {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** every request's path and headers, in order */
  seen: { path: string; headers: IncomingHttpHeaders }[];
  stop(): Promise<void>;
}

/**
 * A loopback HTTP server answering each request with `answer(path, headers)` (JSON unless `type` says otherwise),
 * as a metrics provider's endpoint (a web template's URL, a Prometheus or Datadog stand-in) for the tests.
 */
export async function serveJson(
  answer: (path: string, headers: IncomingHttpHeaders) => { status: number; body: string; type?: string },
): Promise<JsonEndpoint> {
  const seen: JsonEndpoint['seen'] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    const a = answer(req.url ?? '', req.headers);
    res.writeHead(a.status, { 'content-type': a.type ?? 'application/json' }).end(a.body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    stop: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
