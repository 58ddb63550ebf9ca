import type { Environment } from '@marcbachmann/cel-js';
import {
  CEL_LINEAR_MATCHES,
  CEL_MAX_RESULTS,
  callsBacktrackingMatches,
  celCost,
  celCostIssue,
  celLinearMatches,
  linearRegex,
  patternIssue,
  regexReady,
  type CelNode,
} from '../kernel/bounded.ts';
import { ValidationFailed, type Issue } from '../kernel/errors.ts';
import { tenantUrl } from '../kernel/url-policy.ts';
import * as z from '../kernel/zod.ts';
import { DATADOG_SITES } from '../kernel/vendor-sites.ts';

/**
 * Analysis templates: what to measure (a provider and its query), how often, and when a measurement
 * passes (CEL conditions). A template knows targets, environments and releases only as the values its
 * `{{…}}` placeholders are filled with when a measurement is taken (QueryContext), never promotions.
 */

/** A template's name: a slug. */
export const TEMPLATE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** A tenant secret's name, as `${NAME}` references it (the secret lives under the purpose `metrics`). */
export const SECRET_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;
/** `${NAME}` inside a header value: the tenant secret of that name (purpose `metrics`). */
export const SECRET_IN_HEADER = /\$\{([A-Z][A-Z0-9_]{0,63})\}/g;
/** A `{{…}}` placeholder of a query, URL or header. */
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const ARG_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

/** The CEL variables a condition may read: `result` (a number) and `results` (a list of numbers). */
export const CEL_VARIABLES = 'result, results';

const secretName = () => z.string().check(z.regex(SECRET_NAME, 'must be a secret name like DATADOG_API_KEY (upper-case letters, digits, underscores)'));
const queryText = () => z.string().check(z.minLength(1), z.maxLength(4000));
const seconds = (min: number, max: number) => z.number().check(z.int(), z.minimum(min), z.maximum(max));
/** Headers a template may not set: the connection's own. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'proxy-authorization',
  'expect',
]);
const header = () =>
  z.strictObject({
    name: z.string().check(
      z.regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name'),
      z.refine((n) => !RESERVED_HEADERS.has(n.toLowerCase()), { message: 'is set by Stageline itself (host, length, encoding and connection headers)' }),
    ),
    value: z.string().check(z.maxLength(2000), z.describe('the value; `${NAME}` inserts the tenant secret NAME (purpose `metrics`), `{{…}}` a placeholder')),
  });

/** The Datadog sites a template may name (the client builds `https://api.<site>`): no other host is called. */
export { DATADOG_SITES } from '../kernel/vendor-sites.ts';

