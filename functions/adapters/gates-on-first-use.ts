import type { GateProvider } from '#domain/promotion/ports';
import { onFirstUse } from './on-first-use.ts';

/*
 * One module per adapter loaded on first use (onFirstUse): a bundle reads only the `import()`s of
 * the modules it imports, so each function carries (as chunks) only the adapters it composes, and
 * infra/adapters.ts gives it only their env and IAM.
 */

/** Webhook gates (functions/adapters/webhook-gates.ts), called through the guarded outbound client. */
export const gatesOnFirstUse = (): GateProvider =>
  onFirstUse<GateProvider>(() => import('./webhook-gates.ts').then((m) => new m.HttpGateProvider()), { call: true });
