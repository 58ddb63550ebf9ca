import { visible, visibleDeep } from '../domain/kernel/display.ts';
import type { ApiError, RollbackImpact } from './answers.ts';
import { fail, session, values } from './context.ts';
import { impactLines } from './output.ts';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/**
 * The API over HTTP with the session's URL and token: the answer, or the API's message on stderr and
 * exit 2 (3 on 401). T is the answer of the route called (cli/answers.ts, typed from the API's
 * response schemas); it is not checked here: the API's own tests check every answer against them.
 */
export async function api<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<NoInfer<T>> {
  const res = await fetch(session.base + path, {
    method,
    headers: {
      ...(session.token ? { authorization: `Bearer ${session.token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...(session.breakGlass ? { 'x-break-glass-reason': session.breakGlass } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).catch((e) => fail(`cannot reach ${session.base}: ${(e as Error).message}`));
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = { message: text.slice(0, 500) };
  }
  if (!res.ok) {
    const shown = visibleDeep(data);
    // The API's error body ({error: {…}}), or what a gateway answered ({message}), or whatever came.
    const err = isObject(shown) && shown.error != null ? shown.error : shown;
    const e: Partial<ApiError['error']> = isObject(err) ? err : {};
    const issues = e.issues?.map((i) => `\n  ${i.path}: ${i.message}`).join('') ?? '';
    const hint =
      res.status === 401
        ? `\n  (locally: stageline login --user alice@acme.example; elsewhere: stageline login --url <url> < token.txt, or set STAGELINE_TOKEN)`
        : '';
    // A refused rollback names its impact analysis (domain/promotion/rollback/environment.ts).
    const impact = e.impact
      ? `\n${impactLines(e.impact as Partial<RollbackImpact>)
          .map((l) => `  ${l}`)
          .join('\n')}`
      : '';
    fail(`${res.status} ${e.message ?? res.statusText}${issues}${impact}${hint}`, res.status === 401 ? 3 : 2, {
      ...(isObject(err) ? err : { message: String(err) }),
      httpStatus: res.status,
    });
  }
  // --json prints the answer exactly (out() escapes what JSON leaves raw); people get every string made visible.
  return (values.json ? data : visibleDeep(data)) as T;
}

/** GET a text answer (a YAML manifest, a JSON Lines export): the body and headers, or the API's message and exit 2/3. */
export async function apiText(path: string): Promise<{ text: string; headers: Headers }> {
  const res: Response = await fetch(session.base + path, { headers: session.token ? { authorization: `Bearer ${session.token}` } : {} }).catch((e) =>
    fail(`cannot reach ${session.base}: ${(e as Error).message}`),
  );
  const text = await res.text();
  if (!res.ok) {
    let message: unknown = text.slice(0, 300);
    try {
      message = (JSON.parse(text) as ApiError).error.message;
    } catch {
      /* not JSON */
    }
    fail(`${res.status} ${visible(String(message))}`, res.status === 401 ? 3 : 2);
  }
  return { text, headers: res.headers };
}

/** GET that answers null on 404 (an optional resource); T as for api(). */
export async function fetchOrNull<T>(path: string): Promise<T | null> {
  const res = await fetch(session.base + path, { headers: session.token ? { authorization: `Bearer ${session.token}` } : {} });
  if (res.status === 404) return null;
  if (!res.ok) return api<T>('GET', path);
  return (await res.json()) as T;
}
