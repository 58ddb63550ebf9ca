import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from '../../domain/kernel/zod.ts';
import { httpHandler } from '../../functions/http/handler.ts';
import { memoryDeps } from '../support/memory-deps.ts';

/**
 * Text that is not Unicode (half of a UTF-16 surrogate pair alone) is refused at the edge, in every part of a
 * request, with a 400 naming where it is, before the handler runs: a URI encoder throws on it (a deployment
 * record's id was made with one: a 500). The gateway decodes paths and queries as UTF-8, so the function is
 * called here directly, as a caller of it could; bodies are also covered route by route by the contract fuzz.
 */
const saved = process.env.TABLE_NAME;
beforeAll(() => {
  process.env.TABLE_NAME ??= 'stageline-unit';
});
afterAll(() => {
  if (saved === undefined) delete process.env.TABLE_NAME;
  else process.env.TABLE_NAME = saved;
});

const context = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;
const event = (routeKey: string, parts: Partial<APIGatewayProxyEventV2>): APIGatewayProxyEventV2 =>
  ({
    version: '2.0',
    routeKey,
    rawPath: routeKey.split(' ')[1],
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    requestContext: {
      http: { method: routeKey.split(' ')[0], path: routeKey.split(' ')[1] },
      requestId: 'req-1',
      timeEpoch: Date.now(),
      authorizer: { jwt: { claims: { sub: 'u1', 'custom:tenant_id': 'acme', 'cognito:groups': '[admin]' } } },
    },
    isBase64Encoded: false,
    ...parts,
  }) as unknown as APIGatewayProxyEventV2;
type Answer = { statusCode: number; body: string };

describe('a lone surrogate anywhere in a request', () => {
  let ran = 0;
  const { deps } = memoryDeps();
  const handler = httpHandler(
    {
      wiring: { deps: () => deps },
      params: z.object({ name: z.string() }),
      query: z.object({ limit: z.optional(z.string()) }),
      body: z.looseObject({ reason: z.optional(z.string()) }),
    },
    async () => {
      ran++;
      return {};
    },
  );
  const route = 'PUT /api/v1/analysis-templates/{name}';

  it('in a path parameter, a query parameter, a body string or a body key: 400 naming it, its half written as an escape; the handler never runs', async () => {
    const cases: [Partial<APIGatewayProxyEventV2>, string][] = [
      [{ pathParameters: { name: 'a\ud800' }, body: '{}' }, 'path.name'],
      [{ pathParameters: { name: 'a' }, queryStringParameters: { limit: '\udc00' }, body: '{}' }, 'query.limit'],
      [{ pathParameters: { name: 'a' }, queryStringParameters: { ['\udc00x']: '1' }, body: '{}' }, 'query.\\udc00x'],
      [{ pathParameters: { name: 'a' }, body: '{"reason":"ok \\ud800"}' }, 'reason'],
      [{ pathParameters: { name: 'a' }, body: '{"nested":{"list":["fine","\\udfff"]}}' }, 'nested.list.1'],
      [{ pathParameters: { name: 'a' }, body: '{"\\ud83dkey":1}' }, '\\ud83dkey'],
    ];
    for (const [parts, path] of cases) {
      const r = (await handler(event(route, parts), context)) as Answer;
      expect(r.statusCode, `${path}: ${r.body}`).toBe(400);
      const body = JSON.parse(r.body) as { error: { issues: { path: string; message: string }[] } };
      expect(body.error.issues.map((i) => i.path)).toContain(path);
      // The answer never carries the half back (it is named by its escape).
      expect(r.body).not.toMatch(/(?<!\\)\\u[dD][89a-fA-F]/);
    }
    expect(ran).toBe(0);
  });

  it('a surrogate pair (one character: an emoji) is text like any other', async () => {
    const before = ran;
    const r = (await handler(
      event(route, { pathParameters: { name: 'a😀' }, queryStringParameters: { limit: '😀' }, body: '{"reason":"\\ud83d\\ude00"}' }),
      context,
    )) as Answer;
    expect(r.statusCode, r.body).toBe(200);
    expect(ran).toBe(before + 1);
  });
});
