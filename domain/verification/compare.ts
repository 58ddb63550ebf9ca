/**
 * Canary against control: the same query's values on the changed targets of a wave (canary) and on
 * those not yet changed (control), compared with the Mann-Whitney U test (no assumption of normal
 * values, robust to outliers) and the relative difference of their medians. A regression is a
 * difference in the bad direction, larger than allowed, and significant.
 */

/** The standard normal's upper tail P(Z > z), from erfc (W. J. Cody's rational approximations via Numerical Recipes' erfcc: relative error < 1.2e-7). */
export function normalSf(z: number): number {
  const x = z / Math.SQRT2;
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const y =
    t *
    Math.exp(
      -x * x -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  const erfc = x >= 0 ? y : 2 - y;
  return erfc / 2;
}

/** Ranks (1-based, ties given their average rank) of the values, in their order. */
function ranks(values: readonly number[]): { ranks: number[]; tieSum: number } {
  const order = values.map((v, i) => [v, i] as const).sort((p, q) => p[0] - q[0]);
  const out = new Array<number>(values.length);
  let tieSum = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k]![1]] = rank;
    const t = j - i + 1;
    tieSum += t * t * t - t;
    i = j + 1;
  }
  return { ranks: out, tieSum };
}

/**
 * The two-sided Mann-Whitney U test of `a` against `b` with the normal approximation, corrected for
 * ties and for continuity (as scipy.stats.mannwhitneyu with method="asymptotic"): `u` is a's statistic
 * (U1: how often a value of a exceeds one of b, ties counting a half), `z` is signed (positive: a tends
 * larger), `p` the two-sided p-value. Empty samples, or all values equal, give p = 1.
 */
export function mannWhitneyU(a: readonly number[], b: readonly number[]): { u: number; z: number; p: number } {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) return { u: 0, z: 0, p: 1 };
  const n = n1 + n2;
  const { ranks: r, tieSum } = ranks([...a, ...b]);
  let r1 = 0;
  for (let i = 0; i < n1; i++) r1 += r[i]!;
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const mu = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieSum / (n * (n - 1)));
  if (!(variance > 0)) return { u, z: 0, p: 1 };
  const sigma = Math.sqrt(variance);
  const d = u - mu;
  // The continuity correction moves the statistic half a unit toward the mean (never past it).
  const z = (Math.sign(d) * Math.max(0, Math.abs(d) - 0.5)) / sigma;
  const p = Math.min(1, Math.max(0, 2 * normalSf(Math.abs(z))));
  return { u, z, p };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((p, q) => p - q);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface CompareOptions {
  /** fewer values than this on either side: too-few-samples, no verdict */
  minSamples: number;
  /** the largest relative difference of the medians in the bad direction that still passes (0.1: 10 %) */
  maxRegression: number;
  /** the significance level (default 0.05) */
  alpha?: number;
  /** whether a larger value is worse (error rates, latency) or a smaller one (throughput, success rate) */
  direction: 'increase-is-bad' | 'decrease-is-bad';
}

export interface Comparison {
  verdict: 'pass' | 'regression' | 'too-few-samples';
  /** (canary median − control median) / |control median|; against the larger absolute median when the control's is 0 */
  relativeDifference: number;
  p: number;
  canaryMedian: number;
  controlMedian: number;
  samples: { canary: number; control: number };
}

/**
 * Compares canary values with control values: `regression` when the canary's median differs from the
 * control's in the bad direction by more than maxRegression (relative) and the Mann-Whitney test finds
 * the samples differ (p < alpha); `too-few-samples` when either side has fewer than minSamples finite
 * values; else `pass`. Values that are not finite numbers are left out.
 */
export function compareCanary(canary: readonly number[], control: readonly number[], opts: CompareOptions): Comparison {
  const a = canary.filter(Number.isFinite);
  const b = control.filter(Number.isFinite);
  const samples = { canary: a.length, control: b.length };
  const canaryMedian = a.length ? median(a) : 0;
  const controlMedian = b.length ? median(b) : 0;
  const scale = controlMedian !== 0 ? Math.abs(controlMedian) : Math.max(Math.abs(canaryMedian), Math.abs(controlMedian));
  const relativeDifference = scale === 0 ? 0 : (canaryMedian - controlMedian) / scale;
  const { p } = mannWhitneyU(a, b);
  const base = { relativeDifference, p, canaryMedian, controlMedian, samples };
  if (a.length < opts.minSamples || b.length < opts.minSamples) return { verdict: 'too-few-samples', ...base };
  const worse = opts.direction === 'increase-is-bad' ? relativeDifference : -relativeDifference;
  const regression = worse > opts.maxRegression && p < (opts.alpha ?? 0.05);
  return { verdict: regression ? 'regression' : 'pass', ...base };
}
