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

/** A number a condition compares `result` with (`result < 0.05` → 0.05), to draw as a threshold line. */
export function thresholdOf(condition: string | undefined): number | null {
  const m =
    condition?.match(/\bresult\s*(?:<=?|>=?)\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)/i) ?? condition?.match(/(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*(?:<=?|>=?)\s*result\b/i);
  return m ? Number(m[1]) : null;
}

const num = (v: number | null | undefined) => (v === null || v === undefined ? '—' : Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4))));

function Chart({ run, label }: { run: any; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const points = run.measurements.filter((m: any) => m.value !== null);
  useEffect(() => {
    if (!box.current || !points.length) return;
    const css = getComputedStyle(document.documentElement);
    const color = (v: string) => css.getPropertyValue(v).trim() || '#888';
    const xs = points.map((m: any) => new Date(m.at).getTime() / 1000);
    const ys = points.map((m: any) => m.value);
    const failure = thresholdOf(run.thresholds?.failure);
    const success = thresholdOf(run.thresholds?.success);
    const series: uPlot.Series[] = [{}, { label: run.template, stroke: color('--accent'), width: 2, points: { show: true } }];
    const data: (number | null)[][] = [xs, ys];
    if (failure !== null) {
      series.push({ label: `failure at ${num(failure)}`, stroke: color('--bad'), dash: [6, 4] });
      data.push(xs.map(() => failure));
    }
    if (success !== null && success !== failure) {
      series.push({ label: `success below/above ${num(success)}`, stroke: color('--ok'), dash: [2, 4] });
      data.push(xs.map(() => success));
    }
    const width = () => Math.max(220, Math.min(420, box.current?.clientWidth ?? 320));
    const plot = new uPlot(
      {
        width: width(),
        height: 120,
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true } },
        axes: [{ stroke: color('--mut') }, { stroke: color('--mut') }],
        series,
      },
      data as uPlot.AlignedData,
      box.current,
    );
    const resize = () => plot.setSize({ width: width(), height: 120 });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [run]);
  if (!points.length) return <p class="mut">No value measured yet.</p>;
  return <div ref={box} class="chart analysis-chart" role="img" aria-label={label} />;
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
        <p class="mut sub">
          {run.thresholds.success && (
            <>
              success when <code>{run.thresholds.success}</code>{' '}
            </>
          )}
          {run.thresholds.failure && (
            <>
              failure when <code>{run.thresholds.failure}</code>
            </>
          )}
        </p>
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
                    <Time at={m.at} />
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
