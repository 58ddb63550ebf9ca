import * as z from '../kernel/zod.ts';
import { artifactName } from '../kernel/promotion-schemas.ts';
import { noReservedSegment, ownValue } from '../kernel/reserved-keys.ts';
import type { GitArtifactPath, GitEdit, GitEditKind, GitTarget } from './ports.ts';
import { GIT_FILE, GIT_FILE_MESSAGE, hasTargetPlaceholder } from './target-path.ts';

/**
 * A git target's path map: where each artifact's value goes (`paths: { "<artifact>": { file, edit, path, value } }`),
 * so a bundle's members are each written to their own file or path, all in one commit or one pull request. An entry
 * leaves out what it shares with the target (its file, edit kind, value). The map's keys are artifact names: data,
 * read with own-property checks only (gitPathOf), never walked as object members.
 */

/** Artifacts one git target maps (a bundle has at most as many members). */
export const MAX_GIT_PATHS = 50;

export const gitPathEntry = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    file: z
      .optional(z.string().check(z.minLength(1), z.maxLength(300), z.regex(GIT_FILE, GIT_FILE_MESSAGE)))
      .check(z.describe("the artifact's file; omit for the target's own file")),
    edit: z
      .optional(z.enum(['yaml-path', 'kustomize-image', 'helm-values', 'json-path'] satisfies GitEditKind[]))
      .check(z.describe("how its value is written; omit for the target's own edit")),
    path: z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(255),
        noReservedSegment(),
        z.describe('where its value goes in the file: dotted keys, or the image name for kustomize-image'),
      ),
    value: z.optional(z.enum(['version', 'digest', 'version@digest'])).check(z.describe("what is written; omit for the target's own value")),
  }),
);

export const gitPathsBody = /* @__PURE__ */ z.schema(() =>
  z.record(artifactName, gitPathEntry).check(
    z.refine((m) => Object.keys(m).length <= MAX_GIT_PATHS, `must map at most ${MAX_GIT_PATHS} artifacts`),
    z.describe(
      'where each artifact\'s value goes, by artifact name: { "checkout-api": { "file": "envs/prod/api.yaml", "path": "image.tag" } } (file, edit and value default to the target\'s); a bundle into the environment needs every member mapped, and is written in one commit (or one pull request); an artifact not mapped goes to file and path',
    ),
  ),
);

/** What is written for an artifact version at a place: the version, the digest, or both as <version>@<digest>. */
export const gitValueOf = (target: Pick<GitTarget, 'value'>, p: { subject: { version: string; digest: string } }) =>
  target.value === 'digest' ? p.subject.digest : target.value === 'version@digest' ? `${p.subject.version}@${p.subject.digest}` : p.subject.version;

/** An artifact's entry in the target's map, if the map names it (own keys only). */
export const gitPathOf = (target: Pick<GitTarget, 'paths'>, artifact: string): GitArtifactPath | undefined => ownValue(target.paths ?? undefined, artifact);

/** The artifacts a target maps, sorted. */
export const mappedArtifacts = (target: Pick<GitTarget, 'paths'>): string[] => Object.keys(target.paths ?? {}).sort();

/** A path map as it is stored and written in a manifest: null when empty; each entry without the parts it leaves out; keys sorted. */
export function storedPaths(paths: GitTarget['paths'] | undefined): GitTarget['paths'] {
  const names = paths ? mappedArtifacts({ paths }) : [];
  if (!paths || !names.length) return null;
  return Object.fromEntries(
    names.map((name) => {
      const e = gitPathOf({ paths }, name)!;
      return [name, { ...(e.file ? { file: e.file } : {}), ...(e.edit ? { edit: e.edit } : {}), path: e.path, ...(e.value ? { value: e.value } : {}) }];
    }),
  );
}

/** One artifact's place in the target: its entry with the target's file, edit and value where it leaves them out. */
export function placeOf(target: GitTarget, entry: GitArtifactPath): GitTarget {
  return { ...target, file: entry.file ?? target.file, edit: entry.edit ?? target.edit, path: entry.path, value: entry.value ?? target.value };
}

/**
 * The git target as one artifact is written to it: its mapped place when the map names it, else the target's own
 * file and path (an artifact promoted alone into an environment that maps it goes where a bundle would put it).
 */
export function gitTargetForArtifact(target: GitTarget, artifact: string): GitTarget {
  const entry = gitPathOf(target, artifact);
  return entry ? placeOf(target, entry) : target;
}

/** Whether any file the target writes names one per target (`{target}`): its own or a mapped one. */
export const anyPerTargetFile = (target: GitTarget): boolean =>
  hasTargetPlaceholder(target.file) || mappedArtifacts(target).some((a) => hasTargetPlaceholder(gitPathOf(target, a)!.file ?? ''));

/** The members of a bundle the target has no path for (a bundle is written whole or not at all). */
export const unmappedMembers = (target: Pick<GitTarget, 'paths'>, members: readonly { name: string }[]): string[] =>
  members.filter((m) => !gitPathOf(target, m.name)).map((m) => m.name);

/** Why a bundle is not written to a target that leaves members out: each missing member and the path that would name it. */
export const unmappedText = (environment: string, bundle: string, missing: readonly string[]): string =>
  `'${environment}' delivers through a git target with no path for ${missing.map((m) => `${m} (paths.${m})`).join(', ')} of bundle ${bundle}: ` +
  `add ${missing.length > 1 ? 'them' : 'it'} to the git target's paths (file, path), so every member is written in one commit; nothing was written`;

/**
 * The edits that write each member's value into its mapped place (`renderFile`: a file per target rendered for
 * the target being changed). Every member must be mapped: unmappedMembers first.
 */
export function bundleEdits(
  target: GitTarget,
  members: readonly { name: string; version: string; digest: string }[],
  renderFile: (place: GitTarget) => string = (place) => place.file,
): GitEdit[] {
  return members.map((m) => {
    const place = placeOf(target, gitPathOf(target, m.name)!);
    return {
      artifact: m.name,
      file: renderFile(place),
      edit: place.edit ?? 'yaml-path',
      path: place.path,
      value: place.value,
      written: gitValueOf(place, { subject: m }),
    };
  });
}
