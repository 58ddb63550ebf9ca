import type { RE2JS } from 're2js';

/**
 * What a tenant writes is bounded before it runs (DESIGN.md section 9): this module owns the bounds.
 *
 * - Regular expressions (tag patterns, CEL's `matches`, any other a tenant supplies) run on an RE2
 *   engine (re2js: linear time in the input, no backtracking); a pattern RE2 refuses (backreferences,
 *   lookaround) is refused at save.
 * - A CEL expression's cost is estimated from its syntax tree and the sizes of its inputs: at save with
 *   the largest inputs it may see, and again before each evaluation with the inputs it has, and refused
 *   past CEL_COST_LIMIT (as Kubernetes bounds CEL). The estimate is an upper bound: comprehensions
 *   multiply by the size of the list they range over, string work by the length of the strings.
 * - YAML: at most YAML_MAX_ALIASES aliases, no alias inside the node it names (a cycle), at most
 *   YAML_MAX_DEPTH levels of nesting, all checked on the parsed nodes before the document is turned
 *   into values or walked.
 *
 * The libraries are not imported here at module init: re2js is loaded by regexReady() on first use
 * (a chunk of its own), the CEL and YAML libraries by their callers; what this module reads of their
 * nodes it reads by shape.
 */

/** The longest regular expression a tenant may write. */
export const REGEX_MAX_LENGTH = 200;
/** The largest estimated cost a CEL expression may have (one unit: a node evaluated once, a character scanned). */
export const CEL_COST_LIMIT = 100_000;
/** The most values a condition's `results` list is judged with: the size the estimate at save assumes. */
export const CEL_MAX_RESULTS = 1000;
/** Aliases a YAML document may hold (each counted where it is written). */
export const YAML_MAX_ALIASES = 100;
/** How deeply a YAML document may nest mappings and sequences. */
export const YAML_MAX_DEPTH = 64;

// ---------------------------------------------------------------------------------------------------
// Regular expressions: RE2 semantics, linear time.

let re2: typeof RE2JS | undefined;
let re2Loading: Promise<void> | undefined;

/** Loads the RE2 engine on first use (a no-op once loaded); await it before patternIssue / linearRegex. */
export function regexReady(): Promise<void> {
  re2Loading ??= import('re2js').then((m) => {
    re2 = m.RE2JS;
  });
  return re2Loading;
}

function engine(): typeof RE2JS {
  if (!re2) throw new Error('The RE2 engine is loaded on first use: await regexReady() before compiling a pattern');
  return re2;
}

/** A compiled pattern: `test` finds it anywhere in the text, `matchesWhole` matches the whole text. Both linear in the text. */
export interface LinearRegex {
  test(text: string): boolean;
  matchesWhole(text: string): boolean;
}

const compiled = new Map<string, LinearRegex>();

/** Compiles a pattern on the RE2 engine (cached); throws the engine's syntax error for one RE2 refuses. */
export function linearRegex(source: string): LinearRegex {
  let r = compiled.get(source);
  if (!r) {
    if (source.length > REGEX_MAX_LENGTH) throw new Error(`the pattern is ${source.length} characters; at most ${REGEX_MAX_LENGTH}`);
    const p = engine().compile(source);
    r = { test: (text) => p.test(text), matchesWhole: (text) => p.matches(text) };
    if (compiled.size >= 1000) compiled.clear();
    compiled.set(source, r);
  }
  return r;
}

/** Why a tenant's pattern is refused (too long, or not RE2 syntax: backreferences and lookaround are not), or null. */
export function patternIssue(source: string): string | null {
  if (source.length > REGEX_MAX_LENGTH) return `is ${source.length} characters; a pattern has at most ${REGEX_MAX_LENGTH}`;
  try {
    linearRegex(source);
    return null;
  } catch (err) {
    return `must be a regular expression in RE2 syntax (no backreferences or lookaround): ${firstLine((err as Error).message)}`;
  }
}

// ---------------------------------------------------------------------------------------------------
// CEL: a cost estimated from the syntax tree and the sizes of the inputs.

/** A node of the CEL library's syntax tree, read by shape: `op` and `args` (a name, a value, nodes, lists of nodes). */
export interface CelNode {
  op: string;
  args: unknown;
}

/** Sizes of what an expression reads: the length of each list variable (the others are numbers). */
export type CelSizes = Record<string, number>;

