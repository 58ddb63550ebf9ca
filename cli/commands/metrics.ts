import { Command, Option } from 'commander';
import type { DeploymentMetrics, MetricsTokenIssued } from '../answers.ts';
import { values } from '../context.ts';
import { api } from '../http.ts';
import { grid, out } from '../output.ts';

type Dora = DeploymentMetrics['line']['dora'];
const pct = (x: number | null) => (x === null ? '–' : `${Math.round(x * 1000) / 10}%`);
const hours = (x: number | null) => (x === null ? '–' : `${x} h`);
/** One row of DORA's five: frequency, lead time, change fail rate, recovery time, rework rate, and the counts behind them. */
const row = (name: string, d: Dora) => [
  name,
  `${d.deploymentFrequencyPerDay}/day`,
  hours(d.leadTimeHours),
  `${pct(d.changeFailureRate)} (${d.changeFailures}/${d.deployments})`,
  `${hours(d.recoveryTimeHours)}${d.recoveries ? ` (${d.recoveries})` : ''}`,
  `${pct(d.reworkRate)} (${d.reworkDeployments}/${d.deployments})`,
];

/** metrics: DORA's five per environment and over the line; the tenant's scrape token for Prometheus */
export function registerMetrics(program: Command): void {
  const metrics = program.command('metrics').description("DORA's five delivery metrics per environment and over the line (GET /platform/metrics)");
  metrics
    .command('show')
    .description('deployment frequency, lead time, change fail rate, failed deployment recovery time, rework rate (last 30 days unless --from/--to)')
    .option('--env <env>', 'one environment (default: every one of the line)')
    .option('--from <time>', 'the first day (an ISO date-time)')
    .option('--to <time>', 'the last day (an ISO date-time; default today)')
    .addOption(new Option('--period <period>', 'the breakdown --json carries').choices(['day', 'week', 'month']))
    .action(async () => {
      const query = new URLSearchParams();
      if (values.env) query.set('environment', values.env);
      if (values.from) query.set('from', values.from);
      if (values.to) query.set('to', values.to);
      if (values.period) query.set('period', values.period);
      const r = await api<DeploymentMetrics>('GET', `/api/v1/platform/metrics${query.size ? `?${query}` : ''}`);
      out(r, () => {
        console.log(`${r.line.from} to ${r.line.to}`);
        grid(
          ['Environment', 'Deploys', 'Lead time', 'Change fail rate', 'Recovery time', 'Rework rate'],
          [...r.environments.map((e) => row(e.environment, e.total.dora)), row('(line)', r.line.dora)],
        );
      });
    });
  metrics
    .command('token')
    .description("create the tenant's metrics scrape token, or replace it (admin): shown once, for Prometheus' authorization.credentials")
    .action(async () => {
      const r = await api<MetricsTokenIssued>('POST', '/api/v1/platform/metrics/token');
      out(r, () => {
        console.log(r.token);
        console.error(`scrape ${'GET /api/v1/platform/metrics/prometheus'} with it (Authorization: Bearer); any previous token stopped working`);
      });
    });
}
