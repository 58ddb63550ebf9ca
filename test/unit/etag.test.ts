import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationFailed } from '../../domain/kernel/errors.ts';
import { varyWith } from '../../functions/http/cors.ts';
import { json, type HttpResult } from '../../functions/http/errors.ts';
import { conditional, entityTags, matchesEtag, weakEtag } from '../../functions/http/etag.ts';
import { httpHandler, TextBody, WithHeaders } from '../../functions/http/handler.ts';

/** Conditional GETs (functions/http/etag.ts): the validator, the comparison, and the middleware every JSON read goes through. */
const saved = { origins: process.env.CORS_ALLOWED_ORIGINS, table: process.env.TABLE_NAME };
beforeAll(() => {
  process.env.CORS_ALLOWED_ORIGINS = 'https://app.example';
  process.env.TABLE_NAME ??= 'stageline-unit';
});
afterAll(() => {
  for (const [k, v] of [
    ['CORS_ALLOWED_ORIGINS', saved.origins],
    ['TABLE_NAME', saved.table],
  ] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('the validator', () => {
  it('is a weak ETag of the body: W/"<22 base64url characters>", the same for the same body, another for another', () => {
    const tag = weakEtag('{"a":1}');
    expect(tag).toMatch(/^W\/"[A-Za-z0-9_-]{22}"$/);
    expect(weakEtag('{"a":1}')).toBe(tag);
    expect(weakEtag('{"a":2}')).not.toBe(tag);
  });

  it('covers the page cursor a client reads beside the body, and no other header', () => {
    const body = '[1,2]';
    expect(weakEtag(body, { 'x-next-cursor': 'c1' })).not.toBe(weakEtag(body, { 'x-next-cursor': 'c2' }));
    expect(weakEtag(body, { 'x-next-cursor': 'c1' })).not.toBe(weakEtag(body));
    expect(weakEtag(body, { 'content-type': 'application/json' })).toBe(weakEtag(body));
  });
});

describe('If-None-Match', () => {
  const tag = 'W/"abc"';
  it('lists entity tags, weak or strong, or * alone; a comma inside a tag does not split it', () => {
    expect(entityTags(undefined)).toEqual([]);
    expect(entityTags('"a", W/"b",W/"c,d" ')).toEqual(['"a"', 'W/"b"', 'W/"c,d"']);
    expect(entityTags('*')).toEqual(['*']);
    expect(entityTags('not-a-tag')).toEqual([]);
  });

  it('matches by weak comparison: with or without W/, anywhere in a list, and * matches any', () => {
    expect(matchesEtag(tag, tag)).toBe(true);
    expect(matchesEtag('"abc"', tag)).toBe(true);
    expect(matchesEtag('W/"abc"', '"abc"')).toBe(true);
    expect(matchesEtag('"x", W/"abc"', tag)).toBe(true);
    expect(matchesEtag('*', tag)).toBe(true);
    expect(matchesEtag('"abcd"', tag)).toBe(false);
    expect(matchesEtag('abc', tag)).toBe(false);
    expect(matchesEtag('', tag)).toBe(false);
    expect(matchesEtag(undefined, tag)).toBe(false);
  });
});

describe('If-None-Match is parsed as RFC 9110 writes it ("*" alone, or a list of entity tags); anything else is ignored', () => {
  const tag = 'W/"abc"';
  it('matches everything only when the whole field is *: an unquoted * inside anything else is no wildcard (x* made every ETag route answer 304)', () => {
    expect(matchesEtag(' * ', tag)).toBe(true);
    for (const malformed of ['x*', '*x', '**', '"a", *', '*, "a"', '* *', 'W/*', 'abc*', '"a" x*', '"abc"*', '*"abc"']) {
      expect(matchesEtag(malformed, tag), malformed).toBe(false);
      expect(entityTags(malformed), malformed).toEqual([]);
    }
  });

  it('ignores a field that is not a list of entity tags as a whole, even where a valid tag is in it', () => {
    for (const malformed of ['"abc" junk', 'junk, W/"abc"', 'W/"abc" "x"', 'w/"abc"', 'W/ "abc"', '"abc', 'abc"', '"a"b"', '"a\u0001"', '"a b"']) {
      expect(matchesEtag(malformed, tag), malformed).toBe(false);
    }
  });

  it('reads lists with optional whitespace and empty elements, and tags holding commas', () => {
    expect(entityTags(' , W/"abc" ,, "x,y" ,')).toEqual(['W/"abc"', '"x,y"']);
    expect(matchesEtag('\t"x",\tW/"abc"\t', tag)).toBe(true);
    expect(entityTags('')).toEqual([]);
    expect(entityTags(' , ')).toEqual([]);
  });

  it('parses a long hostile field in linear time', () => {
    const started = performance.now();
    expect(matchesEtag(`${' ,'.repeat(50_000)}x`, tag)).toBe(false);
    expect(matchesEtag(`${'W/"a",'.repeat(20_000)}*`, tag)).toBe(false);
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('conditional(): a GET answer with its validator', () => {
  const ok = json(200, { items: [1] });

  it('gives a 200 JSON answer an ETag, Cache-Control private, no-cache and Vary: authorization; a matching If-None-Match makes it a 304 with no body', () => {
    const first = conditional('GET', undefined, ok);
    expect(first.statusCode).toBe(200);
    expect(first.body).toBe(ok.body);
    expect(first.headers).toMatchObject({
      etag: weakEtag(ok.body),
      'cache-control': 'private, no-cache',
      vary: 'authorization',
      'content-type': 'application/json',
    });
    for (const inm of [first.headers.etag!, `"other", ${first.headers.etag!}`, first.headers.etag!.slice(2), '*']) {
      const again = conditional('GET', inm, ok);
      expect(again, inm).toEqual({
        statusCode: 304,
        headers: { etag: first.headers.etag, 'cache-control': 'private, no-cache', vary: 'authorization' },
        body: '',
      });
    }
    expect(conditional('GET', 'W/"stale"', ok)).toEqual(first);
  });

  it("keeps a handler's Cache-Control and other headers, and merges Vary", () => {
    const r = conditional('GET', undefined, json(200, [1], { 'cache-control': 'private, max-age=5', vary: 'x-api-key', 'x-next-cursor': 'n' }));
    expect(r.headers).toMatchObject({ 'cache-control': 'private, max-age=5', vary: 'x-api-key, authorization', 'x-next-cursor': 'n' });
    const not = conditional('GET', r.headers.etag, json(200, [1], { 'cache-control': 'private, max-age=5', vary: 'x-api-key', 'x-next-cursor': 'n' }));
    expect(not).toMatchObject({ statusCode: 304, body: '', headers: { 'x-next-cursor': 'n', 'cache-control': 'private, max-age=5' } });
    expect(not.headers['content-type']).toBeUndefined();
  });

  it('leaves alone what is not a successful JSON read, and an answer that has its own ETag', () => {
    const same = (r: HttpResult, method = 'GET', inm: string | undefined = '*') => expect(conditional(method, inm, r)).toBe(r);
    same(ok, 'POST');
    same(ok, 'PUT');
    same(json(201, { id: 1 }));
    same(json(204, null));
    same(json(404, { error: { code: 'NOT_FOUND', message: 'no' } }));
    same({ statusCode: 200, headers: { 'content-type': 'application/x-ndjson' }, body: '{}\n' });
    same({ statusCode: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: '<p>' });
    same(json(200, { a: 1 }, { etag: '"digest"' }));
    // JSON by another media type still is JSON.
    expect(
      conditional('GET', undefined, { statusCode: 200, headers: { 'content-type': 'application/problem+json; charset=utf-8' }, body: '{}' }).headers.etag,
    ).toBeDefined();
  });

  it('varyWith names each header once, whatever its case; * stays *', () => {
    expect(varyWith(undefined, 'authorization')).toBe('authorization');
    expect(varyWith('origin', 'authorization')).toBe('origin, authorization');
    expect(varyWith('Authorization, origin', 'authorization', 'ORIGIN')).toBe('Authorization, origin');
    expect(varyWith('*', 'authorization')).toBe('*');
    expect(varyWith('', undefined)).toBe('');
  });
});

describe('the middleware, in every httpHandler', () => {
  const context = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;
  const event = (method: string, routeKey: string, headers: Record<string, string> = {}): APIGatewayProxyEventV2 =>
    ({
      version: '2.0',
      routeKey,
      rawPath: routeKey.split(' ')[1],
      rawQueryString: '',
      headers,
      requestContext: {
        http: { method, path: routeKey.split(' ')[1] },
        requestId: 'req-1',
        timeEpoch: Date.now(),
        authorizer: { jwt: { claims: { sub: 'u1', 'custom:tenant_id': 'acme', 'cognito:groups': '[viewer]' } } },
      },
      isBase64Encoded: false,
    }) as unknown as APIGatewayProxyEventV2;
  type Answer = { statusCode: number; headers: Record<string, string>; body: string };
  let value: unknown = { environments: ['dev'] };
  const read = httpHandler({}, async () => value);

  it('answers a GET with an ETag, the same GET with If-None-Match with 304 and no body, and 200 again once the answer changed', async () => {
    value = { environments: ['dev'] };
    const first = (await read(event('GET', 'GET /api/v1/status'), context)) as Answer;
    expect(first.statusCode).toBe(200);
    const etag = first.headers.etag!;
    expect(etag).toMatch(/^W\/"/);
    const again = (await read(event('GET', 'GET /api/v1/status', { 'if-none-match': etag }), context)) as Answer;
    expect(again).toMatchObject({ statusCode: 304, body: '' });
    expect(again.headers.etag).toBe(etag);
    value = { environments: ['dev', 'staging'] };
    const changed = (await read(event('GET', 'GET /api/v1/status', { 'if-none-match': etag }), context)) as Answer;
    expect(changed.statusCode).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
    expect(JSON.parse(changed.body)).toEqual(value);
  });

  it('keeps the CORS headers, with Vary naming both origin and authorization', async () => {
    value = { environments: ['dev'] };
    const r = (await read(event('GET', 'GET /api/v1/status', { origin: 'https://app.example' }), context)) as Answer;
    expect(r.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(r.headers.vary).toBe('authorization, origin');
    const not = (await read(event('GET', 'GET /api/v1/status', { origin: 'https://app.example', 'if-none-match': r.headers.etag! }), context)) as Answer;
    expect(not.statusCode).toBe(304);
    expect(not.headers['access-control-expose-headers']).toContain('etag');
    expect(not.headers.vary).toBe('authorization, origin');
  });

  it('gives no ETag to errors, writes, text answers or answers with their own validator', async () => {
    const failing = httpHandler({}, async () => {
      throw new ValidationFailed([{ path: 'query.x', message: 'bad' }]);
    });
    const error = (await failing(event('GET', 'GET /api/v1/status', { 'if-none-match': '*' }), context)) as Answer;
    expect(error.statusCode).toBe(400);
    expect(error.headers.etag).toBeUndefined();
    const write = (await read(event('POST', 'POST /api/v1/environments', { 'if-none-match': '*' }), context)) as Answer;
    expect(write.headers.etag).toBeUndefined();
    const text = httpHandler({}, async () => new TextBody('{}\n', 'application/x-ndjson'));
    expect(((await text(event('GET', 'GET /api/v1/audit/export'), context)) as Answer).headers.etag).toBeUndefined();
    const own = httpHandler({}, async () => new WithHeaders({ a: 1 }, { etag: '"d1"' }));
    const mine = (await own(event('GET', 'GET /api/v1/status', { 'if-none-match': '*' }), context)) as Answer;
    expect(mine.statusCode).toBe(200);
    expect(mine.headers.etag).toBe('"d1"');
  });
});
