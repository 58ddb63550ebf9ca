import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { ROUTES, type Route } from '../functions/http/routes.ts';
import type { Spec } from '../functions/http/handler.ts';
import { RESPONSES } from '../domain/responses.ts';

/**
 * The API contract, generated from THE route table and the zod schemas each handler
 * validates with (httpHandler keeps them on the handler): every route, its auth scheme,
 * path/query parameters and request body, and the one error shape. `npm run openapi`
 * writes functions/http/openapi.json; a test fails when it is out of date.
 */
export const OPENAPI_FILE = join(fileURLToPath(new URL('..', import.meta.url)), 'functions', 'http', 'openapi.json');

type Json = Record<string, unknown>;

/** Shared definitions (recursive JSON values and the like), named by content so equal ones are one component. */
const shared: Record<string, Json> = {};

/** JSON Schema of a zod schema for the document (requests as accepted, responses as sent): its $defs become components, its refs point there. */
const schemaOf = (s: z.ZodType, io: 'input' | 'output' = 'input'): Json => {
  const { $schema: _ignored, $defs, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Json & { $defs?: Record<string, Json> };
  const renames = new Map<string, string>();
  for (const [name, def] of Object.entries($defs ?? {})) {
    // A schema with an id (`.meta({ id })`, the response resources) is its own component; others are named by content.
    const key = /^[A-Z][A-Za-z0-9]*$/.test(name) ? name : `Def_${createHash('sha256').update(JSON.stringify(def)).digest('hex').slice(0, 10)}`;
    renames.set(name, key);
  }
  const rewrite = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(rewrite)
      : v && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === '$ref' && typeof x === 'string' && x.startsWith('#/$defs/') ? `#/components/schemas/${renames.get(x.slice(8)) ?? x.slice(8)}` : rewrite(x)]))
        : v;
  for (const [name, def] of Object.entries($defs ?? {})) shared[renames.get(name)!] = rewrite(def) as Json;
  return rewrite(rest) as Json;
};

const ERROR = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', examples: ['VALIDATION_FAILED', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT'] },
        message: { type: 'string', description: 'What to fix' },
        issues: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
      },
      additionalProperties: true,
    },
  },
};

const errors = (auth: Route['auth']) => ({
  '400': { description: 'Invalid input: every issue listed', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
  ...(auth === 'none' ? {} : { '401': { description: 'Not authenticated' }, '403': { description: 'Authenticated, not allowed (role, tenant, protected environment)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } } }),
  '404': { description: 'Not found', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
  '409': { description: 'Conflict (stale version, status, busy target, concurrent changes: see Retry-After)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
  '422': { description: 'A business rule refused it', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
});

function parameters(spec: Spec<z.ZodType, z.ZodType, z.ZodType> | undefined, route: Route): Json[] {
  const out: Json[] = [];
  const names = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const pathProps = (spec?.params ? (schemaOf(spec.params).properties as Record<string, Json> | undefined) : undefined) ?? {};
  for (const name of names) out.push({ name, in: 'path', required: true, schema: pathProps[name] ?? { type: 'string' } });
  if (spec?.query) {
    const q = schemaOf(spec.query);
    const required = new Set((q.required as string[] | undefined) ?? []);
    for (const [name, schema] of Object.entries((q.properties as Record<string, Json> | undefined) ?? {})) out.push({ name, in: 'query', required: required.has(name), schema });
  }
  if (route.method === 'POST') out.push({ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 255 }, description: 'Same key and body: the same response, one side effect' });
  return out;
}

export async function buildOpenApi(): Promise<Json> {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of ROUTES) {
    const mod = (await import(`../functions/handlers/${route.handler}.ts`)) as { handler: { spec?: Spec<z.ZodType, z.ZodType, z.ZodType> } };
    const spec = mod.handler.spec;
    const status = String(route.status ?? spec?.status ?? 200);
    const html = route.handler === 'dashboard' || route.handler === 'review';
    const op: Json = {
      operationId: `${route.method.toLowerCase()}${route.path.replace(/[{}]/g, '').split(/[/-]/).filter(Boolean).map((p) => p[0]!.toUpperCase() + p.slice(1)).join('')}`,
      summary: route.summary,
      tags: [route.path.split('/')[3] ?? route.path.split('/')[1] ?? 'service'],
      security: route.auth === 'jwt' ? [{ cognito: [] }] : route.auth === 'iam' ? [{ sigv4: [] }] : [],
      ...(route.role ? { 'x-stageline-role': route.role } : {}),
      parameters: parameters(spec, route),
      ...(spec?.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(spec.docBody ?? spec.body) } } } } : {}),
      responses: {
        [status]: status === '204'
          ? { description: 'Done; no body' }
          : html
          ? { description: 'An HTML page', content: { 'text/html': { schema: { type: 'string' } } } }
          : { description: 'Success', content: { 'application/json': { schema: RESPONSES[route.handler] ? schemaOf(RESPONSES[route.handler]!, 'output') : { type: 'object', additionalProperties: true } } } },
        ...errors(route.auth),
      },
    };
    (paths[route.path] ??= {})[route.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Stageline API', version: '1', description: 'Release promotion through an ordered line of environments. Generated from functions/http/routes.ts and the handlers\' zod schemas.' },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: { Error: ERROR, ...Object.fromEntries(Object.entries(shared).sort(([a], [b]) => (a < b ? -1 : 1))) },
      securitySchemes: {
        cognito: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A Cognito ID token (custom:tenant_id, cognito:groups)' },
        sigv4: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'AWS Signature Version 4 (execute-api), for pipelines listed in machinePrincipals' },
      },
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(OPENAPI_FILE, JSON.stringify(await buildOpenApi(), null, 2) + '\n');
  console.log(`wrote ${OPENAPI_FILE}`);
}
