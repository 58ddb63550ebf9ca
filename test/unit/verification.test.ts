import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ValidationFailed } from '../../domain/kernel/errors.ts';
import * as z from '../../domain/kernel/zod.ts';
import {
  judge,
  MAX_MEASUREMENTS,
  measurementsLeft,
  nextMeasurementAt,
  recordMeasurement,
  startRun,
  verdict,
  type Measurement,
  type MeasurementPhase,
} from '../../domain/verification/analysis.ts';
import { compareCanary, mannWhitneyU, median } from '../../domain/verification/compare.ts';
import { measureOnce } from '../../domain/verification/measure.ts';
import type { MeasureAt, MetricsPort } from '../../domain/verification/ports.ts';
import {
  analysisTemplate,
  celReady,
  compileTemplate,
  renderQuery,
  resolveArgs,
  type AnalysisTemplate,
  type QueryContext,
} from '../../domain/verification/template.ts';
import { parsePath, walkPath } from '../../functions/adapters/metrics/web.ts';

// Conditions are CEL, whose library is loaded on first use (as the functions load it).
beforeAll(celReady);

const base = {
  name: 'error-rate',
  provider: { type: 'prometheus', address: 'https://prometheus.example.com', query: 'sum(rate(errors_total{target="{{target.name}}"}[1m]))' },
  successCondition: 'result < 0.05',
};
const parse = (input: unknown) => z.safeParse(analysisTemplate, input);
const template = (over: Record<string, unknown> = {}): AnalysisTemplate => {
  const r = parse({ ...base, ...over });
  if (!r.success) throw new Error(JSON.stringify(r.error.issues));
  return r.data;
};
const issuesOf = (input: unknown) => {
  const r = parse(input);
  return r.success ? [] : r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
};

const ctx: QueryContext = {
  target: { name: 'eu-1', region: 'eu-west-1', labels: { tier: 'gold' }, parameters: { 'api.url': 'https://eu.example.com', n: 3 } },
  environment: 'prod',
  release: { version: '1.4.0' },
  promotion: { id: 'p-123' },
  args: { service: 'checkout' },
};

