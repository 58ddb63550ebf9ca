import type { Confirmation } from '../../kernel/target-schemas.ts';
import type { With } from '../../kernel/deps.ts';
import type { Judgement } from './confirm-health.ts';
import { sameCommit, short, type Delivered } from './delivered.ts';

/**
 * Confirmation mode `argocd`: the target's Argo CD application (GET {server}/api/v1/applications/{name}, Argo CD's
 * `v1alpha1Application`) is Synced at the commit Stageline delivered for the target and Healthy. A sync at another
 * revision never confirms; Degraded (or Missing) is reported as degraded, which fails the target in its bake.
 */

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);

/** The revision(s) an application's last comparison was made at (one source: `revision`; several: `revisions`). */
export function argocdRevisions(app: unknown): string[] {
  const sync = obj(obj(obj(app).status).sync);
  const many = Array.isArray(sync.revisions) ? sync.revisions.map(str).filter((x): x is string => !!x) : [];
  const one = str(sync.revision);
  return one ? [one, ...many] : many;
}

/** Judges one read of an Argo CD application against what was delivered (pure: the unit tests call it). */
export function judgeArgocd(app: unknown, delivered: Delivered, opts: { name: string; project?: string } = { name: 'the application' }): Judgement {
  const a = obj(app);
  const status = obj(a.status);
  const sync = str(obj(status.sync).status) ?? 'Unknown';
  const health = obj(status.health);
  const healthStatus = str(health.status) ?? 'Unknown';
  const healthMessage = str(health.message);
  const op = obj(status.operationState);
  const opFailed = op.phase === 'Failed' || op.phase === 'Error' ? ` (last sync ${op.phase}${str(op.message) ? `: ${str(op.message)}` : ''})` : '';
  const revisions = argocdRevisions(app);
  const rev = revisions[0] ?? null;
  const project = str(obj(a.spec).project);
  const degraded = healthStatus === 'Degraded' || healthStatus === 'Missing';
  const seen = `${sync} at ${rev ?? 'no revision'}, ${healthStatus}${healthMessage ? ` (${healthMessage.slice(0, 200)})` : ''}${opFailed}`;
  const app_ = `Argo CD application ${opts.name}`;
  if (opts.project && project !== opts.project)
    return { confirmed: false, detail: `${app_} belongs to project ${project ?? '(none)'}, not ${opts.project}: it cannot confirm this target` };
  if (sync !== 'Synced' || healthStatus !== 'Healthy') return { confirmed: false, detail: `${app_} is ${seen}`, ...(degraded ? { degraded } : {}) };
  if (!delivered.commits) {
    // Nothing was delivered through git for this target: Synced and Healthy is all that is known.
    return { confirmed: true, detail: `${app_} is Synced at ${rev ?? 'no revision'} and Healthy (no commit was delivered for this target to compare)` };
  }
  const match = revisions.find((r) => delivered.commits!.some((c) => sameCommit(r, c)));
  if (!match)
    return {
      confirmed: false,
      detail: `${app_} is Synced at revision ${rev ?? 'none'}, not at the commit delivered for this target (${delivered.own ?? delivered.commits[0]}): ${healthStatus}`,
    };
  const own = delivered.own && sameCommit(match, delivered.own);
  return {
    confirmed: true,
    detail: `${app_} is Synced at ${short(match)}${own ? ' (the delivered commit)' : ` (a later commit of this rollout, after ${short(delivered.own ?? '')})`} and Healthy`,
  };
}

/** One read of the target's Argo CD application, judged. */
export async function confirmArgocd(
  deps: With<'gitopsStatus'>,
  tenant: string,
  confirm: Extract<Confirmation, { mode: 'argocd' }>,
  name: string,
  delivered: (seen: string[]) => Promise<Delivered>,
): Promise<Judgement> {
  const read = await deps.gitopsStatus.argocdApplication({ tenant, server: confirm.server, name, tokenSecret: confirm.tokenSecret, project: confirm.project });
  if (!read.ok) return { confirmed: false, degraded: true, detail: `Argo CD application ${name} could not be read: ${read.error}` };
  return judgeArgocd(read.body, await delivered(argocdRevisions(read.body)), { name, project: confirm.project });
}
