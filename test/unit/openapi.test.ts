import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it, vi } from 'vitest';
import * as E from '../../domain/kernel/errors.ts';
import { errorBody, gatewayMessage } from '../../functions/http/responses/index.ts';
import { healthResponse } from '../../functions/http/responses/service.ts';
import { logger } from '../../functions/adapters/observability.ts';
import { errorResponse } from '../../functions/http/errors.ts';
import { MAX_BODY_BYTES } from '../../functions/http/request.ts';
import { ROUTES, routeKey } from '../../functions/http/routes.ts';
import { startGateway } from '../../local/gateway.ts';
import { LocalIssuer } from '../../local/issuer.ts';
import { buildOpenApi, OPENAPI_FILE, undeclaredOperations } from '../../scripts/openapi.ts';

type Op = {
  security: unknown[];
  requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown>; required?: string[] } }> };
  parameters: { name: string; in: string }[];
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: Record<string, unknown> }>; headers?: Record<string, unknown> }>;
};

const read = () =>
  JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as {
    paths: Record<string, Record<string, Op>>;
    components: {
      schemas: Record<string, unknown>;
      responses: Record<string, { content: Record<string, { schema: unknown }>; headers?: Record<string, unknown> }>;
    };
  };
const opOf = (doc: ReturnType<typeof read>, key: string) => {
  const [method, path] = key.split(' ');
  return doc.paths[path!]![method!.toLowerCase()]!;
};

