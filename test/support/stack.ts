import { usersOf } from '../../chaos/client.ts';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { startDynamo, type LocalDynamo } from '../../local/dynamodb.ts';
import { DEMO_USERS, type DemoUser } from '../../local/issuer.ts';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack.ts';
import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { contractViolations, precompile } from './contract.ts';

/** Requests made through TestStack.call carry this header: call checks them itself (and fails the test at the call). */
const CHECKED_HEADER = 'x-test-contract-checked';
/** Violations of answers the gateway sent to other clients (plain fetch, the CLI, a browser), by gateway port. */
const observed = new Map<number, string[]>();
subscribe('http.server.request.start', (message) => {
  const { request, response, server } = message as { request: IncomingMessage; response: ServerResponse; server: Server };
  const port = (server.address() as { port?: number } | null)?.port;
  const violations = port === undefined ? undefined : observed.get(port);
  if (!violations || request.headers[CHECKED_HEADER]) return;
  const chunks: Buffer[] = [];
  const keep = (chunk: unknown, encoding?: unknown) => {
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function')
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
  };
  // Headers given to writeHead (without setHeader before it) are written at once and never stored: keep them here.
  const given: Record<string, string> = {};
  const writeHead = response.writeHead.bind(response);
  response.writeHead = ((status: number, ...rest: unknown[]) => {
    const h = rest.find((r) => r && typeof r === 'object') as Record<string, unknown> | unknown[] | undefined;
    if (Array.isArray(h)) for (let i = 0; i + 1 < h.length; i += 2) given[String(h[i]).toLowerCase()] = String(h[i + 1]);
    else if (h) for (const [k, v] of Object.entries(h)) if (v !== undefined) given[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : String(v);
    return (writeHead as (...a: unknown[]) => ServerResponse)(status, ...rest);
  }) as typeof response.writeHead;
  const write = response.write.bind(response);
  const end = response.end.bind(response);
  response.write = ((chunk: unknown, ...rest: unknown[]) => (
    keep(chunk, rest[0]),
    (write as (...a: unknown[]) => boolean)(chunk, ...rest)
  )) as typeof response.write;
  response.end = ((chunk?: unknown, ...rest: unknown[]) => (
    keep(chunk, rest[0]),
    (end as (...a: unknown[]) => ServerResponse)(chunk, ...rest)
  )) as typeof response.end;
  response.once('finish', () => {
    const headers = { ...given, ...Object.fromEntries(Object.entries(response.getHeaders()).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)])) };
    try {
      violations.push(
        ...contractViolations({
          method: request.method ?? 'GET',
          path: request.url ?? '/',
          status: response.statusCode,
          headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    } catch (err) {
      violations.push(`${request.method} ${request.url}: the check failed: ${String(err)}`);
    }
  });
});

export interface Res<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface TestStack {
  stack: LocalStack;
  url: string;
  /** a fresh tenant id, so tests in a file do not see each other's data */
  tenant(): string;
  token(user: Partial<DemoUser> & { groups: string[]; tenant: string }): Promise<string>;
  users(tenant: string): Promise<Record<'admin' | 'deployer' | 'approver' | 'viewer' | 'approver2', string>>;
  call<T = any>(method: string, path: string, opts?: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<Res<T>>;
  stop(): Promise<void>;
}

/**
 * The file's own DynamoDB Local (in memory), started with its first stack and stopped after its last test. One
 * DynamoDB Local shared by the whole run grows slower as files add tables and items (measured: a file's tests took
 * 35–52 s on one that had held 40 tables of 400 items, 15–18 s on a fresh one, and dropping the tables did not
 * give the speed back); a JVM per file costs a few seconds. Files that write the table directly, without a stack,
 * still use the run's shared one (`inject('dynamoEndpoint')`).
 */
let fileDynamo: Promise<LocalDynamo> | undefined;
afterAll(async () => {
  const started = fileDynamo;
  fileDynamo = undefined;
  await (await started?.catch(() => undefined))?.stop();
});

/** Starts the real local stack (gateway + handlers) on the file's DynamoDB Local, with its own table. */
export async function startTestStack(opts: Partial<LocalStackOptions> = {}): Promise<TestStack> {
  precompile();
  fileDynamo ??= startDynamo({});
  const { endpoint } = await fileDynamo;
  const stack = await startLocalStack({ dynamoEndpoint: endpoint, tableName: `t-${randomUUID().slice(0, 8)}`, ...opts });
  const url = stack.gateway.url;
  const violations: string[] = [];
  observed.set(stack.gateway.port, violations);
  const token: TestStack['token'] = (u) =>
    stack.issuer.sign({
      sub: u.sub ?? `u-${randomUUID().slice(0, 6)}`,
      email: u.email ?? `${u.groups.join('-')}@${u.tenant}.test`,
      tenant: u.tenant,
      groups: u.groups,
      ...(u.idpGroups ? { idpGroups: u.idpGroups } : {}),
    });
  return {
    stack,
    url,
    tenant: () => `ten-${randomUUID().slice(0, 8)}`,
    token,
    // One user per role, as the chaos workload's users are (chaos/client.ts).
    users: (tenant) => usersOf(stack, tenant),
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}), [CHECKED_HEADER]: '1' };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      let body: string | undefined = opts.raw;
      // A raw body is JSON unless the test says otherwise (fetch would send text/plain, which a JSON route refuses with 415).
      if (body !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
      if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers['content-type'] = 'application/json';
      }
      const res = await fetch(url + path, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        /* not JSON */
      }
      // The path as fetch sent it: it resolves dot segments (., .., %2e%2e) itself, before the gateway sees the path.
      const sent = new URL(url + path);
      const broken = contractViolations({ method, path: sent.pathname + sent.search, status: res.status, headers: res.headers, text });
      if (broken.length) throw new Error(`the answer is not what functions/http/openapi.json documents:\n  ${broken.join('\n  ')}`);
      return { status: res.status, body: parsed as any, headers: res.headers };
    },
    async stop() {
      await stack.stop();
      observed.delete(stack.gateway.port);
      if (violations.length)
        throw new Error(
          `answers the document does not describe (sent to clients other than TestStack.call):\n  ${[...new Set(violations)].slice(0, 20).join('\n  ')}`,
        );
    },
  };
}

