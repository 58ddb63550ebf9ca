import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { q } from '../api.ts';
import { downloadCsv, Loading, usePoll, Wrap } from '../ui.tsx';

const RANGES = { '30 days': 30, '90 days': 90, '1 year': 365 } as const;

/** Delivery performance per environment (the DORA four and approval-free figures), drawn from GET /platform/metrics only. */
export function Insights() {
  const [range, setRange] = useState<keyof typeof RANGES>('90 days');
  const [period, setPeriod] = useState<'day' | 'week' | 'month'>('week');
  const from = new Date(Date.now() - RANGES[range] * 86_400_000).toISOString().slice(0, 10) + 'T00:00:00Z';
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
      {!data ? <Loading error={error} /> : data.environments.map((e: any) => <EnvironmentInsights key={e.environment} e={e} />)}
    </section>
  );
}

const pct = (n: number) => `${Math.round(n * 1000) / 10} %`;
/** Lead time into the environment (the API's hours): minutes under an hour, so a fast line does not read "0 h". */
const leadTime = (h: number | null) => (h === null ? '—' : h >= 1 ? `${Math.round(h * 10) / 10} h` : h * 60 < 1 ? 'under 1 min' : `${Math.round(h * 60)} min`);

function EnvironmentInsights({ e }: { e: any }) {
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
          <dt>Change failure rate</dt>
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
      <Chart periods={e.periods} label={`Deployments and failures per ${e.period} in ${e.environment}`} />
      <details>
        <summary>The numbers</summary>
        <Wrap>
          <table>
            <caption class="sr">
              Per {e.period} in {e.environment}
            </caption>
            <thead>
              <tr>
                {['Period', 'Deployments', 'Failed', 'Rolled back', 'Failure rate', 'Rollback rate', 'Mean duration (s)', 'Lead time (h)'].map((h) => (
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
            ['period', 'deployments', 'failed', 'rolled_back', 'failure_rate', 'rollback_rate', 'mean_duration_s', 'lead_time_h'],
            ...rows,
          ])
        }
      >
        Download CSV
      </button>
    </article>
  );
}

/** Deployments (bars) and failures plus rollbacks (line) per period, with uPlot; the table above holds the same numbers for screen readers. */
function Chart({ periods, label }: { periods: any[]; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current || !periods.length) return;
    const xs = periods.map((p) => Date.parse(p.period.replace('/week', '')) / 1000);
    const css = getComputedStyle(document.documentElement);
    const color = (v: string) => css.getPropertyValue(v).trim() || '#888';
    const plot = new uPlot(
      {
        width: Math.max(260, box.current.clientWidth),
        height: 180,
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        axes: [{ stroke: color('--mut') }, { stroke: color('--mut') }],
        series: [
          {},
          { label: 'deployments', stroke: color('--accent'), fill: color('--accent-soft'), paths: uPlot.paths.bars!({ size: [0.6, 40] }) },
          { label: 'failed or rolled back', stroke: color('--bad'), width: 2 },
        ],
      },
      [xs, periods.map((p) => p.deployments), periods.map((p) => p.failed + p.rolledBack)],
      box.current,
    );
    const resize = () => box.current && plot.setSize({ width: Math.max(260, box.current.clientWidth), height: 180 });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [periods]);
  if (!periods.length) return <p class="mut">No deployments in this range.</p>;
  return <div ref={box} class="chart" role="img" aria-label={label} />;
}
