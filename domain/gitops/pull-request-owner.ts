import type { GitTarget, PullRequestState } from './ports.ts';

/**
 * Why a pull request is not this promotion's delivery (null: it is). A branch name is no proof: anyone who
 * reads the promotion id (CI logs print it) can open a pull request from a branch of that name, from a fork
 * or into another base. It is the promotion's only when it comes from the configured repository (not a
 * fork), merges into the configured base, its head is the commit Stageline pushed, and (where the host says
 * who the token is) Stageline's token opened it. Checked when a pull request is adopted and on every read.
 */
export function notOurs(s: PullRequestState, target: Pick<GitTarget, 'branch'>, pushed: string | null | undefined, me: string | null): string | null {
  const what = `${s.host === 'gitlab' ? `merge request !${s.number}` : `pull request #${s.number}`} (${s.url})`;
  if (s.fromFork) return `${what} comes from a fork, not from the configured repository`;
  if (s.baseBranch !== target.branch) return `${what} merges into '${s.baseBranch}', not into the configured base '${target.branch}'`;
  if (pushed && s.headSha !== pushed) return `${what} has head ${s.headSha.slice(0, 12)}, not the commit Stageline pushed (${pushed.slice(0, 12)})`;
  if (me && s.author && s.author !== me) return `${what} was opened by ${s.author}, not by Stageline's token (${me})`;
  return null;
}
