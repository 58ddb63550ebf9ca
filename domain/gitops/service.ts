import * as z from '../kernel/zod.ts';
import { auditEntry } from '../audit/audit.ts';
import { EnvironmentNotFound, GitTargetNotFound, ValidationFailed, VersionConflict } from '../kernel/errors.ts';
import type { Ctx, Deps } from '../ports.ts';
import { WriteConflict } from '../kernel/retry.ts';
import type { Promotion } from '../kernel/promotion-model.ts';
import { checkTenantUrl, TENANT_URL_FORMAT } from '../kernel/url-policy.ts';
import type { GitTarget } from './ports.ts';
import { noReservedSegment } from '../kernel/reserved-keys.ts';
import { assertGitFileFor } from './target-path.ts';

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
    z.regex(
      /^(?!\/)(?!.*(^|\/)\.\.?(\/|$))(?:[A-Za-z0-9._/-]|\{target\})+\.(ya?ml|json)$/,
      'must be a relative path to a .yaml, .yml or .json file (no .. segments); {target} stands for a target of the environment',
    ),
  ),
);

export const gitTargetBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    repository: z.string().check(z.minLength(1), z.maxLength(2048), z.meta(TENANT_URL_FORMAT), z.describe('https URL of the repository')),
    branch: z.string().check(z.minLength(1), z.maxLength(200), z.regex(/^(?!\/)(?!.*\.\.)[A-Za-z0-9._/-]+$/, 'is not a branch name')),
    file: relPath.check(z.describe('the file to change, e.g. envs/production/values.yaml; with targets, one per target: envs/production/{target}/values.yaml')),
    path: z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(200),
        z.regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be dot-separated keys, e.g. image.tag'),
        noReservedSegment(),
        z.describe('where the value goes in the file'),
      ),
    value: z._default(z.enum(['version', 'digest', 'version@digest']), 'version').check(z.describe('what is written (default: the version)')),
    tokenSecret: z
      .optional(z.nullable(z.string().check(z.regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'must be a secret name (A-Z, 0-9, _), e.g. GITOPS_TOKEN'))))
      .check(
        z.describe(
          'the secret holding the push token, stored for git pushes only: Secrets Manager stageline/<tenant>/git-token/<NAME> on AWS, STAGELINE_SECRET_<TENANT>__GIT_TOKEN__<NAME> locally (e.g. STAGELINE_SECRET_ACME__GIT_TOKEN__GITOPS_TOKEN)',
        ),
      ),
    version: z.optional(z.number().check(z.int(), z.minimum(1))).check(z.describe('the version read, to change an existing target (optimistic locking)')),
  }),
);

type View = Omit<GitTarget, 'tenant'>;
const view = ({ tenant: _t, ...rest }: GitTarget): View => rest;

export async function getGitTarget(deps: Deps, ctx: Ctx, env: string): Promise<View> {
  const t = await deps.store.getGitTarget(ctx.principal.tenant, env);
  if (!t) throw new GitTargetNotFound(env);
  return view(t);
}

/** The save-time URL policy of a repository (a manifest names its own field). */
export function checkRepositoryUrl(repository: string, urls: { allowLoopback: boolean }, path = 'body.repository'): void {
  const why = checkTenantUrl(repository, urls);
  if (why) throw new ValidationFailed([{ path, message: why }]);
}

/** What the audit trail says of a git target (the token only by its secret's name). */
export const gitTargetSummary = (t: GitTarget | null) =>
  t ? JSON.stringify({ repository: t.repository, branch: t.branch, file: t.file, path: t.path, value: t.value, tokenSecret: t.tokenSecret }) : null;

export async function putGitTarget(deps: Deps, ctx: Ctx, env: string, body: z.infer<typeof gitTargetBody>, urls: { allowLoopback: boolean }): Promise<View> {
  const { tenant } = ctx.principal;
  checkRepositoryUrl(body.repository, urls);
  const environment = await deps.store.getEnvironment(tenant, env);
  if (!environment) throw new EnvironmentNotFound(env);
  assertGitFileFor(
    body.file,
    (environment.targets ?? []).map((t) => t.name),
  );
  const cur = await deps.store.getGitTarget(tenant, env);
  if (cur && body.version !== cur.version)
    throw new VersionConflict(`The git target of '${env}' is at version ${cur.version}; send "version": ${cur.version} to change it`);
  if (!cur && body.version !== undefined) throw new VersionConflict(`'${env}' has no git target yet; omit "version" to create it`);
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
    if (err instanceof WriteConflict) throw new VersionConflict(`The git target of '${env}' changed meanwhile; read it again`);
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
    path: body.path,
    value: body.value,
    tokenSecret: body.tokenSecret ?? null,
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
    if (err instanceof WriteConflict) throw new VersionConflict(`The git target of '${env}' changed meanwhile; try again`);
    throw err;
  }
}

/** The commit message: what was promoted where, by which promotion, who approved it and the decision it rests on. */
export function commitMessage(p: Promotion & { subject: { type: 'artifact' } }, approvers: string[], decisionDigest: string): string {
  const what = `${p.subject.name} ${p.subject.version}`;
  return [
    `${p.rollback ? 'Roll back' : 'Promote'} ${what} to ${p.targetEnvironment}`,
    '',
    `${p.rollback ? 'Rollback' : 'Promotion'} ${p.id} from ${p.sourceEnvironment} to ${p.targetEnvironment}, requested by ${p.requestedBy.name}.`,
    '',
    `Stageline-Promotion: ${p.id}`,
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
export function revertMessage(p: Promotion & { subject: { type: 'artifact' } }, restored: { version: string; digest: string }, why: string): string {
  return [
    `Roll back ${p.subject.name} ${p.subject.version} in ${p.targetEnvironment} to ${restored.version}`,
    '',
    `Automatic rollback of promotion ${p.id}: ${why}`.slice(0, 2000),
    '',
    `Stageline-Promotion: ${p.id}`,
    `Stageline-Rolled-Back: ${p.subject.name}@${p.subject.version}`,
    `Stageline-Artifact: ${p.subject.name}@${restored.version}`,
    `Stageline-Digest: ${restored.digest}`,
    `Stageline-Release-Digest: ${p.releaseDigest}`,
    '',
  ].join('\n');
}

export const gitValueOf = (target: Pick<GitTarget, 'value'>, p: { subject: { version: string; digest: string } }) =>
  target.value === 'digest' ? p.subject.digest : target.value === 'version@digest' ? `${p.subject.version}@${p.subject.digest}` : p.subject.version;
