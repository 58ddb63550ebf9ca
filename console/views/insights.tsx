import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { q } from '../api.ts';
import { downloadCsv, Loading, usePoll, Wrap } from '../ui.tsx';

const RANGES = { '30 days': 30, '90 days': 90, '1 year': 365 } as const;

/** A span of time in the viewer's time zone: from midnight of its first day to midnight after its last. */
interface Span {
  start: Date;
  end: Date;
}

/** The n calendar days ending today, as the viewer's clock has them. */
function lastDays(n: number, now = new Date()): Span {
  return { start: new Date(now.getFullYear(), now.getMonth(), now.getDate() - (n - 1)), end: new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1) };
}

/**
 * A period as the API names it (YYYY-MM-DD, YYYY-MM-DD/week, YYYY-MM) as the time it covers: the API counts
 * in UTC days, so a day is UTC midnight to UTC midnight, drawn where that falls on the viewer's clock.
 */
function periodSpan(name: string): Span {
  const [y, m, d] = name.replace('/week', '').split('-').map(Number) as [number, number, number?];
  const start = new Date(Date.UTC(y, m - 1, d ?? 1));
  const end = new Date(name.endsWith('/week') ? Date.UTC(y, m - 1, d! + 7) : d === undefined ? Date.UTC(y, m, 1) : Date.UTC(y, m - 1, d + 1));
  return { start, end };
}

const day = (d: Date) => d.toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' });

