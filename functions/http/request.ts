/** The request as a handler gets it: the body read (size, JSON, shape) and parsed with zod, every issue listed with where it is. */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type * as z from '#domain/kernel/zod';
import { MalformedJson, PayloadTooLarge, ValidationFailed, type Issue } from '#domain/kernel/errors';
import { shapeProblem } from '#domain/kernel/json-shape';

/** Larger bodies answer 413 (the batch route needs room for 10k small items). */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;

/** The value at an issue's path in what was parsed (undefined when a field is missing). */
export function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>(
    (v, k) => (v !== null && typeof v === 'object' && Object.hasOwn(v, k) ? (v as Record<PropertyKey, unknown>)[k] : undefined),
    value,
  );
}

export function issuesOf(where: string, error: z.core.$ZodError, value: unknown): Issue[] {
  return error.issues.map((i) => ({
    path: [where, ...i.path.map(String)].join('.'),
    // A missing field whose schema is a union (a config's value: any JSON) would read only "Invalid input".
    message: i.code === 'invalid_union' && valueAt(value, i.path) === undefined ? 'is required' : i.message,
  }));
}

/** Async: a schema may refine with a check that loads what it needs on first use (a freeze window's cron). */
export async function parse<T extends z.ZodMiniType>(schema: T | undefined, where: string, value: unknown, issues: Issue[]) {
  if (!schema) return undefined;
  const r = await schema.safeParseAsync(value);
  if (r.success) return r.data;
  issues.push(...issuesOf(where, r.error, value));
  return undefined;
}

/**
 * The body as text. API Gateway hands a body that is not valid UTF-8 to the function base64-encoded;
 * JSON is UTF-8 (RFC 8259), so such a body is refused, not decoded with replacement characters (a
 * Latin-1 "café" would be stored as "caf\uFFFD").
 */
export function bodyText(event: APIGatewayProxyEventV2 & { body: string }): string {
  if (!event.isBase64Encoded) return event.body;
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Buffer.from(event.body, 'base64'));
  } catch {
    throw new MalformedJson('Body is not valid UTF-8: send JSON encoded as UTF-8');
  }
}

export function readBody(event: APIGatewayProxyEventV2): unknown {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const text = bodyText(event as APIGatewayProxyEventV2 & { body: string });
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new PayloadTooLarge(`Body is larger than ${MAX_BODY_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // A RangeError here is a body nested deep enough to exhaust the parser's stack.
    throw new MalformedJson('Body is not valid JSON (or nested too deeply)');
  }
  checkShape(value);
  return value;
}

/** The shape every body must have before any schema runs (domain/kernel/json-shape.ts): a 400 naming where it is not. */
export function checkShape(root: unknown): void {
  const problem = shapeProblem(root, 'body');
  if (problem) throw new ValidationFailed([problem]);
}
