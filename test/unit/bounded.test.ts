import { parseDocument } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CEL_COST_LIMIT,
  celLinearMatches,
  linearRegex,
  patternIssue,
  regexReady,
  YAML_MAX_ALIASES,
  YAML_MAX_DEPTH,
  yamlShapeIssue,
} from '../../domain/kernel/bounded.ts';
import { tagAccepted, tagFilter } from '../../domain/artifacts/discovery.ts';
import { parseManifest } from '../../domain/manifest/document.ts';
import { judge } from '../../domain/verification/analysis.ts';
import { celReady, conditionIssue, evaluateCondition } from '../../domain/verification/template.ts';

/** What a tenant writes is bounded before it runs: the repros of the outside testers, and the classes they stand for. */
beforeAll(async () => {
  await Promise.all([celReady(), regexReady()]);
});

/** `n` nested exists over a 12-element list: 12^n evaluations of the innermost body. */
const nestedExists = (n: number) => {
  const list = `[${Array.from({ length: 12 }, (_, i) => i + 1).join(', ')}]`;
  let body = 'true';
  for (let i = n; i > 0; i--) body = `${list}.exists(x${i}, x${i} > 0 && ${body})`;
  return body;
};

describe('CEL: a cost estimated at save, enforced at evaluation', () => {
  it('refuses nested exists over a 12-element list at save, naming the bound', () => {
    const expression = nestedExists(6);
    expect(expression.length).toBeLessThan(1000);
    const why = conditionIssue(expression);
    expect(why).toContain('too costly');
    expect(why).toContain(CEL_COST_LIMIT.toLocaleString('en'));
  });

  it('accepts the conditions templates use, and nesting whose cost stays under the limit', () => {
    expect(conditionIssue('result < 0.05')).toBeNull();
    expect(conditionIssue('results.all(x, x < 0.05)')).toBeNull();
    expect(conditionIssue('results.exists(x, x > 1.0) && size(results) > 2')).toBeNull();
    expect(conditionIssue(nestedExists(2))).toBeNull();
    // results may hold 1,000 values: ranging over it twice (a million bodies) is past the limit.
    expect(conditionIssue('results.exists(x, results.exists(y, x < y))')).toContain('too costly');
  });

  it('refuses at evaluation a costly condition that was saved before the bounds (a bounded refusal, not a run)', () => {
    expect(() => evaluateCondition(nestedExists(6), [1])).toThrow(/too costly/);
    expect(() =>
      evaluateCondition(
        'results.all(x, x < 1.0)',
        Array.from({ length: 1001 }, () => 0),
      ),
    ).toThrow(/at most 1000/);
    expect(evaluateCondition('results.exists(x, results.exists(y, x < y))', [1, 2])).toBe(true);
  });

  it('a measurement judged by a condition past the bound is an Error naming the bound, as the analysis counts it', () => {
    const judged = judge({ successCondition: nestedExists(6) }, [0.01]);
    expect(judged.phase).toBe('Error');
    expect(judged.error).toContain('too costly');
    expect(judge({ successCondition: 'result < 0.05' }, [0.01]).phase).toBe('Successful');
  });

  it('every cost the estimate allows is finite, whatever the nesting (property over depths and list sizes)', () => {
    for (let depth = 1; depth <= 8; depth++) {
      for (const size of [1, 5, 12, 50]) {
        const list = `[${Array.from({ length: size }, (_, i) => i).join(',')}]`;
        let e = 'true';
        for (let i = depth; i > 0; i--) e = `${list}.all(v${i}, ${e})`;
        const allowed = conditionIssue(e) === null;
        // Allowed exactly when the bodies it evaluates (size^depth) fit the limit.
        expect(allowed, `${depth} x ${size}`).toBe(size ** depth * 2 < CEL_COST_LIMIT);
        if (allowed) expect(evaluateCondition(e, [])).toBe(true);
      }
    }
  });

  it('runs matches() on the RE2 engine: the backtracking pattern answers at once, at any length', () => {
    for (const n of [28, 40, 90]) expect(evaluateCondition(`"${'a'.repeat(n)}!".matches("^(a+)+$")`, [])).toBe(false);
    expect(evaluateCondition('"abc".matches("b")', [])).toBe(true);
    expect(evaluateCondition('string(result).matches("^0\\\\.0")', [0.05])).toBe(true);
    // RE2 refuses a backreference: at save when the pattern is written out, at evaluation otherwise.
    expect(conditionIssue('"aa".matches("(a)\\\\1")')).toContain('RE2');
    expect(() => evaluateCondition('"aa".matches("(a)" + "\\\\1")', [])).toThrow(/RE2/);
  });

  it('rewrites .matches( calls and leaves string literals alone', () => {
    expect(celLinearMatches('"x.matches(".matches(r\'.matches(\')')).toBe('"x.matches(".matchesLinear(r\'.matches(\')');
    expect(celLinearMatches("'''a.matches(b'''.matches ('a')")).toBe("'''a.matches(b'''.matchesLinear ('a')");
    expect(conditionIssue('"a\\".matches(".matches("a")')).toBeNull();
  });
});