/** Delivery performance per environment and over the line (DORA's five, rollbacks, durations), drawn from GET /platform/metrics only. */
export function Insights() {
  const [range, setRange] = useState<keyof typeof RANGES>('90 days');
  const [period, setPeriod] = useState<'day' | 'week' | 'month'>('week');
  // What is shown is what is asked for: the range's first day, from its midnight in the viewer's time zone.
  // The same all day long, so the poll's path (and its ETag) stays put.
  const span = lastDays(RANGES[range]);
  const from = span.start.toISOString();
  const { data, error } = usePoll<any>(`api/v1/platform/metrics?period=${period}&from=${q(from)}`, 60000);
  return (
    <section aria-labelledby="insights-title">
      <h1 id="insights-title">Insights</h1>
      <form class="inline" onSubmit={(e) => e.preventDefault()}>
        <label for="range">Range</label>
        <select id="range" value={range} onChange={(e) => setRange((e.target as HTMLSelectElement).value as keyof typeof RANGES)}>
          {Object.keys(RANGES).map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
        <label for="period">Per</label>
        <select id="period" value={period} onChange={(e) => setPeriod((e.target as HTMLSelectElement).value as 'day' | 'week' | 'month')}>
          <option>day</option>
          <option>week</option>
          <option>month</option>
        </select>
      </form>
      {!data ? (
        <Loading error={error} />
      ) : (
        <>
          <LineInsights line={data.line} />
          {data.environments.map((e: any) => (
            <EnvironmentInsights key={e.environment} e={e} span={span} />
          ))}
        </>
      )}
    </section>
  );
}

const pct = (n: number) => `${Math.round(n * 1000) / 10} %`;
const rate = (n: number | null) => (n === null ? '—' : pct(n));
/** A time the API gives in hours (recovery): minutes under an hour, days over two. */
const hoursText = (h: number | null) =>
  h === null
    ? '—'
    : h >= 48
      ? `${Math.round((h / 24) * 10) / 10} d`
      : h >= 1
        ? `${Math.round(h * 10) / 10} h`
        : h * 60 < 1
          ? 'under 1 min'
          : `${Math.round(h * 60)} min`;

/** DORA's definitions (dora.dev) and what Stageline counts for each: the figures' help (hover) and the list under them. */
const DEFINITIONS = {
  frequency: 'Deployment frequency: the number of deployments over a period. Here: deployments into the environment per day of the range.',
  lead: "Change lead time: the time a change takes from committed to deployed. Here: from the version's first appearance in the line to its deployment here.",
  fail: 'Change fail rate: the ratio of deployments that require immediate intervention. Here: deployments that failed or were rolled back (by an alarm, a failed verification or a later rollback) / deployments.',
  recovery:
    'Failed deployment recovery time: the time it takes to recover from a failed deployment. Here: from a failed or rolled-back promotion to the next successful promotion into the same environment.',
  rework:
    'Deployment rework rate: the ratio of deployments that are unplanned, made because of an incident. Here: rollback promotions and fix-forwards (a successful promotion within 24 hours of an unrecovered failure there) / deployments.',
} as const;

/** The five as figures, each with its definition on hover and in the list under them. */
function DoraFigures({ d, lead }: { d: any; lead?: boolean }) {
  return (
    <dl class="figures">
      <div title={DEFINITIONS.frequency}>
        <dt>Deployment frequency</dt>
        <dd>
          {d.deploymentFrequencyPerDay} / day <span class="mut">({d.deployments})</span>
        </dd>
      </div>
      {lead ? (
        <div title={DEFINITIONS.lead}>
          <dt>Change lead time</dt>
          <dd>{leadTime(d.leadTimeHours)}</dd>
        </div>
      ) : null}
      <div title={DEFINITIONS.fail}>
        <dt>Change fail rate</dt>
        <dd>
          {rate(d.changeFailureRate)} <span class="mut">({d.changeFailures})</span>
        </dd>
      </div>
      <div title={DEFINITIONS.recovery}>
        <dt>Recovery time</dt>
        <dd>
          {hoursText(d.recoveryTimeHours)} <span class="mut">({d.recoveries})</span>
        </dd>
      </div>
      <div title={DEFINITIONS.rework}>
        <dt>Rework rate</dt>
        <dd>
          {rate(d.reworkRate)} <span class="mut">({d.reworkDeployments})</span>
        </dd>
      </div>
    </dl>
  );
}

/** DORA's five over the line (every environment's counters summed), with what each means. */
function LineInsights({ line }: { line: any }) {
  return (
    <article class="card insights" aria-labelledby="ins-line">
      <h2 id="ins-line">The line: DORA's five</h2>
      <DoraFigures d={line.dora} lead />
      <details>
        <summary>What the five mean</summary>
        <ul>
          {Object.values(DEFINITIONS).map((text) => (
            <li key={text}>{text}</li>
          ))}
        </ul>
      </details>
    </article>
  );
}
/** Lead time into the environment (the API's hours): minutes under an hour, so a fast line does not read "0 h". */
const leadTime = (h: number | null) => (h === null ? '—' : h >= 1 ? `${Math.round(h * 10) / 10} h` : h * 60 < 1 ? 'under 1 min' : `${Math.round(h * 60)} min`);

function EnvironmentInsights({ e, span }: { e: any; span: Span }) {
  const t = e.total;
  const failureRate = t.deployments ? t.failed / t.deployments : 0;
  const rows = e.periods.map((p: any) => [
    p.period,
    p.deployments,
    p.failed,
    p.rolledBack,
    p.deployments ? Math.round((p.failed / p.deployments) * 1000) / 1000 : 0,
    p.rollbackRate,
    p.durationSeconds.mean,
    p.leadTimeHours,
    p.dora.changeFailureRate,
    p.dora.recoveryTimeHours,
    p.dora.reworkRate,
  ]);
  return (
    <article class="card insights" aria-labelledby={`ins-${e.environment}`}>
      <h2 id={`ins-${e.environment}`}>{e.environment}</h2>
      <dl class="figures">
        <div>
          <dt>Deployments</dt>
          <dd>{t.deployments}</dd>
        </div>
        <div>
          <dt title="Executions that failed (a blocked execution, a failed verification, an alarm while baking) / deployments">Failed executions</dt>
          <dd>
            {pct(failureRate)} <span class="mut">({t.failed} failed)</span>
          </dd>
        </div>
        <div>
          <dt>Rollback rate</dt>
          <dd>
            {pct(t.rollbackRate)} <span class="mut">({t.rolledBack})</span>
          </dd>
        </div>
        <div>
          <dt>Lead time</dt>
          <dd>{leadTime(t.leadTimeHours)}</dd>
        </div>
        <div>
          <dt>Deployment duration</dt>
          <dd>{t.durationSeconds.mean === null ? '—' : `${Math.round(t.durationSeconds.mean)} s mean, p90 ≤ ${t.durationSeconds.p90AtMost} s`}</dd>
        </div>
      </dl>
      <h3 class="sr">DORA's five in {e.environment} (lead time above)</h3>
      <DoraFigures d={t.dora} />
      <Chart
        periods={e.periods}
        span={span}
        label={`Deployments and failures per ${e.period} in ${e.environment}, ${day(span.start)} to ${day(new Date(span.end.getTime() - 1))}`}
      />
      <details>
        <summary>The numbers</summary>
        <Wrap>
          <table>
            <caption class="sr">
              Per {e.period} in {e.environment}
            </caption>
            <thead>
              <tr>
                {[
                  'Period',
                  'Deployments',
                  'Failed',
                  'Rolled back',
                  'Failure rate',
                  'Rollback rate',
                  'Mean duration (s)',
                  'Lead time (h)',
                  'Change fail rate',
                  'Recovery time (h)',
                  'Rework rate',
                ].map((h) => (
                  <th scope="col" key={h}>
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r: any[]) => (
                <tr key={r[0]}>
                  {r.map((v, i) => (
                    <td key={i}>{v === null ? '—' : String(v)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </Wrap>
      </details>
      <button
        type="button"
        class="link"
        onClick={() =>
          downloadCsv(`${e.environment}-metrics.csv`, [
            [
              'period',
              'deployments',
              'failed',
              'rolled_back',
              'failure_rate',
              'rollback_rate',
              'mean_duration_s',
              'lead_time_h',
              'change_fail_rate',
              'recovery_time_h',
              'rework_rate',
            ],
            ...rows,
          ])
        }
      >
        Download CSV
      </button>
    </article>
  );
}

/**
 * Deployments (bars) and failures plus rollbacks (line) per period, with uPlot; the table above holds the same
 * numbers for screen readers. The time axis is the chosen range in the viewer's time zone, whatever the data (a
 * range with little data is not stretched to fit it): a period sits in the middle of the time it covers inside
 * the range. Under it, the span the axis actually draws.
 */
function Chart({ periods, span, label }: { periods: any[]; span: Span; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const caption = useRef<HTMLParagraphElement>(null);
  const [from, to] = [span.start.getTime() / 1000, span.end.getTime() / 1000];
  useEffect(() => {
    if (!box.current || !periods.length) return;
    const xs = periods.map((p) => {
      const s = periodSpan(p.period);
      return (Math.max(s.start.getTime() / 1000, from) + Math.min(s.end.getTime() / 1000, to)) / 2;
    });
    const css = getComputedStyle(document.documentElement);
    const color = (v: string) => css.getPropertyValue(v).trim() || '#888';
    const said = (u: uPlot) => {
      const { min, max } = u.scales.x!;
      if (caption.current && min !== undefined && max !== undefined)
        caption.current.textContent = `${day(new Date(min * 1000))} – ${day(new Date(max * 1000 - 1))}`;
    };
    const plot = new uPlot(
      {
        width: Math.max(260, box.current.clientWidth),
        height: 180,
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true, range: () => [from, to] } },
        axes: [{ stroke: color('--mut') }, { stroke: color('--mut') }],
        series: [
          {},
          { label: 'deployments', stroke: color('--accent'), fill: color('--accent-soft'), paths: uPlot.paths.bars!({ size: [0.6, 40] }) },
          { label: 'failed or rolled back', stroke: color('--bad'), width: 2 },
          { label: 'rework (rollbacks, fix-forwards)', stroke: color('--warn'), width: 2, dash: [4, 4] },
        ],
        hooks: { ready: [said], setScale: [(u, key) => key === 'x' && said(u)] },
      },
      [xs, periods.map((p) => p.deployments), periods.map((p) => p.dora.changeFailures), periods.map((p) => p.dora.reworkDeployments)],
      box.current,
    );
    const resize = () => box.current && plot.setSize({ width: Math.max(260, box.current.clientWidth), height: 180 });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [periods, from, to]);
  if (!periods.length) return <p class="mut">No deployments in this range.</p>;
  return (
    <figure class="chart-figure">
      <div ref={box} class="chart" role="img" aria-label={label} />
      <p ref={caption} class="mut chart-span" />
    </figure>
  );
}
