import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { Time, Wrap } from '../ui.tsx';

/**
 * What a rollout measured: per target, each analysis (its template, its answer, the comparison of a guarded wave)
 * as a small chart of its measurements with its thresholds drawn where a condition names a number, and the same
 * numbers in a table for screen readers. Pre-promotion analyses (gates named `analysis:<template>`) show their
 * measurements per source target.
 */

const PHASE: Record<string, string> = {
  Successful: 'passed',
  Failed: 'failed',
  Inconclusive: 'inconclusive',
  Error: 'could not measure',
  Running: 'measuring',
  Stopped: 'stopped before its answer',
};
const TONE: Record<string, string> = { Successful: 'ok', Failed: 'bad', Inconclusive: 'wait', Error: 'bad', Running: '', Stopped: 'wait' };

/**
 * The number a condition compares `result` with, drawn as a threshold line, and its side in words: `result > 0.05` → 0.05, "above";
 * `0.05 >= result` → 0.05, "at or below". Null when the condition compares `result` with no number.
 */
export function boundOf(condition: string | undefined): { value: number; side: string } | null {
  const after = condition?.match(/\bresult\s*([<>]=?)\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)/i);
  const before = after ? null : condition?.match(/(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*([<>]=?)\s*result\b/i);
  if (!after && !before) return null;
  const op = after ? after[1]! : before![2]!;
  // `0.05 > result` is `result < 0.05`: read from the number's side, the operator points the other way.
  const below = (op[0] === '<') === !!after;
  return { value: Number(after ? after[2] : before![1]), side: `${op[1] ? 'at or ' : ''}${below ? 'below' : 'above'}` };
}

const num = (v: number | null | undefined) => (v === null || v === undefined ? '—' : Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4))));
/** A time on the chart's axis, in UTC as everywhere in the console (the table's "At (UTC)"). */
const clock = (seconds: number) => new Date(seconds * 1000).toISOString().slice(11, 19);