/** What the estimate knows of a value: the cost of computing it, its size (list length, string length) and its elements'. */
interface Estimate {
  cost: number;
  size: number;
  elem: number;
}

const MACROS = new Set(['all', 'exists', 'exists_one', 'existsOne', 'map', 'filter']);
/** The name a CEL `matches` is rewritten to: the same function on the RE2 engine (registered by the CEL environment). */
export const CEL_LINEAR_MATCHES = 'matchesLinear';
const isNode = (v: unknown): v is CelNode => typeof v === 'object' && v !== null && 'op' in v && typeof (v as CelNode).op === 'string';
const sum = (xs: Estimate[], f: (e: Estimate) => number) => xs.reduce((a, e) => a + f(e), 0);
/** A cap that keeps the arithmetic finite; anything near it is far past the limit. */
const CAP = 1e15;
const cap = (n: number) => Math.min(n, CAP);

/**
 * An upper bound on the work of evaluating a CEL syntax tree, given the sizes of its list variables:
 * every node costs 1; a comprehension (all, exists, exists_one, map, filter) costs its list's size
 * times its body; `matches` the product of the text's and the pattern's lengths; concatenation, `in`,
 * `split`, `join`, `size` and conversions what they scan. Strings and lists are sized from literals,
 * variables and what is built from them.
 */