export const metricsProvider = /* @__PURE__ */ z.schema(() =>
  z.discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('prometheus'),
      address: tenantUrl(),
      query: queryText().check(
        z.describe(
          "a PromQL instant query; its vector or scalar answer is the measurement. Parsed with Prometheus' own grammar when saved: one that does not parse is refused (400)",
        ),
      ),
      tokenSecret: z.optional(secretName().check(z.describe('sent as `Authorization: Bearer …`: the tenant secret (purpose `metrics`)'))),
    }),
    z.strictObject({
      type: z.literal('cloudwatch'),
      query: z.optional(
        queryText().check(
          z.describe(`a Metrics Insights query, e.g. SELECT AVG(Errors) FROM SCHEMA("AWS/Lambda", FunctionName) WHERE FunctionName = '{{target.name}}'`),
        ),
      ),
      metric: z.optional(
        z.strictObject({
          namespace: z.string().check(z.minLength(1), z.maxLength(255)),
          metricName: z.string().check(z.minLength(1), z.maxLength(255)),
          dimensions: z._default(
            z
              .array(z.strictObject({ name: z.string().check(z.minLength(1), z.maxLength(255)), value: z.string().check(z.minLength(1), z.maxLength(1024)) }))
              .check(z.maxLength(30)),
            [],
          ),
          stat: z._default(
            z.string().check(z.regex(/^(Average|Sum|Minimum|Maximum|SampleCount|p[0-9]{1,2}(\.[0-9]{1,2})?)$/, 'must be a statistic like Average, Sum, p99')),
            'Average',
          ),
          periodSeconds: z._default(seconds(1, 86_400), 60),
        }),
      ),
      region: z.optional(z.string().check(z.regex(/^[a-z]{2}(?:-[a-z]+)+-[0-9]$/, 'must be an AWS region, e.g. eu-west-1'))),
      account: z.optional(
        z
          .string()
          .check(
            z.regex(/^[0-9]{12}$/, 'must be a 12-digit AWS account id, e.g. 123456789012'),
            z.describe("the AWS account read (a metric kept in one account); left out: the measured target's `account`. Read with the role registered for it"),
          ),
      ),
    }),
    z.strictObject({
      type: z.literal('datadog'),
      query: queryText().check(z.describe('a Datadog metrics query, e.g. avg:trace.http.request.errors{service:api,region:{{target.region}}}')),
      site: z._default(z.enum(DATADOG_SITES), 'datadoghq.com'),
      apiKeySecret: secretName(),
      appKeySecret: secretName(),
    }),
    z.strictObject({
      type: z.literal('web'),
      url: tenantUrl(),
      jsonPath: z
        .string()
        .check(
          z.regex(
            /^\$(\.[A-Za-z_][A-Za-z0-9_-]*|\[([0-9]{1,6}|\*|'[^']{1,100}'|"[^"]{1,100}")\]){0,20}$/,
            'must be a path like $.data.errorRate, $.items[0].value or $.series[*]',
          ),
        ),
      headers: z._default(z.array(header()).check(z.maxLength(20)), []),
      timeoutSeconds: z._default(seconds(1, 60), 10),
    }),
  ]),
);
export type MetricsProvider = z.infer<typeof metricsProvider>;

export const analysisTemplate = /* @__PURE__ */ z.schema(() =>
  z
    .pipe(
      z.strictObject({
        name: z.string().check(z.regex(TEMPLATE_NAME, 'must be 1-63 characters: lower-case letters, digits and dashes, not starting or ending with a dash')),
        provider: metricsProvider,
        args: z._default(
          z
            .array(
              z.strictObject({
                name: z.string().check(z.regex(ARG_NAME, 'must be 1-63 characters: letters, digits, _ and -, starting with a letter')),
                value: z.optional(z.string().check(z.maxLength(1000))),
              }),
            )
            .check(z.maxLength(20)),
          [],
        ),
        initialDelaySeconds: z._default(seconds(0, 86_400), 0),
        intervalSeconds: z._default(seconds(1, 86_400), 60),
        count: z._default(seconds(1, 100), 5),
        successCondition: z.optional(
          z
            .string()
            .check(
              z.minLength(1),
              z.maxLength(1000),
              z.describe(
                'CEL, true when a measurement passes. `result` is the first value the query answered (a number: the first series of a vector), `results` every value (a list of numbers), e.g. `result < 0.05` or `results.all(x, x < 0.05)`',
              ),
            ),
        ),
        failureCondition: z.optional(
          z.string().check(z.minLength(1), z.maxLength(1000), z.describe('CEL, true when a measurement fails; the same variables as successCondition')),
        ),
        failureLimit: z._default(seconds(0, 100), 0),
        inconclusiveLimit: z._default(seconds(0, 100), 0),
        consecutiveErrorLimit: z._default(seconds(0, 100), 4),
        lookbackSeconds: z.optional(seconds(1, 86_400).check(z.describe('how far back a query looks; the interval when left out'))),
      }),
      z.transform((t) => ({ ...t, lookbackSeconds: t.lookbackSeconds ?? t.intervalSeconds })),
    )
    .check(
      z.superRefine((t, ctx) => {
        for (const issue of compileTemplate(t)) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path ? issue.path.split('.') : [] });
      }),
    ),
);
export type AnalysisTemplate = z.infer<typeof analysisTemplate>;

/** What a template's placeholders are filled with when a measurement is taken. */
export interface QueryContext {
  target: { name: string; region?: string; labels: Record<string, string>; parameters: Record<string, unknown> };
  environment: string;
  release: { version: string };
  promotion: { id: string };
  args: Record<string, string>;
}

