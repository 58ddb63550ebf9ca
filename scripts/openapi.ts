import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import type { ZodMiniType } from 'zod/mini';
import { ROUTES, routeKey, type Route } from '../functions/http/routes.ts';
import { type Spec } from '../functions/http/handler.ts';
import { IDEMPOTENCY_KEY } from '../functions/http/idempotency.ts';
import { errorBody, gatewayMessage } from '../functions/http/responses/index.ts';
import { scimMessage } from '../functions/http/responses/access.ts';
import { webhookPathItems } from './openapi-webhooks.ts';
import { RESERVED_KEYS } from '../domain/kernel/reserved-keys.ts';

/**
 * The API contract, generated from THE route table and the zod schemas each handler
 * validates with (httpHandler keeps them on the handler): every route, its auth scheme,
 * path/query parameters and request body, its success answer (the schema its row names, from
 * functions/http/responses/, or the text it declares) and its errors. `npm run openapi` writes functions/http/openapi.json;
 * a test fails when it is out of date, or when an operation has no declared answer.
 */
export const OPENAPI_FILE = join(fileURLToPath(new URL('..', import.meta.url)), 'functions', 'http', 'openapi.json');

type Json = Record<string, unknown>;

/** What an operation without a declared answer is published with (undeclaredOperations reports it). */
const OPEN: Json = { type: 'object', additionalProperties: true };

/** JSON Schemas of zod schemas for one document: shared definitions (ids, recursive values) become its components. */
function jsonSchemas() {
  /** Shared definitions, named by their id or by content so equal ones are one component. */
  const shared: Record<string, Json> = { JsonValue: JSON_VALUE };
  /** JSON Schema of a zod schema (requests as accepted, responses as sent): its $defs become components, its refs point there. */
  const of = (s: z.core.$ZodType, io: 'input' | 'output' = 'input'): Json => {
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
          ? Object.fromEntries(
              Object.entries(v).map(([k, x]) => [
                k,
                k === '$ref' && typeof x === 'string' && x.startsWith('#/$defs/')
                  ? `#/components/schemas/${renames.get(x.slice(8)) ?? x.slice(8)}`
                  : rewrite(x),
              ]),
            )
          : v;
    for (const [name, def] of Object.entries($defs ?? {})) shared[renames.get(name)!] = bounded(rewrite(def)) as Json;
    return bounded(rewrite(rest)) as Json;
  };
  return { of, shared };
}
type Schemas = ReturnType<typeof jsonSchemas>;

/** Where a schema allows any JSON value (`{}`), the document says the shape every body must have instead. */
const JSON_VALUE_REF = '#/components/schemas/JsonValue';
const reservedKeyNames = () => ({ type: 'string', not: { enum: [...RESERVED_KEYS] } });

/**
 * Any JSON value a body may hold where a schema leaves the value open (an OFREP context's attributes, a
 * flag's value, artifact metadata): what functions/http/request.ts (domain/kernel/json-shape.ts) refuses
 * before any schema runs is refused here too — a number beyond ±(2^53−1), an object key JavaScript
 * reserves. Its depth (at most 24 levels) is said in words: JSON Schema cannot count a recursion.
 */
const JSON_VALUE: Json = {
  description: 'Any JSON value, as every body must be: numbers within ±(2^53−1), nested at most 24 levels, no object key __proto__, prototype or constructor',
  anyOf: [
    { type: 'null' },
    { type: 'boolean' },
    { type: 'string' },
    { type: 'number', minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
    { type: 'array', items: { $ref: JSON_VALUE_REF } },
    { type: 'object', additionalProperties: { $ref: JSON_VALUE_REF }, propertyNames: reservedKeyNames() },
  ],
};

const isAnyValue = (v: unknown) => !!v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0;

/**
 * A pattern with ASCII digits only: `\d` is [0-9] in JavaScript, but any Unicode digit in other regular
 * expression dialects (a client's or a fuzzer's validator), which the service refuses. Inside a character
 * class it becomes 0-9, outside [0-9] (zod's date-time pattern is written with \d).
 */
export function asciiDigits(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      i++;
      out += next === 'd' ? (inClass ? '0-9' : '[0-9]') : c + next;
      continue;
    }
    if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass) inClass = false;
    out += c;
  }
  return out;
}

