import * as z from '../kernel/zod.ts';
import { auditEntry } from '../audit/audit.ts';
import { EnvironmentNotFound, GitTargetNotFound, RuleViolation, ValidationFailed, VersionConflict, type Issue } from '../kernel/errors.ts';
import type { Ctx, Deps } from '../kernel/deps.ts';
import type { SecretPurpose, SecretResolver } from '../kernel/ports.ts';
import { refusedByStored } from '../kernel/retry.ts';
import type { Promotion } from '../kernel/promotion-model.ts';
import { checkTenantUrl, TENANT_URL_FORMAT } from '../kernel/url-policy.ts';
import type { GitEditKind, GitTarget, PullRequestOptions } from './ports.ts';
import { noReservedSegment } from '../kernel/reserved-keys.ts';
import { assertGitFileFor, GIT_FILE, GIT_FILE_MESSAGE } from './target-path.ts';
import { gitPathOf, gitPathsBody, gitValueOf, mappedArtifacts, storedPaths } from './path-map.ts';

/**
 * GitOps delivery: an environment may name a git target (repository, branch, file, a path inside the
 * YAML or JSON file). When an artifact promotion or rollback into it executes, the promoted version
 * (or digest) is committed there and pushed, before the promotion's own transaction: a git failure
 * fails the promotion with its reason and the environment stays as it was. Argo CD or Flux watching
 * the repository deploy it.
 */
const relPath = /* @__PURE__ */ z.schema(() =>
  z.string().check(
    z.minLength(1),
    z.maxLength(300),
    // `{target}`: a file per target of the environment (domain/gitops/target-path.ts renders and checks it).
    z.regex(GIT_FILE, GIT_FILE_MESSAGE),
  ),
);

const secretName = /* @__PURE__ */ z.schema(() =>
  z.string().check(z.regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'must be a secret name (A-Z, 0-9, _), e.g. GITOPS_TOKEN')),
);

/** A GitHub App's slug as GitHub forms it from the app's name: lowercase letters, digits and single hyphens. */
const APP_SLUG = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** Pull-request mode of a git target: where the pull request (merge request) is opened and how. */
export const pullRequestBody = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      host: z
        .enum(['github', 'gitlab'])
        .check(z.describe('github: a pull request through the GitHub REST API; gitlab: a merge request through the GitLab REST API')),
      apiUrl: z
        .optional(z.nullable(z.string().check(z.minLength(1), z.maxLength(2048), z.meta(TENANT_URL_FORMAT))))
        .check(
          z.describe(
            'the API: GitHub Enterprise https://ghe.example.com/api/v3, a GitLab host https://gitlab.example.com; omit for api.github.com or gitlab.com',
          ),
        ),
      tokenSecret: secretName.check(
        z.describe(
          'the secret holding the API token, stored for this use only: Secrets Manager stageline/<tenant>/github-token/<NAME> (or gitlab-token) on AWS, STAGELINE_SECRET_<TENANT>__GITHUB_TOKEN__<NAME> locally',
        ),
      ),
      webhookSecret: z
        .optional(z.nullable(secretName))
        .check(
          z.describe(
            "the secret the host's webhook is signed with (GitHub X-Hub-Signature-256, GitLab X-Gitlab-Token): stageline/<tenant>/git-webhook/<NAME>; omit to rely on the poll alone",
          ),
        ),
      appSlug: z
        .optional(
          z.nullable(
            z.string().check(z.maxLength(100), z.regex(APP_SLUG, "must be a GitHub App's slug (lowercase letters, digits and -), e.g. stageline-release")),
          ),
        )
        .check(
          z.describe(
            "GitHub only, and needed when tokenSecret holds a GitHub App's installation token (which cannot read GET /user): the app's slug (GET /app answers it as `slug`, the installation as `app_slug`). Stageline's pull requests are then those opened by `<slug>[bot]`; without it, an installation token cannot say who opened a pull request and the promotion fails rather than adopt one",
          ),
        ),
      draft: z._default(z.boolean(), false).check(z.describe('open it as a draft')),
      autoMerge: z
        ._default(z.boolean(), false)
        .check(z.describe('merge it when its checks pass (GitHub: Stageline merges a clean pull request; GitLab: merge when the pipeline succeeds)')),
      reviewers: z
        ._default(z.array(z.string().check(z.minLength(1), z.maxLength(100))).check(z.maxLength(20)), [])
        .check(z.describe('user names asked to review')),
      labels: z._default(z.array(z.string().check(z.minLength(1), z.maxLength(100))).check(z.maxLength(20)), []),
    })
    .check(
      z.refine((pr) => !pr.appSlug || pr.host === 'github', {
        message: "a GitHub App's slug is for host github only: a GitLab token (a project, group or personal access token) says who it is itself",
        path: ['appSlug'],
      }),
    ),
);

