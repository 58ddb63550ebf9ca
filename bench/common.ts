/** Shared by the bench sections: output helpers (the measuring harness they share with the tests is local/measure/). */
export const heading = (s: string) => console.log(`\n${s}\n${'='.repeat(s.length)}`);
export const sub = (s: string) => console.log(`\n${s}\n${'-'.repeat(s.length)}`);
export const fmt = (n: number, digits = 1) => n.toFixed(digits);
export const int = (n: number) => n.toLocaleString('en-US');

/** Linear-interpolated quantile (q in 0..1). */
export const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
};
