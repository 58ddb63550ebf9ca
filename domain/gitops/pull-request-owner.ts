import type { GitTarget, PullRequestClient, PullRequestState } from './ports.ts';

/**
 * Who opens Stageline's pull requests for a target: the GitHub App's bot (`<slug>[bot]`, as GitHub names an app's
 * actor) when the target names the app whose installation token it holds, else the login the host says the token
 * acts as (GET /user). Null: neither can say (an installation token with no app named) — then no pull request is
 * Stageline's (notOurs), and a delivery is refused before anything is pushed (unknownAuthor).
 */
export async function ourAuthor(hosts: Pick<PullRequestClient, 'whoami'>, tenant: string, target: GitTarget): Promise<string | null> {
  const slug = target.pullRequest?.appSlug;
  if (slug) return `${slug}[bot]`;
  return hosts.whoami({ tenant, target });
}

/** Why a pull request's author cannot be checked for this target, and what to set. */
export function unknownAuthor(target: Pick<GitTarget, 'pullRequest'>): string {
  return target.pullRequest?.host === 'gitlab'
    ? "the GitLab token cannot say who it is (GET /user refused), so Stageline cannot tell its own merge requests from anyone else's: use a token that can read its own user (a project, group or personal access token)"
    : "the GitHub token cannot say who it is (GET /user refused, as for a GitHub App's installation token), so Stageline cannot tell its own pull requests from anyone else's: set the git target's pullRequest.appSlug to the app's slug (its pull requests are opened by <slug>[bot])";
}

/**
 * Why a pull request is not this promotion's delivery (null: it is). A branch name is no proof: anyone who
 * reads the promotion id (CI logs print it) can open a pull request from a branch of that name, from a fork
 * or into another base. It is the promotion's only when it comes from the configured repository (not a
 * fork), merges into the configured base, its head is the commit Stageline pushed, and Stageline's token
 * (or the GitHub App the target names: ourAuthor) opened it. A pull request whose author cannot be checked
 * (the token cannot say who it is, or the host names no author) is never the promotion's. Checked when a
 * pull request is adopted and on every read.
 */
export function notOurs(
  s: PullRequestState,
  target: Pick<GitTarget, 'branch' | 'pullRequest'>,
  pushed: string | null | undefined,
  me: string | null,
): string | null {
  const what = `${s.host === 'gitlab' ? `merge request !${s.number}` : `pull request #${s.number}`} (${s.url})`;
  if (s.fromFork) return `${what} comes from a fork, not from the configured repository`;
  if (s.baseBranch !== target.branch) return `${what} merges into '${s.baseBranch}', not into the configured base '${target.branch}'`;
  if (pushed && s.headSha !== pushed) return `${what} has head ${s.headSha.slice(0, 12)}, not the commit Stageline pushed (${pushed.slice(0, 12)})`;
  if (!me) return `who opened ${what} cannot be checked: ${unknownAuthor(target)}`;
  if (!s.author) return `${what} names no author, so it cannot be checked that Stageline's token (${me}) opened it`;
  if (s.author !== me) return `${what} was opened by ${s.author}, not by Stageline's token (${me})`;
  return null;
}
