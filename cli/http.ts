import type * as z from 'zod';
import { visible, visibleDeep } from '../domain/kernel/display.ts';
import type { environmentResponse, promotionDetailResponse, promotionResponse, statusResponse } from '../functions/http/responses/index.ts';
import type { promotionChangesResponse } from '../functions/http/responses/promotions.ts';
import { fail, session, values } from './context.ts';
import { impactLines } from './output.ts';

/** The API's answers, typed from the same schemas the OpenAPI document publishes (functions/http/responses/). */
export type Promotion = z.infer<typeof promotionResponse> & Partial<Pick<z.infer<typeof promotionDetailResponse>, 'approvals'>>;
export type Status = z.infer<typeof statusResponse>;
export type Environment = z.infer<typeof environmentResponse>;
export type Changes = z.infer<typeof promotionChangesResponse>;

/** The API over HTTP with the session's URL and token: the answer, or the API's message on stderr and exit 2 (3 on 401). */
export async function api(method: string, path: string, body?: unknown): Promise<any> {
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
  let data: any;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = { message: text.slice(0, 500) };
  }
  if (!res.ok) {
    data = visibleDeep(data);
    const err = data?.error ?? data;
    const issues = err?.issues?.map((i: any) => `\n  ${i.path}: ${i.message}`).join('') ?? '';
    const hint =
      res.status === 401
        ? `\n  (locally: stageline login --user alice@acme.example; elsewhere: stageline login --url <url> < token.txt, or set STAGELINE_TOKEN)`
        : '';
    const impact = err?.impact
      ? `\n${impactLines(err.impact)
          .map((l) => `  ${l}`)
          .join('\n')}`
      : '';
    fail(`${res.status} ${err?.message ?? res.statusText}${issues}${impact}${hint}`, res.status === 401 ? 3 : 2, {
      ...(typeof err === 'object' && err ? err : { message: String(err) }),
      httpStatus: res.status,
    });
  }
  // --json prints the answer exactly (out() escapes what JSON leaves raw); people get every string made visible.
  return values.json ? data : visibleDeep(data);
}

/** GET a text answer (a YAML manifest, a JSON Lines export): the body and headers, or the API's message and exit 2/3. */
export async function apiText(path: string): Promise<{ text: string; headers: Headers }> {
  const res: Response = await fetch(session.base + path, { headers: session.token ? { authorization: `Bearer ${session.token}` } : {} }).catch((e) =>
    fail(`cannot reach ${session.base}: ${(e as Error).message}`),
  );
  const text = await res.text();
  if (!res.ok) {
    let message = text.slice(0, 300);
    try {
      message = JSON.parse(text).error.message;
    } catch {
      /* not JSON */
    }
    fail(`${res.status} ${visible(String(message))}`, res.status === 401 ? 3 : 2);
  }
  return { text, headers: res.headers };
}

/** GET that answers null on 404 (an optional resource). */
export async function fetchOrNull(path: string): Promise<any> {
  const res = await fetch(session.base + path, { headers: session.token ? { authorization: `Bearer ${session.token}` } : {} });
  if (res.status === 404) return null;
  if (!res.ok) return api('GET', path);
  return res.json();
}
