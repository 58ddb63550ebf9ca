/** The request as a handler gets it: the body read (size, JSON, shape) and parsed with zod, every issue listed with where it is. */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type * as z from '#domain/kernel/zod';
import { MalformedJson, PayloadTooLarge, UnsupportedMediaType, ValidationFailed, type Issue } from '#domain/kernel/errors';
import { duplicateKeyOf, escapeLoneSurrogates, loneSurrogate, shapeProblem } from '#domain/kernel/json-shape';

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
  return parseJsonBody(bodyText(event as APIGatewayProxyEventV2 & { body: string }));
}

/**
 * A body's text as JSON, as every route reads it: at most MAX_BODY_BYTES (413), JSON (400 MALFORMED_JSON), of
 * the shape every body must have (checkShape: 400 naming where it is not). Handlers that read their body
 * themselves (SCIM) read it with this too.
 */
export function parseJsonBody(text: string): unknown {
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new PayloadTooLarge(`Body is larger than ${MAX_BODY_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // A RangeError here is a body nested deep enough to exhaust the parser's stack.
    throw new MalformedJson('Body is not valid JSON (or nested too deeply)');
  }
  checkShape(value);
  const twice = duplicateKeyOf(text);
  if (twice) throw new ValidationFailed([twice]);
  return value;
}

/**
 * Path and query parameters hold text as bodies do (checkShape): one holding half of a UTF-16 surrogate pair
 * alone is refused, naming it, before any schema or code reads it (a URI encoder would throw on it). The
 * gateway decodes what it is sent as UTF-8, so only a caller of the function itself can send one.
 */
export function checkParameterText(parts: { path?: Record<string, string | undefined> | null; query?: Record<string, string | undefined> | null }): void {
  const issues: Issue[] = [];
  for (const [where, values] of Object.entries(parts))
    for (const [k, v] of Object.entries(values ?? {}))
      if (loneSurrogate(k) || (v !== undefined && loneSurrogate(v)))
        issues.push({ path: `${where}.${escapeLoneSurrogates(k)}`, message: 'has half of a UTF-16 surrogate pair alone: send text as Unicode' });
  if (issues.length) throw new ValidationFailed(issues);
}

/** The shape every body must have before any schema runs (domain/kernel/json-shape.ts): a 400 naming where it is not. */
export function checkShape(root: unknown): void {
  const problem = shapeProblem(root, 'body');
  if (problem) throw new ValidationFailed([problem]);
}

/**
 * A JSON body's media type: application/json (any parameters, e.g. charset) or a +json type. A body sent with no
 * Content-Type is read as JSON (what the route takes), and so is one labelled application/x-www-form-urlencoded:
 * that is the label `curl -d` puts on every body, the way the README and the guide send JSON (the body must still be
 * a JSON document: a form's `a=1&b=2` is a 400). Any other type (JSON sent as text/plain, multipart, XML) is 415.
 */
/** What `curl -d` labels a body with when no -H says otherwise. */
const CURL_DEFAULT_TYPE = 'application/x-www-form-urlencoded';

export function checkJsonMediaType(headers: Record<string, string | undefined> | undefined): void {
  const type = headers?.['content-type'];
  if (type === undefined) return;
  const media = type.split(';')[0]!.trim().toLowerCase();
  if (media === 'application/json' || media === CURL_DEFAULT_TYPE || /^application\/[a-z0-9.!#$&^_-]+\+json$/.test(media)) return;
  throw new UnsupportedMediaType(`Content-Type '${media}' is not taken here: send the body as application/json`);
}

/**
 * The first dot segment of a path (`.` or `..`, as sent or percent-encoded: %2e%2e), or undefined. API
 * Gateway hands the path to the function as sent (rawPath) and decodes path parameters, so `/environments/%2e%2e/x`
 * would name an environment `..`; no path here is resolved, so such a path is refused (400), on every route.
 */
export function dotSegmentOf(rawPath: string | undefined, params?: Record<string, string | undefined>): string | undefined {
  const decode = (seg: string) => {
    try {
      return decodeURIComponent(seg);
    } catch {
      return seg;
    }
  };
  for (const seg of (rawPath ?? '').split('/')) if (/^\.\.?$/.test(decode(seg))) return seg;
  for (const value of Object.values(params ?? {})) if (value !== undefined && /^\.\.?$/.test(value)) return value;
  return undefined;
}

/** The 400 for a path with a dot segment (dotSegmentOf). */
export const dotSegmentRefused = (seg: string) =>
  new ValidationFailed([{ path: 'path', message: `has a dot segment ('${seg}'): paths are never resolved, name the resource itself` }]);

/** The gateway-shaped 400 ({"message"}) for a path with a dot segment, from a function outside httpHandler. */
export const dotSegmentAnswer = (seg: string) => ({
  statusCode: 400,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ message: `Bad Request: the path has a dot segment ('${seg}'); paths are never resolved` }),
});

/**
 * A handler outside httpHandler (its own answer format: a page, a Slack reply, a webhook's answer) that refuses
 * a path with a dot segment as the gateway refuses a malformed request: 400 with {"message"}, before it runs.
 */
export function refusingDotSegments<E extends { rawPath?: string; pathParameters?: Record<string, string | undefined> } | undefined, A extends unknown[], R>(
  fn: (event: E, ...rest: A) => Promise<R>,
): (event: E, ...rest: A) => Promise<R> {
  return async (event, ...rest) => {
    const seg = event ? dotSegmentOf(event.rawPath, event.pathParameters) : undefined;
    return seg === undefined ? fn(event, ...rest) : (dotSegmentAnswer(seg) as R);
  };
}