/** Pull-request mode as stored: the optional names a body may leave out are null. */
export const storedPullRequest = (pr: z.infer<typeof pullRequestBody>): PullRequestOptions => ({
  ...pr,
  apiUrl: pr.apiUrl ?? null,
  webhookSecret: pr.webhookSecret ?? null,
  appSlug: pr.appSlug ?? null,
});

const DOTTED_KEYS = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
/** An image name as a kustomization's `images:` entry names it: [host[:port]/]path, no tag or digest. */
const IMAGE_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]+([._-]+[a-z0-9]+)*)*$/;

/**
 * What the edit kind asks of the file and the path, beyond each field's own form (a 400 naming the field,
 * at configuration — the API or a manifest — rather than a failed promotion later): `at` is the
 * target's place in the request (e.g. `body`, `document.artifacts.promotion.git_targets.production`).
 */
export function gitEditIssues(
  t: { edit?: GitEditKind; file: string; path: string; paths?: GitTarget['paths'] },
  at: string,
): { path: string; message: string }[] {
  const edit = t.edit ?? 'yaml-path';
  const issues: { path: string; message: string }[] = [];
  // Each mapped artifact's place, with what it shares with the target (its file, its edit kind), is held to the same rules.
  for (const artifact of mappedArtifacts(t)) {
    const e = gitPathOf(t, artifact)!;
    issues.push(...gitEditIssues({ edit: e.edit ?? edit, file: e.file ?? t.file, path: e.path }, `${at}.paths.${artifact}`));
  }
  const file = (message: string) => issues.push({ path: `${at}.file`, message });
  if (edit === 'kustomize-image') {
    if (!/(^|\/)kustomization\.ya?ml$/.test(t.file)) file('the kustomize-image edit writes a kustomization.yaml (or .yml); name that file');
    if (!IMAGE_NAME.test(t.path))
      issues.push({ path: `${at}.path`, message: 'must be the image name of the images: entry, e.g. registry.example.com/team/platform' });
    return issues;
  }
  if (edit === 'json-path' && !/\.json$/i.test(t.file)) file('the json-path edit writes a .json file; use yaml-path or helm-values for YAML');
  if (edit === 'helm-values' && !/\.ya?ml$/i.test(t.file)) file('the helm-values edit writes a Helm values .yaml (or .yml) file');
  if (!DOTTED_KEYS.test(t.path)) issues.push({ path: `${at}.path`, message: 'must be dot-separated keys, e.g. image.tag' });
  return issues;
}

