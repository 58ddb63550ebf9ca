import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { OPENAPI_FILE } from '../../scripts/openapi.ts';
import { matchRoute } from '../../functions/http/router.ts';

/**
 * The published contract (functions/http/openapi.json) as a check on every answer a test receives
 * through the HTTP surface: the status is documented for the operation, the content type is one the
 * document lists for it, the body matches the schema and documented headers match theirs. An
 * answer the document does not describe is a violation. Generated from the document, so a new
 * route is covered the day it is added.
 */
type Json = Record<string, any>;

// The JSON Schema 2020-12 validator (OpenAPI 3.1's dialect) that ajv-formats is built on.
const fromFormats = createRequire(createRequire(import.meta.url).resolve('ajv-formats'));
const Ajv2020 = (fromFormats('ajv/dist/2020') as { default: new (o: Json) => any }).default;
const addFormats = (createRequire(import.meta.url)('ajv-formats') as { default: (ajv: unknown) => void }).default;

export const DOC: Json = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'));
const DOC_ID = 'stageline-openapi.json';
const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true });
addFormats(ajv);
ajv.addSchema({ ...DOC, $id: DOC_ID });

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
const validators = new Map<string, (v: unknown) => boolean>();
/** A validator for the schema at a JSON pointer of the document (its $refs resolve within it). */
function validatorAt(at: string) {
  // A schema that is only a $ref to a component is compiled once, as that component.
  const node = at.split('/').reduce<any>((o, k) => o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], DOC);
  const ptr = node && typeof node.$ref === 'string' && Object.keys(node).length === 1 && node.$ref.startsWith('#/') ? node.$ref.slice(2) : at;
  let v = validators.get(ptr);
  if (!v) {
    v = ajv.compile({ $ref: `${DOC_ID}#/${ptr}` }) as (v: unknown) => boolean;
    validators.set(ptr, v);
  }
  return v;
}
function errorsOf(v: unknown): string {
  const errs = ((v as { errors?: { instancePath: string; message?: string; params?: unknown }[] }).errors ?? []).slice(0, 5);
  return errs.map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('; ');
}

/** The response object (and its pointer) for a status, following a components/responses $ref. */
function responseOf(op: Json, opPtr: string, status: number): { response: Json; ptr: string } | undefined {
  const r = op.responses?.[String(status)] ?? op.responses?.[`${String(status)[0]}XX`];
  if (!r) return undefined;
  const key = op.responses[String(status)] ? String(status) : `${String(status)[0]}XX`;
  if (typeof r.$ref === 'string') {
    const name = r.$ref.replace('#/components/responses/', '');
    return { response: DOC.components.responses[name], ptr: pointer('components', 'responses', name) };
  }
  return { response: r, ptr: `${opPtr}/${pointer('responses', key)}` };
}

const mediaOf = (contentType: string | null) => (contentType ?? '').split(';')[0]!.trim().toLowerCase();

export interface Answer {
  method: string;
  /** the request path, with any query string */
  path: string;
  status: number;
  headers: Headers | Record<string, string | string[] | undefined>;
  /** the body as text ('' when none) */
  text: string;
}

/**
 * What in an answer the document does not describe (empty when it matches). Answers outside the
 * API's paths (local pages, the 503 of a stack still starting) are not the contract's.
 */
