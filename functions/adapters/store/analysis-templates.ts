import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { AnalysisTemplate, MetricAccount, VerificationOp, VerificationStorePort } from '#domain/verification/ports';
import { keys } from '../keys.ts';
import { createOrVersion, kindsOf, one, type Area } from './area.ts';
import type { StoreBase } from './base.ts';

/**
 * A tenant's analysis templates and its metric accounts (domain/verification): each all in one item, versioned as a whole
 * (few and bounded: the domain keeps them within 50 templates and 64 KiB of JSON). A write replaces the
 * list, conditioned on the version read (none: the item must not exist yet).
 */
export function analysisTemplateArea(base: StoreBase): Area<VerificationStorePort, VerificationOp> {
  const { db, table } = base;
  const port: VerificationStorePort = {
    async getAnalysisTemplates(tenant: string) {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.analysisTemplates(tenant), ConsistentRead: true }));
      if (!r.Item) return null;
      return { templates: (r.Item.templates ?? []) as AnalysisTemplate[], version: Number(r.Item.version) };
    },
    async getMetricAccounts(tenant: string) {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.metricAccounts(tenant), ConsistentRead: true }));
      if (!r.Item) return null;
      return { accounts: (r.Item.accounts ?? []) as MetricAccount[], version: Number(r.Item.version) };
    },
  };
  return {
    port,
    writes: {
      kinds: kindsOf<VerificationOp>({ analysisTemplates: true, metricAccounts: true }),
      items: (op, ctx) =>
        one(
          op.kind === 'analysisTemplates'
            ? base.put(
                { ...keys.analysisTemplates(ctx.tenant), entity: 'AnalysisTemplates', templates: op.templates, version: (op.expectedVersion ?? 0) + 1 },
                op.expectedVersion,
              )
            : base.put(
                { ...keys.metricAccounts(ctx.tenant), entity: 'MetricAccounts', accounts: op.accounts, version: (op.expectedVersion ?? 0) + 1 },
                op.expectedVersion,
              ),
          createOrVersion(op.expectedVersion),
        ),
    },
  };
}
