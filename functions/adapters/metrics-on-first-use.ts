import type { MetricsPort } from '#domain/verification/ports';
import { onFirstUse } from './on-first-use.ts';

/** Analysis templates' metric providers (functions/adapters/metrics/): loaded by the first measurement. */
export const metricsOnFirstUse = (): MetricsPort =>
  onFirstUse<MetricsPort>(() => import('./metrics/index.ts').then((m) => m.metricsFromEnv()), { query: true });
