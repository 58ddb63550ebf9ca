import { createHash } from 'node:crypto';
import type middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { varyWith } from './cors.ts';
import type { HttpResult } from './errors.ts';

/**
 * Conditional GETs (RFC 9110 §13.1.2): THE helper for validators. A successful JSON read gets a weak
 * ETag computed from what it answers; a request whose If-None-Match names it is answered 304 with no
 * body, so a refresh that finds nothing new costs no body (the console polls every few seconds). A
 * handler that keeps validators of its own (the effective config: its snapshot digest) sets its ETag
 * and answers its 304 itself with matchesEtag; this middleware then leaves its answer as it is.
 */

/** Headers a client reads beside the body (a page's cursor): the validator covers them too. */
const COVERED = ['x-next-cursor'] as const;

/** Bytes of the SHA-256 kept in a validator: 128 bits, 22 characters of base64url. */
const DIGEST_BYTES = 16;

/** A weak entity tag of an answer: `W/"<base64url of the first 16 bytes of the SHA-256 of the body (and the covered headers)>"`. */
export function weakEtag(body: string, headers: Record<string, string> = {}): string {
  const hash = createHash('sha256').update(body);
  for (const name of COVERED) if (headers[name] !== undefined) hash.update(`\u0000${name}:${headers[name]}`);
  return `W/"${hash.digest().subarray(0, DIGEST_BYTES).toString('base64url')}"`;
}

const isOws = (c: string | undefined) => c === ' ' || c === '\t';
/** etagc (RFC 9110 §8.8.3): %x21 / %x23-7E / obs-text — no space, no DQUOTE, no control character. */
const ETAGC = /^[\x21\x23-\x7E\x80-\xFF]*$/;

/**
 * The entity tags an If-None-Match field lists, as RFC 9110 §13.1.2 writes it: `"*"` alone (then `['*']`),
 * or a comma-separated list of entity tags (`W/"…"` or `"…"`, optional whitespace, empty elements allowed; a
 * quoted tag may hold a comma). A field that is neither, as a whole, is ignored (`[]`): an unquoted `*` in
 * anything else (`x*`, `"a", *`) is no wildcard, so a malformed header never turns a read into a 304 and a
 * client gets the current answer. A scan, not a regular expression: linear in the field's length.
 */
export function entityTags(header: string | undefined): string[] {
  if (header === undefined) return [];
  let start = 0;
  let end = header.length;
  while (start < end && isOws(header[start])) start++;
  while (end > start && isOws(header[end - 1])) end--;
  if (end - start === 1 && header[start] === '*') return ['*'];
  const tags: string[] = [];
  let i = start;
  while (i < end) {
    if (isOws(header[i]) || header[i] === ',') {
      i++;
      continue;
    }
    const tagStart = i;
    if (header.startsWith('W/', i)) i += 2;
    if (header[i] !== '"') return [];
    const close = header.indexOf('"', i + 1);
    if (close < 0 || close >= end || !ETAGC.test(header.slice(i + 1, close))) return [];
    tags.push(header.slice(tagStart, close + 1));
    i = close + 1;
    while (i < end && isOws(header[i])) i++;
    if (i < end && header[i] !== ',') return [];
  }
  return tags;
}

/** The tag without its weakness mark: weak comparison compares these (RFC 9110 §8.8.3.2). */
const opaque = (tag: string) => tag.replace(/^W\//, '');

/** Whether If-None-Match names this ETag by weak comparison, or is `*` alone (the answer exists): then a GET answers 304. */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  const mine = opaque(etag);
  return entityTags(ifNoneMatch).some((t) => t === '*' || opaque(t) === mine);
}

const isJson = (contentType: string | undefined) => /^application\/(?:[\w.+-]*\+)?json\s*(?:;|$)/i.test(contentType ?? '');

/**
 * A GET's answer with its validator: a 200 JSON answer gets a weak ETag, Cache-Control `private,
 * no-cache` unless it has one (a shared cache never stores it; a browser revalidates before reusing
 * it) and `Vary: Authorization` (the body is the caller's tenant's); when If-None-Match names the
 * ETag it becomes a 304 with those headers and no body. Any other answer, or one that has an ETag of
 * its handler's, is returned as it is.
 */
export function conditional(method: string | undefined, ifNoneMatch: string | undefined, response: HttpResult): HttpResult {
  if (method !== 'GET' || response.statusCode !== 200 || response.headers.etag !== undefined || !isJson(response.headers['content-type'])) return response;
  const etag = weakEtag(response.body, response.headers);
  const headers: Record<string, string> = {
    ...response.headers,
    etag,
    'cache-control': response.headers['cache-control'] ?? 'private, no-cache',
    vary: varyWith(response.headers.vary, 'authorization'),
  };
  if (!matchesEtag(ifNoneMatch, etag)) return { ...response, headers };
  // A 304 carries what a 200 would for caching (ETag, Cache-Control, Vary), no representation metadata, no body.
  const { 'content-type': _type, 'content-length': _length, ...kept } = headers;
  return { statusCode: 304, headers: kept, body: '' };
}

/** The middleware: registered inside the error map, so it sees the handler's answer and the access log sees the 304. */
export const conditionalGet = (): middy.MiddlewareObj<APIGatewayProxyEventV2, HttpResult> => ({
  after: (request) => {
    const method = request.event.requestContext?.http?.method ?? request.event.routeKey?.split(' ')[0];
    if (request.response) request.response = conditional(method, request.event.headers?.['if-none-match'], request.response);
  },
});
