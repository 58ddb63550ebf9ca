import type { HealthProbe } from '#domain/promotion/ports';
import { onFirstUse } from './on-first-use.ts';

/*
 * One module per adapter loaded on first use (onFirstUse): a bundle reads only the `import()`s of
 * the modules it imports, so each function carries (as chunks) only the adapters it composes, and
 * infra/adapters.ts gives it only their env and IAM.
 */

/** Health checks of a target after a change (functions/adapters/health-probe.ts). */
export const probeOnFirstUse = (): HealthProbe =>
  onFirstUse<HealthProbe>(() => import('./health-probe.ts').then((m) => new m.GuardedHealthProbe()), { check: true });
