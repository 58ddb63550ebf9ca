import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * GitHub's published REST contract (the official OpenAPI description, as the `@octokit/openapi` package
 * ships it) as a check on the GitHub stand-in: every request it receives is matched to a documented
 * operation (method and path), its query, path parameters and JSON body validated against that
 * operation's parameters and request body; every response it sends against the documented status and
 * schema; every webhook it delivers against the `x-webhooks` payload schema. The stand-in also builds
 * the answers it sends from those schemas (`sample`): the fields Stageline does not read are the
 * minimum the contract requires, the ones it reads carry the stand-in's real state.
 */
type Json = Record<string, any>;

const require = createRequire(import.meta.url);
// Ajv 8 (draft-07 with OpenAPI 3.0's `nullable`), the one ajv-formats is built on.
const fromFormats = createRequire(require.resolve('ajv-formats'));
const Ajv = (fromFormats('ajv') as { default: new (o: Json) => any }).default;
const addFormats = (require('ajv-formats') as { default: (ajv: unknown) => void }).default;

let loaded: { doc: Json; ajv: any; ops: { method: string; template: string; re: RegExp; names: string[]; op: Json }[] } | undefined;
function load() {
  if (loaded) return loaded;
  const doc: Json = JSON.parse(readFileSync(require.resolve('@octokit/openapi/generated/api.github.com.json'), 'utf8'));
  openApiNullable(doc);
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  // GitHub's own format for `owner/name`.
  ajv.addFormat('repo.nwo', /^[^/]+\/[^/]+$/);
  ajv.addSchema({ ...doc, $id: 'github' });
  const ops = Object.entries(doc.paths as Json).flatMap(([template, item]) =>
    Object.entries(item as Json)
      .filter(([m]) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
      .map(([method, op]) => {
        const names: string[] = [];
        const re = new RegExp(
          `^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_m, n: string) => (names.push(n), n === 'ref' ? '(.+)' : '([^/]+)'))}$`,
        );
        return { method: method.toUpperCase(), template, re, names, op: op as Json };
      }),
  );
  // The most specific template first: more segments (/commits/{ref}/check-runs before /commits/{ref}, whose
  // ref may hold slashes), then a literal segment before a parameter (/pulls/comments before /pulls/{pull_number}).
  const holes = (t: string) => t.match(/\{/g)?.length ?? 0;
  const segments = (t: string) => t.split('/').length;
  ops.sort((a, b) => segments(b.template) - segments(a.template) || holes(a.template) - holes(b.template));
  loaded = { doc, ajv, ops };
  return loaded;
}

/**
 * OpenAPI 3.0's `nullable` where Ajv cannot take it (beside no `type`: a $ref or a composition): as the
 * OpenAPI specification reads it, the schema or null.
 */
function openApiNullable(node: unknown): void {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) return node.forEach(openApiNullable);
  const o = node as Json;
  for (const v of Object.values(o)) openApiNullable(v);
  if (o.nullable === true && o.type === undefined) {
    const { nullable: _n, ...rest } = o;
    for (const k of Object.keys(o)) delete o[k];
    o.anyOf = [rest, { type: 'null' }];
  }
}

/** Compiles the validators of these operations ahead (the stand-in runs in the test's process: a first compile mid-request would stall it). */
export function warm(operations: [method: string, template: string, statuses: number[]][], webhooks: string[] = []): void {
  for (const [method, template, statuses] of operations) {
    const op = load().doc.paths[template]?.[method.toLowerCase()];
    if (!op) throw new Error(`${method} ${template} is not in the description`);
    if (op.requestBody) validatorAt(`/paths/${esc(template)}/${method.toLowerCase()}/requestBody/content/application~1json/schema`);
    for (const status of statuses) {
      const r = op.responses?.[String(status)];
      if (!r || !resolve(r).content?.['application/json']?.schema) continue;
      validatorAt(
        typeof r.$ref === 'string'
          ? `${r.$ref.slice(1)}/content/application~1json/schema`
          : `/paths/${esc(template)}/${method.toLowerCase()}/responses/${status}/content/application~1json/schema`,
      );
    }
  }
  for (const w of webhooks) validatorAt(`/x-webhooks/${esc(w)}/post/requestBody/content/application~1json/schema`);
}

const validators = new Map<string, any>();
function validatorAt(pointer: string) {
  const { ajv } = load();
  let v = validators.get(pointer);
  if (!v) validators.set(pointer, (v = ajv.compile({ $ref: `github#${pointer}` })));
  return v;
}
const esc = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');
const errorsOf = (v: any) =>
  ((v.errors ?? []) as { instancePath: string; message?: string; params?: unknown }[])
    .slice(0, 4)
    .map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`)
    .join('; ');

function resolve(node: Json): Json {
  const { doc } = load();
  let n = node;
  while (n && typeof n.$ref === 'string')
    n = n.$ref
      .slice(2)
      .split('/')
      .reduce((o: Json, k: string) => o[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
  return n;
}

/** The documented operation for a request, with its path parameters. */
export function operationOf(method: string, path: string) {
  for (const o of load().ops) {
    if (o.method !== method) continue;
    const m = o.re.exec(path);
    if (m) return { ...o, params: Object.fromEntries(o.names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)])) };
  }
  return null;
}

const coerce = (schema: Json, raw: string): unknown => {
  const s = resolve(schema);
  if (s.type === 'integer' || s.type === 'number') return Number(raw);
  if (s.type === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
  return raw;
};

/** What is wrong with a request, by the contract (empty: nothing). */
export function requestViolations(method: string, url: URL, body: unknown): string[] {
  const op = operationOf(method, url.pathname);
  if (!op) return [`${method} ${url.pathname}: no such operation in GitHub's OpenAPI description`];
  const out: string[] = [];
  const where = `${method} ${op.template}`;
  const params = ((op.op.parameters ?? []) as Json[]).map(resolve);
  for (const [name, raw] of url.searchParams) {
    const p = params.find((x) => x.in === 'query' && x.name === name);
    if (!p) {
      out.push(`${where}: query parameter '${name}' is not documented`);
      continue;
    }
    const { ajv } = load();
    const v = ajv.compile(p.schema);
    if (!v(coerce(p.schema, raw))) out.push(`${where}: query ${name}=${raw}: ${errorsOf(v)}`);
  }
  for (const p of params.filter((x) => x.in === 'query' && x.required)) if (!url.searchParams.has(p.name)) out.push(`${where}: query '${p.name}' is required`);
  const rb = op.op.requestBody ? resolve(op.op.requestBody) : null;
  if (rb) {
    if (body === undefined) {
      if (rb.required) out.push(`${where}: a JSON body is required`);
    } else {
      const ptr = `/paths/${esc(op.template)}/${method.toLowerCase()}/requestBody/content/application~1json/schema`;
      const v = validatorAt(ptr);
      if (!v(body)) out.push(`${where}: request body: ${errorsOf(v)}`);
    }
  } else if (body !== undefined && method !== 'GET' && method !== 'DELETE') out.push(`${where}: takes no body`);
  return out;
}

