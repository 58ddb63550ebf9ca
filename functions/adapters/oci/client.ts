import type { Registry } from '#domain/artifacts/ports';
import { assertSameOrigin, guardedFetch, HOST_RETRY, OutboundRefused, readBytesLimited, sleep, transientWait } from '../outbound.ts';
import { ACCEPT, MANIFEST_BYTES, RegistryError, sha256 } from './distribution.ts';

/**
 * The Distribution API client: calls for one repository on one registry, with Basic / Bearer-challenge
 * auth (the token exchange), through the outbound guard (functions/adapters/outbound.ts) that every
 * call to a tenant-configured URL takes. Credentials are sent only where their binding allows.
 */

export interface Credentials {
  username: string;
  password: string;
}

/**
 * Credentials are bound to ONE tenant and ONE registry origin (scheme://host:port), never to a
 * registry's name (a name is whatever a tenant admin types). They are sent only to that origin,
 * and to a token realm only when its origin is listed in `realmOrigins` (Docker Hub-style
 * registries issue tokens from another host).
 */
export type CredentialBinding = { tenant: string; origin: string; realmOrigins?: string[] } & (Credentials | { ecr: true });

/**
 * Credentials that expire (an Amazon ECR token, functions/adapters/ecr-tokens.ts): the ones to send now
 * (replaced shortly before they expire), and new ones after the registry refused these (a 401).
 */
export interface RefreshingCredentials {
  current(): Promise<Credentials>;
  refresh(refused: Credentials): Promise<Credentials>;
}

const basicOf = (c: Credentials) => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

/** The binding of this tenant for this registry's origin, if any: credentials are never looked up by the registry's name. */
export function bindingFor(bindings: CredentialBinding[], tenant: string, registry: Registry): CredentialBinding | undefined {
  let origin: string | null = null;
  try {
    origin = new URL(registry.url).origin;
  } catch {
    origin = null;
  }
  return origin ? bindings.find((b) => b.tenant === tenant && b.origin === origin) : undefined;
}

const ERROR_BODY_BYTES = 4 * 1024;
const TOKEN_BODY_BYTES = 64 * 1024;
const ERROR_CODE = /^[A-Z][A-Z_]{0,39}$/;

type Body = NonNullable<RequestInit['body']>;

interface SendInit {
  headers?: Record<string, string>;
  /** a factory so the request can be replayed after an auth challenge (streams are single-use) */
  body?: () => Body | Promise<Body>;
  timeoutMs?: number;
}

/** Distribution API calls for one repository on one registry, with Basic / Bearer-challenge auth. */
export class Client {
  readonly label: string;
  readonly registry: Registry;
  readonly repository: string;
  private readonly base: string;
  private readonly authKey: string;
  private readonly actions: 'pull' | 'pull,push';
  private readonly credentials: (Credentials & { realmOrigins?: string[] }) | undefined;
  /** An ECR registry's: always sent as Basic, renewed before they expire and once after a 401. */
  private readonly refreshing: RefreshingCredentials | undefined;
  private readonly auth: Map<string, string>;
  private readonly timeoutMs: number;

  // Fields set by hand, not as parameter properties: the CI action runs this file with Node's type stripping, which has none.
  constructor(
    registry: Registry,
    repository: string,
    actions: 'pull' | 'pull,push',
    credentials: (Credentials & { realmOrigins?: string[] }) | RefreshingCredentials | undefined,
    auth: Map<string, string>,
    timeoutMs: number,
    tenant = '',
  ) {
    this.registry = registry;
    this.repository = repository;
    this.actions = actions;
    this.refreshing = credentials && 'current' in credentials ? credentials : undefined;
    this.credentials = credentials && !('current' in credentials) ? credentials : undefined;
    this.auth = auth;
    this.timeoutMs = timeoutMs;
    this.base = registry.url.replace(/\/+$/, '');
    this.label = `registry "${registry.name}" (${this.base})`;
    this.authKey = `${tenant}|${this.base}|${repository}|${actions}`;
  }