/**
 * Every number the API takes or gives lies within ±(2^53−1) (functions/http/handler.ts refuses
 * others before any schema runs): a number schema without its own bound gets that one, and a value
 * left open (`{}`: an object's other members, an array's items, a member of any value) is a JsonValue,
 * which bounds its numbers at every depth. Likewise an object that takes keys of the caller's choosing
 * states that __proto__, prototype and constructor are not among them.
 */
function bounded(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(bounded);
  if (!v || typeof v !== 'object') return v;
  const o = Object.fromEntries(
    Object.entries(v).map(([k, x]) => [k, k === 'const' || k === 'enum' || k === 'default' || k === 'examples' ? x : bounded(x)]),
  ) as Json;
  if (typeof o.pattern === 'string') o.pattern = asciiDigits(o.pattern);
  if (o.type === 'number' || o.type === 'integer') {
    if (o.minimum === undefined && o.exclusiveMinimum === undefined) o.minimum = -Number.MAX_SAFE_INTEGER;
    if (o.maximum === undefined && o.exclusiveMaximum === undefined) o.maximum = Number.MAX_SAFE_INTEGER;
  }
  if (o.type === 'object' && (o.additionalProperties === undefined || isAnyValue(o.additionalProperties))) o.additionalProperties = { $ref: JSON_VALUE_REF };
  if (isAnyValue(o.items)) o.items = { $ref: JSON_VALUE_REF };
  if (o.properties && typeof o.properties === 'object')
    o.properties = Object.fromEntries(Object.entries(o.properties as Json).map(([k, x]) => [k, isAnyValue(x) ? { $ref: JSON_VALUE_REF } : x]));
  // No object key may be one JavaScript reserves (the handler refuses it before any schema runs, domain/kernel/reserved-keys.ts).
  if (o.type === 'object' && o.additionalProperties !== false)
    o.propertyNames = { ...((o.propertyNames as Json | undefined) ?? { type: 'string' }), not: { enum: [...RESERVED_KEYS] } };
  return o;
}

/** Retry-After in seconds. */
const RETRY_AFTER: Json = { type: 'integer', minimum: 0, maximum: 86_400 };

const json = (schema: Json) => ({ 'application/json': { schema } });
const header = (description: string, schema: Json = { type: 'string' }) => ({ description, schema });

/**
 * The error answers every operation of a kind shares (components/responses). A handler behind
 * httpHandler answers the Error of functions/http/errors.ts; the gateway answers some itself,
 * before any function runs, with its own message.
 */