/** What is wrong with a response, by the contract (empty: nothing). */
export function responseViolations(method: string, url: URL, status: number, body: unknown): string[] {
  const op = operationOf(method, url.pathname);
  if (!op) return [];
  const where = `${method} ${op.template} → ${status}`;
  const r = op.op.responses?.[String(status)];
  if (!r) return [`${where}: status ${status} is not documented for this operation`];
  const res = resolve(r);
  const schema = res.content?.['application/json']?.schema;
  if (!schema) return body === undefined || body === null ? [] : [`${where}: documented without a body`];
  const ptr =
    typeof r.$ref === 'string'
      ? `${r.$ref.slice(1)}/content/application~1json/schema`
      : `/paths/${esc(op.template)}/${method.toLowerCase()}/responses/${status}/content/application~1json/schema`;
  const v = validatorAt(ptr);
  return v(body) ? [] : [`${where}: ${errorsOf(v)}`];
}

/** What is wrong with a webhook delivery's payload, by the `x-webhooks` description of its event and action. */
export function webhookViolations(name: string, payload: unknown): string[] {
  const { doc } = load();
  const hook = doc['x-webhooks']?.[name];
  if (!hook) return [`webhook '${name}' is not described`];
  const v = validatorAt(`/x-webhooks/${esc(name)}/post/requestBody/content/application~1json/schema`);
  return v(payload) ? [] : [`webhook ${name}: ${errorsOf(v)}`];
}

/** The smallest value the schema at `pointer` (e.g. /components/schemas/pull-request) accepts: required members only. */
export function sample(pointer: string): any {
  const { doc } = load();
  const node = pointer
    .slice(1)
    .split('/')
    .reduce((o: Json, k: string) => o[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
  return make(node, 0);
}

function make(node: Json, depth: number): any {
  const s = resolve(node);
  if (s.allOf) return Object.assign({}, ...s.allOf.map((x: Json) => make(x, depth)));
  if (s.anyOf || s.oneOf) return make((s.anyOf ?? s.oneOf)[0], depth);
  if (s.nullable && depth > 0) return null;
  if (s.enum) return s.enum.find((e: unknown) => e !== null) ?? s.enum[0];
  const type = Array.isArray(s.type) ? s.type.find((t: string) => t !== 'null') : (s.type ?? (s.properties ? 'object' : 'string'));
  switch (type) {
    case 'object': {
      const o: Json = {};
      for (const k of (s.required ?? []) as string[]) o[k] = make(s.properties?.[k] ?? {}, depth + 1);
      return o;
    }
    case 'array':
      return [];
    case 'integer':
    case 'number':
      return Math.max(1, s.minimum ?? 1);
    case 'boolean':
      return false;
    default:
      if (s.format === 'date-time') return '2026-01-01T00:00:00Z';
      if (s.format === 'uri' || s.format === 'uri-template') return 'https://example.test/x';
      if (s.format === 'email') return 'x@example.test';
      return 'x'.repeat(Math.max(1, s.minLength ?? 1));
  }
}