describe('analysis templates', () => {
  it('fills in the defaults: interval 60 s, count 5, limits 0/0/4, lookback = interval', () => {
    const t = template({ intervalSeconds: 30 });
    expect(t).toMatchObject({
      initialDelaySeconds: 0,
      intervalSeconds: 30,
      count: 5,
      failureLimit: 0,
      inconclusiveLimit: 0,
      consecutiveErrorLimit: 4,
      lookbackSeconds: 30,
      args: [],
    });
    expect(template({ lookbackSeconds: 300 }).lookbackSeconds).toBe(300);
  });

  it('refuses a condition that is not CEL, names an unknown variable, or is not boolean, naming the field', () => {
    expect(issuesOf({ ...base, successCondition: 'result <' })).toEqual([
      { path: 'successCondition', message: expect.stringContaining('not a valid CEL condition') },
    ]);
    expect(issuesOf({ ...base, failureCondition: 'errors > 1' })).toEqual([
      { path: 'failureCondition', message: expect.stringContaining('Unknown variable: errors') },
    ]);
    expect(issuesOf({ ...base, successCondition: 'result + 1.0' })).toEqual([{ path: 'successCondition', message: expect.stringContaining('boolean') }]);
    const none = { ...base } as Record<string, unknown>;
    delete none.successCondition;
    expect(issuesOf(none)).toEqual([{ path: 'successCondition', message: expect.stringContaining('needs a successCondition, a failureCondition or both') }]);
    expect(issuesOf({ ...base, successCondition: 'results.all(x, x < 0.05) && results.size() > 0' })).toEqual([]);
  });

  it('refuses an unknown placeholder and an undeclared argument, naming the placeholder and the field; paths take a prefix', () => {
    const bad = { ...base, provider: { ...base.provider, query: 'up{job="{{args.job}}",x="{{target.zone}}"}' } };
    expect(issuesOf(bad)).toEqual([
      { path: 'provider.query', message: expect.stringContaining("declares no argument 'job'") },
      { path: 'provider.query', message: expect.stringContaining('unknown placeholder {{target.zone}}') },
    ]);
    expect(issuesOf({ ...bad, args: [{ name: 'job' }] })).toEqual([{ path: 'provider.query', message: expect.stringContaining('{{target.zone}}') }]);
    const t = template();
    expect(compileTemplate({ ...t, successCondition: 'nope(' }, 'analysisTemplates.2')).toEqual([
      { path: 'analysisTemplates.2.successCondition', message: expect.any(String) },
    ]);
    const web = {
      ...base,
      provider: {
        type: 'web',
        url: 'https://metrics.example.com/{{target.labels.tier}}/{{args.x}}',
        jsonPath: '$.data.rate',
        headers: [{ name: 'X-Env', value: '{{environment}} {{oops}}' }],
      },
    };
    expect(issuesOf(web).map((i) => i.path)).toEqual(['provider.url', 'provider.headers.0.value']);
    const host = { ...web.provider, url: 'https://{{target.region}}.metrics.example.com/q', headers: [{ name: 'Host', value: 'internal' }] };
    expect(issuesOf({ ...base, provider: host })).toEqual([{ path: 'provider.headers.0.name', message: expect.stringContaining('set by Stageline itself') }]);
    expect(issuesOf({ ...base, provider: { ...host, headers: [] } })).toEqual([{ path: 'provider.url', message: expect.stringContaining('not in its host') }]);
  });

  it('refuses a CloudWatch provider with neither or both of query and metric, a Datadog site of its own, a URL to a private host', () => {
    expect(issuesOf({ ...base, provider: { type: 'cloudwatch' } }).map((i) => i.path)).toEqual(['provider.query']);
    const metric = { namespace: 'AWS/Lambda', metricName: 'Errors', dimensions: [{ name: 'FunctionName', value: '{{target.name}}' }] };
    expect(issuesOf({ ...base, provider: { type: 'cloudwatch', query: 'SELECT 1', metric } }).map((i) => i.path)).toEqual(['provider.query']);
    expect(template({ provider: { type: 'cloudwatch', metric } }).provider).toMatchObject({ metric: { stat: 'Average', periodSeconds: 60 } });
    expect(
      issuesOf({ ...base, provider: { type: 'datadog', query: 'avg:x{*}', site: 'evil.example.com', apiKeySecret: 'DD_API', appKeySecret: 'DD_APP' } }).map(
        (i) => i.path,
      ),
    ).toEqual(['provider.site']);
    expect(issuesOf({ ...base, provider: { ...base.provider, address: 'https://10.0.0.5:9090' } }).map((i) => i.path)).toEqual(['provider.address']);
    expect(issuesOf({ ...base, provider: { ...base.provider, tokenSecret: 'the-token' } }).map((i) => i.path)).toEqual(['provider.tokenSecret']);
    expect(
      issuesOf({ ...base, intervalSeconds: 0, count: 101 })
        .map((i) => i.path)
        .sort(),
    ).toEqual(['count', 'intervalSeconds']);
  });
});

