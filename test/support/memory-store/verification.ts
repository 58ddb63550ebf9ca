import type { AnalysisTemplate, MetricAccount, VerificationOp, VerificationStorePort } from '../../../domain/verification/ports.ts';
import { keys } from '../../../functions/adapters/keys.ts';
import type { MemoryState, Writers } from './area.ts';
import { versioned } from './table.ts';

/** A tenant's analysis templates: one item, versioned as a whole (as functions/adapters/store/analysis-templates.ts). */
export function verificationArea({ table }: MemoryState) {
  const port: VerificationStorePort = {
    async getAnalysisTemplates(tenant: string) {
      const item = table.get(keys.analysisTemplates(tenant));
      if (!item) return null;
      return { templates: structuredClone((item.templates ?? []) as AnalysisTemplate[]), version: Number(item.version) };
    },
    async getMetricAccounts(tenant: string) {
      const item = table.get(keys.metricAccounts(tenant));
      if (!item) return null;
      return { accounts: structuredClone((item.accounts ?? []) as MetricAccount[]), version: Number(item.version) };
    },
  };
  const writes: Writers<VerificationOp> = {
    analysisTemplates: (op, ctx) => [
      versioned(
        {
          ...keys.analysisTemplates(ctx.tenant),
          entity: 'AnalysisTemplates',
          templates: structuredClone(op.templates),
          version: (op.expectedVersion ?? 0) + 1,
        },
        op.expectedVersion,
      ),
    ],
    metricAccounts: (op, ctx) => [
      versioned(
        { ...keys.metricAccounts(ctx.tenant), entity: 'MetricAccounts', accounts: structuredClone(op.accounts), version: (op.expectedVersion ?? 0) + 1 },
        op.expectedVersion,
      ),
    ],
  };
  return { port, writes };
}