/** The environment conditions are compiled and run in: two variables, bounded size. */
let celEnv: Environment | undefined;
let celLoading: Promise<void> | undefined;

/**
 * Loads the CEL library (a chunk of its own, about 84 KiB) and the RE2 engine on first use, so no
 * function's module init reads them: a caller that compiles or judges a condition (parsing a template
 * compiles its conditions) awaits this first; it is a no-op once loaded.
 */
export function celReady(): Promise<void> {
  celLoading ??= Promise.all([import('@marcbachmann/cel-js'), regexReady()]).then(([{ Environment }]) => {
    celEnv = new Environment({ limits: { maxAstNodes: 500, maxDepth: 32, maxListElements: 100, maxMapEntries: 100, maxCallArguments: 8 } })
      .registerVariable('result', 'double')
      .registerVariable('results', 'list<double>')
      // CEL's `matches` on the RE2 engine (linear time): every `.matches(` of a condition is read as this one.
      .registerFunction(`string.${CEL_LINEAR_MATCHES}(string): bool`, (text: string, pattern: string) => {
        const why = patternIssue(pattern);
        if (why) throw new Error(`matches(): the pattern ${why}`);
        return linearRegex(pattern).test(text);
      });
  });
  return celLoading;
}

function cel(): Environment {
  if (!celEnv) throw new Error('The CEL library is loaded on first use: await celReady() before compiling or judging a condition');
  return celEnv;
}

type Compiled = ReturnType<Environment['parse']>;
const parsedConditions = new Map<string, Compiled>();

/**
 * A condition parsed for the bounded path (kernel/bounded.ts): `matches` runs on the RE2 engine (a
 * condition that would still reach CEL's own, backtracking one is refused). Cached by its text.
 */
function parseBounded(expression: string): Compiled {
  let p = parsedConditions.get(expression);
  if (!p) {
    p = cel().parse(celLinearMatches(expression));
    if (callsBacktrackingMatches(p.ast as CelNode)) throw new Error('matches() could not be bound to the RE2 engine here; write it as text.matches(pattern)');
    if (parsedConditions.size >= 500) parsedConditions.clear();
    parsedConditions.set(expression, p);
  }
  return p;
}

/** Patterns written as literals in a condition that RE2 refuses, found at save. */
function literalPatternIssue(root: CelNode): string | null {
  const stack: unknown[] = [root];
  while (stack.length) {
    const n = stack.pop() as CelNode | unknown[] | undefined;
    if (Array.isArray(n)) stack.push(...n);
    else if (n && typeof n === 'object' && 'op' in n) {
      const args = n.args as unknown[];
      if (n.op === 'rcall' && Array.isArray(args) && args[0] === CEL_LINEAR_MATCHES) {
        const pattern = (args[2] as CelNode[] | undefined)?.[0];
        if (pattern?.op === 'value' && typeof pattern.args === 'string') {
          const why = patternIssue(pattern.args);
          if (why) return `matches(): the pattern ${why}`;
        }
      }
      if (Array.isArray(n.args)) stack.push(...n.args);
      else if (n.args && typeof n.args === 'object') stack.push(n.args);
    }
  }
  return null;
}

/**
 * Why a condition does not compile to a boolean over `result` and `results`, or is refused by the
 * bounds (its estimated cost with `results` at its largest, a literal pattern RE2 refuses), or null.
 */
export function conditionIssue(expression: string): string | null {
  let parsed: Compiled;
  try {
    parsed = parseBounded(expression);
  } catch (err) {
    return `is not a valid CEL condition over ${CEL_VARIABLES}: ${firstLine((err as Error).message)}`;
  }
  const checked = parsed.check() as { valid: boolean; type?: string; error?: { message: string } };
  if (!checked.valid) return `is not a valid CEL condition over ${CEL_VARIABLES}: ${firstLine(checked.error?.message ?? 'invalid')}`;
  if (checked.type !== 'bool') return `must be a boolean CEL expression (it is of type ${checked.type})`;
  const costly = celCostIssue(celCost(parsed.ast as CelNode, { results: CEL_MAX_RESULTS }));
  if (costly) return `${costly}, with results holding up to ${CEL_MAX_RESULTS} values`;
  return literalPatternIssue(parsed.ast as CelNode);
}