export { DEMO_USERS };

/**
 * What `use…` helpers hand a test file before its beforeAll ran: an object that forwards every property to
 * the one `current()` gives once started (a test that runs before it is started fails, saying which).
 */
export function forwarding<T extends object>(current: () => T | undefined, what: string): T {
  return new Proxy({} as T, {
    get(_target, prop) {
      const now = current();
      if (!now) throw new Error(`${what} is not started yet (it starts in the file's beforeAll)`);
      const value = (now as Record<string | symbol, unknown>)[prop];
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(now) : value;
    },
  });
}

/** The test stack a file shares: started before its tests, stopped after them. */
export function useTestStack(opts: Partial<LocalStackOptions> = {}): TestStack {
  let t: TestStack | undefined;
  beforeAll(async () => {
    t = await startTestStack(opts);
  });
  afterAll(() => t?.stop());
  return forwarding(() => t, 'the test stack');
}

/**
 * A line of environments for a tenant: by name (positions in order), or each with its own settings
 * (`after`, `autoPromote` …; the position is its place in the list unless it says otherwise).
 */
export async function makeLine(
  t: TestStack,
  adminToken: string,
  envs: (string | ({ name: string } & Record<string, unknown>))[] = ['dev', 'staging', 'production'],
) {
  for (const [position, env] of envs.entries()) {
    const body = typeof env === 'string' ? { name: env, position } : { position, ...env };
    const r = await t.call('POST', '/api/v1/environments', { token: adminToken, body });
    if (r.status !== 201) throw new Error(`create ${body.name}: ${r.status} ${JSON.stringify(r.body)}`);
  }
}