function Chart({ run, label }: { run: any; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const points = run.measurements.filter((m: any) => m.value !== null);
  const failure = boundOf(run.thresholds?.failure);
  const successBound = boundOf(run.thresholds?.success);
  const success = successBound && successBound.value !== failure?.value ? successBound : null;
  useEffect(() => {
    if (!box.current || !points.length) return;
    const css = getComputedStyle(document.documentElement);
    const color = (v: string) => css.getPropertyValue(v).trim() || '#888';
    const xs: number[] = points.map((m: any) => new Date(m.at).getTime() / 1000);
    const ys: number[] = points.map((m: any) => m.value);
    // The thresholds are lines across the whole plot (a lone measurement still shows where its limits are): the x data
    // runs from a little before the first measurement to a little after the last (the measured line has no value
    // there), half a minute either side of a lone one. The value scale holds every value and threshold, from zero
    // when all are positive.
    const lines = [
      ...(failure ? [{ value: failure.value, stroke: color('--bad'), dash: [6, 4] }] : []),
      ...(success ? [{ value: success.value, stroke: color('--ok'), dash: [2, 3] }] : []),
    ];
    const all = [...ys, ...lines.map((l) => l.value)];
    const lo = Math.min(0, ...all);
    const hi = Math.max(...all);
    const span = hi - lo || Math.abs(hi) || 1;
    const [first, last] = [Math.min(...xs), Math.max(...xs)];
    const pad = first === last ? 30 : (last - first) * 0.05;
    const axis = { stroke: color('--mut'), grid: { stroke: color('--line'), width: 1 } };
    const width = () => Math.max(220, Math.min(420, box.current?.clientWidth ?? 320));
    const plot = new uPlot(
      {
        width: width(),
        height: 130,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { auto: false, range: [lo < 0 ? lo - span * 0.1 : lo, hi + span * 0.15] } },
        axes: [
          // The first and the last measurement's time: uPlot's own time ticks leave a span of a few seconds bare.
          { ...axis, splits: () => (first === last ? [first] : [first, last]), values: (_u, splits) => splits.map(clock) },
          { ...axis, size: 48, values: (_u, splits) => splits.map((v) => num(v)) },
        ],
        series: [
          {},
          { label: run.template, stroke: color('--accent'), width: 2, points: { show: true, size: 6 } },
          ...lines.map((l) => ({ stroke: l.stroke, dash: l.dash, width: 2, points: { show: false } })),
        ],
      },
      [[first - pad, ...xs, last + pad], [null, ...ys, null], ...lines.map((l) => [l.value, ...xs.map(() => l.value), l.value])] as uPlot.AlignedData,
      box.current,
    );
    const resize = () => plot.setSize({ width: width(), height: 130 });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [run]);
  if (!points.length) return <p class="mut">No value measured yet.</p>;
  return (
    <>
      <div ref={box} class="chart analysis-chart" role="img" aria-label={label} />
      <ul class="chart-legend">
        <li>
          <span class="swatch" /> {run.template}, measured (UTC)
        </li>
        {failure && (
          <li>
            <span class="swatch failure" /> failure {failure.side} {num(failure.value)}
          </li>
        )}
        {success && (
          <li>
            <span class="swatch success" /> success {success.side} {num(success.value)}
          </li>
        )}
      </ul>
    </>
  );
}

/** One analysis of one target: its answer, the chart, and the measurements in a table. */
function Run({ target, run }: { target: string; run: any }) {
  const label = `${run.template} on ${target}: ${run.measurements.length} measurements, ${PHASE[run.phase] ?? run.phase}`;
  const c = run.comparison;
  return (
    <article class={`analysis ${TONE[run.phase] ?? ''}`}>
      <h3>
        {target} · {run.scope === 'canary' ? 'compared by ' : ''}
        {run.template} <span class={`badge ${TONE[run.phase] ?? ''}`}>{PHASE[run.phase] ?? run.phase}</span>
      </h3>
      {run.thresholds && (
        <ul class="mut sub conditions">
          {run.thresholds.success && (
            <li>
              success when <code>{run.thresholds.success}</code>
            </li>
          )}
          {run.thresholds.failure && (
            <li>
              failure when <code>{run.thresholds.failure}</code>
            </li>
          )}
        </ul>
      )}
      {run.message && <p>{run.message}</p>}
      {c && (
        <p class="sub">
          {(c.relativeDifference * 100).toFixed(1)} % against {run.controls?.length ?? 0} targets not changed yet (median {num(c.canaryMedian)} vs{' '}
          {num(c.controlMedian)}, p = {num(c.p)}, {c.samples.canary} + {c.samples.control} samples)
        </p>
      )}
      <Chart run={run} label={label} />
      <details>
        <summary>Measurements ({run.measurements.length + (run.dropped ?? 0)})</summary>
        <Wrap>
          <table class="measurements">
            <caption class="sr">{label}</caption>
            <thead>
              <tr>
                <th scope="col">At (UTC)</th>
                <th scope="col">Value</th>
                <th scope="col">Verdict</th>
              </tr>
            </thead>
            <tbody>
              {run.measurements.map((m: any) => (
                <tr key={m.at}>
                  <td>
                    <Time at={m.at} seconds />
                  </td>
                  <td>{m.error ? `${num(m.value)} (${m.error})` : num(m.value)}</td>
                  <td class={TONE[m.phase] ?? ''}>{PHASE[m.phase] ?? m.phase}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Wrap>
      </details>
    </article>
  );
}

/** Every analysis of a rollout, target by target (nothing when the environment measures nothing). */
export function Analyses({ rollout }: { rollout: any }) {
  const runs = rollout.waves.flatMap((w: any) => w.targets.flatMap((t: any) => (t.analysis ?? []).map((run: any) => ({ target: t.name, run }))));
  if (!runs.length) return null;
  return (
    <section aria-labelledby="analysis-title" class="analyses">
      <h2 id="analysis-title">Analysis</h2>
      <div class="analysis-grid">
        {runs.map(({ target, run }: any) => (
          <Run key={`${target}|${run.scope}|${run.template}`} target={target} run={run} />
        ))}
      </div>
    </section>
  );
}

/** A pre-promotion analysis gate's measurements, per target of the source environment. */
export function GateMeasurements({ gate }: { gate: any }) {
  if (!gate.measurements?.length) return null;
  return (
    <ul class="gate-measurements">
      {gate.measurements.map((m: any) => (
        <li key={`${m.target}|${m.at}`} class={TONE[m.phase] ?? ''}>
          {m.target}: {m.error ? `${num(m.value)} (${m.error})` : num(m.value)} · {PHASE[m.phase] ?? m.phase}
        </li>
      ))}
    </ul>
  );
}
