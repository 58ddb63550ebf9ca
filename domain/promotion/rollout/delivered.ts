import type { Deps } from '../../kernel/deps.ts';
import type { Promotion, RolloutTarget } from '../../kernel/promotion-model.ts';

/**
 * What Stageline delivered for a target through git, as a GitOps controller's revision is compared with: the
 * target's own commit (its apply's per-target git delivery), and the commits of this rollout's targets applied after
 * it (they descend from it on the same branch: a controller watching the branch reports its head, which may already
 * be a later target's commit). `commits` null: nothing was delivered through git for this target (a config release,
 * an environment without a per-target git file), so there is no commit to compare.
 */
export interface Delivered {
  own: string | null;
  commits: string[] | null;
}

/** The commit a controller's revision names: `main@sha1:<sha>` (Flux), `sha1:<sha>`, `main/<sha>` (older Flux) or `<sha>`. */
export function shaOf(revision: string): string | null {
  const m = /(?:^|[@:/])([0-9a-f]{40}|[0-9a-f]{64})$/i.exec(revision.trim());
  return m ? m[1]!.toLowerCase() : null;
}

/** Whether a controller's revision names this commit. */
export const sameCommit = (revision: string, commit: string): boolean => shaOf(revision) === commit.toLowerCase();

export const short = (commit: string) => (shaOf(commit) ?? commit).slice(0, 12);

/**
 * The commits a target's controller may report to confirm it, given what it reports (`seen`): the target's own
 * commit, and only when the controller reports another, the later commits of the same rollout (one query).
 */
export async function deliveredFor(deps: Deps, p: Promotion, item: RolloutTarget, seen: string[]): Promise<Delivered> {
  const own = item.git?.commit ?? null;
  if (!own) return { own: null, commits: null };
  if (seen.some((r) => sameCommit(r, own))) return { own, commits: [own] };
  const items = await deps.store.listRolloutTargets(p.tenant, p.id);
  const from = item.appliedAt ?? '';
  const later = items.filter((t) => t.name !== item.name && t.git?.commit && !t.git.revert && (t.appliedAt ?? '') >= from).map((t) => t.git!.commit!);
  return { own, commits: [own, ...later] };
}