export function celCost(root: CelNode, sizes: CelSizes): number {
  const walk = (node: unknown, vars: Map<string, number>): Estimate => {
    if (Array.isArray(node)) {
      const parts = node.map((n) => walk(n, vars));
      return { cost: sum(parts, (e) => e.cost), size: parts.length, elem: Math.max(0, ...parts.map((e) => e.size)) };
    }
    if (!isNode(node)) return { cost: 0, size: 0, elem: 0 };
    const { op, args } = node;
    switch (op) {
      case 'value':
        return { cost: 1, size: typeof args === 'string' ? args.length : 0, elem: 0 };
      case 'id': {
        const name = String(args);
        if (vars.has(name)) return { cost: 1, size: vars.get(name)!, elem: 0 };
        return { cost: 1, size: Object.hasOwn(sizes, name) ? sizes[name]! : 0, elem: 0 };
      }
      case 'list': {
        const parts = (args as unknown[]).map((n) => walk(n, vars));
        return { cost: 1 + sum(parts, (e) => e.cost), size: parts.length, elem: Math.max(0, ...parts.map((e) => e.size)) };
      }
      case 'map': {
        const entries = (args as unknown[][]).map((kv) => kv.map((n) => walk(n, vars)));
        return {
          cost: 1 + entries.reduce((a, kv) => a + sum(kv, (e) => e.cost), 0),
          size: entries.length,
          elem: Math.max(0, ...entries.map((kv) => kv[1]?.size ?? 0)),
        };
      }
      case 'rcall':
      case 'call': {
        const [name, receiverOrArgs, maybeArgs] = args as [string, unknown, unknown];
        const receiver = op === 'rcall' ? receiverOrArgs : undefined;
        const callArgs = ((op === 'rcall' ? maybeArgs : receiverOrArgs) ?? []) as unknown[];
        if (op === 'rcall' && MACROS.has(name) && callArgs.length >= 2) {
          const range = walk(receiver, vars);
          const iter = isNode(callArgs[0]) && callArgs[0].op === 'id' ? String(callArgs[0].args) : '';
          const inner = new Map(vars).set(iter, range.elem);
          const bodies = callArgs.slice(1).map((n) => walk(n, inner));
          const body = sum(bodies, (e) => e.cost);
          const out = name === 'map' ? Math.max(0, ...bodies.map((e) => e.size)) : range.elem;
          return { cost: cap(1 + range.cost + range.size * (body + 1)), size: range.size, elem: out };
        }
        if (name === 'has')
          return {
            cost:
              1 +
              sum(
                callArgs.map((n) => walk(n, vars)),
                (e) => e.cost,
              ),
            size: 0,
            elem: 0,
          };
        const r = receiver === undefined ? undefined : walk(receiver, vars);
        const a = callArgs.map((n) => walk(n, vars));
        const all = r ? [r, ...a] : a;
        const base = 1 + sum(all, (e) => e.cost);
        const scanned = sum(all, (e) => e.size);
        switch (name) {
          case 'matches':
          case CEL_LINEAR_MATCHES: {
            const [text, pattern] = all;
            return { cost: cap(base + ((text?.size ?? 0) + 1) * ((pattern?.size ?? 0) + 1)), size: 0, elem: 0 };
          }
          case 'size':
          case 'int':
          case 'uint':
          case 'double':
          case 'bool':
          case 'contains':
          case 'startsWith':
          case 'endsWith':
            return { cost: cap(base + scanned), size: 0, elem: 0 };
          case 'split':
            return { cost: cap(base + scanned), size: (r?.size ?? 0) + 1, elem: r?.size ?? 0 };
          case 'join':
            return { cost: cap(base + scanned), size: cap((r?.size ?? 0) * ((r?.elem ?? 0) + (a[0]?.size ?? 0))), elem: 0 };
          case 'string':
            return { cost: cap(base + scanned), size: Math.max(32, scanned), elem: 0 };
          default:
            // Any other function: what it returns is no larger than everything it was given.
            return { cost: cap(base + scanned), size: scanned, elem: Math.max(0, ...all.map((e) => e.elem)) };
        }
      }
      case '+': {
        const parts = (args as unknown[]).map((n) => walk(n, vars));
        const size = cap(sum(parts, (e) => e.size));
        return { cost: cap(1 + sum(parts, (e) => e.cost) + size), size, elem: Math.max(0, ...parts.map((e) => e.elem)) };
      }
      case 'in': {
        const [x, coll] = (args as unknown[]).map((n) => walk(n, vars));
        return { cost: cap(1 + (x?.cost ?? 0) + (coll?.cost ?? 0) + (coll?.size ?? 0) * ((x?.size ?? 0) + 1)), size: 0, elem: 0 };
      }
      case '==':
      case '!=':
      case '<':
      case '<=':
      case '>':
      case '>=': {
        const parts = (args as unknown[]).map((n) => walk(n, vars));
        return { cost: cap(1 + sum(parts, (e) => e.cost) + sum(parts, (e) => e.size * (e.elem + 1))), size: 0, elem: 0 };
      }
      case '?:':
      case 'ternary': {
        const [c, t, f] = (args as unknown[]).map((n) => walk(n, vars));
        return {
          cost: cap(1 + (c?.cost ?? 0) + Math.max(t?.cost ?? 0, f?.cost ?? 0)),
          size: Math.max(t?.size ?? 0, f?.size ?? 0),
          elem: Math.max(t?.elem ?? 0, f?.elem ?? 0),
        };
      }
      case '[]':
      case '[?]':
      case '.':
      case '.?': {
        const [from, key] = Array.isArray(args) ? args.map((n) => walk(n, vars)) : [walk(args, vars)];
        return { cost: cap(1 + (from?.cost ?? 0) + (key?.cost ?? 0)), size: from?.elem ?? 0, elem: from?.elem ?? 0 };
      }
      default: {
        // Other operators (arithmetic, logic, negation): their operands' cost, and no larger than them.
        const kids = Array.isArray(args) ? args : isNode(args) ? [args] : [];
        const parts = kids.map((n) => walk(n, vars));
        return { cost: cap(1 + sum(parts, (e) => e.cost)), size: Math.max(0, ...parts.map((e) => e.size)), elem: Math.max(0, ...parts.map((e) => e.elem)) };
      }
    }
  };
  return walk(root, new Map()).cost;
}

/** Why an expression of this estimated cost is refused, or null. */
export function celCostIssue(cost: number): string | null {
  return cost > CEL_COST_LIMIT
    ? `is too costly to evaluate: its estimated cost is ${cost >= CAP ? 'unbounded' : cost.toLocaleString('en')}, at most ${CEL_COST_LIMIT.toLocaleString('en')} (nested all/exists/map/filter multiply by the size of their lists)`
    : null;
}

/** Whether the tree still calls CEL's own `matches` (which runs JavaScript's backtracking engine) anywhere. */
export function callsBacktrackingMatches(root: CelNode): boolean {
  const stack: unknown[] = [root];
  while (stack.length) {
    const n = stack.pop();
    if (Array.isArray(n)) stack.push(...n);
    else if (isNode(n)) {
      if ((n.op === 'rcall' || n.op === 'call') && Array.isArray(n.args) && n.args[0] === 'matches') return true;
      if (Array.isArray(n.args)) stack.push(...n.args);
      else if (isNode(n.args)) stack.push(n.args);
    }
  }
  return false;
}