describe('renderQuery', () => {
  it('fills every placeholder kind; a URL encodes what it inserts', () => {
    expect(
      renderQuery(
        '{{target.name}} {{ target.region }} {{target.labels.tier}} {{target.parameters.api.url}} {{target.parameters.n}} {{environment}} {{release.version}} {{promotion.id}} {{args.service}}',
        ctx,
      ),
    ).toBe('eu-1 eu-west-1 gold https://eu.example.com 3 prod 1.4.0 p-123 checkout');
    expect(renderQuery('https://m.example.com/q?t={{target.parameters.api.url}}', ctx, encodeURIComponent)).toBe(
      'https://m.example.com/q?t=https%3A%2F%2Feu.example.com',
    );
  });

  it('looks keys up as data: __proto__, constructor and toString find nothing, and a missing argument is named', () => {
    for (const text of ['{{args.__proto__}}', '{{args.constructor}}', '{{target.labels.toString}}', '{{target.parameters.__proto__}}']) {
      expect(() => renderQuery(text, ctx), text).toThrow(ValidationFailed);
    }
    try {
      renderQuery('x{{args.window}}', ctx);
      expect.unreachable();
    } catch (err) {
      expect((err as ValidationFailed).issues).toEqual([{ path: 'args.window', message: expect.stringContaining("argument 'window' has no value") }]);
    }
    // An argument literally named constructor, given by the caller, is its own value.
    const t = template({ args: [{ name: 'constructor', value: 'dflt' }, { name: 'window' }] });
    expect(resolveArgs(t, {})).toEqual({ constructor: 'dflt' });
    expect(resolveArgs(t, JSON.parse('{"__proto__": "x", "window": "5m"}'))).toEqual({ constructor: 'dflt', window: '5m' });
    expect(renderQuery('{{args.constructor}}', { ...ctx, args: resolveArgs(t) })).toBe('dflt');
  });
});

describe('judging one measurement (Argo Rollouts rules)', () => {
  const both = { successCondition: 'result < 0.05', failureCondition: 'result > 0.1' };
  const cases: [string, { successCondition?: string; failureCondition?: string }, number[], MeasurementPhase][] = [
    ['success only, true', { successCondition: 'result < 0.05' }, [0.01], 'Successful'],
    ['success only, false → Failed', { successCondition: 'result < 0.05' }, [0.07], 'Failed'],
    ['failure only, true', { failureCondition: 'result > 0.1' }, [0.2], 'Failed'],
    ['failure only, false → Successful', { failureCondition: 'result > 0.1' }, [0.07], 'Successful'],
    ['both, success true', both, [0.01], 'Successful'],
    ['both, failure true', both, [0.2], 'Failed'],
    ['both, neither → Inconclusive', both, [0.07], 'Inconclusive'],
    ['both true → Failed (failure first)', { successCondition: 'result < 1.0', failureCondition: 'result > 0.0' }, [0.5], 'Failed'],
    ['no data → Inconclusive', { successCondition: 'result < 0.05' }, [], 'Inconclusive'],
    ['results over a vector', { successCondition: 'results.all(x, x < 0.05)' }, [0.01, 0.2], 'Failed'],
    ['evaluation error → Error', { successCondition: 'results[3] < 1.0' }, [0.01], 'Error'],
  ];
  it.each(cases)('%s', (_, conditions, values, phase) => {
    const j = judge(conditions, values);
    expect(j.phase).toBe(phase);
    expect(j.value).toBe(values[0] ?? null);
  });
});