export const gitTargetBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    repository: z.string().check(z.minLength(1), z.maxLength(2048), z.meta(TENANT_URL_FORMAT), z.describe('https URL of the repository')),
    branch: z.string().check(z.minLength(1), z.maxLength(200), z.regex(/^(?!\/)(?!.*\.\.)[A-Za-z0-9._/-]+$/, 'is not a branch name')),
    file: relPath.check(
      z.describe(
        "the file to change, e.g. envs/production/values.yaml; with targets, one per target: envs/production/{target}/values.yaml (a rollout commits each target's file as its wave changes it; not with pullRequest: 400)",
      ),
    ),
    edit: z
      ._default(z.enum(['yaml-path', 'kustomize-image', 'helm-values', 'json-path'] satisfies GitEditKind[]), 'yaml-path')
      .check(
        z.describe(
          'how the value is written: yaml-path (default; path = dotted keys in a YAML or JSON file), kustomize-image (file = a kustomization.yaml, path = the name of its images: entry; newTag and/or digest set, the entry added when missing), helm-values (a dotted key in a Helm values .yaml), json-path (dotted keys in a .json file)',
        ),
      ),
    path: z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(255),
        z.regex(
          new RegExp(`${DOTTED_KEYS.source}|${IMAGE_NAME.source}`),
          'must be dot-separated keys (e.g. image.tag), or for kustomize-image an image name (e.g. registry.example.com/team/platform)',
        ),
        noReservedSegment(),
        z.describe('where the value goes in the file: dotted keys, or the image name for kustomize-image'),
      ),
    value: z._default(z.enum(['version', 'digest', 'version@digest']), 'version').check(z.describe('what is written (default: the version)')),
    paths: z.optional(z.nullable(gitPathsBody)),
    tokenSecret: z
      .optional(z.nullable(z.string().check(z.regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'must be a secret name (A-Z, 0-9, _), e.g. GITOPS_TOKEN'))))
      .check(
        z.describe(
          'the secret holding the push token, stored for git pushes only: Secrets Manager stageline/<tenant>/git-token/<NAME> on AWS, STAGELINE_SECRET_<TENANT>__GIT_TOKEN__<NAME> locally (e.g. STAGELINE_SECRET_ACME__GIT_TOKEN__GITOPS_TOKEN)',
        ),
      ),
    pullRequest: z
      .optional(z.nullable(pullRequestBody))
      .check(
        z.describe(
          'deliver through a pull request (GitHub) or merge request (GitLab) into `branch` instead of a commit to it; the promotion completes when it is merged',
        ),
      ),
    version: z.optional(z.number().check(z.int(), z.minimum(1))).check(z.describe('the version read, to change an existing target (optimistic locking)')),
  }),
);

/**
 * PUT's body: a field left out keeps the stored value (edit and value default only for a new target), null clears
 * an optional one (tokenSecret, paths, pullRequest). The manifest declares a whole target: its defaults stay (gitTargetBody).
 */
export const gitTargetPutBody = /* @__PURE__ */ z.schema(() =>
  z.extend(gitTargetBody, {
    edit: z
      .optional(z.enum(['yaml-path', 'kustomize-image', 'helm-values', 'json-path'] satisfies GitEditKind[]))
      .check(z.describe('how the value is written (see the manifest); left out: kept, yaml-path for a new target')),
    value: z.optional(z.enum(['version', 'digest', 'version@digest'])).check(z.describe('what is written; left out: kept, the version for a new target')),
  }),
);

type View = Omit<GitTarget, 'tenant'> & { edit: GitEditKind };
// A target saved before edit kinds existed has none: it always was a yaml-path edit.
const view = ({ tenant: _t, ...rest }: GitTarget): View => ({
  ...rest,
  edit: rest.edit ?? 'yaml-path',
  paths: rest.paths ?? null,
  // One saved before a GitHub App could be named has no appSlug: none was.
  pullRequest: rest.pullRequest ? { ...rest.pullRequest, appSlug: rest.pullRequest.appSlug ?? null } : null,
});

export async function getGitTarget(deps: Deps, ctx: Ctx, env: string): Promise<View> {
  const t = await deps.store.getGitTarget(ctx.principal.tenant, env);
  if (!t) throw new GitTargetNotFound(env);
  return view(t);
}

/** A git target's files (its own and each mapped artifact's) against its environment's targets (a `{target}` needs them; not with pullRequest). */
export function assertGitFilesFor(t: { file: string; paths?: GitTarget['paths']; pullRequest?: unknown }, targets: readonly string[], at: string): void {
  assertGitFileFor(t.file, targets, `${at}.file`, !!t.pullRequest);
  for (const artifact of mappedArtifacts(t)) {
    const file = gitPathOf(t, artifact)!.file;
    if (file) assertGitFileFor(file, targets, `${at}.paths.${artifact}.file`, !!t.pullRequest);
  }
}

/** The save-time URL policy of a repository (a manifest names its own field). */
export function checkRepositoryUrl(repository: string, urls: { allowLoopback: boolean }, path = 'body.repository', apiUrl?: string | null): void {
  const why = checkTenantUrl(repository, urls);
  if (why) throw new ValidationFailed([{ path, message: why }]);
  const api = apiUrl ? checkTenantUrl(apiUrl, urls) : null;
  if (api) throw new ValidationFailed([{ path: path.replace(/repository$/, 'pullRequest.apiUrl'), message: api }]);
}

