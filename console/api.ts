import { visibleDeep } from '../domain/kernel/display.ts';
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

/**
 * The public API, same origin, with the session's token. Every string that comes back is made
 * visible (control and bidi characters as escapes) before anything renders it; a 401 ends the
 * session (the shell says "your session expired" and offers to sign in again).
 */
export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const token = session()?.token;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'omit',
      cache: 'no-store',
      headers: {
        accept: 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError(0, 'The network failed: nothing was changed. Try again.', null);
  }
  const text = await res.text();
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
  return data as T;
}

export const q = encodeURIComponent;
