import * as z from '../kernel/zod.ts';
import { notReserved } from '../kernel/reserved-keys.ts';
import type { Issue } from '../kernel/errors.ts';

/**
 * An analysis template: what to measure (a provider's query), how often, and the CEL conditions that
 * say success or failure. This module is a stand-in with the names and shape the verification
 * context publishes (analysisTemplate, AnalysisTemplate, compileTemplate); the context's own
 * replaces it when the branches meet.
 */

export const TEMPLATE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const templateName = /* @__PURE__ */ z.schema(() =>
  z.string().check(z.regex(TEMPLATE_NAME, 'must be 1-63 characters: lower-case letters, digits and dashes, starting with a letter or digit'), notReserved()),
);

const argName = /* @__PURE__ */ z.schema(() =>
  z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a name: letters, digits and _'), notReserved()),
);

const provider = /* @__PURE__ */ z.schema(() =>
  z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('prometheus'), address: z.string().check(z.maxLength(2048)), query: z.string().check(z.minLength(1), z.maxLength(4096)) }),
    z.strictObject({ type: z.literal('cloudwatch'), expression: z.string().check(z.minLength(1), z.maxLength(4096)) }),
    z.strictObject({ type: z.literal('datadog'), query: z.string().check(z.minLength(1), z.maxLength(4096)), apiKeySecret: z.optional(z.string()) }),
    z.strictObject({ type: z.literal('web'), url: z.string().check(z.maxLength(2048)), jsonPath: z.optional(z.string()) }),
  ]),
);

const seconds = (min: number, max: number, def: number) => z._default(z.number().check(z.int(), z.minimum(min), z.maximum(max)), def);

export const analysisTemplate = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    name: templateName,
    provider,
    args: z._default(z.array(z.strictObject({ name: argName, value: z.optional(z.string().check(z.maxLength(1024))) })).check(z.maxLength(20)), []),
    initialDelaySeconds: seconds(0, 3600, 0),
    intervalSeconds: seconds(1, 3600, 60),
    count: seconds(1, 1000, 5),
    successCondition: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
    failureCondition: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
    failureLimit: seconds(0, 1000, 0),
    inconclusiveLimit: seconds(0, 1000, 0),
    consecutiveErrorLimit: seconds(0, 1000, 4),
    lookbackSeconds: seconds(1, 86_400, 300),
  }),
);
export type AnalysisTemplate = z.infer<typeof analysisTemplate>;

const PLACEHOLDER = /\{\{\s*args\.([A-Za-z0-9_]+)\s*\}\}/g;

/** The template's problems: conditions that do not compile (CEL), placeholders that name no argument. */
export function compileTemplate(t: AnalysisTemplate): Issue[] {
  const issues: Issue[] = [];
  const names = new Set(t.args.map((a) => a.name));
  const texts = Object.entries(t.provider).filter(([k, v]) => k !== 'type' && typeof v === 'string') as [string, string][];
  for (const [field, text] of texts)
    for (const m of text.matchAll(PLACEHOLDER))
      if (!names.has(m[1]!))
        issues.push({ path: `provider.${field}`, message: `{{args.${m[1]}}} names no argument of the template (args: ${[...names].join(', ') || 'none'})` });
  for (const field of ['successCondition', 'failureCondition'] as const) {
    const text = t[field];
    if (text === undefined) continue;
    const why = celIssue(text);
    if (why) issues.push({ path: field, message: why });
  }
  return issues;
}

/** A minimal syntax check of a condition: balanced brackets and quotes, no empty expression. */
function celIssue(text: string): string | undefined {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  let quote: string | null = null;
  for (const c of text) {
    if (quote) {
      if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '(' || c === '[' || c === '{') stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return `does not compile: unbalanced '${c}'`;
  }
  if (quote || stack.length) return 'does not compile: an unclosed bracket or quote';
  if (/(&&|\|\||[<>=!]=?|[+\-*/%])\s*$/.test(text.trim())) return 'does not compile: an operator without its right operand';
  return undefined;
}