/** What the audit trail says of a git target (the token only by its secret's name). */
export const gitTargetSummary = (t: GitTarget | null) =>
  t
    ? JSON.stringify({
        repository: t.repository,
        branch: t.branch,
        file: t.file,
        edit: t.edit ?? 'yaml-path',
        path: t.path,
        value: t.value,
        tokenSecret: t.tokenSecret,
        ...(t.paths ? { paths: t.paths } : {}),
        ...(t.pullRequest ? { pullRequest: t.pullRequest } : {}),
      })
    : null;

/** The secrets a git target names, each with the purpose it is stored under and its field (`token`: the push token's field, a manifest's `token`). */
export function gitTargetSecrets(
  t: { tokenSecret?: string | null; pullRequest?: { host: 'github' | 'gitlab'; tokenSecret: string; webhookSecret?: string | null } | null },
  at: string,
  token = 'tokenSecret',
): { path: string; name: string; purpose: SecretPurpose }[] {
  const out: { path: string; name: string; purpose: SecretPurpose }[] = [];
  if (t.tokenSecret) out.push({ path: `${at}.${token}`, name: t.tokenSecret, purpose: 'git-token' });
  const pr = t.pullRequest;
  if (pr) out.push({ path: `${at}.pullRequest.tokenSecret`, name: pr.tokenSecret, purpose: pr.host === 'github' ? 'github-token' : 'gitlab-token' });
  if (pr?.webhookSecret) out.push({ path: `${at}.pullRequest.webhookSecret`, name: pr.webhookSecret, purpose: 'git-webhook' });
  return out;
}

/**
 * Every secret a git target names exists for the tenant, under its purpose (read as a delivery will read
 * it): else 422 naming each field, the secret and where to create it, before anything is saved, rather
 * than a target accepted now and a promotion failed later. Only the existence is used, never the value.
 */
export async function assertGitSecretsExist(
  secrets: SecretResolver,
  tenant: string,
  named: ReturnType<typeof gitTargetSecrets>,
  what = 'The git target',
): Promise<void> {
  const issues: Issue[] = [];
  for (const s of named) {
    if (await secrets.resolve(tenant, s.name, s.purpose)) continue;
    const local = `STAGELINE_SECRET_<TENANT>__${s.purpose.toUpperCase().replace(/-/g, '_')}__${s.name}`;
    issues.push({
      path: s.path,
      message: `the secret '${s.name}' does not exist for this tenant (purpose ${s.purpose}): create Secrets Manager stageline/${tenant}/${s.purpose}/${s.name} (locally the environment variable ${local}), then save again`,
    });
  }
  if (issues.length)
    throw new RuleViolation(
      `${what} names ${issues.length === 1 ? 'a secret' : 'secrets'} this tenant does not have: ${named
        .filter((s) => issues.some((i) => i.path === s.path))
        .map((s) => `'${s.name}'`)
        .join(', ')}`,
      { issues },
    );
}

export async function putGitTarget(
  deps: Deps & { secrets: SecretResolver },
  ctx: Ctx,
  env: string,
  sent: z.infer<typeof gitTargetPutBody>,
  urls: { allowLoopback: boolean },
): Promise<View> {
  const { tenant } = ctx.principal;
  const environment = await deps.store.getEnvironment(tenant, env);
  if (!environment) throw new EnvironmentNotFound(env);
  const cur = await deps.store.getGitTarget(tenant, env);
  // A field left out keeps what is stored (a partial PUT never nulls a token secret or narrows what is written); null clears it.
  const kept = <K extends 'tokenSecret' | 'paths' | 'pullRequest'>(k: K) => (sent[k] === undefined ? (cur?.[k] ?? null) : sent[k]);
  const body = {
    ...sent,
    edit: sent.edit ?? cur?.edit ?? 'yaml-path',
    value: sent.value ?? cur?.value ?? 'version',
    tokenSecret: kept('tokenSecret'),
    paths: kept('paths'),
    pullRequest: kept('pullRequest'),
  } as Omit<z.infer<typeof gitTargetBody>, 'version'> & { version?: number };
  checkRepositoryUrl(body.repository, urls, 'body.repository', body.pullRequest?.apiUrl);
  const issues = gitEditIssues(body, 'body');
  if (issues.length) throw new ValidationFailed(issues);
  assertGitFilesFor(
    body,
    (environment.targets ?? []).map((t) => t.name),
    'body',
  );
  if (cur && body.version !== cur.version)
    throw new VersionConflict(`The git target of '${env}' is at version ${cur.version}; send "version": ${cur.version} to change it`);
  if (!cur && body.version !== undefined) throw new VersionConflict(`'${env}' has no git target yet; omit "version" to create it`);
  // Every secret it names (those a partial PUT keeps too) exists for the tenant: else 422 naming each, and nothing is saved.
  await assertGitSecretsExist(deps.secrets, tenant, gitTargetSecrets(body, 'body'));
  const next = gitTargetOf(tenant, env, body, cur, ctx.principal.name, deps.clock());
  const audit = auditEntry(
    tenant,
    {
      actor: ctx.principal.id,
      actorName: ctx.principal.name,
      action: cur ? 'git-target.update' : 'git-target.create',
      entityType: 'git-target',
      entityId: env,
      before: gitTargetSummary(cur),
      after: gitTargetSummary(next),
      requestId: ctx.requestId,
    },
    deps.clock(),
  );
  try {
    await deps.store.putGitTarget(next, cur ? cur.version : null, audit);
  } catch (err) {
    if (refusedByStored(err)) throw new VersionConflict(`The git target of '${env}' changed meanwhile; read it again`);
    throw err;
  }
  return view(next);
}

