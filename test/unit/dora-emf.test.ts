import { describe, expect, it, vi } from 'vitest';
import { eventMetrics } from '../../functions/adapters/metrics.ts';

/** What the code writes to stdout until restore(): the EMF documents CloudWatch reads. */
function captured(run: () => void): Record<string, any>[] {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
  try {
    run();
  } finally {
    spy.mockRestore();
  }
  return lines
    .flatMap((l) => l.split('\n'))
    .filter((l) => l.includes('_aws'))
    .map((l) => JSON.parse(l));
}

describe("DORA's figures as CloudWatch metrics (EMF) when a promotion ends", () => {
  it('each ending event with its dora figures: deployments, change failures, rework, recovery and lead time, dimensioned by tenant and environment only', () => {
    const ev = (type: string, detail: Record<string, unknown>) => ({
      id: type,
      type,
      tenant: 'acme',
      detail: { tenant: 'acme', promotionId: 'p-1', ...detail },
    });
    const docs = captured(() =>
      eventMetrics([
        ev('Promotion Rolled Back', { targetEnvironment: 'production', status: 'ROLLED_BACK', dora: { deployed: 1, changeFailed: 1, rework: 0 } }),
        ev('Promotion Completed', {
          targetEnvironment: 'production',
          status: 'COMPLETED',
          dora: { deployed: 1, changeFailed: 0, rework: 1, recoverySeconds: 7200, leadTimeSeconds: 3600 },
        }),
        // No figures (an event written before them, or one that is no end): no DORA metric.
        ev('Promotion Completed', { targetEnvironment: 'staging', status: 'COMPLETED' }),
      ]),
    );
    const dora = docs.filter((d) => d._aws.CloudWatchMetrics[0].Metrics.some((m: { Name: string }) => m.Name.startsWith('Dora')));
    const seen = dora.flatMap((d) =>
      d._aws.CloudWatchMetrics[0].Metrics.map(
        (m: { Name: string; Unit: string }) => `${m.Name}=${d[m.Name]}${m.Unit === 'Seconds' ? 's' : ''}@${d.tenant}/${d.environment}`,
      ),
    );
    expect(seen.sort()).toEqual(
      [
        'DoraDeployments=1@acme/production',
        'DoraChangeFailures=1@acme/production',
        'DoraDeployments=1@acme/production',
        'DoraRework=1@acme/production',
        'DoraRecoveryTime=7200s@acme/production',
        'DoraLeadTime=3600s@acme/production',
      ].sort(),
    );
    for (const d of dora) {
      expect(d._aws.CloudWatchMetrics[0].Namespace).toBe('Stageline/DORA');
      // Bounded cardinality: tenant and environment (and the service Powertools adds), never a promotion id or a version.
      expect(d._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', 'tenant', 'environment']]);
    }
  });
});
