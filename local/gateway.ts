import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { MAX_BODY_BYTES } from '../functions/http/request.ts';
import { corsHeaders, preflight, varyWith } from '../functions/http/cors.ts';
import * as env from '../functions/configuration.ts';
import { matchRoute } from '../functions/http/router.ts';
import { FALLBACK_HANDLER, routeKey, type Route } from '../functions/http/routes.ts';
import { FUNCTION_GROUPS, functionOf, groupOf, type FunctionGroup } from '../functions/http/topology.ts';
import type { LocalIssuer } from './issuer.ts';
import { crashedHere } from './crash.ts';
import { LOCAL_REGION } from './dynamodb.ts';
import { reportError, trackRequest } from './terminal.ts';

/**
 * A local HTTP API: the same route table as API Gateway, the same event
 * format (payload v2), JWT verification like the JWT authorizer and SigV4
 * verification like IAM auth, then the very handler modules Lambda runs.
 */
export interface LocalIamCredential {
  accessKeyId: string;
  secretAccessKey: string;
  arn: string;
}

type HandlerFn = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<{ statusCode: number; headers?: Record<string, string>; body?: string; isBase64Encoded?: boolean }>;

const functions = new Map<string, HandlerFn>();
/** The Lambda function that serves a handler, loaded from the same entry CDK bundles (a group's dispatcher, or the handler). */
async function loadHandler(handler: string): Promise<HandlerFn> {
  const name = functionOf(handler);
  let fn = functions.get(name);
  if (!fn) {
    // A group is served as its generated Lambda entry serves it: its members' modules behind serveGroup (functions/http/group.ts).
    const load = async (h: string) => (await import(`../functions/handlers/${h}.ts`)) as { handler: HandlerFn };
    fn = (name in FUNCTION_GROUPS ? await groupOf(name as FunctionGroup, load) : (await load(name)).handler) as HandlerFn;
    functions.set(name, fn);
  }
  return fn;
}

/** API Gateway hands claims to Lambda as strings; arrays become "[a b]". */
function claimsAsApiGateway(payload: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(payload).map(([k, v]) => [k, Array.isArray(v) ? `[${v.join(' ')}]` : typeof v === 'object' ? JSON.stringify(v) : String(v)]),
  );
}

/** How much of an oversized body is read (and dropped) so its sender gets the 413; past it the connection is cut. */
const DRAIN_LIMIT_BYTES = 4 * MAX_BODY_BYTES;

/**
 * The body, or 'too-large' past MAX_BODY_BYTES. An oversized body is still read to its end (up to
 * DRAIN_LIMIT_BYTES), not abandoned mid-stream: leaving the loop early destroys the request, and the
 * kept-alive connection then resets the client's next request instead of answering it.
 */
async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > DRAIN_LIMIT_BYTES) return 'too-large';
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  return size > MAX_BODY_BYTES ? 'too-large' : Buffer.concat(chunks);
}

/** The region the local API pretends to live in; SigV4 scoped to another region or service is refused, as on AWS. */
export { LOCAL_REGION };

async function verifySigV4(req: IncomingMessage, url: URL, body: Buffer, creds: LocalIamCredential[]): Promise<string | null> {
  const auth = req.headers.authorization ?? '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(auth);
  if (!m) return null;
  const [, accessKeyId, , region, service, signedHeaders, signature] = m;
  // IAM auth on API Gateway: the credential scope must be this region and execute-api, and the host must be signed.
  if (region !== LOCAL_REGION || service !== 'execute-api') return null;
  if (!signedHeaders!.split(';').includes('host')) return null;
  const cred = creds.find((c) => c.accessKeyId === accessKeyId);
  const amzDate = req.headers['x-amz-date'];
  if (!cred || typeof amzDate !== 'string') return null;
  const date = new Date(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (Number.isNaN(date.getTime()) || Math.abs(Date.now() - date.getTime()) > 5 * 60_000) return null;
  const headers: Record<string, string> = {};
  for (const h of signedHeaders!.split(';')) {
    const v = req.headers[h];
    if (v !== undefined) headers[h] = Array.isArray(v) ? v.join(',') : v;
  }
  // applyChecksum off: x-amz-content-sha256 is signed only when the client sent (and signed) it, as curl --aws-sigv4 does not.
  const signer = new SignatureV4({ credentials: cred, region: region!, service: service!, sha256: Hash.bind(null, 'sha256'), applyChecksum: false });
  const signed = await signer.sign(
    new HttpRequest({
      method: req.method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port) || undefined,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      // The bytes as sent: a body that is not UTF-8 must hash exactly as the client hashed it.
      body: body.length ? new Uint8Array(body) : undefined,
    }),
    { signingDate: date },
  );
  const expected = /Signature=([0-9a-f]+)/.exec(String(signed.headers.authorization ?? ''))?.[1];
  return expected === signature ? cred.arn : null;
}