  /** Upload Locations may be absolute or relative to the registry, but must stay on its origin (they carry our credentials). */
  resolve(location: string): string {
    try {
      return assertSameOrigin(location, `${this.base}/`);
    } catch (err) {
      throw new RegistryError(`${this.label}: ${(err as Error).message}`);
    }
  }

  /** `path` is relative to /v2/<repository>/ unless it is an absolute URL (an upload Location). */
  async send(method: string, path: string, init: SendInit = {}): Promise<Response> {
    const url = /^https?:\/\//.test(path) ? this.resolve(path) : `${this.base}/v2/${this.repository}/${path}`;
    // A registry's transient answer (a 5xx, 429, or no answer to a read) is sent again after a short wait
    // (HOST_RETRY): everything but a PATCH, which appends to an upload and cannot be replayed. A manifest's PUT (by its
    // digest or under a tag: the same bytes each time) is sent again after no answer too, as a read is.
    const idempotent = method === 'GET' || method === 'HEAD' || (method === 'PUT' && /\/manifests\/[^/]+$/.test(new URL(url).pathname));
    const replay = { noAnswer: idempotent, serverError: method !== 'PATCH' };
    let retried = 0;
    for (let attempt = 0; ; attempt++) {
      const headers = new Headers(init.headers);
      const sent = this.refreshing ? await this.expiring() : undefined;
      const authorization = sent ? basicOf(sent) : this.auth.get(this.authKey);
      if (authorization) headers.set('authorization', authorization);
      const body = init.body ? await init.body() : undefined;
      const timeout = init.timeoutMs ?? this.timeoutMs;
      let res: Response;
      try {
        res = (await guardedFetch(url, {
          method,
          headers: Object.fromEntries(headers),
          body: body as never,
          duplex: 'half',
          timeoutMs: timeout,
        })) as unknown as Response;
        // Registries may send blob downloads to storage on another host: followed (guarded) WITHOUT our credentials.
        for (
          let hops = 0;
          (method === 'GET' || method === 'HEAD') && res.status >= 301 && res.status <= 308 && res.headers.get('location') && hops < 3;
          hops++
        ) {
          const next = new URL(res.headers.get('location')!, url).href;
          await res.body?.cancel();
          res = (await guardedFetch(next, { method, timeoutMs: timeout })) as unknown as Response;
        }
      } catch (err) {
        const wait = !(err instanceof OutboundRefused) && retried < HOST_RETRY.retries ? transientWait(null, retried, replay) : null;
        if (wait !== null) {
          if (body instanceof ReadableStream) await body.cancel().catch(() => {});
          await sleep(wait);
          retried++;
          attempt--;
          continue;
        }
        throw this.failure(err, `${method} ${new URL(url).pathname}`, timeout);
      }
      const wait = retried < HOST_RETRY.retries ? transientWait(res, retried, replay) : null;
      if (wait !== null && wait <= HOST_RETRY.maxWaitMs) {
        await res.body?.cancel();
        if (body instanceof ReadableStream) await body.cancel().catch(() => {});
        await sleep(wait);
        retried++;
        attempt--;
        continue;
      }
      if (res.status !== 401 || attempt > 0) return res;
      await res.body?.cancel();
      if (body instanceof ReadableStream) await body.cancel().catch(() => {});
      // Expiring credentials refused (revoked, or expired early): new ones, once; a second 401 is the answer.
      if (sent) await this.expiring(sent);
      else await this.authenticate(res.headers.get('www-authenticate'), authorization);
    }
  }