/**
 * Evaluates a compiled-at-save condition; throws on an evaluation error (a division by zero, an index
 * out of range) and, before running it, when the bounds refuse it: more than CEL_MAX_RESULTS values,
 * or an estimated cost with these values past the limit (a condition saved before the bounds were).
 */
export function evaluateCondition(expression: string, values: number[]): boolean {
  if (values.length > CEL_MAX_RESULTS) throw new Error(`the query answered ${values.length} values; a condition judges at most ${CEL_MAX_RESULTS}`);
  const parsed = parseBounded(expression);
  const costly = celCostIssue(celCost(parsed.ast as CelNode, { results: values.length }));
  if (costly) throw new Error(`the condition ${costly}`);
  const out = parsed({ result: values[0] ?? Number.NaN, results: values });
  if (typeof out !== 'boolean') throw new Error(`the condition answered ${typeof out}, not a boolean`);
  return out;
}

const firstLine = (s: string) => s.split('\n')[0]!.slice(0, 200);

/** The placeholders a template's texts hold, each with the field it is in. */
function placeholderFields(t: Pick<AnalysisTemplate, 'provider'>): { field: string; text: string }[] {
  const p = t.provider;
  switch (p.type) {
    case 'prometheus':
    case 'datadog':
      return [{ field: 'provider.query', text: p.query }];
    case 'cloudwatch':
      return [
        ...(p.query ? [{ field: 'provider.query', text: p.query }] : []),
        ...(p.metric?.dimensions ?? []).map((d, i) => ({ field: `provider.metric.dimensions.${i}.value`, text: d.value })),
      ];
    case 'web':
      return [{ field: 'provider.url', text: p.url }, ...p.headers.map((h, i) => ({ field: `provider.headers.${i}.value`, text: h.value }))];
  }
}

/** Why a placeholder is not one a template may use (`args.<name>` must be declared), or null. */
function placeholderIssue(name: string, declared: Set<string>): string | null {
  if (['target.name', 'target.region', 'environment', 'release.version', 'promotion.id'].includes(name)) return null;
  if (/^target\.(labels|parameters)\.[A-Za-z0-9_.\-/:]{1,256}$/.test(name)) return null;
  const arg = /^args\.(.+)$/.exec(name);
  if (arg) return declared.has(arg[1]!) ? null : `uses {{${name}}}, but the template declares no argument '${arg[1]}' (add it to args)`;
  return `uses the unknown placeholder {{${name}}}: one of target.name, target.region, target.labels.<key>, target.parameters.<key>, environment, release.version, promotion.id, args.<name>`;
}

/**
 * Every issue of a parsed template, paths relative to it (`successCondition`, `provider.query`): the
 * conditions compile (at least one is given), every placeholder is known and every argument it uses is
 * declared, argument names are unique, the CloudWatch provider has a query or a metric (not both).
 * `prefix` is put before each path (`analysisTemplates.2`).
 */
