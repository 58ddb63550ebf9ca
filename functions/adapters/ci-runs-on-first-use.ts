import type { CiRuns } from '#domain/promotion/ports';
import { onFirstUse } from './on-first-use.ts';

/** The CI gates' hosts (functions/adapters/ci-runs.ts), loaded on first use: most promotions go into no CI-gated environment. */
export const ciRunsOnFirstUse = (): CiRuns => onFirstUse<CiRuns>(() => import('./ci-runs.ts').then((m) => new m.CiRunCalls()), { start: true, read: true });
