import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { DEMO_USERS, type DemoUser } from '../../local/issuer.ts';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack.ts';
import { responseOf } from '../../domain/responses.ts';
import { matchRoute } from '../../functions/http/routes.ts';

/**
 * The published contract holds: every 2xx JSON answer of a handler with a declared response schema
 * (domain/responses.ts, in the OpenAPI document) must match it, in every test that calls the API.
 */
function checkContract(method: string, path: string, status: number, body: unknown): void {
  if (status < 200 || status > 299 || body === undefined || typeof body === 'string') return;
  const m = matchRoute(method, new URL(path, 'http://x').pathname);
  const schema = m.kind === 'route' ? responseOf(m.route) : undefined;
  if (!schema) return;
  const r = schema.safeParse(body);
  if (!r.success) throw new Error(`${method} ${path} answered ${status} with a body that does not match the ${m.kind === 'route' ? m.route.handler : ''} response schema (domain/responses.ts):\n${r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
}

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

/** Starts the real local stack (gateway + handlers) against the shared DynamoDB Local, with its own table. */
export async function startTestStack(opts: Partial<LocalStackOptions> = {}): Promise<TestStack> {
  const stack = await startLocalStack({ dynamoEndpoint: inject('dynamoEndpoint'), tableName: `t-${randomUUID().slice(0, 8)}`, ...opts });
  const url = stack.gateway.url;
  const token: TestStack['token'] = (u) =>
    stack.issuer.sign({ sub: u.sub ?? `u-${randomUUID().slice(0, 6)}`, email: u.email ?? `${u.groups.join('-')}@${u.tenant}.test`, tenant: u.tenant, groups: u.groups });
  return {
    stack,
    url,
    tenant: () => `ten-${randomUUID().slice(0, 8)}`,
    token,
    async users(tenant) {
      const mk = (name: string, groups: string[]) => token({ sub: `${name}-${tenant}`, email: `${name}@${tenant}.test`, tenant, groups });
      return {
        admin: await mk('admin', ['admin']),
        deployer: await mk('deployer', ['deployer']),
        approver: await mk('approver', ['approver']),
        approver2: await mk('approver2', ['approver']),
        viewer: await mk('viewer', ['viewer']),
      };
    },
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      let body: string | undefined = opts.raw;
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
      checkContract(method, path, res.status, parsed);
      return { status: res.status, body: parsed as any, headers: res.headers };
    },
    stop: () => stack.stop(),
  };
}

export { DEMO_USERS };

/** Creates the usual three-stage line for a tenant. */
export async function makeLine(t: TestStack, adminToken: string, names = ['dev', 'staging', 'production']) {
  for (const [position, name] of names.entries()) {
    const r = await t.call('POST', '/api/v1/environments', { token: adminToken, body: { name, position } });
    if (r.status !== 201) throw new Error(`create ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  }
}