function commonResponses(schemas: Schemas) {
  const error = schemas.of(errorBody, 'output');
  const gateway = schemas.of(gatewayMessage, 'output');
  const either = { oneOf: [error, gateway] };
  return {
    BadRequest: {
      description:
        'Invalid input (path, query, body, Idempotency-Key; a path with a dot segment, `..` or `%2e%2e`, which is never resolved): an Error listing every issue; or a request malformed as HTTP (a header line, a percent-escape of the path), which the gateway refuses before any function runs with its own message ({"message":"Bad Request"})',
      content: json(either),
    },
    GatewayBadRequest: {
      description:
        'A request malformed as HTTP (a header line, a percent-escape of the path), or a path with a dot segment (`..`, `%2e%2e`: never resolved): refused before the route runs ({"message":"Bad Request…"})',
      content: json(gateway),
    },
    Unauthorized: {
      description:
        'No valid bearer token: the gateway refuses it before any function runs ({"message":"Unauthorized"} with WWW-Authenticate); a token without a subject, or (on a route that changes something) issued before its person was removed or lost a role, is refused with an Error',
      headers: { 'WWW-Authenticate': header('Bearer (from the gateway)') },
      content: json({ oneOf: [gateway, error] }),
    },
    AppKeyUnauthorized: {
      description: 'No app key, or one that is unknown, altered, superseded by a rotation or revoked (checked by the function)',
      content: json(error),
    },
    Forbidden: { description: 'Authenticated, not allowed (role, tenant, X-Tenant-ID, protected environment, separation of duties)', content: json(error) },
    ForbiddenSigV4: {
      description:
        'No valid SigV4 signature: the gateway refuses it before any function runs ({"message":"Forbidden"}); or the IAM principal is not registered for a tenant, or lacks the role (an Error)',
      content: json({ oneOf: [gateway, error] }),
    },
    NotFound: { description: 'Not found', content: json(error) },
    Conflict: {
      description:
        'Conflict: stale version, status, busy target, already exists; concurrent changes or a request with the same Idempotency-Key still running (with Retry-After)',
      headers: {
        'Retry-After': header('Seconds to wait before sending the same request again (on concurrent changes and a running Idempotency-Key)', RETRY_AFTER),
      },
      content: json(error),
    },
    PayloadTooLarge: {
      description: "The body is over 2 MiB: an Error from the function, or the gateway's message when the gateway refuses it first",
      content: json(either),
    },
    UnsupportedMediaType: {
      description:
        'The body is sent as a media type the operation does not take (JSON as text/plain): send it as application/json (a +json type and any charset are JSON; a body with no Content-Type, or labelled application/x-www-form-urlencoded as `curl -d` labels it, is read as JSON)',
      content: json(error),
    },
    FormTooLarge: { description: "The body is too large (the gateway's message)", content: json(gateway) },
    Locked: {
      description:
        'A freeze window holds the environment (the window is in `freeze`): wait for it to close, or an admin overrides it once with X-Break-Glass-Reason, audited as break-glass',
      content: json(error),
    },
    UnprocessableEntity: { description: 'A business rule refused it (or an Idempotency-Key reused with another body)', content: json(error) },
    HeadersTooLarge: { description: "The request's headers are too large (the gateway's message)", content: json(gateway) },
    TooManyRequests: {
      description: "Throttled by API Gateway: the stage's rate and burst, lower on the heavy routes (the gateway's message)",
      content: json(gateway),
    },
    OutOfTime: {
      description:
        'Out of time (OUT_OF_TIME): a write that waited behind others, or could not be saved in the time left, changed nothing; a request cut off by its deadline, or one the store was too busy to answer (UNAVAILABLE: a transaction on the same item, throttling), may have been saved; an outside host the request needs that failed for a moment (UNAVAILABLE: a registry answering a 5xx or 429, timing out or dropping the connection) left nothing saved, so send it again with the same Idempotency-Key (one change at most, the first answer replayed)',
      headers: { 'Retry-After': header('Seconds to wait before sending the same request again', RETRY_AFTER) },
      content: json(error),
    },
    InternalError: {
      description: "Failed on our side: an Error with the request id (nothing internal), or the gateway's message when the function itself failed",
      content: json(either),
    },
    FunctionFailed: { description: "The function itself failed (the gateway's message)", content: json(gateway) },
  } satisfies Record<string, Json>;
}
type Common = keyof ReturnType<typeof commonResponses>;

function parameters(schemas: Schemas, spec: Spec<ZodMiniType, ZodMiniType, ZodMiniType> | undefined, route: Route): Json[] {
  const out: Json[] = [];
  const names = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const pathProps = (spec?.params ? (schemas.of(spec.params).properties as Record<string, Json> | undefined) : undefined) ?? {};
  for (const name of names) out.push({ name, in: 'path', required: true, schema: pathProps[name] ?? { type: 'string' } });
  if (spec?.query && (!spec.queryOn || spec.queryOn(route))) {
    const q = schemas.of(spec.query);
    const required = new Set((q.required as string[] | undefined) ?? []);
    for (const [name, schema] of Object.entries((q.properties as Record<string, Json> | undefined) ?? {}))
      out.push({ name, in: 'query', required: required.has(name), schema });
  }
  for (const [name, description] of Object.entries(route.headers ?? {}))
    out.push({ name, in: 'header', required: true, schema: { type: 'string' }, description });
  // Idempotency needs a caller: routes without one (signed links, Slack) ignore the header. App-key routes
  // (OFREP's evaluations) are reads with no side effect, so there is nothing to do once: they ignore it too.
  if (route.method === 'POST' && (route.auth === 'jwt' || route.auth === 'iam')) {
    out.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      schema: { type: 'string', pattern: IDEMPOTENCY_KEY.source, minLength: 1, maxLength: 128 },
      description: 'Same key and body: the same response, one side effect',
    });
  }
  if (route.auth !== 'none') {
    out.push({
      name: 'X-Tenant-ID',
      in: 'header',
      required: false,
      schema: { type: 'string', minLength: 1 },
      description: 'Optional: when sent, it must be the tenant of the credentials (403 otherwise); it never selects another tenant',
    });
  }
  if (route.auth === 'jwt' && route.method !== 'GET') {
    out.push({
      name: 'X-Break-Glass-Reason',
      in: 'header',
      required: false,
      schema: { type: 'string', minLength: 1 },
      description:
        'Admins only: passes a guard that otherwise refuses the change (a protected environment, a freeze window) once, audited as break-glass with this reason (the first 500 characters)',
    });
  }
  return out;
}

