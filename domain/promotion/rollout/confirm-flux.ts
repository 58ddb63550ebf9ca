import type { Confirmation } from '../../kernel/target-schemas.ts';
import type { With } from '../../kernel/deps.ts';
import type { Judgement } from './confirm-health.ts';
import { sameCommit, short, type Delivered } from './delivered.ts';

/**
 * Confirmation mode `flux`: the target's Flux Kustomization (kustomize.toolkit.fluxcd.io/v1, read through the
 * Kubernetes API) is Ready=True with the commit Stageline delivered as its `status.lastAppliedRevision` (Flux writes
 * `main@sha1:<sha>`, older versions `<sha>`: the sha is compared). Ready=False with a failure reason, or Stalled=True,
 * is reported as degraded, which fails the target in its bake.
 */

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);

/** Reasons Flux gives Ready=False while it is still working (not a failure). */
const WAITING = new Set(['Progressing', 'ProgressingWithRetry', 'DependencyNotReady']);

/** The Kustomization's last applied revision (as Flux writes it), or null. */
export const fluxRevision = (ks: unknown): string | null => str(obj(obj(ks).status).lastAppliedRevision);

/** Judges one read of a Flux Kustomization against what was delivered (pure: the unit tests call it). */
export function judgeFlux(ks: unknown, delivered: Delivered, opts: { name: string } = { name: 'the Kustomization' }): Judgement {
  const k = obj(ks);
  const status = obj(k.status);
  const conditions = Array.isArray(status.conditions) ? status.conditions.map(obj) : [];
  const cond = (type: string) => conditions.find((c) => c.type === type);
  const ready = cond('Ready');
  const stalled = cond('Stalled');
  const readyStatus = str(ready?.status) ?? 'Unknown';
  const reason = str(ready?.reason);
  const message = str(ready?.message);
  const revision = fluxRevision(ks);
  const generation = obj(k.metadata).generation;
  const observed = status.observedGeneration;
  const current = typeof generation !== 'number' || typeof observed !== 'number' || observed >= generation;
  const degraded = (readyStatus === 'False' && !WAITING.has(reason ?? '')) || stalled?.status === 'True';
  const ks_ = `Flux Kustomization ${opts.name}`;
  const seen = `Ready=${readyStatus}${reason ? ` ${reason}` : ''}${message ? ` (${message.slice(0, 200)})` : ''}, last applied ${revision ?? 'nothing'}`;
  if (readyStatus !== 'True' || !current)
    return {
      confirmed: false,
      detail: `${ks_} is ${seen}${current ? '' : ` (generation ${generation} not yet reconciled)`}`,
      ...(degraded ? { degraded } : {}),
    };
  if (!delivered.commits)
    return { confirmed: true, detail: `${ks_} is Ready at ${revision ?? 'no revision'} (no commit was delivered for this target to compare)` };
  const match = revision && delivered.commits.find((c) => sameCommit(revision, c));
  if (!match)
    return {
      confirmed: false,
      detail: `${ks_} is Ready at revision ${revision ?? 'none'}, not at the commit delivered for this target (${delivered.own ?? delivered.commits[0]})`,
    };
  const own = delivered.own && sameCommit(match, delivered.own);
  return {
    confirmed: true,
    detail: `${ks_} is Ready at ${short(match)}${own ? ' (the delivered commit)' : ` (a later commit of this rollout, after ${short(delivered.own ?? '')})`}`,
  };
}

/** One read of the target's Flux Kustomization, judged. */
export async function confirmFlux(
  deps: With<'gitopsStatus'>,
  tenant: string,
  confirm: Extract<Confirmation, { mode: 'flux' }>,
  name: string,
  delivered: (seen: string[]) => Promise<Delivered>,
): Promise<Judgement> {
  const read = await deps.gitopsStatus.fluxKustomization({
    tenant,
    apiServer: confirm.apiServer,
    namespace: confirm.namespace,
    name,
    tokenSecret: confirm.tokenSecret,
    ...(confirm.caSecret ? { caSecret: confirm.caSecret } : {}),
  });
  if (!read.ok) return { confirmed: false, degraded: true, detail: `Flux Kustomization ${confirm.namespace}/${name} could not be read: ${read.error}` };
  const revision = fluxRevision(read.body);
  return judgeFlux(read.body, await delivered(revision ? [revision] : []), { name: `${confirm.namespace}/${name}` });
}
