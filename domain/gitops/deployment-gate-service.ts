import { auditEntry } from '../audit/audit.ts';
import type { Ctx, Deps } from '../kernel/deps.ts';
import { DeploymentGateNotFound, EnvironmentNotFound, RuleViolation, ValidationFailed, VersionConflict } from '../kernel/errors.ts';
import type { SecretResolver } from '../kernel/ports.ts';
import { refusedByStored } from '../kernel/retry.ts';
import { deploymentGateView, gateBodyIssues, gateSummary, type DeploymentGate, type DeploymentGateBody } from './deployment-gate.ts';
import { assertGitSecretsExist } from './service.ts';

/** Where the host sends its webhooks for a tenant (a GitHub App's one webhook URL serves every gate of the tenant; GitLab's project webhook too). */
export const deploymentGateHookUrl = (publicUrl: string | undefined, host: DeploymentGate['host'], tenant: string) =>
  `${publicUrl ?? ''}/api/v1/deployment-gates/${host}/${encodeURIComponent(tenant)}`;

const view = (deps: Deps, gate: DeploymentGate) => deploymentGateView(gate, deploymentGateHookUrl(deps.publicUrl, gate.host, gate.tenant));

/** GET /api/v1/environments/{env}/deployment-gate: 404 when the environment has none. */
export async function getDeploymentGate(deps: Deps, ctx: Ctx, env: string) {
  const gate = await deps.store.getDeploymentGate(ctx.principal.tenant, env);
  if (!gate) {
    if (!(await deps.store.getEnvironment(ctx.principal.tenant, env))) throw new EnvironmentNotFound(env);
    throw new DeploymentGateNotFound(env);
  }
  return view(deps, gate);
}

/**
 * PUT /api/v1/environments/{env}/deployment-gate: gates the environment's deploys from a GitHub repository's
 * environment. Every field is checked and named; the secrets it names must exist for the tenant (422 naming each);
 * the source, when named, must be an environment; one GitHub repository environment gates one Stageline
 * environment (409 naming the other). `version` as for every versioned setting.
 */
export async function putDeploymentGate(deps: Deps & { secrets: SecretResolver }, ctx: Ctx, env: string, body: DeploymentGateBody) {
  const { tenant } = ctx.principal;
  const issues = gateBodyIssues(body, { allowLoopback: deps.tunables.allowLoopbackOutbound });
  if (issues.length) throw new RuleViolation(`The deployment gate does not hold for host ${body.host}: ${issues.map((i) => i.path).join(', ')}`, { issues });
  const [environment, cur, all, envs] = await Promise.all([
    deps.store.getEnvironment(tenant, env),
    deps.store.getDeploymentGate(tenant, env),
    deps.store.listDeploymentGates(tenant),
    body.source ? deps.store.listEnvironments(tenant) : Promise.resolve([]),
  ]);
  if (!environment) throw new EnvironmentNotFound(env);
  if (body.source && !envs.some((e) => e.name === body.source))
    throw new ValidationFailed([{ path: 'body.source', message: `'${body.source}' is not an environment of this tenant` }]);
  if (body.source === env) throw new ValidationFailed([{ path: 'body.source', message: 'must be another environment than the one gated' }]);
  const other = all.find(
    (g) =>
      g.environment !== env &&
      g.repository.toLowerCase() === body.repository.toLowerCase() &&
      g.hostEnvironment.toLowerCase() === body.hostEnvironment.toLowerCase(),
  );
  if (other)
    throw new VersionConflict(`${body.repository}'s environment '${body.hostEnvironment}' already gates '${other.environment}'; remove that gate first`);
  if (cur && body.version !== cur.version)
    throw new VersionConflict(`The deployment gate of '${env}' is at version ${cur.version}; send "version": ${cur.version} to change it`);
  if (!cur && body.version !== undefined) throw new VersionConflict(`'${env}' has no deployment gate yet; omit "version" to create it`);
  await assertGitSecretsExist(
    deps.secrets,
    tenant,
    body.app
      ? [
          { path: 'body.app.privateKeySecret', name: body.app.privateKeySecret, purpose: 'github-app-key' },
          { path: 'body.app.webhookSecret', name: body.app.webhookSecret, purpose: 'git-webhook' },
        ]
      : [
          { path: 'body.gitlab.tokenSecret', name: body.gitlab!.tokenSecret, purpose: 'gitlab-token' },
          { path: 'body.gitlab.webhookSecret', name: body.gitlab!.webhookSecret, purpose: 'git-webhook' },
        ],
    'The deployment gate',
  );
  const now = deps.clock().toISOString();
  const next: DeploymentGate = {
    tenant,
    environment: env,
    host: body.host,
    repository: body.repository,
    hostEnvironment: body.hostEnvironment,
    source: body.source ?? null,
    artifact: body.artifact ?? null,
    app: body.app
      ? { id: body.app.id, apiUrl: trimmed(body.app.apiUrl), privateKeySecret: body.app.privateKeySecret, webhookSecret: body.app.webhookSecret }
      : null,
    gitlab: body.gitlab ? { apiUrl: trimmed(body.gitlab.apiUrl), tokenSecret: body.gitlab.tokenSecret, webhookSecret: body.gitlab.webhookSecret } : null,
    version: (cur?.version ?? 0) + 1,
    updatedAt: now,
    updatedBy: ctx.principal.name,
  };
  const audit = auditEntry(
    tenant,
    {
      actor: ctx.principal.id,
      actorName: ctx.principal.name,
      action: cur ? 'deployment-gate.update' : 'deployment-gate.create',
      entityType: 'environment',
      entityId: env,
      before: gateSummary(cur),
      after: gateSummary(next),
      requestId: ctx.requestId,
    },
    deps.clock(),
  );
  try {
    await deps.store.putDeploymentGate(next, cur ? cur.version : null, audit);
  } catch (err) {
    if (refusedByStored(err)) throw new VersionConflict(`The deployment gate of '${env}' changed meanwhile; read it again`);
    throw err;
  }
  return view(deps, next);
}

const trimmed = (url: string | null | undefined) => (url ? url.replace(/\/+$/, '') : null);

/** DELETE /api/v1/environments/{env}/deployment-gate: the pipeline's runs are no longer answered by Stageline (GitHub's rule must be removed there too). */
export async function deleteDeploymentGate(deps: Deps, ctx: Ctx, env: string): Promise<void> {
  const { tenant } = ctx.principal;
  const cur = await deps.store.getDeploymentGate(tenant, env);
  if (!cur) throw new DeploymentGateNotFound(env);
  const audit = auditEntry(
    tenant,
    {
      actor: ctx.principal.id,
      actorName: ctx.principal.name,
      action: 'deployment-gate.delete',
      entityType: 'environment',
      entityId: env,
      before: gateSummary(cur),
      after: null,
      requestId: ctx.requestId,
    },
    deps.clock(),
  );
  try {
    await deps.store.deleteDeploymentGate(cur, audit);
  } catch (err) {
    if (refusedByStored(err)) throw new VersionConflict(`The deployment gate of '${env}' changed meanwhile; try again`);
    throw err;
  }
}
