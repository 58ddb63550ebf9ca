import { Gauge, Registry } from 'prom-client';
import type { DoraExport } from '#domain/artifacts/dora-export';
import type { DoraFigures } from '#domain/artifacts/dora';

/**
 * DORA's five in Prometheus' text exposition format, made by prom-client with a Registry of the request's
 * own (never the global one: a warm function serves many tenants, and nothing of one scrape may stay for
 * the next). Per environment the series carry `environment`; over the line, `line="all"`. Times in
 * seconds (to the second, from the exact durations: doraFigures), rates 0..1 (Prometheus' base units); a figure not measured in the window (no recovery) is left
 * out rather than given as 0. The counts beside the rates (deployments, failures, recoveries, rework) let
 * a query weigh environments.
 */
const GAUGES: { name: string; help: string; value: (f: DoraFigures) => number | null }[] = [
  {
    name: 'dora_deployment_frequency_per_day',
    help: 'Deployment frequency: deployments per day over the window',
    value: (f) => f.deploymentFrequencyPerDay,
  },
  {
    name: 'dora_change_lead_time_seconds',
    help: "Change lead time: mean seconds from a change's first appearance in the line to its deployment here",
    value: (f) => f.leadTimeSeconds,
  },
  {
    name: 'dora_change_failure_rate',
    help: 'Change fail rate: deployments that failed or were rolled back / deployments (0..1)',
    value: (f) => f.changeFailureRate,
  },
  {
    name: 'dora_failed_deployment_recovery_time_seconds',
    help: 'Failed deployment recovery time: mean seconds from a failed or rolled-back promotion to the next successful one',
    value: (f) => f.recoveryTimeSeconds,
  },
  {
    name: 'dora_deployment_rework_rate',
    help: 'Deployment rework rate: rollback promotions and fix-forwards / deployments (0..1)',
    value: (f) => f.reworkRate,
  },
  { name: 'dora_deployments', help: 'Deployments in the window', value: (f) => f.deployments },
  { name: 'dora_change_failures', help: 'Deployments in the window that failed or were rolled back', value: (f) => f.changeFailures },
  { name: 'dora_recoveries', help: 'Recoveries from a failed deployment in the window', value: (f) => f.recoveries },
  { name: 'dora_rework_deployments', help: 'Rollback promotions and fix-forwards in the window', value: (f) => f.reworkDeployments },
];

export async function doraExposition(x: DoraExport): Promise<{ contentType: string; body: string }> {
  const registry = new Registry();
  const window = new Gauge({ name: 'dora_window_days', help: 'The days the figures are over (today included)', registers: [registry] });
  window.set(x.days);
  for (const g of GAUGES) {
    const gauge = new Gauge({ name: g.name, help: g.help, labelNames: ['environment', 'line'] as const, registers: [registry] });
    for (const e of x.environments) {
      const v = g.value(e.dora);
      if (v !== null) gauge.set({ environment: e.environment }, v);
    }
    const v = g.value(x.line);
    if (v !== null) gauge.set({ line: 'all' }, v);
  }
  return { contentType: registry.contentType, body: await registry.metrics() };
}