/** The target an environment gets from checked input: the next version of `cur`, or the first. */
export function gitTargetOf(
  tenant: string,
  env: string,
  body: Omit<z.infer<typeof gitTargetBody>, 'version'>,
  cur: GitTarget | null,
  by: string,
  at: Date,
): GitTarget {
  const now = at.toISOString();
  return {
    tenant,
    environment: env,
    repository: body.repository,
    branch: body.branch,
    file: body.file,
    edit: body.edit,
    path: body.path,
    value: body.value,
    tokenSecret: body.tokenSecret ?? null,
    paths: storedPaths(body.paths),
    pullRequest: body.pullRequest ? storedPullRequest(body.pullRequest) : null,
    version: (cur?.version ?? 0) + 1,
    createdAt: cur?.createdAt ?? now,
    createdBy: cur?.createdBy ?? by,
    updatedAt: now,
    updatedBy: by,
  };
}

export async function deleteGitTarget(deps: Deps, ctx: Ctx, env: string): Promise<void> {
  const { tenant } = ctx.principal;
  const cur = await deps.store.getGitTarget(tenant, env);
  if (!cur) throw new GitTargetNotFound(env);
  const audit = auditEntry(
    tenant,
    {
      actor: ctx.principal.id,
      actorName: ctx.principal.name,
      action: 'git-target.delete',
      entityType: 'git-target',
      entityId: env,
      before: cur.repository,
      after: null,
      requestId: ctx.requestId,
    },
    deps.clock(),
  );
  try {
    await deps.store.deleteGitTarget(cur, audit);
  } catch (err) {
    if (refusedByStored(err)) throw new VersionConflict(`The git target of '${env}' changed meanwhile; try again`);
    throw err;
  }
}

/** The commit message: what was promoted where, by which promotion, who approved it and the decision it rests on. */
export function commitMessage(
  p: Promotion & { subject: { type: 'artifact' } },
  approvers: string[],
  decisionDigest: string,
  where?: { target: string; wave: number },
): string {
  const what = `${p.subject.name} ${p.subject.version}`;
  const into = where ? `${p.targetEnvironment}/${where.target} (wave ${where.wave})` : p.targetEnvironment;
  return [
    `${p.rollback ? 'Roll back' : 'Promote'} ${what} to ${into}`,
    '',
    `${p.rollback ? 'Rollback' : 'Promotion'} ${p.id} from ${p.sourceEnvironment} to ${p.targetEnvironment}, requested by ${p.requestedBy.name}.`,
    '',
    `Stageline-Promotion: ${p.id}`,
    ...(where ? [`Stageline-Target: ${where.target}`, `Stageline-Wave: ${where.wave}`] : []),
    `Stageline-Artifact: ${p.subject.name}@${p.subject.version}`,
    `Stageline-Digest: ${p.subject.digest}`,
    `Stageline-Approved-By: ${approvers.length ? approvers.join(', ') : 'none (no approval required)'}`,
    `Stageline-Decision-Digest: ${decisionDigest}`,
    `Stageline-Release-Digest: ${p.releaseDigest}`,
    '',
  ].join('\n');
}

