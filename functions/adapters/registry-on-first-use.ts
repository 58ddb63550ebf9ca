import type { RegistrySync } from '#domain/artifacts/ports';
import { onFirstUse } from './on-first-use.ts';

/*
 * One module per adapter loaded on first use (onFirstUse): a bundle reads only the `import()`s of
 * the modules it imports, so each function carries (as chunks) only the adapters it composes, and
 * infra/adapters.ts gives it only their env and IAM.
 */

/** Registry copies and referrers (functions/adapters/registry-credentials.ts, the OCI client under it). */
export const registryOnFirstUse = (): RegistrySync =>
  onFirstUse<RegistrySync>(() => import('./registry-credentials.ts').then((m) => new m.ConfiguredRegistrySync()), {
    sync: true,
    attach: true,
    verifySignature: true,
  });