export function contractViolations(a: Answer): string[] {
  // The path as sent, as the gateway matches it (API Gateway's rawPath): URL would resolve %2e%2e.
  const url = { pathname: a.path.split(/[?#]/)[0]! };
  const header = (name: string): string | null => {
    if (a.headers instanceof Headers) return a.headers.get(name);
    const v = a.headers[name.toLowerCase()];
    return v === undefined ? null : Array.isArray(v) ? v.join(',') : v;
  };
  const where = `${a.method} ${a.path} -> ${a.status}`;
  if (a.status === 503 && header('retry-after')) return []; // the local stack is starting (info.description)
  let m: ReturnType<typeof matchRoute>;
  try {
    m = matchRoute(a.method, url.pathname);
  } catch {
    m = { kind: 'not-found' }; // a malformed percent-escape: the gateway refuses it (400)
  }
  if (m.kind !== 'route') {
    if (a.method === 'OPTIONS') return []; // CORS preflight, answered by the gateway
    if (url.pathname.startsWith('/dev/')) return []; // the local stack's own pages (the outbox, stand-ins), not the API
    // An unknown path answers 404, another method 405 (with Allow), both an Error; the gateway's own refusals (400, 413) a GatewayMessage.
    const expected = m.kind === 'not-found' ? 404 : 405;
    if (a.status === expected) return jsonBody(where, a, header, pointer('components', 'schemas', 'Error'));
    if (a.status === 400 || a.status === 413) return jsonBody(where, a, header, pointer('components', 'schemas', 'GatewayMessage'));
    return [`${where}: an unmatched request must answer ${expected}`];
  }
  const opPtr = pointer('paths', m.route.path, m.route.method.toLowerCase());
  const op = DOC.paths?.[m.route.path]?.[m.route.method.toLowerCase()];
  if (!op) return [`${where}: the document has no operation ${m.route.method} ${m.route.path}`];
  const found = responseOf(op, opPtr, a.status);
  if (!found)
    return [`${where}: status ${a.status} is not documented for ${m.route.method} ${m.route.path} (documented: ${Object.keys(op.responses).join(', ')})`];
  const { response, ptr } = found;
  const out: string[] = [];
  for (const [name, h] of Object.entries((response.headers ?? {}) as Record<string, Json>)) {
    const value = header(name);
    if (value === null) {
      if (h.required) out.push(`${where}: header ${name} is documented as required and missing`);
      continue;
    }
    const schema = h.schema ?? {};
    const typed = schema.type === 'integer' || schema.type === 'number' ? Number(value) : value;
    const v = validatorAt(`${ptr}/${pointer('headers', name, 'schema')}`);
    if (!v(typed)) out.push(`${where}: header ${name}: ${JSON.stringify(value)} does not match ${JSON.stringify(schema)}`);
  }
  const content = (response.content ?? {}) as Record<string, Json>;
  if (!Object.keys(content).length) {
    if (a.text !== '') out.push(`${where}: the document declares no body, the answer has ${a.text.length} bytes`);
    return out;
  }
  const media = mediaOf(header('content-type'));
  const declared = Object.keys(content).find((t) => mediaOf(t) === media);
  if (!declared)
    return [...out, `${where}: content type ${JSON.stringify(header('content-type'))} is not documented (documented: ${Object.keys(content).join(', ')})`];
  const schemaPtr = `${ptr}/${pointer('content', declared, 'schema')}`;
  if (media === 'application/json' || media.endsWith('+json')) {
    let body: unknown;
    try {
      body = JSON.parse(a.text);
    } catch {
      return [...out, `${where}: ${media} body is not JSON: ${a.text.slice(0, 80)}`];
    }
    const v = validatorAt(schemaPtr);
    if (!v(body)) out.push(`${where}: body does not match the document (${schemaPtr}): ${errorsOf(v)}; body: ${a.text.slice(0, 300)}`);
  } else {
    const v = validatorAt(schemaPtr);
    if (!v(a.text)) out.push(`${where}: body does not match the document: ${errorsOf(v)}`);
  }
  return out;
}

function jsonBody(where: string, a: Answer, header: (n: string) => string | null, ptr: string): string[] {
  if (mediaOf(header('content-type')) !== 'application/json') return [`${where}: an error must be JSON, got ${JSON.stringify(header('content-type'))}`];
  const v = validatorAt(ptr);
  try {
    return v(JSON.parse(a.text)) ? [] : [`${where}: does not match ${ptr}: ${errorsOf(v)}`];
  } catch {
    return [`${where}: body is not JSON`];
  }
}

/** One operation of the document, with what a request to it may carry. */
export interface Operation {
  method: string;
  path: string;
  op: Json;
  /** JSON pointer of the operation in the document */
  ptr: string;
}

export function operations(): Operation[] {
  return Object.entries(DOC.paths as Record<string, Record<string, Json>>).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, op, ptr: pointer('paths', path, method) })),
  );
}

/** A parameter's text as the typed value its schema describes (a query or path value is text on the wire). */
function typed(text: string, schema: Json): unknown {
  const type = schema.type;
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text.trim())) return Number(text);
  if (type === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}