  /**
   * Throws a RegistryError unless the status is expected. The reason is ours, never the registry's
   * words: the status, and the registry's error code when it sent a well-formed one (MANIFEST_UNKNOWN).
   * At most ERROR_BODY_BYTES of its answer are read.
   */
  async expect(res: Response, statuses: number[], what: string): Promise<void> {
    if (statuses.includes(res.status)) return;
    let detail = '';
    try {
      const body = JSON.parse((await readBytesLimited(res, ERROR_BODY_BYTES)).toString('utf8')) as { errors?: { code?: unknown }[] };
      const code = body.errors?.[0]?.code;
      if (typeof code === 'string' && ERROR_CODE.test(code)) detail = ` (${code})`;
    } catch {
      // no error body we can read: the status says enough
      await res.body?.cancel().catch(() => {});
    }
    const status = res.status === 401 ? 'unauthorized (401)' : res.status === 403 ? 'forbidden (403)' : `HTTP ${res.status}`;
    throw new RegistryError(`${this.label}: ${what} failed: ${status}${detail}`, res.status >= 500 || res.status === 429);
  }

  /** A manifest, referrers list or signature bundle, read whole but bounded: a registry cannot make us buffer more. */
  async read(res: Response, max: number, what: string): Promise<Buffer> {
    try {
      return await readBytesLimited(res, max);
    } catch (err) {
      if (err instanceof OutboundRefused) throw new RegistryError(`${this.label}: ${what}: the answer is larger than ${max / 1024} KiB`);
      throw this.failure(err, what, this.timeoutMs);
    }
  }

  async hasBlob(digest: string): Promise<boolean> {
    const res = await this.send('HEAD', `blobs/${digest}`);
    if (res.status === 404) return false;
    await this.expect(res, [200], `HEAD blob ${digest}`);
    return true;
  }

  async startUpload(): Promise<string> {
    const res = await this.send('POST', 'blobs/uploads/', { headers: { 'content-length': '0' } });
    await this.expect(res, [202], 'start blob upload');
    await res.body?.cancel();
    const location = res.headers.get('location');
    if (!location) throw new RegistryError(`${this.label}: start blob upload returned no Location`);
    return this.resolve(location);
  }

  /** PUT the manifest by its digest, or under a tag (the same bytes). */
  async putManifest(node: { digest: string; mediaType: string; bytes: Buffer }, reference: string = node.digest): Promise<void> {
    const res = await this.send('PUT', `manifests/${reference}`, {
      headers: { 'content-type': node.mediaType },
      body: () => new Uint8Array(node.bytes),
    });
    await this.expect(res, [200, 201], `PUT manifest ${node.digest}`);
    await res.body?.cancel();
  }

  /** What a tag resolves to: the hash of the manifest served for it (null: no such tag). */
  async tagDigest(tag: string): Promise<string | null> {
    const res = await this.send('GET', `manifests/${tag}`, { headers: { accept: ACCEPT } });
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    await this.expect(res, [200], `GET manifest ${tag}`);
    return sha256(await this.read(res, MANIFEST_BYTES, `GET manifest ${tag}`));
  }

  /** digest_match: GET the manifest by digest and hash what is served (the header alone could lie). */
  async servedDigest(node: { digest: string; mediaType: string }): Promise<{ ok: true } | { ok: false; digest: string | null; reason: string }> {
    const res = await this.send('GET', `manifests/${node.digest}`, { headers: { accept: `${node.mediaType}, ${ACCEPT}` } });
    await this.expect(res, [200], `verify manifest ${node.digest}`);
    const actual = sha256(await this.read(res, MANIFEST_BYTES, `verify manifest ${node.digest}`));
    const header = res.headers.get('docker-content-digest');
    if (actual === node.digest && (!header || header === node.digest)) return { ok: true };
    return {
      ok: false,
      digest: actual,
      reason: `${this.label}: digest mismatch: expected ${node.digest}, served manifest hashes to ${actual}${header ? ` (Docker-Content-Digest ${header})` : ''}`,
    };
  }

