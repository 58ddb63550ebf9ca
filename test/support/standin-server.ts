import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

/** What the stand-ins of hosted git services (GitHub, GitLab) share: their HTTP server and webhook deliveries. */
export type Json = Record<string, any>;

export interface StandinRequest {
  method: string;
  /** the request's URL, its path without the API's base path */
  url: URL;
  headers: IncomingHttpHeaders;
  /** the JSON body (undefined: none, or not JSON, which is recorded as a violation) */
  body: Json | undefined;
}

export interface StandinAnswer {
  status: number;
  /** sent as JSON; undefined: no body */
  body: unknown;
  /** headers beside the content type */
  headers?: Record<string, string>;
}

export interface StandinServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  stop(): Promise<void>;
}

/**
 * Serves a JSON API on loopback: reads each request's JSON body, takes the API's base path off its path and
 * sends what `handle` answers (JSON with `contentType`). A body that is not JSON is recorded in `violations`;
 * a request outside the base path is too when `baseRequired` (answered 404 without a body, not handled).
 */
export async function startStandinServer(o: {
  violations: string[];
  base: string;
  baseRequired: boolean;
  contentType: string;
  handle(req: StandinRequest): StandinAnswer;
}): Promise<StandinServer> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://standin');
      const method = req.method ?? 'GET';
      if (o.baseRequired && !url.pathname.startsWith(`${o.base}/`)) {
        o.violations.push(`${method} ${url.pathname}: not under ${o.base}`);
        res.writeHead(404).end();
        return;
      }
      if (url.pathname.startsWith(o.base)) url.pathname = url.pathname.slice(o.base.length);
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: Json | undefined;
      try {
        body = raw ? (JSON.parse(raw) as Json) : undefined;
      } catch {
        o.violations.push(`${method} ${url.pathname}: the body is not JSON`);
      }
      const a = o.handle({ method, url, headers: req.headers, body });
      res.writeHead(a.status, a.body === undefined ? {} : { 'content-type': o.contentType, ...a.headers });
      res.end(a.body === undefined ? undefined : JSON.stringify(a.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    origin: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The API's answer to a request: [status, body]; a throw is the stand-in's own failure, answered 500 and recorded in `violations`. */
export function routed(violations: string[], req: StandinRequest, route: () => [number, unknown]): [number, unknown] {
  try {
    return route();
  } catch (err) {
    violations.push(`${req.method} ${req.url.pathname}: the stand-in failed: ${(err as Error).message}`);
    return [500, { message: (err as Error).message }];
  }
}

/** Posts a webhook delivery (JSON text) with these headers: the receiver's status. */
export async function postHook(url: string, headers: Record<string, string>, text: string): Promise<number> {
  const res = await fetch(url, { method: 'POST', headers, body: text });
  await res.text();
  return res.status;
}
