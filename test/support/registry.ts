import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Registry } from '#domain/artifacts/ports';
import { Client, type Credentials } from '../../functions/adapters/oci/client.ts';
import { MEDIA_TYPES, sha256, type Descriptor } from '../../functions/adapters/oci/distribution.ts';
import { pushBlob } from '../../functions/adapters/oci/graph.ts';

/**
 * Real OCI registries on loopback for tests and the bench: Debian's
 * `docker-registry` (CNCF distribution 2.8), filesystem storage in a temp dir.
 * Plus a small node:http proxy to put Bearer-token auth or a lying registry in
 * front of a real one (distribution's own token auth needs a signing PKI).
 * And content to sync: synthetic images and manifests pushed with the
 * adapter's own client (functions/adapters/oci/).
 */
export const REGISTRY_BIN = '/usr/bin/docker-registry';

/** Credentials for `startRegistry({ auth: true })` and `startProxy({ bearer: true })`. */
export const TEST_CREDENTIALS = { username: 'stageline', password: 's3cret-pass' };
// WHY precomputed: the registry's htpasswd auth only takes bcrypt, and this
// avoids needing apache2-utils or a bcrypt package (`htpasswd -Bbn stageline s3cret-pass`).
const HTPASSWD = 'stageline:$2y$05$bswHnEhNFAmGtsi.DaQ1dOSqvsD0HbpPRRzQGDaoP.KvFm7kxMp0O\n';

export interface LocalRegistry {
  url: string;
  name: string;
  stop(): Promise<void>;
}

let seq = 0;

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Starts `docker-registry serve` on 127.0.0.1:<free port>; resolves once `/v2/` answers. */
/** `notify`: the registry sends its push notifications there (distribution's notifications.endpoints) with this Authorization header. */
export async function startRegistry(
  options: { name?: string; auth?: boolean; port?: number; notify?: { url: string; authorization: string } } = {},
): Promise<LocalRegistry> {
  if (!existsSync(REGISTRY_BIN)) {
    throw new Error(`${REGISTRY_BIN} not found: install the CNCF distribution registry with \`apt-get install -y docker-registry\``);
  }
  const name = options.name ?? `registry-${++seq}`;
  const dir = await mkdtemp(join(tmpdir(), 'stageline-registry-'));
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const auth = options.auth ? `auth:\n  htpasswd:\n    realm: stageline\n    path: ${join(dir, 'htpasswd')}\n` : '';
  if (options.auth) await writeFile(join(dir, 'htpasswd'), HTPASSWD);
  const notify = options.notify
    ? `notifications:\n  endpoints:\n    - name: stageline\n      url: ${options.notify.url}\n      headers:\n        Authorization: [${JSON.stringify(options.notify.authorization)}]\n      timeout: 2s\n      threshold: 3\n      backoff: 200ms\n      ignore:\n        actions: [pull]\n`
    : '';
  await writeFile(
    join(dir, 'config.yml'),
    `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(dir, 'data')}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
  secret: ${randomUUID()}
${auth}${notify}`,
  );

  const child = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
  let exited = false;
  const exit = once(child, 'exit').then(() => (exited = true));

  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      await exit;
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`docker-registry exited before serving (${url}): ${stderr.trim() || 'no output'}`);
    }
    try {
      const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not answer on ${url}/v2/ within 15 s: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, name, stop };
}

// ---------------------------------------------------------------- proxy

export interface ProxyOptions {
  /** Require a Bearer token (standard challenge; token realm takes Basic TEST_CREDENTIALS). */
  bearer?: boolean;
  /** Serve a different (still well-formed) manifest than the one stored, with a consistent header digest: a lying registry. */
  tamperManifests?: boolean;
  /** Serve blobs with their first byte flipped (same length): a source lying about layer content. */
  tamperBlobs?: boolean;
  /** Answer the first request matching each `METHOD path-pattern` with a 500 (UNKNOWN), as distribution does under a write race. */
  failOnce?: { method: string; path: RegExp }[];
  /** The requests answered 500 by failOnce, as `METHOD path`. */
  failed?: string[];
  /**
   * Asked for every request (after failOnce): a status to answer it with instead of the upstream's (a registry
   * failing for a moment: 503, 429; or refusing: 403), 'reset' to drop its connection unanswered, or null to pass it on.
   */
  failWith?: (r: { method: string; path: string }) => number | 'reset' | null;
  /** Called with every request passed on to the upstream and its answer (the chaos effect receivers count manifest PUTs with it). */
  record?: (r: { method: string; path: string; status: number; digest: string | null }) => void;
}