/**
 * The expression with every `.matches(` call written as `.matchesLinear(` (the same function on the
 * RE2 engine), string literals left as they are. The caller parses the result and checks that no
 * `matches` call remains (callsBacktrackingMatches), so a rewrite this scanner got wrong is refused,
 * never run on the backtracking engine.
 */
export function celLinearMatches(expression: string): string {
  let out = '';
  let i = 0;
  while (i < expression.length) {
    const c = expression[i]!;
    // A string literal (raw or not, single or triple quoted): copied as it is.
    if (c === '"' || c === "'") {
      const triple = expression.startsWith(c.repeat(3), i);
      const quote = triple ? c.repeat(3) : c;
      const raw = i > 0 && /[rR]/.test(expression[i - 1]!) && !/[A-Za-z0-9_]/.test(expression[i - 2] ?? '');
      let j = i + quote.length;
      while (j < expression.length && !expression.startsWith(quote, j)) j += !raw && expression[j] === '\\' ? 2 : 1;
      j = Math.min(expression.length, j + quote.length);
      out += expression.slice(i, j);
      i = j;
      continue;
    }
    const m = /^\.(\s*)matches(\s*)\(/.exec(expression.slice(i, i + 64));
    if (m) {
      out += `.${m[1]}${CEL_LINEAR_MATCHES}${m[2]}(`;
      i += m[0].length;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// YAML: aliases limited, cycles refused, depth bounded, on the parsed nodes before any walk of values.

/** A parsed YAML node, read by shape (the yaml library's Scalar, YAMLMap, YAMLSeq, Pair, Alias). */
interface YamlNodeShape {
  items?: unknown[];
  key?: unknown;
  value?: unknown;
  source?: string;
  resolve?: (doc: never) => unknown;
  range?: [number, number, number];
}

/** Why a parsed YAML document is refused (too many aliases, an alias that makes a cycle, nesting too deep), or null. */
export function yamlShapeIssue(doc: { contents: unknown }): string | null {
  let aliases = 0;
  // Depth-first with the path of nodes open above each: an alias that names one of them is a cycle.
  const resolveTarget = (alias: YamlNodeShape) => (typeof alias.resolve === 'function' ? alias.resolve(doc as never) : undefined);
  const done = new Set<unknown>();
  type Frame = { node: unknown; depth: number; exit?: true };
  const open = new Set<unknown>();
  const stack: Frame[] = [{ node: doc.contents, depth: 0 }];
  while (stack.length) {
    const frame = stack.pop()!;
    const node = frame.node as YamlNodeShape | null;
    if (frame.exit) {
      open.delete(node);
      done.add(node);
      continue;
    }
    if (!node || typeof node !== 'object') continue;
    if (typeof node.source === 'string' && typeof node.resolve === 'function') {
      if (++aliases > YAML_MAX_ALIASES) return `has more than ${YAML_MAX_ALIASES} aliases (*name); write the values out`;
      const target = resolveTarget(node);
      if (target === undefined) return `names an anchor that is not defined before it (*${node.source})`;
      if (open.has(target)) return `the alias *${node.source} is inside the node it names: a document may not refer to itself`;
      // The aliased node's own aliases are followed too (an alias chain can close a cycle); each once.
      if (!done.has(target)) stack.push({ node: target, depth: frame.depth });
      continue;
    }
    if (frame.depth > YAML_MAX_DEPTH) return `nests more than ${YAML_MAX_DEPTH} levels deep`;
    if (done.has(node) || open.has(node)) continue;
    open.add(node);
    stack.push({ node, depth: frame.depth, exit: true });
    if (Array.isArray(node.items)) {
      for (const item of [...node.items].reverse()) {
        const pair = item as YamlNodeShape;
        if (pair && typeof pair === 'object' && 'key' in pair && 'value' in pair && !Array.isArray(pair.items)) {
          stack.push({ node: pair.value, depth: frame.depth + 1 }, { node: pair.key, depth: frame.depth + 1 });
        } else stack.push({ node: item, depth: frame.depth + 1 });
      }
    }
  }
  return null;
}

const firstLine = (s: string) => s.split('\n')[0]!.slice(0, 200);
