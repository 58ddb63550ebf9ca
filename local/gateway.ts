import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { MAX_BODY_BYTES } from '../functions/http/handler.ts';
import { FALLBACK_HANDLER, matchRoute, routeKey, type Route } from '../functions/http/routes.ts';
import type { LocalIssuer } from './issuer.ts';

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

type HandlerFn = (event: APIGatewayProxyEventV2, context: Context) => Promise<{ statusCode: number; headers?: Record<string, string>; body?: string }>;

const handlers = new Map<string, HandlerFn>();
async function loadHandler(name: string): Promise<HandlerFn> {
  let fn = handlers.get(name);
  if (!fn) {
    fn = ((await import(`../functions/handlers/${name}.ts`)) as { handler: HandlerFn }).handler;
    handlers.set(name, fn);
  }
  return fn;
}

/** API Gateway hands claims to Lambda as strings; arrays become "[a b]". */
function claimsAsApiGateway(payload: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(payload).map(([k, v]) => [k, Array.isArray(v) ? `[${v.join(' ')}]` : typeof v === 'object' ? JSON.stringify(v) : String(v)]),
  );
}

async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function verifySigV4(req: IncomingMessage, url: URL, body: Buffer, creds: LocalIamCredential[]): Promise<string | null> {
  const auth = req.headers.authorization ?? '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(auth);
  if (!m) return null;
  const [, accessKeyId, , region, service, signedHeaders, signature] = m;
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
      body: body.length ? body.toString('utf8') : undefined,
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
  /** extra static responses (the dashboard) */
  extra?: (req: IncomingMessage, url: URL) => { status: number; type: string; body: string } | null;
}

export interface Gateway {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const server: Server = createServer(async (req, res) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    try {
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
      const extra = opts.extra?.(req, url);
      if (extra) return send(extra.status, extra.body, { 'content-type': extra.type });
      const method = (req.method ?? 'GET').toUpperCase();
      const body = await readBody(req);
      if (body === 'too-large') return send(413, { message: 'Request Entity Too Large' });
      const match = matchRoute(method, url.pathname);
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
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(',') : String(v)]),
      );
      const query: Record<string, string> = {};
      for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
      const requestId = randomUUID();
      const key = route ? routeKey(route) : '$default';
      const event = {
        version: '2.0',
        routeKey: key,
        rawPath: url.pathname,
        rawQueryString: url.search.slice(1),
        headers,
        queryStringParameters: Object.keys(query).length ? query : undefined,
        pathParameters: match.kind === 'route' && Object.keys(match.params).length ? match.params : undefined,
        body: body.length ? body.toString('utf8') : undefined,
        isBase64Encoded: false,
        requestContext: {
          accountId: '000000000000',
          apiId: 'local',
          domainName: url.host,
          domainPrefix: 'local',
          http: { method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: req.socket.remoteAddress ?? '', userAgent: headers['user-agent'] ?? '' },
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
        getRemainingTimeInMillis: () => 29_000,
      } as unknown as Context;
      const fn = await loadHandler(route?.handler ?? FALLBACK_HANDLER);
      const result = await fn(event, context);
      res.writeHead(result.statusCode, { ...(result.headers ?? {}), 'x-request-id': requestId });
      res.end(result.body ?? '');
    } catch (err) {
      console.error('local gateway error', err);
      if (!res.headersSent) send(500, { message: 'Internal Server Error' });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
