import type { AnalysisTemplate } from './template.ts';
import type { MetricAccount, MetricAccountsOp, MetricRole } from './metric-accounts.ts';

/** What a provider is asked: the template's texts with their placeholders filled in (header values may still name `${SECRET}`s). */
export interface RenderedQuery {
  query?: string;
  url?: string;
  headers?: { name: string; value: string }[];
}

/** Where and over which window a measurement is taken. */
export interface MeasureAt {
  /** the target's region (CloudWatch reads there); the deployment's when left out */
  region?: string;
  /** the account read (the template's, else the target's), when one is named */
  account?: string;
  /**
   * CloudWatch: the role the tenant registered for `account` and its external id. The adapter reads only with
   * a session of this role, never with its own credentials: without one, the query fails.
   */
  role?: MetricRole;
  /** how far back the query looks */
  lookbackSeconds: number;
  now: Date;
}

/**
 * The metric providers (Prometheus, CloudWatch, Datadog, a web endpoint): one query's values, at most
 * 50 of them, finite numbers only (an empty list: the query answered no data). A provider's failure
 * throws; its message never carries a secret.
 */
export interface MetricsPort {
  query(tenant: string, provider: AnalysisTemplate['provider'], rendered: RenderedQuery, at: MeasureAt): Promise<number[]>;
}

export type { AnalysisTemplate, MetricAccount, MetricRole };

/** A tenant's analysis templates: one item (few, bounded), versioned as a whole. */
export type VerificationOp = { kind: 'analysisTemplates'; templates: AnalysisTemplate[]; expectedVersion: number | null } | MetricAccountsOp;

export interface VerificationStorePort {
  /** The tenant's templates and the version of their item; null when the tenant never saved one. */
  getAnalysisTemplates(tenant: string): Promise<{ templates: AnalysisTemplate[]; version: number } | null>;
  /** The accounts the tenant registered a metric-reading role for, and the version of their item; null when none was ever saved. */
  getMetricAccounts(tenant: string): Promise<{ accounts: MetricAccount[]; version: number } | null>;
}

/** The verification context's part of what a use case is given (domain/kernel/deps.ts): its store area, write op and the metrics port. */
declare module '../kernel/deps.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Store extends VerificationStorePort {}
  interface WriteOps {
    verification: VerificationOp;
  }
  interface Ports {
    /** reads metrics for analysis templates (functions/adapters/metrics/) */
    metrics: MetricsPort;
  }
}
