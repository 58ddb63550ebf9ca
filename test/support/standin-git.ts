import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GitServer } from './git-server.ts';

/** A timestamp as the hosts write it (seconds, UTC). */
export const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** Whether `fn` runs without throwing (a git command that succeeds). */
export const ok = (fn: () => unknown) => {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
};

/**
 * The repositories of the test git server as a hosting stand-in works on them, by name (`owner/name`, a
 * project path): real git on the served bare repositories.
 */
export function servedRepos(g: GitServer) {
  const bare = (name: string) => join(g.root, `${name}.git`);
  const git = (name: string, ...args: string[]) => g.git(bare(name), ...args).trim();
  /** the branch's head commit, null when there is no such branch */
  const head = (name: string, branch: string): string | null => {
    try {
      return git(name, 'rev-parse', '--verify', '-q', `refs/heads/${branch}`);
    } catch {
      return null;
    }
  };
  /** a real merge commit of `source` into `target` (no fast-forward), pushed: its sha, null when it does not merge */
  function mergeInto(name: string, source: string, target: string, message: string): string | null {
    const work = mkdtempSync(join(tmpdir(), 'standin-merge-'));
    try {
      g.git(work, 'clone', '-q', bare(name), 'w');
      const w = join(work, 'w');
      g.git(w, 'checkout', '-q', target);
      try {
        g.git(w, 'merge', '--no-ff', '-q', '-m', message, `origin/${source}`);
      } catch {
        return null;
      }
      g.git(w, 'push', '-q', 'origin', target);
      return g.git(w, 'rev-parse', 'HEAD').trim();
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return { git, head, mergeInto };
}
