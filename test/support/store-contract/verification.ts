import { beforeAll, describe, expect, it } from 'vitest';
import { analysisTemplate, celReady, type AnalysisTemplate } from '../../../domain/verification/template.ts';
import { audit, conflict, type Contract } from './fixtures.ts';

const template = (name: string, query = 'sum(rate(http_requests_total{code=~"5.."}[1m]))'): AnalysisTemplate =>
  analysisTemplate.parse({ name, provider: { type: 'prometheus', address: 'https://prometheus.example.com', query }, successCondition: 'result < 0.01' });

/** Analysis templates: one item per tenant, written whole on its version. */
export function verificationContract(c: Contract) {
  describe('analysis templates', () => {
    beforeAll(celReady);
    it('creates the item once (exists), replaces it on its version (version), reads it back whole', async () => {
      const t = c.tenant();
      expect(await c.store().getAnalysisTemplates(t)).toBeNull();
      await c.store().commit(t, [
        { kind: 'analysisTemplates', templates: [template('error-rate')], expectedVersion: null },
        { kind: 'audit', entry: audit(t) },
      ]);
      expect(await conflict(c.store().commit(t, [{ kind: 'analysisTemplates', templates: [], expectedVersion: null }]))).toBe('exists');
      await c
        .store()
        .commit(t, [
          { kind: 'analysisTemplates', templates: [template('error-rate'), template('latency', 'histogram_quantile(0.99, x)')], expectedVersion: 1 },
        ]);
      expect(await conflict(c.store().commit(t, [{ kind: 'analysisTemplates', templates: [], expectedVersion: 1 }]))).toBe('version');
      const read = await c.store().getAnalysisTemplates(t);
      expect(read?.version).toBe(2);
      expect(read?.templates).toEqual([template('error-rate'), template('latency', 'histogram_quantile(0.99, x)')]);
      // Another tenant's item is its own.
      expect(await c.store().getAnalysisTemplates(c.tenant())).toBeNull();
    });
  });
  describe('metric accounts', () => {
    it('creates the item once (exists), replaces it on its version (version), reads it back whole, apart from the templates', async () => {
      const t = c.tenant();
      const a = { account: '111122223333', roleArn: 'arn:aws:iam::111122223333:role/stageline-metrics' };
      expect(await c.store().getMetricAccounts(t)).toBeNull();
      await c.store().commit(t, [
        { kind: 'metricAccounts', accounts: [a], expectedVersion: null },
        { kind: 'audit', entry: audit(t) },
      ]);
      expect(await conflict(c.store().commit(t, [{ kind: 'metricAccounts', accounts: [], expectedVersion: null }]))).toBe('exists');
      await c.store().commit(t, [{ kind: 'metricAccounts', accounts: [], expectedVersion: 1 }]);
      expect(await conflict(c.store().commit(t, [{ kind: 'metricAccounts', accounts: [a], expectedVersion: 1 }]))).toBe('version');
      expect(await c.store().getMetricAccounts(t)).toEqual({ accounts: [], version: 2 });
      // The tenant's templates are another item; another tenant's accounts are its own.
      expect(await c.store().getAnalysisTemplates(t)).toBeNull();
      expect(await c.store().getMetricAccounts(c.tenant())).toBeNull();
    });
  });
}
