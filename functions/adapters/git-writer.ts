import type { GitEdit, GitTarget, GitWrite, GitWriter, PullRequestClient } from '#domain/gitops/ports';
import type { GitCommitResult } from '#domain/kernel/promotion-model';
import type { SecretResolver } from '#domain/kernel/ports';
import { guardedGitHttp } from './git-http.ts';
import { MemFs } from './memfs.ts';
import { secretsFromEnv } from './secrets.ts';
import { HostedPullRequests } from './git-hosts.ts';

import { GitDeliveryError, transientGitFailure } from './git-errors.ts';
import { hasTargetPlaceholder } from '#domain/gitops/target-path';

export { GitDeliveryError };

/** Pushes tried before giving up when the branch keeps moving. */
const MAX_PUSHES = 4;
const DIR = '/repo';

/**
 * Commits a promoted version into an environment's git target with isomorphic-git (pure JavaScript,
 * so it runs inside Lambda), in memory (MemFs: no disk), over the outbound guard:
 *
 * 1. shallow clone of the one branch (depth 1);
 * 2. the file already holds the value: no commit (a step run again after a crash changes nothing);
 * 3. else set the value, commit, push; a push refused because the branch moved (not a fast-forward)
 *    is tried again from a fresh clone of the new head (MAX_PUSHES); a file that cannot take the
 *    value is a conflict that fails the promotion with what to fix. A push is all or nothing for the
 *    branch: a failure leaves the remote as it was.
 */
export class IsomorphicGitWriter implements GitWriter {
  readonly hosts: PullRequestClient;

  constructor(
    private readonly secrets: SecretResolver = secretsFromEnv(),
    private readonly http = guardedGitHttp(),
  ) {
    this.hosts = new HostedPullRequests(secrets);
  }

  /** The push token of a target and isomorphic-git's auth callbacks for it (Basic auth, as GitHub, GitLab and Bitbucket take a token; sent only to the configured origin). */
  private async auth(tenant: string, target: GitTarget) {
    let token: string | null = null;
    if (target.tokenSecret) {
      token = await this.secrets.resolve(tenant, target.tokenSecret, 'git-token');
      if (!token) throw new GitDeliveryError(`the git token secret '${target.tokenSecret}' does not exist for this tenant`);
    }
    const onAuth = () => (token ? { username: 'x-access-token', password: token } : { cancel: true });
    const onAuthFailure = () => {
      throw new GitDeliveryError(
        `the git remote refused the credentials${target.tokenSecret ? ` in '${target.tokenSecret}'` : ' (none configured: set tokenSecret)'}`,
      );
    };
    return { http: this.http, dir: DIR, url: target.repository, onAuth, onAuthFailure };
  }

  /** A shallow clone of the target's branch in memory, with the file's text (clear errors for a missing branch or file). */
  private async cloneBase(git: typeof import('isomorphic-git').default, common: Awaited<ReturnType<IsomorphicGitWriter['auth']>>, target: GitTarget) {
    const fs = new MemFs();
    try {
      await git.clone({ ...common, fs, ref: target.branch, singleBranch: true, depth: 1, noTags: true });
    } catch (err) {
      if (err instanceof GitDeliveryError) throw err;
      const missing = (err as { code?: string }).code === 'NotFoundError' || /could not find/i.test(String((err as Error).message));
      throw new GitDeliveryError(
        missing
          ? `the branch '${target.branch}' does not exist in ${target.repository}`
          : `cannot clone ${target.repository} (branch ${target.branch}): ${reason(err)}`,
        false,
        !missing && transientGitFailure(err),
      );
    }
    const head = await git.resolveRef({ fs, dir: DIR, ref: 'HEAD' });
    return { fs, head };
  }