function requestBody(schemas: Schemas, spec: Spec<ZodMiniType, ZodMiniType, ZodMiniType> | undefined, route: Route): Json | undefined {
  if (route.form) return { required: true, content: { 'application/x-www-form-urlencoded': { schema: schemas.of(route.form) } } };
  // A GET carries no body, even where its handler shares a body schema with a POST route. A handler
  // that parses its body itself (OFREP answers its own errors) has only a docBody: documented too.
  if (!spec || !(spec.body ?? spec.docBody) || route.method === 'GET') return undefined;
  const doc = typeof spec.docBody === 'function' ? spec.docBody(route) : spec.docBody;
  const schema = schemas.of((doc ?? spec.body)!);
  return { required: !spec.bodyOptional, content: json(spec.readOnly?.length ? withReadOnly(schemas, schema, spec.readOnly) : schema) };
}

/** A write's body with the read-only fields its GET answers (Spec.readOnly): taken and ignored, so a read can be sent back as it is. */
function withReadOnly(schemas: Schemas, schema: Json, keys: readonly string[]): Json {
  const ref = typeof schema.$ref === 'string' ? schema.$ref.split('/').pop()! : undefined;
  const target = ref ? schemas.shared[ref] : schema;
  // A body of several kinds (oneOf): each kind takes the read-only fields.
  const kinds = (target?.oneOf ?? target?.anyOf) as Json[] | undefined;
  if (Array.isArray(kinds)) return { ...target, [target!.oneOf ? 'oneOf' : 'anyOf']: kinds.map((k) => withReadOnly(schemas, k, keys)) };
  if (!target || target.type !== 'object') throw new Error(`readOnly fields need an object body (${JSON.stringify(schema).slice(0, 100)})`);
  const own = { readOnly: true, description: 'What a read answers; ignored when sent back (a read can be written back unchanged)' };
  return { ...target, properties: { ...(target.properties as Json), ...Object.fromEntries(keys.map((k) => [k, own])) } };
}

/** The success answer: the JSON schema the route's row names and/or the text it declares (OPEN when neither). */
function success(schemas: Schemas, status: string, route: Route): Json {
  if (status === '204') return { description: 'Done; no body' };
  const schema = route.response?.schema;
  const content: Record<string, Json> = {};
  // A YAML answer is the JSON answer's document written as YAML: the same schema describes it.
  for (const [type, description] of Object.entries(route.response?.text ?? {})) {
    content[type] = {
      schema: {
        type: 'string',
        description,
        ...(type === 'application/yaml' && schema ? { contentMediaType: type, contentSchema: schemas.of(schema, 'output') } : {}),
      },
    };
  }
  // SCIM answers in its own media type (RFC 7644 §3.1).
  if (schema || !Object.keys(content).length)
    content[route.auth === 'scim' ? 'application/scim+json' : 'application/json'] = { schema: schema ? schemas.of(schema, 'output') : OPEN };
  const headers = Object.entries(route.response?.headers ?? {});
  return { description: 'Success', ...(headers.length ? { headers: Object.fromEntries(headers.map(([name, d]) => [name, header(d)])) } : {}), content };
}