describe('regular expressions: RE2 semantics, linear time', () => {
  it('a tag pattern that nests an alternation under a quantifier is safe on a long tag', async () => {
    const pattern = '1\\.0\\.0-(1|1)+';
    expect(await tagFilter.safeParseAsync({ pattern })).toMatchObject({ success: true });
    expect(tagAccepted({ tags: { pattern } }, `1.0.0-${'1'.repeat(26)}`)).toBe(true);
    expect(tagAccepted({ tags: { pattern } }, `1.0.0-${'1'.repeat(120)}x`)).toBe(false);
  });

  it('refuses patterns RE2 cannot run in linear time (backreferences, lookaround) at save, naming the syntax', async () => {
    for (const pattern of ['(a)\\1', '(?=1)1.*', '(?<!x)1']) {
      const r = await tagFilter.safeParseAsync({ pattern });
      expect(r.success, pattern).toBe(false);
      expect(JSON.stringify(r.error?.issues), pattern).toContain('RE2');
    }
    expect(patternIssue('a'.repeat(201))).toContain('at most 200');
  });

  it('matches the whole text or anywhere in it, as asked', () => {
    expect(linearRegex('b').test('abc')).toBe(true);
    expect(linearRegex('b').matchesWhole('abc')).toBe(false);
    expect(linearRegex('(a+)+$').matchesWhole(`${'a'.repeat(5000)}!`)).toBe(false);
  });
});

describe('YAML: aliases limited, cycles refused before any walk', () => {
  it('refuses an alias inside the node it names', () => {
    for (const text of ['a: &a [*a]', 'a: &a {<<: *a}', 'a: &a {b: {c: [1, *a]}}', 'x: &x [&y [*x]]'])
      expect(yamlShapeIssue(parseDocument(text, { uniqueKeys: false })), text).toContain('inside the node it names');
  });

  it('accepts aliases of earlier nodes, limits how many, and bounds the depth', () => {
    expect(yamlShapeIssue(parseDocument('a: &a [1, 2]\nb: *a\nc: {d: *a}'))).toBeNull();
    const many = ['a: &a 1', ...Array.from({ length: YAML_MAX_ALIASES + 1 }, (_, i) => `k${i}: *a`)].join('\n');
    expect(yamlShapeIssue(parseDocument(many))).toContain(`more than ${YAML_MAX_ALIASES} aliases`);
    const deep = `${'['.repeat(YAML_MAX_DEPTH + 2)}1${']'.repeat(YAML_MAX_DEPTH + 2)}`;
    expect(yamlShapeIssue(parseDocument(deep))).toContain(`more than ${YAML_MAX_DEPTH} levels`);
  });

  it('an alias bomb within the alias count (9 levels of 9) is refused by the expansion bound, not expanded', async () => {
    const lines = ['l0: &l0 [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++) lines.push(`l${i}: &l${i} [${Array.from({ length: 9 }, () => `*l${i - 1}`).join(', ')}]`);
    expect(yamlShapeIssue(parseDocument(lines.join('\n')))).toBeNull();
    const err = await parseManifest(lines.join('\n')).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ValidationFailed' });
    expect(JSON.stringify((err as { issues: unknown }).issues)).toContain('Excessive alias count');
  });

  it('a manifest plan of a self-referring document answers a validation error naming the document', async () => {
    for (const text of ['a: &a [*a]', 'a: &a {<<: *a}']) {
      const err = await parseManifest(text).catch((e: unknown) => e);
      expect(err, text).toMatchObject({ name: 'ValidationFailed' });
      expect(JSON.stringify((err as { issues: unknown }).issues)).toContain('refer to itself');
    }
  });
});