describe('the published API contract (OpenAPI 3.1)', () => {
  it("is generated from the route table and the handlers' zod schemas, and the checked-in file is up to date (run npm run openapi)", async () => {
    const generated = await buildOpenApi();
    expect(JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'))).toEqual(JSON.parse(JSON.stringify(generated)));
    const paths = generated.paths as Record<string, Record<string, Op>>;
    for (const r of ROUTES) {
      const op = paths[r.path]?.[r.method.toLowerCase()];
      expect(op, `${r.method} ${r.path}`).toBeDefined();
      expect(op!.security).toEqual(
        r.auth === 'jwt'
          ? [{ cognito: [] }]
          : r.auth === 'iam'
            ? [{ sigv4: [] }]
            : r.auth === 'app'
              ? [{ appKey: [] }, { appKeyBearer: [] }, ...(r.path.includes('{env}') ? [{ cognito: [] }] : [])]
              : r.auth === 'scim'
                ? [{ scimToken: [] }]
                : [],
      ); // a read that names its environment also takes a viewer's ID token
    }
    // Request bodies come from the schemas the handlers validate with.
    expect(JSON.stringify(paths['/api/v1/promotions']!.post!.requestBody)).toContain('sourceEnvironment');
  }, 60_000);

  it('declares the success answer of every operation: no open object, every text answer with its media type and format', async () => {
    const doc = read();
    expect(undeclaredOperations(doc)).toEqual([]);
    const count = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
    expect(count).toBe(ROUTES.length);
    const media = (key: string) => Object.keys(Object.entries(opOf(doc, key).responses).find(([s]) => /^2/.test(s))![1].content ?? {});
    expect(media('GET /dashboard')).toEqual(['text/html']);
    expect(media('GET /review/{tenant}/{token}')).toEqual(['text/html']);
    expect(media('POST /review/{tenant}/{token}')).toEqual(['text/html']);
    expect(media('GET /api/v1/manifest')).toEqual(['application/yaml', 'application/json']);
    expect(media('POST /api/v1/manifest/plan')).toEqual(['application/json']);
    expect(media('GET /api/v1/audit/export')).toEqual(['application/x-ndjson']);
    expect(media('GET /health')).toEqual(['application/json']);
    expect(opOf(doc, 'GET /api/v1/manifest').requestBody).toBeUndefined();
    expect(opOf(doc, 'POST /api/v1/manifest/plan').requestBody!.content['application/json']!.schema.required).toEqual(['document']);
  });

  it('reports a route whose answer is not declared, so a new route without a response schema fails this test', async () => {
    const dashboard = ROUTES.find((r) => routeKey(r) === 'GET /dashboard')!;
    const bare = await buildOpenApi({
      routes: [
        { ...dashboard, response: undefined },
        { ...dashboard, path: '/dashboard/{x}', response: { text: { 'text/html': '' } } },
      ],
    });
    expect(undeclaredOperations(bare)).toEqual(['GET /dashboard (200)', 'GET /dashboard/{x} (200)']);
    // A row names its schema as a value (a misspelt name no longer compiles): the schema it names is the one published.
    const named = await buildOpenApi({ routes: [{ ...dashboard, response: { schema: healthResponse } }] });
    expect(undeclaredOperations(named)).toEqual([]);
    expect(JSON.stringify((named.paths as Record<string, Record<string, Op>>)['/dashboard']!.get!.responses['200']!.content)).toContain('stageline');
  }, 60_000);

  it('states what the server enforces: Idempotency-Key, number bounds, status filters, signingKey, cross-field rules, tenant and break-glass headers, the YAML manifest', () => {
    const doc = read();
    const text = JSON.stringify(doc);
    const param = (key: string, name: string) => opOf(doc, key).parameters.find((p) => p.name === name) as { schema: Record<string, unknown> } | undefined;
    expect(param('POST /api/v1/promotions', 'Idempotency-Key')!.schema).toMatchObject({ pattern: '^[A-Za-z0-9_.:-]{1,128}$', maxLength: 128 });
    expect(param('GET /api/v1/environments', 'X-Tenant-ID')).toBeDefined();
    expect(param('POST /api/v1/promotions/{id}/execute', 'X-Break-Glass-Reason')).toBeDefined();
    expect(param('GET /api/v1/promotions', 'status')!.schema.enum).toEqual(expect.arrayContaining(['PENDING', 'pending', 'COMPLETED']));
    // No number without bounds: the server refuses anything beyond ±(2^53−1).
    const unbounded: string[] = [];
    const walk = (v: unknown, at: string) => {
      if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${at}/${i}`));
      if (!v || typeof v !== 'object') return;
      const o = v as Record<string, unknown>;
      if ((o.type === 'number' || o.type === 'integer') && (o.minimum === undefined || o.maximum === undefined)) unbounded.push(at);
      for (const [k, x] of Object.entries(o)) if (!['enum', 'const', 'default', 'examples'].includes(k)) walk(x, `${at}/${k}`);
    };
    walk(doc, '#');
    expect(unbounded).toEqual([]);
    const body = (key: string) => opOf(doc, key).requestBody!.content['application/json']!.schema as Record<string, unknown>;
    expect(body('POST /api/v1/environments')).toMatchObject({
      if: { properties: { verification: { const: 'signature_match' } } },
      then: { required: ['signingKey'] },
    });
    expect((body('POST /api/v1/environments').properties as Record<string, Record<string, unknown>>).signingKey!.pattern).toContain('BEGIN PUBLIC KEY');
    expect(body('POST /api/v1/environments/{env}/rollback').oneOf).toHaveLength(2);
    expect(body('POST /api/v1/environments/{env}/items/batch').anyOf).toHaveLength(2);
    expect(body('POST /api/v1/freeze-windows').oneOf).toHaveLength(2);
    expect(body('POST /api/v1/promotions/auto-check').dependentRequired).toEqual({ artifact: ['version'], version: ['artifact'], bundleDigest: ['bundle'] });
    expect(JSON.stringify(body('POST /api/v1/config/promotions'))).toContain('SELECTIVE');
    expect(JSON.stringify(body('POST /api/v1/config/promotions'))).not.toContain('agentId');
    expect(JSON.stringify(body('POST /api/v1/promotions'))).toContain('agentId');
    expect(text).toContain('"else":{"required":["value"]}');
    // The YAML export is the manifest document: its schema is published with it.
    const yaml = opOf(doc, 'GET /api/v1/manifest').responses['200']!.content!['application/yaml']!.schema;
    expect(yaml).toMatchObject({ type: 'string', contentMediaType: 'application/yaml' });
    expect(yaml.contentSchema).toBeDefined();
    expect(opOf(doc, 'PUT /api/v1/notifications').requestBody).toMatchObject({ required: true });
  });

  it('documents conditional GETs on every JSON read behind the middleware: If-None-Match in, ETag on the 200, 304 with no body', () => {
    const doc = read();
    const reads = Object.entries(doc.paths).flatMap(([path, ops]) =>
      ops.get && ops.get.responses['400']?.$ref === '#/components/responses/BadRequest' ? [[path, ops.get] as const] : [],
    );
    const json = reads.filter(([, op]) => op.responses['200']!.content?.['application/json']);
    expect(json.length).toBeGreaterThan(40);
    for (const [path, op] of json) {
      expect(
        op.parameters.filter((p) => p.in === 'header' && p.name === 'If-None-Match'),
        path,
      ).toHaveLength(1);
      expect(op.responses['200']!.headers, path).toHaveProperty('ETag');
      expect(op.responses['304']!.content, path).toBeUndefined();
      expect(op.responses['304']!.headers, path).toHaveProperty('ETag');
    }
    // What a route says of its own validator is kept (the effective config's ETag is its snapshot digest).
    expect(JSON.stringify(opOf(doc, 'GET /api/v1/environments/{env}/effective').responses['200']!.headers)).toContain('snapshot digest');
    // Plain handlers (no middleware) and text answers do not answer 304.
    for (const key of ['GET /health', 'GET /api/v1/openapi.json', 'GET /dashboard', 'GET /api/v1/audit/export', 'POST /api/v1/promotions'])
      expect(opOf(doc, key).responses['304'], key).toBeUndefined();
  });

  it('documents the form bodies (Slack, the review form) as forms, not JSON', () => {
    const doc = read();
    const slack = opOf(doc, 'POST /api/v1/slack/actions');
    expect(Object.keys(slack.requestBody!.content)).toEqual(['application/x-www-form-urlencoded']);
    expect(slack.requestBody!.content['application/x-www-form-urlencoded']!.schema.properties).toHaveProperty('payload');
    expect(slack.parameters.filter((p) => p.in === 'header').map((p) => p.name)).toEqual(['X-Slack-Request-Timestamp', 'X-Slack-Signature']);
    expect(Object.keys(slack.responses).sort()).toEqual(['200', '400', '401', '413', '429', '431', '500']);
    // The slash command: the same function, its own form (as Slack posts it).
    const command = opOf(doc, 'POST /api/v1/slack/commands');
    expect(Object.keys(command.requestBody!.content['application/x-www-form-urlencoded']!.schema.properties!).sort()).toEqual([
      'command',
      'team_id',
      'text',
      'user_id',
    ]);
    expect(command.parameters.filter((p) => p.in === 'header').map((p) => p.name)).toEqual(['X-Slack-Request-Timestamp', 'X-Slack-Signature']);
    expect(Object.keys(opOf(doc, 'POST /review/{tenant}/{token}').requestBody!.content)).toEqual(['application/x-www-form-urlencoded']);
  });

  it("documents every error status an operation can answer, in the shared Error shape or the gateway's own", () => {
    const doc = read();
    const statuses = (key: string) => Object.keys(opOf(doc, key).responses).sort();
    // A function may be cut off by its deadline: 503 OUT_OF_TIME with Retry-After on every operation a function answers.
    expect(statuses('POST /api/v1/promotions')).toEqual(['200', '201', '400', '401', '403', '404', '409', '413', '415', '422', '429', '431', '500', '503']);
    expect(statuses('GET /api/v1/environments')).toEqual(['200', '304', '400', '401', '403', '404', '409', '422', '429', '431', '500', '503']);
    expect(statuses('POST /api/v1/platform/deployments')).toEqual(['200', '201', '400', '403', '404', '409', '413', '415', '422', '429', '431', '500', '503']);
    expect(doc.components.responses.OutOfTime!.headers).toHaveProperty('Retry-After');
    // Any request malformed as HTTP is refused by the gateway with its own 400 ({"message":"Bad Request"}), on every operation.
    expect(statuses('GET /health')).toEqual(['200', '400', '429', '431', '500']);
    expect(statuses('GET /review/{tenant}/{token}')).toEqual(['200', '400', '404', '429', '431', '500']);
    expect(opOf(doc, 'GET /health').responses['400']!.$ref).toBe('#/components/responses/GatewayBadRequest');
    expect(JSON.stringify(doc.components.responses.BadRequest!.content)).toContain('#/components/schemas/GatewayMessage');
    // The review page answers its refusals as pages, beside what the gateway may answer.
    const review500 = opOf(doc, 'POST /review/{tenant}/{token}').responses['500']!;
    expect(Object.keys(review500.content!)).toEqual(['text/html', 'application/json']);
    expect(opOf(doc, 'POST /review/{tenant}/{token}').responses['429']!.headers).toHaveProperty('Retry-After');
    // 409s may say when to retry; 401s come from the gateway's JWT authorizer ({"message":"Unauthorized"}) or the handler.
    expect(doc.components.responses.Conflict!.headers).toHaveProperty('Retry-After');
    expect(JSON.stringify(doc.components.responses.Unauthorized!.content)).toContain('#/components/schemas/GatewayMessage');
    expect(JSON.stringify(doc.components.responses.Unauthorized!.content)).toContain('#/components/schemas/Error');
    for (const [key, op] of Object.entries(doc.paths).flatMap(([p, ops]) => Object.entries(ops).map(([m, o]) => [`${m} ${p}`, o] as const))) {
      for (const [status, r] of Object.entries(op.responses)) if (/^[45]/.test(status)) expect(r.$ref ?? r.content, `${key} ${status}`).toBeDefined();
    }
  });

  it('states the rules of a field in the document where JSON Schema can: cron, time zones, HH:MM, regular expressions, registry hosts, dotted paths, version constraints; ASCII digits only', () => {
    const doc = read();
    const found = new Map<string, Set<string>>();
    const walk = (o: unknown, name = ''): void => {
      if (!o || typeof o !== 'object') return;
      const s = o as { pattern?: unknown; format?: unknown };
      if (typeof s.pattern === 'string' || typeof s.format === 'string') {
        const set = found.get(name) ?? new Set<string>();
        set.add(String(s.pattern ?? `format:${String(s.format)}`));
        found.set(name, set);
        // \d, \w and \s match non-ASCII characters in many validators: our patterns say [0-9] (zod's date-time pattern aside, under its format).
        if (typeof s.pattern === 'string' && s.format !== 'date-time') expect(s.pattern, name).not.toMatch(/\\[dws]/);
      }
      // A field's several checks are allOf its schema: they keep its name.
      for (const [k, v] of Object.entries(o)) walk(v, Array.isArray(o) || ['allOf', 'anyOf', 'oneOf'].includes(k) ? name : k);
    };
    walk(doc);
    const rule = (field: string) => [...(found.get(field) ?? [])];
    const test = (field: string, value: string) => rule(field).some((p) => !p.startsWith('format:') && new RegExp(p, 'u').test(value));
    expect(test('cron', '0 16 * * 5')).toBe(true);
    expect(test('cron', '0 16 * *')).toBe(false);
    expect(test('timezone', 'America/Argentina/Buenos_Aires')).toBe(true);
    expect(test('timezone', 'Europe/../Berlin')).toBe(false);
    expect(test('start', '08:30')).toBe(true);
    expect(test('start', '８:30')).toBe(false);
    expect(test('version', 'v1.2.3')).toBe(true);
    expect(test('version', 'v١.2.3')).toBe(false); // Arabic-Indic digit one
    expect(test('constraint', '>=1.2.0, <2.0.0')).toBe(true);
    expect(test('constraint', '^1.2.0; rm')).toBe(false);
    expect(test('path', 'image.tag')).toBe(true);
    expect(test('registry', '123456789012.dkr.ecr.eu-west-1.amazonaws.com')).toBe(true);
    expect(rule('pattern')).toContain('format:regex');
  });

  it("publishes the error bodies the code really sends: every mapped domain error and a 500 match Error; the gateway's answers match GatewayMessage", () => {
    const errors = [
      new E.ValidationFailed([{ path: 'body.name', message: 'Required' }]),
      new E.MalformedJson('Body is not valid JSON'),
      new E.Unauthenticated('Token has no subject'),
      new E.Forbidden('no'),
      new E.MethodNotAllowed('use GET', ['GET']),
      new E.EnvironmentNotFound('prod'),
      new E.ConcurrentModification('retry'),
      new E.PayloadTooLarge('too large'),
      new E.RuleViolation('no', { document: ['a'] }),
      new Error('boom'),
    ];
    // The unknown error is logged for operators; not here.
    const log = vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    for (const err of errors) {
      const r = errorResponse(err, 'req-1');
      expect(r.statusCode, String(err)).toBeGreaterThanOrEqual(400);
      expect(errorBody.safeParse(JSON.parse(r.body)).success, r.body).toBe(true);
    }
    expect(JSON.parse(errorResponse(new Error('boom'), 'req-2').body)).toMatchObject({ error: { code: 'INTERNAL', requestId: 'req-2' } });
    expect(log).toHaveBeenCalledTimes(2);
    log.mockRestore();
    expect(errorResponse(new E.ConcurrentModification('retry')).headers['retry-after']).toBe('1');
  });

  it('publishes what the gateway answers itself before any function runs (the local gateway answers as API Gateway does): GatewayMessage', async () => {
    const gateway = await startGateway({ issuer: await LocalIssuer.create() });
    try {
      const noToken = await fetch(`${gateway.url}/api/v1/environments`);
      expect(noToken.status).toBe(401);
      expect(noToken.headers.get('www-authenticate')).toBe('Bearer');
      const unsigned = await fetch(`${gateway.url}/api/v1/platform/deployments`, { method: 'POST', body: '{}' });
      expect(unsigned.status).toBe(403);
      const large = await fetch(`${gateway.url}/api/v1/environments`, { method: 'POST', body: 'x'.repeat(MAX_BODY_BYTES + 1) });
      expect(large.status).toBe(413);
      for (const r of [noToken, unsigned, large]) {
        const body = (await r.json()) as unknown;
        expect(gatewayMessage.safeParse(body).success, JSON.stringify(body)).toBe(true);
        expect(errorBody.safeParse(body).success).toBe(false);
      }
    } finally {
      await gateway.close();
    }
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')));
    expect(result.errors ?? [], JSON.stringify(result.errors)?.slice(0, 2000)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });
});

describe('patterns in the document', () => {
  it('say digits as ASCII [0-9], never \\d (any Unicode digit in other dialects, which the service refuses), date-times included', () => {
    const patterns: string[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) return v.forEach(walk);
      if (!v || typeof v !== 'object') return;
      for (const [k, x] of Object.entries(v)) k === 'pattern' && typeof x === 'string' ? patterns.push(x) : walk(x);
    };
    walk(read());
    expect(patterns.length).toBeGreaterThan(10);
    expect(patterns.filter((p) => /\\d/.test(p))).toEqual([]);
    // A date-time the document accepts is one the service accepts: ASCII digits only.
    const dateTime = patterns.find((p) => p.includes('T(?:'))!;
    expect(new RegExp(dateTime).test('2026-01-31T12:00:00Z')).toBe(true);
    expect(new RegExp(dateTime, 'u').test('2026-01-31T12:00:0\u0665Z')).toBe(false);
  });
});
