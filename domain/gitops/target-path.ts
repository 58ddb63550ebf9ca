import { ValidationFailed } from '../kernel/errors.ts';
import type { GitTarget } from './ports.ts';

/**
 * A git target's file per target of its environment: `envs/production/{target}/values.yaml` names a
 * file for each target (a rollout through the waves commits each target's file as it changes it).
 * The placeholder is allowed only where the environment declares targets, and whatever target fills
 * it, the file stays a relative path inside the repository (target names are lower-case letters,
 * digits and dashes, so a name can add neither a segment nor `..`; the rendered path is checked again).
 */
export const TARGET_PLACEHOLDER = '{target}';

/**
 * The rule a git target's `file` is held to, where it is set (with `{target}` placeholders) and once rendered
 * per target: a relative path to a .yaml, .yml or .json file inside the work tree — no `.` or `..` segment, no
 * `.git` segment in any case (the repository's own files, as a case-insensitive checkout reads them), no empty
 * segment (`//`).
 */
const FILE_RULE = (segment: string) => new RegExp(`^(?!/)(?!.*//)(?!.*(?:^|/)(?:\\.\\.?|\\.[gG][iI][tT])(?:/|$))(?:${segment})+\\.(?:ya?ml|json)$`);
export const GIT_FILE = FILE_RULE('[A-Za-z0-9._/-]|\\{target\\}');
export const GIT_FILE_MESSAGE =
  'must be a relative path to a .yaml, .yml or .json file inside the repository (no ., .. or .git segments, no //); {target} stands for a target of the environment';
/** A rendered file (no placeholder left). */
export const REPO_FILE = FILE_RULE('[A-Za-z0-9._/-]');

export const hasTargetPlaceholder = (file: string): boolean => file.includes(TARGET_PLACEHOLDER);

/**
 * Checks a git target's file against its environment's targets (names): a `{target}` placeholder needs
 * targets to fill it, and every target's rendered file must be a path inside the repository.
 */
export function assertGitFileFor(file: string, targets: readonly string[], field = 'body.file', pullRequest = false): void {
  if (!hasTargetPlaceholder(file)) return;
  // A rollout commits each target's file as its wave changes it and puts it back on a rollback, within minutes;
  // a pull request per target per wave, each waiting for its merge, is not what a wave is: refused, not half-done.
  if (pullRequest)
    throw new ValidationFailed([
      {
        path: field,
        message: `${TARGET_PLACEHOLDER} names a file per target, which a rollout commits straight to the branch as each wave changes its targets: pull-request mode does not take it (name one file, or leave pullRequest out)`,
      },
    ]);
  if (!targets.length)
    throw new ValidationFailed([
      { path: field, message: `${TARGET_PLACEHOLDER} names a file per target, and this environment declares no targets: declare them first, or name one file` },
    ]);
  for (const t of targets) gitPathFor({ file }, t, field);
}

/**
 * THE file a rollout commits for one target of the environment (`targetName`), or for the environment
 * as a whole (null: a file without the placeholder). Refuses (400) a file whose placeholder is left
 * unfilled or whose rendered path would leave the repository.
 */
export function gitPathFor(gitTarget: Pick<GitTarget, 'file'>, targetName: string | null, field = 'file'): string {
  if (!hasTargetPlaceholder(gitTarget.file)) return gitTarget.file;
  if (targetName === null) throw new ValidationFailed([{ path: field, message: `'${gitTarget.file}' names a file per target: give the target to commit for` }]);
  const file = gitTarget.file.split(TARGET_PLACEHOLDER).join(targetName);
  if (!REPO_FILE.test(file) || file.length > 300)
    throw new ValidationFailed([
      { path: field, message: `'${file}' (for target '${targetName}') is not a relative path to a .yaml, .yml or .json file inside the repository` },
    ]);
  return file;
}

/** The git target as one target of the environment gets it: its file rendered (what the git writer commits). */
export function gitTargetFor<T extends Pick<GitTarget, 'file'>>(gitTarget: T, targetName: string | null): T {
  return { ...gitTarget, file: gitPathFor(gitTarget, targetName) };
}
