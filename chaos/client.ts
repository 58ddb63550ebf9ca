import { randomUUID } from 'node:crypto';
import type { LocalStack } from '../local/stack.ts';
import type { HistoryEntry } from './types.ts';

/** The roles the workload's users have in each tenant (the demo's groups). */
export const ROLES = ['admin', 'deployer', 'approver', 'approver2', 'viewer'] as const;
export type Role = (typeof ROLES)[number];
export type Users = Record<Role, string>;

export interface Answer<T = any> {
  status: number;
  body: T;
}

/** Tokens for a tenant's users, as the issuer signs them for the demo (one user per role). */
export async function usersOf(stack: LocalStack, tenant: string): Promise<Users> {
  const mk = (name: string, groups: string[]) => stack.issuer.sign({ sub: `${name}-${tenant}`, email: `${name}@${tenant}.test`, tenant, groups });
  return {
    admin: await mk('admin', ['admin']),
    deployer: await mk('deployer', ['deployer']),
    approver: await mk('approver', ['approver']),
    approver2: await mk('approver2', ['approver']),
    viewer: await mk('viewer', ['viewer']),
  };
}

/**
 * A small HTTP client of the gateway that writes every request and its answer into the client-side history
 * (method, path, status, the promotion it is about, when). A network error is an answer of status 0.
 */
export class ChaosClient {
  readonly history: HistoryEntry[] = [];
  constructor(readonly url: string) {}

  async call<T = any>(
    tenant: string,
    token: string | undefined,
    method: string,
    path: string,
    body?: unknown,
    meta: { promotionId?: string; note?: string; headers?: Record<string, string> } = {},
  ): Promise<Answer<T>> {
    // As a documented client sends a change: with an Idempotency-Key, the same on every retry, and sent again
    // after Retry-After while the API answers that nothing (or, cut off, at most this one change) was saved.
    const headers = method === 'GET' ? meta.headers : { 'idempotency-key': randomUUID(), ...(meta.headers ?? {}) };
    const began = Date.now();
    let unanswered = false;
    for (let attempt = 1; ; attempt++) {
      const { answer, entry, retryAfter } = await this.send<T>(tenant, token, method, path, body, { ...meta, headers });
      this.history.push(entry);
      // No answer at all (the stack crashed under it, or is starting again): sent again, with the same key, until it
      // answers; and while its first attempt's claim of the key is still held (409 until the crashed request's lease
      // ends), past the usual count.
      const patient = Date.now() - began < UNREACHABLE_MS;
      if (answer.status === 0 && patient) {
        unanswered = true;
        attempt--;
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      if ((attempt >= RETRIES && !(unanswered && patient)) || !retryable(answer)) return answer;
      await new Promise((r) => setTimeout(r, Math.min(retryAfter ?? 1, 5) * 1000 * (0.5 + Math.random() / 2)));
    }
  }

  /** One request and the history entry that records it (not yet kept). */
  private async send<T>(
    tenant: string,
    token: string | undefined,
    method: string,
    path: string,
    body: unknown,
    meta: { promotionId?: string; note?: string; headers?: Record<string, string> },
  ): Promise<{ answer: Answer<T>; entry: HistoryEntry; retryAfter?: number }> {
    const headers: Record<string, string> = { ...(meta.headers ?? {}) };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let status = 0;
    let parsed: unknown;
    let retryAfter: number | undefined;
    try {
      const res = await fetch(this.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      status = res.status;
      const after = Number(res.headers.get('retry-after'));
      if (Number.isFinite(after) && after > 0) retryAfter = after;
      const text = await res.text();
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = text;
      }
    } catch (err) {
      parsed = { message: String(err) };
    }
    const promotionId = meta.promotionId ?? promotionIdOf(path, parsed);
    const entry: HistoryEntry = {
      at: new Date().toISOString(),
      tenant,
      ...(promotionId ? { promotionId } : {}),
      method,
      path,
      status,
      ...(meta.note || status >= 400 || status === 0
        ? { note: [meta.note, status >= 400 || status === 0 ? brief(parsed) : ''].filter(Boolean).join(': ') }
        : {}),
    };
    return { answer: { status, body: parsed as T }, entry, retryAfter };
  }

  /** A read that is recorded only when it tells something new (a poll's answer is kept when the status changed). */
  async poll<T = any>(tenant: string, token: string, path: string, promotionId: string, last?: string): Promise<Answer<T>> {
    const { answer: r, entry } = await this.send<T>(tenant, token, 'GET', path, undefined, { promotionId });
    const status = (r.body as { status?: string } | undefined)?.status;
    // Polls are many: one is kept when it tells something new (another status, or a failed read).
    if (r.status !== 200 || status !== last) this.history.push(status && r.status === 200 ? { ...entry, note: `status ${status}` } : entry);
    return r;
  }
}

function promotionIdOf(path: string, body: unknown): string | undefined {
  const m = /\/promotions\/([A-Za-z0-9_-]{6,})(?:\/|$)/.exec(path);
  if (m && !['rules', 'plan', 'auto-check'].includes(m[1]!)) return m[1];
  const b = body as { id?: unknown; promotion?: { id?: unknown } } | undefined;
  if (b && typeof b.promotion?.id === 'string') return b.promotion.id;
  if (/\/promotions$/.test(path) && b && typeof b.id === 'string') return b.id;
  return undefined;
}

function brief(body: unknown): string {
  const s = typeof body === 'string' ? body : JSON.stringify(body ?? '');
  return s.length > 200 ? s.slice(0, 200) + '…' : s;
}

/**
 * How long a request is sent again while nothing answers it (a crashed stack starting again) and then while the
 * crashed try's claim of its Idempotency-Key is held (409 "still running" for the rest of that try's lease, up to a
 * function's 30 s): the restart and the lease together (seed 20261129 at 10 %: a publish gave up after 60 s).
 */
const UNREACHABLE_MS = 120_000;

/** how many times a change is sent in all while the API answers "send it again" */
const RETRIES = 12;

/** What the API says may be sent again unchanged (test/support/retrying.ts says the same for the tests). */
function retryable(a: Answer): boolean {
  return a.status === 503 || (a.status === 409 && (a.body as { error?: { code?: string } } | null)?.error?.code === 'CONCURRENT_MODIFICATION');
}
