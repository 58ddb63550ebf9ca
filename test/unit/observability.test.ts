import { describe, expect, it, vi } from 'vitest';
import { eventMetrics, sweptPromotions, writeConflicts } from '../../functions/adapters/observability.ts';

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
        ev('Promotion Approved', { targetEnvironment: 'production', status: 'APPROVED', approvalWaitSeconds: 42 }),
        ev('Evidence Added', { owner: 'x' }),
      ]);
      expect(n).toBe(3);
    } finally {
      spy.mockRestore();
    }
    const docs = lines.flatMap((l) => l.split('\n')).filter((l) => l.includes('_aws')).map((l) => JSON.parse(l));
    const names = docs.flatMap((d) => d._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => `${m.Name}@${d.environment}`));
    expect(names.sort()).toEqual(['ApprovalWaitSeconds@production', 'GateFailures@staging', 'PromotionsApproved@production', 'PromotionsCompleted@production', 'PromotionsFailed@staging']);
    expect(docs.find((d) => 'ApprovalWaitSeconds' in d).ApprovalWaitSeconds).toBe(42);
    expect(docs[0]._aws.CloudWatchMetrics[0].Namespace).toBe('Stageline');
  });

  it('counts write conflicts (retried and given up) and promotions the sweeper found stuck; nothing when there were none', () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      writeConflicts(0, 0);
      writeConflicts(3, 1);
      sweptPromotions();
    } finally {
      spy.mockRestore();
    }
    const docs = lines.flatMap((l) => l.split('\n')).filter((l) => l.includes('_aws')).map((l) => JSON.parse(l));
    expect(docs).toHaveLength(3);
    expect(docs[0]).toMatchObject({ WriteConflicts: 3 });
    expect(docs[1]).toMatchObject({ WritesGivenUp: 1 });
    expect(docs[2]).toMatchObject({ PromotionsSwept: 1, service: 'stageline' });
  });
});