/** Error answers: those of the gateway and of httpHandler by the route's kind, and those the handler declares in its own format. */
function failures(
  schemas: Schemas,
  common: ReturnType<typeof commonResponses>,
  spec: Spec<ZodMiniType, ZodMiniType, ZodMiniType> | undefined,
  route: Route,
  ok: Json,
  hasBody: boolean,
): Record<string, Json> {
  const refs: [string, Common][] = [];
  // Any request may be malformed as HTTP: the gateway's 400 is every operation's.
  refs.push(['400', spec ? 'BadRequest' : 'GatewayBadRequest']);
  if (route.auth === 'jwt') refs.push(['401', 'Unauthorized'], ['403', 'Forbidden']);
  if (route.auth === 'iam') refs.push(['403', 'ForbiddenSigV4']);
  if (route.auth === 'app') refs.push(['401', 'AppKeyUnauthorized'], ['403', 'Forbidden']);
  if (spec) refs.push(['404', 'NotFound'], ['409', 'Conflict']);
  if (route.auth === 'scim') refs.push(['401', 'Unauthorized'], ['403', 'Forbidden']);
  if (hasBody) refs.push(['413', route.form ? 'FormTooLarge' : 'PayloadTooLarge']);
  if (hasBody && spec && !route.form) refs.push(['415', 'UnsupportedMediaType']);
  // SCIM never answers 422: its refusals are the statuses RFC 7644 §3.12 lists (below).
  if (spec && route.auth !== 'scim') refs.push(['422', 'UnprocessableEntity']);
  if (spec?.errors?.includes(423)) refs.push(['423', 'Locked']);
  refs.push(['429', 'TooManyRequests'], ['431', 'HeadersTooLarge'], ['500', spec ? 'InternalError' : 'FunctionFailed']);
  // Any function may be cut off by its deadline (a busy environment's queue, a slow store): 503 with Retry-After.
  if (spec) refs.push(['503', 'OutOfTime']);
  const out: Record<string, Json> = Object.fromEntries(refs.map(([status, name]) => [status, { $ref: `#/components/responses/${name}` }]));
  // The success's media types and JSON schema; a text answer then says what went wrong.
  const own = Object.fromEntries(
    Object.entries((ok.content as Record<string, { schema: Json }> | undefined) ?? {}).map(([type, c]) => [
      type,
      c.schema.type === 'string' ? { schema: { type: 'string', description: 'What went wrong, and what to do' } } : c,
    ]),
  );
  for (const [status, declared] of Object.entries(route.response?.errors ?? {})) {
    const { description, headers = {}, schema } = typeof declared === 'string' ? { description: declared } : declared;
    // In the format of the success (its media types and schemas), or the JSON schema it names, beside what the gateway or httpHandler may answer for the same status.
    const shared = refs.find(([s]) => s === status);
    const base = shared ? (common[shared[1]] as Json) : undefined;
    const baseContent = (base?.content as Record<string, { schema: Json }> | undefined) ?? {};
    let content: Record<string, unknown> = { ...own, ...baseContent };
    if (schema) {
      const mine = schemas.of(schema, 'output');
      const theirs = baseContent['application/json']?.schema;
      content = { ...baseContent, 'application/json': { schema: theirs ? { oneOf: [mine, theirs] } : mine } };
    }
    const h = Object.entries(headers);
    out[status] = {
      description: base ? `${description}; or: ${base.description as string}` : description,
      ...(h.length ? { headers: Object.fromEntries(h.map(([name, d]) => [name, header(d, name === 'Retry-After' ? RETRY_AFTER : { type: 'string' })])) } : {}),
      // 304 (Not Modified) carries no body, whatever the success's format (RFC 9110 §15.4.5).
      ...(status === '304' ? {} : { content }),
    };
  }
  if (route.auth === 'scim') {
    // SCIM's refusals are SCIM Error messages (RFC 7644 §3.12) in its media type, beside what the gateway or httpHandler may answer.
    const scimErrors: Record<string, string> = {
      '400':
        "SCIM error: invalidFilter, invalidPath (a path no schema has), invalidValue (naming the attribute), invalidSyntax (not JSON, or not application/scim+json or application/json), noTarget, mutability (the tenant's last admin deactivated or deleted)",
      '401': 'SCIM error: no SCIM token, not one, or not valid (unknown, altered or replaced)',
      '403': 'SCIM error: X-Tenant-ID names another tenant',
      '404': 'SCIM error: no such resource in this tenant',
      '409': 'SCIM error: uniqueness (a userName, email or group displayName in use)',
      // Its handler reads the body itself (none documented): every write takes one.
      ...(['POST', 'PUT', 'PATCH'].includes(route.method) ? { '413': 'SCIM error: a body larger than 2 MiB' } : {}),
      '500': 'SCIM error: an internal error (its detail names the request id to quote)',
      '503': 'SCIM error: the store was busy or the request ran out of time and may not have been saved: send it again (Retry-After)',
    };
    for (const [status, description] of Object.entries(scimErrors)) {
      const shared = refs.find(([s]) => s === status);
      const base = shared ? (common[shared[1]] as Json) : undefined;
      out[status] = {
        description: base ? `${description}; or: ${base.description as string}` : description,
        content: { ...((base?.content as Json | undefined) ?? {}), 'application/scim+json': { schema: schemas.of(scimMessage, 'output') } },
      };
    }
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => Number(a) - Number(b)));
}

