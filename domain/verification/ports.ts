import type { AnalysisTemplate } from './template.ts';

export type { AnalysisTemplate };

/** A tenant's analysis templates: one item (few, bounded), versioned as a whole. */
export type VerificationOp = { kind: 'analysisTemplates'; templates: AnalysisTemplate[]; expectedVersion: number | null };

export interface VerificationStorePort {
  /** The tenant's templates and the version of their item; null when the tenant never saved one. */
  getAnalysisTemplates(tenant: string): Promise<{ templates: AnalysisTemplate[]; version: number } | null>;
}

/** The verification context's part of what a use case is given (domain/kernel/deps.ts): its store area and write op. */
declare module '../kernel/deps.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Store extends VerificationStorePort {}
  interface WriteOps {
    verification: VerificationOp;
  }
}