export interface GatewayOptions {
  port?: number;
  host?: string;
  issuer: LocalIssuer;
  iam?: LocalIamCredential[];
  /** false until the stack is ready (npm start: seeded, tokens written); requests meanwhile get 503 */
  ready?: () => boolean;
  /** paths served before ready: the stack's own stand-ins it calls while it sets itself up (the seed's Slack notification) */
  servesBeforeReady?: (path: string) => boolean;
  /** browser origins allowed by CORS on the API (default: any); /review, /dev and /dashboard never answer other origins */
  allowedOrigins?: string[];
  /**
   * Host headers this gateway answers (default: localhost, 127.0.0.1 and [::1] with its port, plus
   * STAGELINE_ALLOWED_HOSTS). Any other is refused with 421, so a DNS-rebinding page whose name
   * now points at 127.0.0.1 cannot talk to the stack as if it were same-origin.
   */
  allowedHosts?: string[];
  /** local-only pages and stand-ins outside the route table (the /dev/outbox page, the Slack webhook stand-in) */
  extra?: (
    method: string,
    url: URL,
    body: Buffer,
    headers: Record<string, string | undefined>,
  ) => Promise<{ status: number; type: string; body: string; headers?: Record<string, string> } | null>;
}

export interface Gateway {
  url: string;
  port: number;
  close(): Promise<void>;
}