describe('a run’s verdict', () => {
  const m = (phase: MeasurementPhase): Measurement => ({ at: '2026-11-25T10:00:00.000Z', phase, value: phase === 'Error' ? null : 0.01 });
  const seq = (s: string) => [...s].map((c) => m(({ S: 'Successful', F: 'Failed', I: 'Inconclusive', E: 'Error' } as const)[c as 'S']));
  const limits = { count: 3, failureLimit: 0, inconclusiveLimit: 0, consecutiveErrorLimit: 2 };
  const cases: [string, typeof limits, string, string][] = [
    ['nothing yet', limits, '', 'Running'],
    ['two of three', limits, 'SS', 'Running'],
    ['count reached', limits, 'SSS', 'Successful'],
    ['errors do not count toward count', limits, 'SESES', 'Successful'],
    ['a failure over the limit', limits, 'SF', 'Failed'],
    ['failures within the limit', { ...limits, failureLimit: 1 }, 'SFS', 'Successful'],
    ['an inconclusive over the limit', limits, 'I', 'Inconclusive'],
    ['consecutive errors within the limit', limits, 'EES', 'Running'],
    ['consecutive errors over the limit', limits, 'SEEE', 'Error'],
    ['errors broken by a measurement do not add up', limits, 'EESEES', 'Running'],
    ['several limits tripped: error wins over inconclusive over failed (as Argo)', { ...limits, count: 9 }, 'FIEEE', 'Error'],
    ['failed and inconclusive: inconclusive', { ...limits, count: 9 }, 'FI', 'Inconclusive'],
  ];
  it.each(cases)('%s', (_, l, s, phase) => {
    expect(verdict(l, seq(s))).toBe(phase);
  });

  it('keeps the last 50 measurements, counts the rest, and stops at its verdict; schedules the next measurement', () => {
    const t = template({ count: 60, failureLimit: 100, initialDelaySeconds: 30, intervalSeconds: 60 });
    let run = startRun(t, 'bake', new Date('2026-11-25T10:00:00Z'), 'eu-1');
    expect(nextMeasurementAt(t, run)?.toISOString()).toBe('2026-11-25T10:00:30.000Z');
    for (let i = 0; i < 59; i++)
      run = recordMeasurement(t, run, { ...m(i % 2 ? 'Failed' : 'Successful'), values: Array.from({ length: 80 }, () => 1), error: 'x'.repeat(400) });
    expect(run.measurements).toHaveLength(MAX_MEASUREMENTS);
    expect(run.dropped).toBe(9);
    expect(run.measurements[0]!.values).toHaveLength(50);
    expect(run.measurements[0]!.error).toHaveLength(300);
    expect(run.tally).toMatchObject({ successful: 30, failed: 29 });
    expect(run.phase).toBe('Running');
    expect(measurementsLeft(t, run)).toBe(1);
    expect(nextMeasurementAt(t, run)?.toISOString()).toBe('2026-11-25T10:01:00.000Z');
    run = recordMeasurement(t, run, m('Successful'));
    expect(run.phase).toBe('Successful');
    expect(nextMeasurementAt(t, run)).toBeNull();
    expect(recordMeasurement(t, run, m('Failed'))).toBe(run);
  });
});

describe('measureOnce', () => {
  const ROLE = 'arn:aws:iam::111122223333:role/stageline-metrics';
  const store = { getMetricAccounts: async () => ({ accounts: [{ account: '111122223333', roleArn: ROLE }], version: 1 }) };
  const deps = (metrics: MetricsPort) => ({ metrics, store, clock: () => new Date('2026-11-25T10:00:00Z') }) as never;
  it('renders, queries and judges; a provider error is an Error measurement without the secret', async () => {
    const asked: unknown[] = [];
    const ok = await measureOnce(deps({ query: async (...a) => (asked.push(a), [0.01, 0.02]) }), 'acme', template({ args: [{ name: 'service' }] }), ctx, {
      region: 'eu-west-1',
    });
    expect(ok).toEqual({ at: '2026-11-25T10:00:00.000Z', phase: 'Successful', value: 0.01, values: [0.01, 0.02] });
    expect(asked[0]).toEqual([
      'acme',
      expect.objectContaining({ type: 'prometheus' }),
      { query: 'sum(rate(errors_total{target="eu-1"}[1m]))' },
      { region: 'eu-west-1', lookbackSeconds: 60, now: expect.any(Date) },
    ]);
    const failed = await measureOnce(deps({ query: async () => Promise.reject(new Error('x'.repeat(1000))) }), 'acme', template(), ctx);
    expect(failed).toMatchObject({ phase: 'Error', value: null });
    expect(failed.error!.length).toBeLessThanOrEqual(300);
    const missing = await measureOnce(
      deps({ query: async () => [1] }),
      'acme',
      template({ provider: { ...base.provider, query: '{{args.x}}' }, args: [{ name: 'x' }] }),
      { ...ctx, args: {} },
    );
    expect(missing).toMatchObject({ phase: 'Error', error: expect.stringContaining("argument 'x' has no value") });
    expect(await measureOnce(deps({ query: async () => [] }), 'acme', template(), ctx)).toMatchObject({ phase: 'Inconclusive', value: null });
    // CloudWatch: the dimension values are filled in, and the template's own region wins over the target's.
    const metric = { namespace: 'AWS/Lambda', metricName: 'Errors', dimensions: [{ name: 'FunctionName', value: 'api-{{target.name}}' }] };
    const seen: unknown[] = [];
    const q: MetricsPort = { query: async (...a) => (seen.push(a), [0]) };
    const place = { region: 'eu-west-1', account: '111122223333' };
    await measureOnce(deps(q), 'acme', template({ provider: { type: 'cloudwatch', metric, region: 'us-east-1' } }), ctx, place);
    await measureOnce(deps(q), 'acme', template({ provider: { type: 'cloudwatch', metric } }), ctx, place);
    expect(
      seen.map((a) => [(a as [string, { metric: typeof metric }])[1].metric.dimensions[0]!.value, (a as [0, 0, 0, { region: string }])[3].region]),
    ).toEqual([
      ['api-eu-1', 'us-east-1'],
      ['api-eu-1', 'eu-west-1'],
    ]);
    // The port is given the tenant's role for the account, with the tenant's external id.
    expect((seen[1] as [0, 0, 0, MeasureAt])[3]).toMatchObject({ account: '111122223333', role: { roleArn: ROLE, externalId: 'stageline:acme' } });
    // The template's own account wins over the target's; an account without a registered role, or none named, is an Error and the port is not asked.
    const other = await measureOnce(deps(q), 'acme', template({ provider: { type: 'cloudwatch', metric, account: '999988887777' } }), ctx, place);
    expect(other).toMatchObject({ phase: 'Error', error: expect.stringContaining('account 999988887777 has no registered role') });
    const none = await measureOnce(deps(q), 'acme', template({ provider: { type: 'cloudwatch', metric } }), ctx, { region: 'eu-west-1' });
    expect(none).toMatchObject({ phase: 'Error', error: expect.stringContaining('names no account to read') });
    expect(seen).toHaveLength(2);
  });
});

