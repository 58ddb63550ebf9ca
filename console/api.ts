import { visibleDeep, visibleDocument } from '../domain/kernel/display.ts';
import { session, signedOut } from './auth.ts';

/** An answer the API refused: its status and message, as the user should read it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: any,
  ) {
    super(message);
  }
}

/** What a revalidating read answers when the copy the caller holds is current (a 304: no body was sent). */
export const NOT_MODIFIED = Symbol('not modified');

/**
 * The public API, same origin, with the session's token. Every string that comes back is made
 * visible (control and bidi characters as escapes) before anything renders it; a 401 ends the
 * session (the shell says "your session expired" and offers to sign in again).
 */
export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  return (await send<T>(method, path, body)).data;
}

/**
 * A read of a copy the caller holds: with its ETag, If-None-Match asks the API for the body only if
 * it changed. NOT_MODIFIED (a 304) when it did not; else the data and its ETag, to send next time.
 * The validators are ours (the fetch stays `no-store`: the browser's cache is not involved).
 */
export async function revalidate<T = any>(path: string, etag: string | null): Promise<{ data: T; etag: string | null } | typeof NOT_MODIFIED> {
  const r = await send<T>('GET', path, undefined, etag ? { 'if-none-match': etag } : {});
  return r.notModified ? NOT_MODIFIED : { data: r.data, etag: r.etag };
}

/**
 * A read answered as a document (the manifest's YAML): its text, every unsafe character but line breaks
 * and tabs made visible, and the answer's headers. Refusals and a 401 as for `api`.
 */
export async function apiText(path: string): Promise<{ text: string; headers: Headers }> {
  const r = await send<string>('GET', path, undefined, { accept: 'application/yaml, application/json' }, true);
  return { text: r.data, headers: r.headers };
}

async function send<T>(
  method: string,
  path: string,
  body: unknown,
  extra: Record<string, string> = {},
  asText = false,
): Promise<{ data: T; etag: string | null; notModified: boolean; headers: Headers }> {
  const token = session()?.token;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'omit',
      cache: 'no-store',
      headers: {
        accept: 'application/json',
        ...extra,
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError(0, 'The network failed: nothing was changed. Try again.', null);
  }
  // A 304's body is empty; reading it ends the request as finished rather than abandoned.
  const text = await res.text();
  if (res.status === 304) return { data: null as T, etag: res.headers.get('etag'), notModified: true, headers: res.headers };
  if (asText && res.ok) return { data: visibleDocument(text) as T, etag: res.headers.get('etag'), notModified: false, headers: res.headers };
  let data: any = null;
  try {
    data = text ? visibleDeep(JSON.parse(text)) : null;
  } catch {
    data = null;
  }
  if (res.status === 401) {
    signedOut('expired');
    throw new ApiError(401, 'Your session has ended: sign in again.', data);
  }
  if (!res.ok) {
    const err = data?.error ?? data;
    const issues = Array.isArray(err?.issues) ? ` (${err.issues.map((i: any) => `${i.path}: ${i.message}`).join('; ')})` : '';
    throw new ApiError(res.status, `${err?.message ?? `HTTP ${res.status}`}${issues}`, data);
  }
  return { data: data as T, etag: res.headers.get('etag'), notModified: false, headers: res.headers };
}

export const q = encodeURIComponent;