  async pushBranch(input: Parameters<GitWriter['pushBranch']>[0]) {
    const { tenant, target, head: branch, message, author, at } = input;
    const edits = editsOf(target, input);
    const common = await this.auth(tenant, target);
    const [{ default: git }, { fileDiff, previousValue }] = await Promise.all([import('isomorphic-git'), import('#domain/gitops/edit')]);
    const { fs, head } = await this.cloneBase(git, common, target);
    const edited = await applyEdits(fs, target, edits);
    if (!edited.files.size) return { commit: head, changed: false, attempts: 0, base: head };
    for (const [file, f] of edited.files) {
      await fs.promises.writeFile(`${DIR}/${file}`, f.after);
      await git.add({ fs, dir: DIR, filepath: file });
    }
    // A fixed time (the promotion's): the same change on the same base is the same commit, so pushing it again changes nothing.
    const timestamp = Math.floor(at.getTime() / 1000);
    const commit = await git.commit({
      fs,
      dir: DIR,
      message,
      author: { ...author, timestamp, timezoneOffset: 0 },
      committer: { name: 'Stageline', email: author.email, timestamp, timezoneOffset: 0 },
    });
    try {
      const r = await git.push({ ...common, fs, ref: target.branch, remoteRef: branch, force: true });
      if (!r.ok) throw new Error(r.error ?? 'push refused');
    } catch (err) {
      if (err instanceof GitDeliveryError) throw err;
      // The promotion's own branch, pushed with force: sent again, it ends the same, so a push the host failed for a moment is tried again.
      throw new GitDeliveryError(`push of ${branch} to ${target.repository} failed: ${reason(err)}`, false, transientGitFailure(err));
    }
    const each = edits.map((e, i) => ({ artifact: e.artifact, file: e.file, path: e.path, previous: previousValue(edited.previous[i]) }));
    return {
      commit,
      changed: true,
      attempts: 1,
      base: head,
      change: {
        previous: each[0]?.previous ?? null,
        diff: [...edited.files].map(([file, f]) => fileDiff(file, f.before, f.after)).join('\n'),
        ...(input.edits ? { each } : {}),
      },
    };
  }

  async commit(input: Parameters<GitWriter['commit']>[0]): Promise<GitCommitResult> {
    const { tenant, target, message, author, checkOnly } = input;
    const edits = editsOf(target, input);
    const common = await this.auth(tenant, target);
    const { onAuth, onAuthFailure } = common;
    // Loaded on first use: only a promotion into an environment with a git target pays the init of
    // isomorphic-git and of the file editor (yaml): both are chunks of their own (code splitting).
    const { default: git } = await import('isomorphic-git');
    for (let attempt = 1; ; attempt++) {
      const fs = new MemFs();
      try {
        await git.clone({ ...common, fs, ref: target.branch, singleBranch: true, depth: 1, noTags: true });
      } catch (err) {
        throw new GitDeliveryError(`cannot clone ${target.repository} (branch ${target.branch}): ${reason(err)}`, false, transientGitFailure(err));
      }
      const head = await git.resolveRef({ fs, dir: DIR, ref: 'HEAD' });
      const edited = await applyEdits(fs, target, edits);
      if (!edited.files.size) return { commit: head, changed: false, attempts: attempt - 1 };
      if (checkOnly) {
        const e = edits.find((x) => edited.files.has(x.file))!;
        throw new GitDeliveryError(`${target.branch} of ${target.repository} does not hold ${e.written} at ${e.path} of ${e.file}`);
      }
      // Every file in one commit: a bundle's members reach the branch together or not at all.
      for (const [file, f] of edited.files) {
        await fs.promises.writeFile(`${DIR}/${file}`, f.after);
        await git.add({ fs, dir: DIR, filepath: file });
      }
      const now = Math.floor(Date.now() / 1000);
      const commit = await git.commit({
        fs,
        dir: DIR,
        message,
        author: { ...author, timestamp: now, timezoneOffset: 0 },
        committer: { name: 'Stageline', email: author.email, timestamp: now, timezoneOffset: 0 },
      });
      try {
        const r = await git.push({ ...common, fs, ref: target.branch, remoteRef: target.branch });
        if (r.ok) return { commit, changed: true, attempts: attempt };
        throw new Error(r.error ?? 'push refused');
      } catch (err) {
        // Refused because the branch moved since the clone (not a fast-forward, or the ref no longer at the head we saw)?
        const now = await git
          .listServerRefs({ http: this.http, url: target.repository, prefix: `refs/heads/${target.branch}`, onAuth, onAuthFailure })
          .catch(() => []);
        const remoteHead = now.find((r) => r.ref === `refs/heads/${target.branch}`)?.oid;
        const moved = (err as { code?: string }).code === 'PushRejectedError' || (remoteHead !== undefined && remoteHead !== head);
        if (moved && attempt < MAX_PUSHES) continue;
        // Tried again, the step clones again: a push that did land is found there (no second commit), one that did not is sent again.
        throw new GitDeliveryError(
          moved ? `${target.branch} kept moving: the push was refused ${attempt} times` : `push to ${target.repository} failed: ${reason(err)}`,
          false,
          !moved && transientGitFailure(err),
        );
      }
    }
  }
}

