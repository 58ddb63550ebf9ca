import type { GitWriter, PullRequestClient } from '#domain/gitops/ports';
import { onFirstUse } from './on-first-use.ts';

/*
 * One module per adapter loaded on first use (onFirstUse): a bundle reads only the `import()`s of
 * the modules it imports, so each function carries (as chunks) only the adapters it composes, and
 * infra/adapters.ts gives it only their env and IAM.
 */

/** Git targets' commits and pull requests (functions/adapters/git-writer.ts, the git hosts' APIs under it): one writer, made on first use. */
export function gitOnFirstUse(): GitWriter {
  let made: Promise<GitWriter> | undefined;
  const writer = () => (made ??= import('./git-writer.ts').then((m) => new m.IsomorphicGitWriter()));
  const own = onFirstUse<Pick<GitWriter, 'commit' | 'pushBranch'>>(writer, { commit: true, pushBranch: true });
  const hosts = onFirstUse<PullRequestClient>(() => writer().then((w) => w.hosts), {
    check: true,
    find: true,
    whoami: true,
    open: true,
    get: true,
    merge: true,
    close: true,
    deleteBranch: true,
  });
  return { ...own, hosts };
}