/**
 * Conditional GETs (functions/http/etag.ts): a JSON read behind httpHandler takes If-None-Match,
 * answers its 200 with an ETag and answers 304 with no body while that ETag is current. Added to
 * each such GET; what a route declares itself (its ETag's meaning, its 304) is kept.
 */
function withConditionalGet(op: Json, route: Route, spec: unknown): Json {
  const responses = op.responses as Record<string, Json>;
  const ok = responses['200'];
  if (route.method !== 'GET' || !spec || !ok || !Object.hasOwn((ok.content as Json | undefined) ?? {}, 'application/json')) return op;
  const etag = header('The validator of the JSON answer (a weak ETag of its bytes, unless the operation says otherwise): send it back in If-None-Match');
  const parameters = op.parameters as Json[];
  const has = parameters.some((p) => p.in === 'header' && String(p.name).toLowerCase() === 'if-none-match');
  const notModified = responses['304'];
  return {
    ...op,
    parameters: has
      ? parameters
      : [
          ...parameters,
          {
            name: 'If-None-Match',
            in: 'header',
            required: false,
            schema: { type: 'string' },
            description:
              'The ETag of the copy you hold (a list of entity tags, or * alone): 304 with no body while it is current (weak comparison); a field that is neither is ignored (RFC 9110 §13.1.2)',
          },
        ],
    responses: {
      ...responses,
      '200': { ...ok, headers: { ...((ok.headers as Json | undefined) ?? {}), ETag: (ok.headers as Json | undefined)?.ETag ?? etag } },
      '304': {
        ...(notModified ?? { description: 'Not modified: the If-None-Match ETag is current (no body)' }),
        headers: { ...((notModified?.headers as Json | undefined) ?? {}), ETag: header('The current ETag: the copy you hold is current') },
      },
    },
  };
}