describe('Mann-Whitney U', () => {
  it('matches scipy.stats.mannwhitneyu (asymptotic, continuity-corrected) on known samples', () => {
    // scipy's documented example (males vs females): U1 = 17, p = 0.11134688653314041.
    const r = mannWhitneyU([19, 22, 16, 29, 24], [20, 11, 17, 12]);
    expect(r.u).toBe(17);
    expect(r.p).toBeCloseTo(0.1113469, 5);
    expect(r.z).toBeGreaterThan(0);
    // Completely separated samples of five: U1 = 0, z = -(12.5 - 0.5) / sqrt(25 * 11 / 12), p = 0.012186.
    const sep = mannWhitneyU([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]);
    expect(sep.u).toBe(0);
    expect(sep.z).toBeCloseTo(-2.50672, 4);
    expect(sep.p).toBeCloseTo(0.012186, 5);
    // Ties: ranks 1, 3, 3, 3, 6, 6, 6, 8; U1 = 3, variance 16/12 * (9 - 48/56), p = 0.17203.
    const tied = mannWhitneyU([1, 2, 2, 3], [2, 3, 3, 4]);
    expect(tied.u).toBe(3);
    expect(tied.p).toBeCloseTo(0.17203, 4);
    expect(mannWhitneyU([1, 1, 1], [1, 1])).toEqual({ u: 3, z: 0, p: 1 });
    expect(mannWhitneyU([], [1])).toEqual({ u: 0, z: 0, p: 1 });
  });

  it('is symmetric, keeps p in [0, 1] and U1 + U2 = n1·n2 (property)', () => {
    const sample = fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(sample, sample, (a, b) => {
        const ab = mannWhitneyU(a, b);
        const ba = mannWhitneyU(b, a);
        expect(ab.p).toBeGreaterThanOrEqual(0);
        expect(ab.p).toBeLessThanOrEqual(1);
        expect(Math.abs(ab.p - ba.p)).toBeLessThan(1e-12);
        expect(ab.u + ba.u).toBeCloseTo(a.length * b.length, 6);
        expect(ab.z).toBeCloseTo(-ba.z, 9);
      }),
    );
  });
});