  /** The expiring credentials to send (new ones after `refused` was refused); the token API's failure is the registry's. */
  private async expiring(refused?: Credentials): Promise<Credentials> {
    try {
      return await (refused ? this.refreshing!.refresh(refused) : this.refreshing!.current());
    } catch (err) {
      const e = err as { name?: string; message?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
      const status = e.$metadata?.httpStatusCode;
      throw new RegistryError(`${this.label}: no registry token: ${e.name ?? 'Error'}: ${e.message ?? String(err)}`, !!e.$retryable || (status ?? 0) >= 500);
    }
  }

  /** Answers a 401 challenge: Basic with the configured credentials, or a Bearer token from the realm. */
  private async authenticate(challenge: string | null, refused: string | undefined): Promise<void> {
    this.auth.delete(this.authKey);
    const scheme = challenge?.trim().split(/\s+/)[0]?.toLowerCase();
    const params = Object.fromEntries([...(challenge ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
    const basic = this.credentials && `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;

    if (scheme === 'basic') {
      if (!basic) throw new RegistryError(`${this.label}: requires credentials and none are configured for "${this.registry.name}"`);
      if (refused === basic) throw new RegistryError(`${this.label}: credentials refused (401)`);
      this.auth.set(this.authKey, basic);
      return;
    }
    if (scheme === 'bearer' && params.realm) {
      const url = new URL(params.realm, `${this.base}/`);
      if (params.service) url.searchParams.set('service', params.service);
      // Ask for exactly what this client needs rather than the challenge's (per-request) scope: one token per sync.
      url.searchParams.set('scope', `repository:${this.repository}:${this.actions}`);
      // A challenge names the realm: our credentials go there only if it is the registry's own origin or listed for it.
      const realmTrusted = url.origin === new URL(this.base).origin || (this.credentials?.realmOrigins ?? []).includes(url.origin);
      const send = realmTrusted ? basic : undefined;
      let res: Response;
      try {
        res = (await guardedFetch(url, { headers: send ? { authorization: send } : {}, timeoutMs: this.timeoutMs })) as unknown as Response;
      } catch (err) {
        throw this.failure(err, `token from ${url.origin}${url.pathname}`, this.timeoutMs);
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new RegistryError(
          `${this.label}: token realm ${url.origin}${url.pathname} refused${send ? ' the credentials' : ' anonymous access'} (HTTP ${res.status})`,
        );
      }
      let body: { token?: unknown; access_token?: unknown } = {};
      try {
        body = JSON.parse((await readBytesLimited(res, TOKEN_BODY_BYTES)).toString('utf8')) as typeof body;
      } catch {
        await res.body?.cancel().catch(() => {});
      }
      const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
      if (token !== undefined && !/^[\x21-\x7e]{1,16384}$/.test(token))
        throw new RegistryError(`${this.label}: token realm ${url.origin}${url.pathname} returned a malformed token`);
      if (!token) throw new RegistryError(`${this.label}: token realm ${url.origin}${url.pathname} returned no token`);
      if (refused === `Bearer ${token}`) throw new RegistryError(`${this.label}: token refused (401)`);
      this.auth.set(this.authKey, `Bearer ${token}`);
      return;
    }
    throw new RegistryError(`${this.label}: unauthorized (401) with an unsupported challenge "${challenge ?? ''}"`);
  }

  /** One line, no stack: time-out, connection error code, or a RegistryError raised inside a request body. */
  private failure(err: unknown, what: string, timeoutMs: number): RegistryError {
    for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
      if (e instanceof RegistryError) return e;
      if (e instanceof OutboundRefused) return new RegistryError(`${this.label}: refused: ${e.message}`);
    }
    const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return new RegistryError(`${this.label}: ${what} timed out after ${timeoutMs} ms`, true);
    const why = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
    // No answer (refused, reset, hung up) is the host's moment; a name that does not resolve is the URL's to fix.
    return new RegistryError(`${this.label}: unreachable: ${what}: ${why}`, why !== 'ENOTFOUND');
  }
}