export async function buildOpenApi(opts: { routes?: readonly Route[] } = {}): Promise<Json> {
  const schemas = jsonSchemas();
  const common = commonResponses(schemas);
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of opts.routes ?? ROUTES) {
    const mod = (await import(`../functions/handlers/${route.handler}.ts`)) as { handler: { spec?: Spec<ZodMiniType, ZodMiniType, ZodMiniType> } };
    const spec = mod.handler.spec;
    const status = String(route.status ?? spec?.status ?? 200);
    const body = requestBody(schemas, spec, route);
    const ok = success(schemas, status, route);
    const op: Json = {
      operationId: `${route.method.toLowerCase()}${route.path
        .replace(/[{}]/g, '')
        .split(/[/-]/)
        .filter(Boolean)
        .map((p) => p[0]!.toUpperCase() + p.slice(1))
        .join('')}`,
      summary: route.summary,
      tags: [(route.path.startsWith('/api/v1/') ? route.path.split('/')[3] : route.path.split('/')[1]) ?? 'service'],
      security:
        route.auth === 'jwt'
          ? [{ cognito: [] }]
          : route.auth === 'iam'
            ? [{ sigv4: [] }]
            : route.auth === 'app'
              ? [{ appKey: [] }, { appKeyBearer: [] }, ...(route.path.includes('{env}') ? [{ cognito: [] }] : [])]
              : route.auth === 'scim'
                ? [{ scimToken: [] }]
                : [],
      ...(route.role ? { 'x-stageline-role': route.role } : {}),
      parameters: parameters(schemas, spec, route),
      ...(body ? { requestBody: body } : {}),
      responses: {
        [status]: ok,
        ...Object.fromEntries(Object.entries(spec?.otherSuccess ?? {}).map(([s, description]) => [s, { ...ok, description }])),
        ...failures(schemas, common, spec, route, ok, body !== undefined),
      },
    };
    (paths[route.path] ??= {})[route.method.toLowerCase()] = withConditionalGet(op, route, spec);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Stageline API',
      version: '1',
      description:
        "Release promotion through an ordered line of environments. Generated from functions/http/routes.ts and the handlers' zod schemas. " +
        'Errors are one shape (Error); what the gateway answers itself (authorizers, throttling) is a GatewayMessage. ' +
        'A path served with other methods answers 405 with Allow, an unknown path 404 (both an Error); the local stack answers 503 with Retry-After until it is ready. ' +
        'An operation that lists query parameters refuses one it does not list (400), as a body refuses a field its schema does not list; every number lies within ±(2^53−1) and a body nests at most 24 levels.',
    },
    servers: [{ url: '/' }],
    paths,
    webhooks: webhookPathItems(schemas),
    components: {
      schemas: Object.fromEntries(Object.entries(schemas.shared).sort(([a], [b]) => (a < b ? -1 : 1))),
      responses: common,
      securitySchemes: {
        cognito: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A Cognito ID token (custom:tenant_id, cognito:groups)' },
        sigv4: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: 'AWS Signature Version 4 (execute-api), for pipelines listed in machinePrincipals',
        },
        appKey: {
          type: 'apiKey',
          in: 'header',
          name: 'X-API-Key',
          description: 'An app key (slk.…): read-only, bound to one tenant and environment; checked by the function',
        },
        scimToken: {
          type: 'http',
          scheme: 'bearer',
          description: "The tenant's SCIM token (scim.…): calls its tenant's /scim/v2 and nothing else; checked by the function",
        },
        appKeyBearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'slk.<tenant>.<environment>.<key id>.<secret>',
          description: 'The same app key as a bearer token (what OFREP providers send)',
        },
      },
    },
  };
}

/** A JSON Schema that says nothing about its value beyond being an object (or nothing at all). */
function isOpen(schema: Json, doc: Json): boolean {
  const ref = schema.$ref;
  if (ref === JSON_VALUE_REF) return true;
  if (typeof ref === 'string') {
    const target = ((doc.components as Json).schemas as Record<string, Json>)[ref.replace('#/components/schemas/', '')];
    return !target || isOpen(target, doc);
  }
  if (schema.type !== undefined && schema.type !== 'object') return false;
  if (['properties', 'items', 'anyOf', 'oneOf', 'allOf', 'const', 'enum'].some((k) => k in schema)) return false;
  const extra = schema.additionalProperties;
  return (
    extra === undefined ||
    extra === true ||
    (typeof extra === 'object' && extra !== null && (Object.keys(extra).length === 0 || (extra as Json).$ref === JSON_VALUE_REF))
  );
}

/**
 * Operations whose success answer is not declared: an open JSON object (no schema in
 * functions/http/responses/), a text answer without a description of its format, or a body-less
 * success other than a 204. `npm run openapi` refuses to write them; a test fails on them.
 */
export function undeclaredOperations(doc: Json): string[] {
  const out: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(ops)) {
      for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
        if (!/^2\d\d$/.test(status)) continue;
        const content = Object.entries((response.content as Record<string, { schema: Json }> | undefined) ?? {});
        const bad =
          (content.length === 0 && status !== '204') ||
          content.some(([type, { schema }]) =>
            /json/.test(type) ? isOpen(schema, doc) : schema.type !== 'string' || typeof schema.description !== 'string' || !schema.description,
          );
        if (bad) out.push(`${method.toUpperCase()} ${path} (${status})`);
      }
    }
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const doc = await buildOpenApi();
  const undeclared = undeclaredOperations(doc);
  if (undeclared.length) {
    console.error(
      `no declared response (give the route's row its response schema, from functions/http/responses/, or declare its text answer; functions/http/routes/):\n  ${undeclared.join('\n  ')}`,
    );
    process.exit(1);
  }
  writeFileSync(OPENAPI_FILE, JSON.stringify(doc, null, 2) + '\n');
  console.log(`wrote ${OPENAPI_FILE}`);
}
