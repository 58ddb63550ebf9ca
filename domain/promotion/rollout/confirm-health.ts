import type { Confirmation } from '../../kernel/target-schemas.ts';
import type { With } from '../../kernel/deps.ts';

/**
 * What one poll of a polled confirmation found: `confirmed` moves the target on to its bake, `detail` says what was
 * seen (it becomes the confirmation's detail, or the reason when the deadline passes), `degraded` says the target is
 * known bad (a GitOps controller reports it Degraded or failed): during the bake that fails the target.
 */
export interface Judgement {
  confirmed: boolean;
  detail: string;
  degraded?: boolean;
}

/** Confirmation mode `health`: one GET of the target's URL through the guarded outbound client; the expected status confirms. */
export async function confirmHealth(deps: With<'probe'>, confirm: Extract<Confirmation, { mode: 'health' }>): Promise<Judgement> {
  const got = await deps.probe.check(confirm.url, 5000);
  if (got.status === confirm.expectStatus) return { confirmed: true, detail: `HTTP ${got.status}` };
  return { confirmed: false, detail: got.status === null ? (got.error ?? 'no answer') : `HTTP ${got.status}` };
}
