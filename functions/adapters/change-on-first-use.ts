import type { ChangeTools } from '#domain/change/ports';
import { onFirstUse } from './on-first-use.ts';

/** The tenants' change management tools (functions/adapters/change/providers.ts), loaded on first use: most promotions go into no change-controlled environment. */
export const changesOnFirstUse = (): ChangeTools =>
  onFirstUse<ChangeTools>(() => import('./change/providers.ts').then((m) => new m.ChangeToolsAdapter()), { open: true });