/** An HTTP proxy in front of `upstream` that can demand Bearer auth or tamper with manifests or blobs. */
export async function startProxy(upstream: string, name: string, options: ProxyOptions = {}): Promise<LocalRegistry> {
  const tokens = new Set<string>();
  let origin = '';
  const basic = `Basic ${Buffer.from(`${TEST_CREDENTIALS.username}:${TEST_CREDENTIALS.password}`).toString('base64')}`;

  const pending = [...(options.failOnce ?? [])];
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    const fail = pending.findIndex((f) => f.method === req.method && f.path.test(path));
    if (fail >= 0) {
      pending.splice(fail, 1);
      options.failed?.push(`${req.method} ${path}`);
      req.resume();
      return void res.writeHead(500, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNKNOWN","message":"unknown error"}]}');
    }
    const failure = options.failWith?.({ method: req.method ?? 'GET', path });
    if (failure === 'reset') return void req.socket.destroy();
    if (typeof failure === 'number') {
      req.resume();
      const code = failure === 429 ? 'TOOMANYREQUESTS' : failure === 403 ? 'DENIED' : 'UNAVAILABLE';
      return void res.writeHead(failure, { 'content-type': 'application/json' }).end(`{"errors":[{"code":"${code}","message":"injected"}]}`);
    }
    if (options.bearer && path.startsWith('/token')) {
      if (req.headers.authorization !== basic) return void res.writeHead(401).end('{"details":"bad credentials"}');
      const token = randomBytes(16).toString('hex');
      tokens.add(token);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
      return;
    }
    if (options.bearer && !tokens.has((req.headers.authorization ?? '').replace(/^Bearer /, ''))) {
      const repo = /^\/v2\/(.+?)\/(?:manifests|blobs|tags)\//.exec(path)?.[1];
      const scope = repo ? `,scope="repository:${repo}:pull,push"` : '';
      res.writeHead(401, {
        'www-authenticate': `Bearer realm="${origin}/token",service="stub-registry"${scope}`,
        'content-type': 'application/json',
      });
      return void res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    }

    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === 'string' && !['host', 'authorization', 'connection', 'transfer-encoding', 'keep-alive'].includes(k)) headers[k] = v;
    }
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const up = await fetch(upstream + path, {
      method: req.method,
      headers,
      body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined,
      duplex: 'half',
      redirect: 'manual',
    });
    options.record?.({ method: req.method ?? 'GET', path, status: up.status, digest: up.headers.get('docker-content-digest') });
    const out: Record<string, string> = {};
    up.headers.forEach((v, k) => {
      if (!['content-length', 'transfer-encoding', 'connection', 'content-encoding'].includes(k)) out[k] = v;
    });
    if (out.location) out.location = out.location.replace(upstream, origin);

    if (options.tamperManifests && /\/manifests\//.test(path) && (req.method === 'GET' || req.method === 'HEAD') && up.ok) {
      const manifest = JSON.parse(Buffer.from(await up.arrayBuffer()).toString('utf8')) as Record<string, unknown>;
      manifest.annotations = { 'tampered-by': 'stub' };
      const bytes = Buffer.from(JSON.stringify(manifest));
      out['docker-content-digest'] = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      out['content-length'] = String(bytes.length);
      res.writeHead(up.status, out).end(req.method === 'GET' ? bytes : undefined);
      return;
    }
    if (options.tamperBlobs && /\/blobs\/sha256:/.test(path) && req.method === 'GET' && up.ok) {
      const bytes = Buffer.from(await up.arrayBuffer());
      if (bytes.length) bytes[0] = bytes[0]! ^ 0xff;
      res.writeHead(up.status, { ...out, 'content-length': String(bytes.length) }).end(bytes);
      return;
    }
    if (up.headers.get('content-length')) out['content-length'] = up.headers.get('content-length')!;
    res.writeHead(up.status, out);
    if (up.body && req.method !== 'HEAD') Readable.fromWeb(up.body as import('node:stream/web').ReadableStream).pipe(res);
    else res.end();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(err));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: origin,
    name,
    stop: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

// ---------------------------------------------------------------- content

/** PUTs a manifest document (by digest) and returns its digest. */
export async function putManifest(
  registry: Registry,
  repository: string,
  manifest: { mediaType: string } & Record<string, unknown>,
  credentials?: Credentials,
): Promise<string> {
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = sha256(bytes);
  const client = new Client(registry, repository, 'pull,push', credentials, new Map(), 30_000);
  await client.putManifest({ digest, mediaType: manifest.mediaType, bytes });
  return digest;
}

/** Pushes a synthetic OCI image (config + layers) and returns its manifest digest. */
export async function pushImage(
  registry: Registry,
  repository: string,
  image: { configBytes: Buffer; layers: Buffer[] },
  credentials?: Credentials,
): Promise<string> {
  const client = new Client(registry, repository, 'pull,push', credentials, new Map(), 30_000);
  const config = await pushBlob(client, image.configBytes, 'application/vnd.oci.image.config.v1+json');
  const layers: Descriptor[] = [];
  for (const layer of image.layers) layers.push(await pushBlob(client, layer, 'application/vnd.oci.image.layer.v1.tar+gzip'));
  return putManifest(registry, repository, { schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config, layers }, credentials);
}
