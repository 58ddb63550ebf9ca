import { describe, expect, it, vi } from 'vitest';
import { eventMetrics } from '../../functions/adapters/observability.ts';

describe('metrics from the outbox (Powertools EMF)', () => {
  it('counts promotions by outcome and gate failures per target environment, from the events the stream consumer relays', () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const ev = (type: string, detail: Record<string, unknown>) => ({ id: type, type, tenant: 'acme', detail: { tenant: 'acme', ...detail } });
      const n = eventMetrics([
        ev('Promotion Completed', { targetEnvironment: 'production', status: 'COMPLETED' }),
        ev('Promotion Failed', { targetEnvironment: 'staging', status: 'VALIDATION_FAILED' }),
        ev('Evidence Added', { owner: 'x' }),
      ]);
      expect(n).toBe(2);
    } finally {
      spy.mockRestore();
    }
    const docs = lines.flatMap((l) => l.split('\n')).filter((l) => l.includes('_aws')).map((l) => JSON.parse(l));
    const names = docs.flatMap((d) => d._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => `${m.Name}@${d.environment}`));
    expect(names.sort()).toEqual(['GateFailures@staging', 'PromotionsCompleted@production', 'PromotionsFailed@staging']);
    expect(docs[0]._aws.CloudWatchMetrics[0].Namespace).toBe('Stageline');
  });
});