/**
 * Whether a request is one the document accepts: every path and query parameter (and no query
 * parameter it does not list), and the body, by the document's schemas. The reasons it is not.
 */
export function requestProblems(
  o: Operation,
  req: { params: Record<string, string>; query: Record<string, string>; body: unknown; bodyGiven: boolean },
): string[] {
  const out: string[] = [];
  const params = (o.op.parameters ?? []) as Json[];
  params.forEach((p, i) => {
    if (p.in !== 'path' && p.in !== 'query') return;
    const value = p.in === 'path' ? req.params[p.name] : req.query[p.name];
    if (value === undefined) {
      if (p.required) out.push(`${p.in} ${p.name} is required`);
      return;
    }
    const v = validatorAt(`${o.ptr}/${pointer('parameters', String(i), 'schema')}`);
    if (!v(typed(value, p.schema ?? {}))) out.push(`${p.in} ${p.name}: ${errorsOf(v)}`);
  });
  // An operation that reads a query refuses parameters it does not list (info.description); one that reads none ignores them.
  if (params.some((p) => p.in === 'query')) {
    for (const name of Object.keys(req.query))
      if (!params.some((p) => p.in === 'query' && p.name === name)) out.push(`query ${name} is not a parameter of this operation`);
  }
  const body = o.op.requestBody as Json | undefined;
  const media = body ? Object.keys(body.content ?? {})[0] : undefined;
  if (body && media !== 'application/json' && body.required && !req.bodyGiven) out.push('body is required');
  if (body && media === 'application/json') {
    if (!req.bodyGiven) {
      if (body.required) out.push('body is required');
    } else {
      const v = validatorAt(`${o.ptr}/${pointer('requestBody', 'content', media, 'schema')}`);
      if (!v(req.body)) out.push(`body: ${errorsOf(v)}`);
    }
  }
  return out;
}

/**
 * Fields whose schema states a rule in words (a description): a 400 naming only such fields refuses
 * for a reason the document states, where JSON Schema cannot say it (an opaque cursor, a time in the future).
 */
export function statedFields(o: Operation): Set<string> {
  const out = new Set<string>();
  for (const p of (o.op.parameters ?? []) as Json[]) if (p.schema?.description) out.add(p.name as string);
  const seen = new Set<unknown>();
  const walk = (s: unknown, depth: number) => {
    if (!s || typeof s !== 'object' || depth > 12 || seen.has(s)) return;
    seen.add(s);
    const o2 = s as Json;
    if (typeof o2.$ref === 'string') return walk(DOC.components.schemas[o2.$ref.replace('#/components/schemas/', '')], depth + 1);
    for (const [k, v] of Object.entries((o2.properties ?? {}) as Record<string, Json>)) {
      if (v.description) out.add(k);
      walk(v, depth + 1);
    }
    for (const k of ['items', 'additionalProperties']) walk(o2[k], depth + 1);
    for (const k of ['anyOf', 'oneOf', 'allOf']) for (const x of (o2[k] ?? []) as unknown[]) walk(x, depth + 1);
  };
  for (const c of Object.values((o.op.requestBody?.content ?? {}) as Record<string, Json>)) walk(c.schema, 0);
  return out;
}

/**
 * Compiles every response validator now: the stack runs in the test's process, and compiling on
 * first use would stall it (and its timers) for a moment mid-test.
 */
let compiled = false;
export function precompile(): void {
  if (compiled) return;
  compiled = true;
  for (const o of operations()) {
    for (const status of Object.keys((o.op.responses ?? {}) as Record<string, Json>)) {
      const found = responseOf(o.op, o.ptr, Number(status));
      if (!found) continue;
      for (const name of Object.keys((found.response.headers ?? {}) as Record<string, Json>)) validatorAt(`${found.ptr}/${pointer('headers', name, 'schema')}`);
      for (const type of Object.keys((found.response.content ?? {}) as Record<string, Json>)) validatorAt(`${found.ptr}/${pointer('content', type, 'schema')}`);
    }
  }
  validatorAt(pointer('components', 'schemas', 'Error'));
  validatorAt(pointer('components', 'schemas', 'GatewayMessage'));
}