/**
 * The commit message of an automatic rollback (a monitor or alarm evidence in ALARM while the promotion baked,
 * a failed verification): the version the environment is put back to, the promotion it undoes and why.
 */
export function revertMessage(
  p: Promotion & { subject: { type: 'artifact' } },
  restored: { version: string; digest: string },
  why: string,
  where?: { target: string; wave: number },
): string {
  const into = where ? `${p.targetEnvironment}/${where.target} (wave ${where.wave})` : p.targetEnvironment;
  return [
    `Roll back ${p.subject.name} ${p.subject.version} in ${into} to ${restored.version}`,
    '',
    `Automatic rollback of promotion ${p.id}: ${why}`.slice(0, 2000),
    '',
    `Stageline-Promotion: ${p.id}`,
    ...(where ? [`Stageline-Target: ${where.target}`, `Stageline-Wave: ${where.wave}`] : []),
    `Stageline-Rolled-Back: ${p.subject.name}@${p.subject.version}`,
    `Stageline-Artifact: ${p.subject.name}@${restored.version}`,
    `Stageline-Digest: ${restored.digest}`,
    `Stageline-Release-Digest: ${p.releaseDigest}`,
    '',
  ].join('\n');
}

/**
 * The commit message of a bundle (one commit for every member): what moves where, by which promotion, who approved it
 * and the decision it rests on, with a line per member. A rollback's bundle is the environment's earlier release.
 */
export function bundleCommitMessage(
  p: Promotion & { subject: { type: 'bundle' } },
  approvers: string[],
  decisionDigest: string,
  where?: { target: string; wave: number },
): string {
  const b = p.subject;
  const into = where ? `${p.targetEnvironment}/${where.target} (wave ${where.wave})` : p.targetEnvironment;
  return [
    `${p.rollback ? 'Roll back' : 'Promote'} bundle ${b.name} to ${into}: ${b.members.map((m) => `${m.name} ${m.version}`).join(', ')}`.slice(0, 300),
    '',
    `${p.rollback ? 'Rollback' : 'Promotion'} ${p.id} from ${p.sourceEnvironment} to ${p.targetEnvironment}, requested by ${p.requestedBy.name}.`,
    '',
    `Stageline-Promotion: ${p.id}`,
    ...(where ? [`Stageline-Target: ${where.target}`, `Stageline-Wave: ${where.wave}`] : []),
    `Stageline-Bundle: ${b.name}@${b.digest}`,
    ...b.members.map((m) => `Stageline-Artifact: ${m.name}@${m.version} ${m.digest}`),
    `Stageline-Approved-By: ${approvers.length ? approvers.join(', ') : 'none (no approval required)'}`,
    `Stageline-Decision-Digest: ${decisionDigest}`,
    `Stageline-Release-Digest: ${p.releaseDigest}`,
    '',
  ].join('\n');
}

/** The commit message of a bundle's automatic rollback: every member put back, in one commit, and why. */
export function bundleRevertMessage(
  p: Promotion & { subject: { type: 'bundle' } },
  restored: readonly { name: string; version: string; digest: string }[],
  why: string,
  where?: { target: string; wave: number },
): string {
  const into = where ? `${p.targetEnvironment}/${where.target} (wave ${where.wave})` : p.targetEnvironment;
  return [
    `Roll back bundle ${p.subject.name} in ${into}: ${restored.map((m) => `${m.name} ${m.version}`).join(', ')}`.slice(0, 300),
    '',
    `Automatic rollback of promotion ${p.id}: ${why}`.slice(0, 2000),
    '',
    `Stageline-Promotion: ${p.id}`,
    ...(where ? [`Stageline-Target: ${where.target}`, `Stageline-Wave: ${where.wave}`] : []),
    `Stageline-Rolled-Back: ${p.subject.name}@${p.subject.digest}`,
    ...restored.map((m) => `Stageline-Artifact: ${m.name}@${m.version} ${m.digest}`),
    `Stageline-Release-Digest: ${p.releaseDigest}`,
    '',
  ].join('\n');
}

export { gitValueOf };