export function compileTemplate(t: Omit<AnalysisTemplate, 'lookbackSeconds'> & { lookbackSeconds?: number }, prefix = ''): Issue[] {
  const at = (p: string) => (prefix ? `${prefix}.${p}` : p);
  const issues: Issue[] = [];
  if (t.successCondition === undefined && t.failureCondition === undefined)
    issues.push({ path: at('successCondition'), message: 'a template needs a successCondition, a failureCondition or both' });
  for (const field of ['successCondition', 'failureCondition'] as const) {
    const expression = t[field];
    if (expression === undefined) continue;
    const why = conditionIssue(expression);
    if (why) issues.push({ path: at(field), message: why });
  }
  const declared = new Set<string>();
  t.args.forEach((a, i) => {
    if (declared.has(a.name)) issues.push({ path: at(`args.${i}.name`), message: `declares the argument '${a.name}' twice` });
    declared.add(a.name);
  });
  for (const { field, text } of placeholderFields(t)) {
    for (const m of text.matchAll(PLACEHOLDER)) {
      const why = placeholderIssue(m[1]!, declared);
      if (why) issues.push({ path: at(field), message: why });
    }
  }
  // A web URL's host is fixed at save, where the URL policy checks it: placeholders go in its path and query only.
  if (t.provider.type === 'web' && /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*\{\{/i.test(t.provider.url))
    issues.push({ path: at('provider.url'), message: 'takes placeholders in its path and query only, not in its host' });
  if (t.provider.type === 'cloudwatch' && (t.provider.query === undefined) === (t.provider.metric === undefined))
    issues.push({ path: at('provider.query'), message: 'a CloudWatch provider takes either a Metrics Insights query or a metric, exactly one' });
  return issues;
}

/** The placeholder's value in the context, or undefined when it has none (every key looked up as data: Object.hasOwn). */
function valueOf(name: string, ctx: QueryContext): string | undefined {
  const own = (o: object, k: string): unknown => (Object.hasOwn(o, k) ? (o as Record<string, unknown>)[k] : undefined);
  const text = (v: unknown): string | undefined =>
    typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : v === undefined || v === null ? undefined : JSON.stringify(v);
  switch (name) {
    case 'target.name':
      return ctx.target.name;
    case 'target.region':
      return ctx.target.region;
    case 'environment':
      return ctx.environment;
    case 'release.version':
      return ctx.release.version;
    case 'promotion.id':
      return ctx.promotion.id;
  }
  let m = /^target\.labels\.(.+)$/.exec(name);
  if (m) return text(own(ctx.target.labels, m[1]!));
  m = /^target\.parameters\.(.+)$/.exec(name);
  if (m) return text(own(ctx.target.parameters, m[1]!));
  m = /^args\.(.+)$/.exec(name);
  if (m) return text(own(ctx.args, m[1]!));
  return undefined;
}

/**
 * Fills a text's `{{…}}` placeholders from the context; `encode` is applied to each value (a URL's
 * encodeURIComponent). A placeholder without a value throws ValidationFailed naming it (a missing
 * argument, a label the target does not have).
 */
export function renderQuery(text: string, ctx: QueryContext, encode: (value: string) => string = (v) => v): string {
  const missing: Issue[] = [];
  const out = text.replace(PLACEHOLDER, (_, name: string) => {
    const value = valueOf(name, ctx);
    if (value === undefined) {
      missing.push({
        path: name.startsWith('args.') ? name : 'placeholder',
        message: name.startsWith('args.')
          ? `the argument '${name.slice(5)}' has no value (give it where the template is used, or a default)`
          : `{{${name}}} has no value here`,
      });
      return '';
    }
    return encode(value);
  });
  if (missing.length) throw new ValidationFailed(missing, `the query cannot be filled in: ${missing.map((i) => i.message).join('; ')}`);
  return out;
}

/** The template's arguments with their defaults, overridden by what a use of it supplies (caller keys as data). */
export function resolveArgs(t: Pick<AnalysisTemplate, 'args'>, supplied: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const a of t.args) {
    const value = Object.hasOwn(supplied, a.name) ? supplied[a.name] : a.value;
    if (value !== undefined) out[a.name] = value;
  }
  return out;
}

/**
 * The URLs a template's provider calls, each with its field under `at` (`body`, a manifest's
 * `…analysis_templates.0`): the schema checked them with every rule that holds in any deployment; the
 * use case that saves the template checks them again with the deployment's setting (assertTenantUrls),
 * so loopback and `localhost` are refused outside local mode, as a health URL is.
 */
export function templateUrls(t: { provider: MetricsProvider }, at: string): { path: string; url: string }[] {
  const p = t.provider;
  if (p.type === 'prometheus') return [{ path: `${at}.provider.address`, url: p.address }];
  if (p.type === 'web') return [{ path: `${at}.provider.url`, url: p.url }];
  return [];
}