/** A seeded generator (mulberry32) and normal noise (Box-Muller): the same samples on every run. */
function noisy(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (mean: number, sd: number, n: number) =>
    Array.from({ length: n }, () => mean + sd * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()));
}

describe('compareCanary', () => {
  const opts = { minSamples: 10, maxRegression: 0.1, alpha: 0.05, direction: 'increase-is-bad' as const };

  it('finds a 20 % higher error rate a regression and a 1 % one a pass (noisy samples, 10 % spread)', () => {
    const gen = noisy(42);
    const control = gen(0.02, 0.002, 30);
    const bad = compareCanary(gen(0.024, 0.0024, 30), control, opts);
    expect(bad.verdict).toBe('regression');
    expect(bad.relativeDifference).toBeGreaterThan(0.1);
    expect(bad.p).toBeLessThan(0.05);
    expect(bad.samples).toEqual({ canary: 30, control: 30 });
    const fine = compareCanary(gen(0.0202, 0.002, 30), control, opts);
    expect(fine.verdict).toBe('pass');
    expect(Math.abs(fine.relativeDifference)).toBeLessThan(0.1);
    // The same 20 % in the good direction is no regression; for throughput (decrease-is-bad) a 20 % drop is.
    expect(compareCanary(gen(0.016, 0.0016, 30), control, opts).verdict).toBe('pass');
    expect(compareCanary(gen(800, 80, 30), gen(1000, 100, 30), { ...opts, direction: 'decrease-is-bad' }).verdict).toBe('regression');
  });

  it('says too-few-samples below minSamples on either side (NaN and Infinity not counted), and a difference that is not significant passes', () => {
    const gen = noisy(7);
    expect(compareCanary(gen(1, 0.1, 9), gen(1, 0.1, 30), opts).verdict).toBe('too-few-samples');
    expect(compareCanary([...gen(2, 0.1, 9), Number.NaN, Number.POSITIVE_INFINITY], gen(1, 0.1, 30), opts)).toMatchObject({
      verdict: 'too-few-samples',
      samples: { canary: 9, control: 30 },
    });
    // A 30 % higher median from three wildly spread values each: large, not significant.
    expect(compareCanary([1, 13, 40], [1, 10, 41], { ...opts, minSamples: 3 }).verdict).toBe('pass');
    expect(compareCanary([0.01, 0.02, 0.03], [0, 0, 0], { ...opts, minSamples: 3 }).relativeDifference).toBe(1);
    expect(median([3, 1, 2, 10])).toBe(2.5);
  });

  it('never calls identical samples a regression, whatever the options (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 60 }),
        fc.double({ min: 0, max: 2, noNaN: true }),
        fc.constantFrom('increase-is-bad' as const, 'decrease-is-bad' as const),
        (values, maxRegression, direction) => {
          expect(compareCanary(values, [...values].reverse(), { minSamples: 1, maxRegression, direction }).verdict).toBe('pass');
        },
      ),
    );
  });
});

describe('the web provider’s JSON path', () => {
  it('walks member names as data and takes numbers, lists and [*]', () => {
    const doc = JSON.parse('{"data":{"errorRate":0.02,"series":[{"v":1},{"v":"2"}],"odd key":[3,4]},"__proto__":{"polluted":1}}');
    expect(walkPath(doc, parsePath('$.data.errorRate'))).toEqual([0.02]);
    expect(walkPath(doc, parsePath('$.data.series[*].v'))).toEqual([1, '2']);
    expect(walkPath(doc, parsePath('$.data.series[1].v'))).toEqual(['2']);
    expect(walkPath(doc, parsePath("$.data['odd key']"))).toEqual([3, 4]);
    expect(walkPath(doc, parsePath('$.__proto__.polluted'))).toEqual([1]);
    expect(walkPath({}, parsePath('$.constructor'))).toEqual([]);
    expect(walkPath({ a: {} }, parsePath('$.a.toString'))).toEqual([]);
    expect(() => parsePath('$..x')).toThrow(/JSON path/);
  });
});