function eventBody(body: Buffer): { body: string | undefined; isBase64Encoded: boolean } {
  if (!body.length) return { body: undefined, isBase64Encoded: false };
  try {
    return { body: new TextDecoder('utf-8', { fatal: true }).decode(body), isBase64Encoded: false };
  } catch {
    return { body: body.toString('base64'), isBase64Encoded: true };
  }
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const origins = opts.allowedOrigins ?? env.STAGELINE_ALLOWED_ORIGINS();
  let hosts = new Set<string>();
  const server: Server = createServer(async (req, res) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    const requestId = randomUUID();
    try {
      if (!hosts.has((req.headers.host ?? '').toLowerCase())) {
        return send(
          421,
          { message: `Misdirected Request: this local stack answers Host ${[...hosts].join(', ')} only (set STAGELINE_ALLOWED_HOSTS to add one)`, requestId },
          { 'x-request-id': requestId },
        );
      }
      // CORS opens the API to the allowed origins; never the review pages, /dev (the outbox holds
      // personal approve links) or the dashboard, whatever the allowed origins say. The same helper
      // answers on AWS (the fallback function and the HTTP middleware).
      const path = (req.url ?? '/').split('?')[0]!;
      for (const [k, v] of Object.entries(corsHeaders(path, req.headers.origin, origins))) res.setHeader(k, v);
      const pre = preflight(
        req.method ?? 'GET',
        path,
        { origin: req.headers.origin, 'access-control-request-method': req.headers['access-control-request-method'] },
        origins,
      );
      if (pre) {
        res.writeHead(pre.statusCode, pre.headers);
        return res.end(pre.body);
      }
      if (opts.ready && !opts.ready() && !opts.servesBeforeReady?.(path))
        return send(503, { message: 'Starting: the local stack is not ready yet' }, { 'retry-after': '1' });
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
      // The path as sent, as API Gateway hands it on (rawPath): never resolved here. URL would read %2e%2e as `..`
      // and serve /environments/%2e%2e/freeze-windows as /freeze-windows; the functions refuse dot segments themselves.
      const rawPath = path;
      try {
        decodeURIComponent(rawPath);
      } catch {
        return send(400, { message: 'Bad Request: the path has a malformed percent-escape', requestId }, { 'x-request-id': requestId });
      }
      const method = (req.method ?? 'GET').toUpperCase();
      const body = await readBody(req);
      // Closed after the answer: a body cut off past DRAIN_LIMIT_BYTES leaves the connection unusable.
      if (body === 'too-large') return send(413, { message: 'Request Entity Too Large' }, { connection: 'close' });
      const extra = await opts.extra?.(method, url, body, {
        origin: req.headers.origin,
        'sec-fetch-site': req.headers['sec-fetch-site'] as string | undefined,
        host: req.headers.host,
      });
      if (extra) return send(extra.status, extra.body, { 'content-type': extra.type, ...(extra.headers ?? {}) });
      const match = matchRoute(method, rawPath);
      const route: Route | null = match.kind === 'route' ? match.route : null;
      let authorizer: Record<string, unknown> | undefined;
      if (route?.auth === 'jwt') {
        const token = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
        const payload = token ? await opts.issuer.verify(token).catch(() => null) : null;
        // Like the JWT authorizer: rejected before the function runs.
        if (!payload) return send(401, { message: 'Unauthorized' }, { 'www-authenticate': 'Bearer' });
        authorizer = { jwt: { claims: claimsAsApiGateway(payload as Record<string, unknown>), scopes: null } };
      } else if (route?.auth === 'iam') {
        const arn = await verifySigV4(req, url, body, opts.iam ?? []);
        if (!arn) return send(403, { message: 'Forbidden' });
        authorizer = { iam: { userArn: arn, callerId: arn, accountId: '000000000000' } };
      }
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(',') : String(v)]));
      const query: Record<string, string> = {};
      for (const [k, v] of url.searchParams)
        Object.defineProperty(query, k, { value: Object.hasOwn(query, k) ? `${query[k]},${v}` : v, enumerable: true, writable: true, configurable: true });
      const key = route ? routeKey(route) : '$default';
      const event = {
        version: '2.0',
        routeKey: key,
        rawPath,
        rawQueryString: url.search.slice(1),
        headers,
        queryStringParameters: Object.keys(query).length ? query : undefined,
        pathParameters: match.kind === 'route' && Object.keys(match.params).length ? match.params : undefined,
        // Like API Gateway: a body that is not valid UTF-8 reaches the function base64-encoded.
        ...eventBody(body),
        requestContext: {
          accountId: '000000000000',
          apiId: 'local',
          domainName: url.host,
          domainPrefix: 'local',
          http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: req.socket.remoteAddress ?? '', userAgent: headers['user-agent'] ?? '' },
          requestId,
          routeKey: key,
          stage: '$default',
          time: new Date().toISOString(),
          timeEpoch: Date.now(),
          authorizer,
        },
      } as unknown as APIGatewayProxyEventV2;
      const context = {
        awsRequestId: requestId,
        functionName: route?.handler ?? FALLBACK_HANDLER,
        // As Lambda counts it: the function's 29 s from now (API Gateway's budget runs from timeEpoch).
        getRemainingTimeInMillis: (
          (until) => () =>
            until - Date.now()
        )(Date.now() + 29_000),
      } as unknown as Context;
      const fn = await loadHandler(route?.handler ?? FALLBACK_HANDLER);
      // A function's error line names the request it failed in (local/terminal.ts).
      const done = trackRequest(requestId, `${method} ${rawPath}`);
      const result = await fn(event, context).finally(done);
      // The stack crashed under the request (a chaos run's crash, local/crash.ts): a dead process answers nothing, so
      // the caller sees its connection cut and sends the change again under its Idempotency-Key, never a 500 its own
      // death wrote.
      if (crashedHere()) return void res.destroy();
      // The CORS Vary (origin) set above and the function's (authorization) are one header; a 204 or 304 passes through with no body.
      const vary = varyWith(String(res.getHeader('vary') ?? ''), result.headers?.vary);
      res.writeHead(result.statusCode, { ...(result.headers ?? {}), ...(vary ? { vary } : {}), 'x-request-id': requestId });
      // As API Gateway's payload format 2.0 answers: a body the function marked isBase64Encoded is sent as the bytes it encodes.
      const out = result.isBase64Encoded && result.body ? Buffer.from(result.body, 'base64') : (result.body ?? '');
      res.end(result.statusCode === 204 || result.statusCode === 304 ? undefined : out);
    } catch (err) {
      if (crashedHere()) return void res.destroy();
      reportError('local gateway error', err, `${req.method} ${(req.url ?? '/').split('?')[0]} (request ${requestId.slice(0, 8)})`);
      if (!res.headersSent) send(500, { message: 'Internal Server Error', requestId }, { 'x-request-id': requestId });
    }
  });
  // Requests Node refuses before any handler runs (headers over its limit: 431) answer a JSON GatewayMessage like every other error.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const [status, message] = err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : [400, 'Bad Request'];
    const body = JSON.stringify({ message });
    socket.end(
      `HTTP/1.1 ${status} ${message}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  hosts = new Set(
    [...(opts.allowedHosts ?? [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]), ...env.STAGELINE_ALLOWED_HOSTS()]
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
