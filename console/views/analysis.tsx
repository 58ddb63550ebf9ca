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
};
const TONE: Record<string, string> = { Successful: 'ok', Failed: 'bad', Inconclusive: 'wait', Error: 'bad', Running: '' };

/**
 * The number a condition compares `result` with, drawn as a threshold line, and its side in words: `result > 0.05` → 0.05, "above";
 * `0.05 >= result` → 0.05, "at or below". Null when the condition compares `result` with no number.
 */
export function boundOf(condition: string | undefined): { value: number; side: string } | null {
  const NUM = '(-?\\d+(?:\\.\\d+)?(?:e-?\\d+)?)';
  const after = condition?.match(new RegExp(`\\bresult\\s*(<=?|>=?)\\s*${NUM}`, 'i'));
  const before = after ? null : condition?.match(new RegExp(`${NUM}\\s*(<=?|>=?)\\s*result\\b`, 'i'));
  if (!after && !before) return null;
  // `0.05 > result` is `result < 0.05`: the operator read from result's side.
  const op = after ? after[1]! : ({ '<': '>', '<=': '>=', '>': '<', '>=': '<=' } as Record<string, string>)[before![2]!]!;
  const value = Number(after ? after[2] : before![1]);
  const side = { '<': 'below', '<=': 'at or below', '>': 'above', '>=': 'at or above' }[op as '<'];
  return { value, side };
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
    // The thresholds are drawn across the whole plot (a lone measurement still shows where its limits are), and the
    // value scale holds them and every value, from zero when all are positive.
    const lines = [
      ...(failure ? [{ value: failure.value, stroke: color('--bad'), dash: [6, 4] }] : []),
      ...(success ? [{ value: success.value, stroke: color('--ok'), dash: [2, 3] }] : []),
    ];
    const all = [...ys, ...lines.map((l) => l.value)];
    const lo = Math.min(0, ...all);
    const hi = Math.max(...all);
    const span = hi - lo || Math.abs(hi) || 1;
    const yRange: [number, number] = [lo < 0 ? lo - span * 0.1 : lo, hi + span * 0.15];
    // A lone measurement sits in the middle of a minute; several span the plot with a little room at both ends.
    const [first, last] = [Math.min(...xs), Math.max(...xs)];
    const pad = first === last ? 30 : (last - first) * 0.05;
    const xRange: [number, number] = [first - pad, last + pad];
    const axis = {
      stroke: color('--mut'),
      grid: { stroke: color('--line'), width: 1 },
      ticks: { stroke: color('--line'), width: 1 },
      font: '11px system-ui, sans-serif',
    };
    const width = () => Math.max(220, Math.min(420, box.current?.clientWidth ?? 320));
    const plot = new uPlot(
      {
        width: width(),
        height: 130,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: {
          x: { time: true, auto: false, range: xRange },
          y: { auto: false, range: yRange },
        },
        axes: [
          // The first and the last measurement's time: uPlot's own time ticks leave a span of a few seconds bare.
          { ...axis, splits: () => (first === last ? [first] : [first, last]), values: (_u, splits) => splits.map(clock) },
          { ...axis, size: 48, values: (_u, splits) => splits.map((v) => num(v)) },
        ],
        series: [{}, { label: run.template, stroke: color('--accent'), width: 2, points: { show: true, size: 6 } }],
        hooks: {
          draw: [
            (u) => {
              const { ctx } = u;
              const { left, width: w } = u.bbox;
              ctx.save();
              ctx.lineWidth = Math.round(2 * devicePixelRatio);
              for (const l of lines) {
                const y = Math.round(u.valToPos(l.value, 'y', true));
                ctx.strokeStyle = l.stroke;
                ctx.setLineDash(l.dash.map((d) => d * devicePixelRatio));
                ctx.beginPath();
                ctx.moveTo(left, y);
                ctx.lineTo(left + w, y);
                ctx.stroke();
              }
              ctx.restore();
            },
          ],
        },
      },
      [xs, ys],
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
    <figure class="analysis-figure">
      <div ref={box} class="chart analysis-chart" role="img" aria-label={label} />
      <figcaption>
        <ul class="chart-legend">
          <li>
            <span class="swatch measured" aria-hidden="true" /> {run.template}, measured (UTC)
          </li>
          {failure && (
            <li>
              <span class="swatch failure" aria-hidden="true" /> failure {failure.side} {num(failure.value)}
            </li>
          )}
          {success && (
            <li>
              <span class="swatch success" aria-hidden="true" /> success {success.side} {num(success.value)}
            </li>
          )}
        </ul>
      </figcaption>
    </figure>
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
      {run.thresholds && (run.thresholds.success || run.thresholds.failure) && (
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