/** What to write: the edits asked for, or the one value at the target's own file and path. Every file must be rendered (no `{target}`). */
function editsOf(target: GitTarget, input: GitWrite): GitEdit[] {
  const edits = input.edits ?? [{ artifact: '', file: target.file, edit: target.edit, path: target.path, value: target.value, written: input.value ?? '' }];
  if (!edits.length) throw new GitDeliveryError('nothing to write: no edit was given');
  for (const e of edits) unrendered({ file: e.file, environment: target.environment });
  return edits;
}

/**
 * Applies every edit to the clone's files in memory (two edits of one file apply in turn to its text): the files that
 * change, before and after, and each edit's previous value. A file that cannot take its value fails them all.
 */
async function applyEdits(fs: MemFs, target: GitTarget, edits: GitEdit[]) {
  const { GitEditConflict, editFile } = await import('#domain/gitops/edit');
  const texts = new Map<string, { before: string; after: string }>();
  const previous: unknown[] = [];
  for (const e of edits) {
    let cur = texts.get(e.file);
    if (!cur) {
      let text: string;
      try {
        text = String(await fs.promises.readFile(`${DIR}/${e.file}`, 'utf8'));
      } catch {
        throw new GitDeliveryError(`${e.file} does not exist on ${target.branch} of ${target.repository}; create it (with ${e.path}) first`);
      }
      cur = { before: text, after: text };
      texts.set(e.file, cur);
    }
    try {
      // The place's own edit kind (a kustomization's images, Helm values, a JSON path), as a direct commit writes it.
      const edited = editFile(e, cur.after, e.written);
      previous.push(edited.previous);
      cur.after = edited.text;
    } catch (err) {
      if (err instanceof GitEditConflict) throw new GitDeliveryError(edits.length > 1 && e.artifact ? `${e.artifact}: ${err.message}` : err.message);
      throw err;
    }
  }
  const files = new Map([...texts].filter(([, f]) => f.after !== f.before));
  return { files, previous };
}

function reason(err: unknown): string {
  const e = err as { code?: string; message?: string; data?: { statusCode?: number } };
  if (e.data?.statusCode) return `HTTP ${e.data.statusCode}`;
  return (e.message ?? String(err)).split('\n')[0]!.slice(0, 300);
}

/**
 * The last guard of a file per target: a `{target}` placeholder must have been filled in (gitTargetFor) before
 * the writer is called; a literal `{target}` path is never cloned, created nor pushed.
 */
function unrendered(target: Pick<GitTarget, 'file' | 'environment'>): void {
  if (hasTargetPlaceholder(target.file))
    throw new GitDeliveryError(`${target.file} names a file per target of ${target.environment}: it is committed per target, never as written`);
}
