import { hookEvent, hookRefusal, signedWith } from '../../kernel/hooks.ts';
import type { Principal } from '../../access/auth.ts';
import type { Ctx, With } from '../../kernel/deps.ts';
import { DomainError } from '../../kernel/errors.ts';
import { lineOf } from '../../kernel/line.ts';
import { predecessorsOf } from '../../config/graph.ts';
import { createPromotion as promotionRequest } from '../../kernel/promotion-schemas.ts';
import type { Promotion } from '../../kernel/promotion-model.ts';
import {
  apiBaseOf,
  gitlabDeploymentEvent,
  gitlabShaOf,
  webhookSecretOf,
  type GateHost,
  protectionRuleEvent,
  runIdOf,
  runKeyOf,
  type DeploymentGate,
  type DeploymentRun,
} from '../../gitops/deployment-gate.ts';
import { createPromotion } from './request.ts';
import { answerRun } from '../deliver/pipeline-answer.ts';

/**
 * Pipelines' deploy jobs gated by Stageline (domain/gitops/deployment-gate.ts): the host's webhook
 * (POST /api/v1/deployment-gates/{github|gitlab}/{tenant}) requests the promotion a waiting job's deploy needs, and
 * `answerDeploymentRuns` answers the host (GitHub's review endpoint, GitLab's deployment approval) once that promotion has ended.
 */
export interface GateHookAnswer {
  status: number;
  body:
    | { error: { code: string; message: string } }
    | { event: string; ignored: string }
    | { event: string; environment: string; runId: string; promotionId: string | null; replayed: boolean; answer: DeploymentRun['answer'] };
}

const refuse = (status: number, code: string, message: string): GateHookAnswer => hookRefusal(status, code, message);

/** Who a gated run's promotion is requested by: the tenant's GitHub App, a machine deployer. */
export const gatePrincipal = (gate: DeploymentGate): Principal => ({
  tenant: gate.tenant,
  id: gate.app ? `github-app:${gate.app.id}` : `gitlab:${gate.repository.toLowerCase()}`,
  name: gate.host === 'github' ? `GitHub Actions (${gate.repository})` : `GitLab CI/CD (${gate.repository})`,
  roles: ['deployer'],
  groups: [],
  kind: 'machine',
});

/** The run's page: a GitHub workflow run (on GitHub or GitHub Enterprise Server), a GitLab deployment. */
const runPage = (gate: DeploymentGate, runId: string) => {
  const api = apiBaseOf(gate);
  if (gate.host === 'gitlab') return `${api}/${gate.repository}/-/environments`;
  const web = api === 'https://api.github.com' ? 'https://github.com' : api.replace(/\/api\/v3$/, '');
  return `${web}/${gate.repository}/actions/runs/${runId}`;
};

/** What a verified hook asks: a run (GitHub) or deployment (GitLab) of a repository's environment waits; or an answer already (ignored, refused). */
type Asked = { repository: string; environment: string; runId: string; installationId: number; sha: string } | GateHookAnswer;

export async function deploymentGateHook(
  deps: With<'secrets' | 'deploymentHosts' | 'workflow' | 'scheduler'>,
  req: { host: GateHost; tenant: string; headers: Record<string, string | undefined>; body: Buffer },
): Promise<GateHookAnswer> {
  const { tenant, host } = req;
  // Until the hook is verified it answers one thing, whatever is missing (no gate, no secret, a wrong signature or
  // token): a different answer would tell a caller which tenants have gates.
  const unverified = refuse(
    401,
    'UNAUTHORIZED',
    host === 'github'
      ? 'the webhook does not verify: its X-Hub-Signature-256 is not made with a deployment gate’s webhook secret'
      : 'the webhook does not verify: its X-Gitlab-Token is not a deployment gate’s webhook secret',
  );
  const gates = (await deps.store.listDeploymentGates(tenant)).filter((g) => g.host === host);
  // Each gate names its webhook secret; the hook must be made with one of them (a GitHub App's secret is usually shared by its gates).
  const verified = new Set<string>();
  for (const name of [...new Set(gates.map(webhookSecretOf))]) {
    const secret = await deps.secrets.resolve(tenant, name, 'git-webhook');
    if (!secret) continue;
    if (signedWith(host, (h) => req.headers[h], req.body, secret)) verified.add(name);
  }
  if (!verified.size) return unverified;
  const event = hookEvent(host, (h) => req.headers[h]) ?? 'unknown';
  let raw: unknown;
  try {
    raw = JSON.parse(req.body.toString('utf8'));
  } catch {
    return refuse(400, 'VALIDATION_FAILED', 'the body is not JSON');
  }
  const asked = host === 'github' ? askedOfGitHub(event, raw) : askedOfGitLab(event, raw);
  if ('status' in asked) return asked;
  const gate = gates.find(
    (g) =>
      verified.has(webhookSecretOf(g)) &&
      g.repository.toLowerCase() === asked.repository.toLowerCase() &&
      g.hostEnvironment.toLowerCase() === asked.environment.toLowerCase(),
  );
  if (!gate)
    return refuse(
      404,
      'NOT_FOUND',
      `no environment of this tenant is gated by ${asked.repository}'s environment '${asked.environment}': set one with PUT /api/v1/environments/{env}/deployment-gate`,
    );
  // GitHub names the review endpoint: it must be this repository's on the gate's API (the answer goes to the URL Stageline builds).
  if (host === 'github' && runIdOf(gate, asked.runId) === null)
    return refuse(400, 'VALIDATION_FAILED', `deployment_callback_url is not the review endpoint of a run of ${gate.repository} on ${apiBaseOf(gate)}`);
  const runId = host === 'github' ? runIdOf(gate, asked.runId)! : asked.runId;
  const key = runKeyOf({ host, repository: gate.repository, runId, hostEnvironment: asked.environment });
  // The hosts redeliver: a run asked about before is answered as it was, and nothing is requested again.
  const known = await deps.store.getDeploymentRun(tenant, key);
  if (known) return runAnswer(event, known, true);
  const ctx: Ctx = { principal: gatePrincipal(gate) };
  let promotionId: string | null = null;
  let refused: string | null = null;
  try {
    promotionId = (await requestFor(deps, ctx, gate, runId, asked.sha)).id;
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    // The same release already on its way to the environment: the run waits on that one.
    const twin = (err.details as { promotionId?: unknown } | undefined)?.promotionId;
    if (err.code === 'ALREADY_EXISTS' && typeof twin === 'string') promotionId = twin;
    else refused = err.message;
  }
  const run = await deps.store.putDeploymentRun({
    tenant,
    environment: gate.environment,
    host,
    repository: gate.repository,
    hostEnvironment: asked.environment,
    runId,
    installationId: asked.installationId,
    sha: asked.sha,
    promotionId,
    requestedAt: deps.clock().toISOString(),
    answer: null,
  });
  // A refusal is answered at once; a promotion that already ended (a twin, or one that needed nothing) too.
  const answered = await answerRun(deps, gate, run, refused ?? undefined);
  return runAnswer(event, answered ?? run, false);
}

const badEvent = (what: string, issues: { path: PropertyKey[] }[]) =>
  refuse(
    400,
    'VALIDATION_FAILED',
    `the event lacks what a ${what} event carries: ${issues
      .slice(0, 3)
      .map((i) => i.path.join('.') || 'body')
      .join(', ')}`,
  );

/** GitHub: a `deployment_protection_rule` event, action `requested` (its run id still inside the callback URL). */
function askedOfGitHub(event: string, raw: unknown): Asked {
  if (event === 'ping') return { status: 200, body: { event, ignored: 'ping' } };
  if (event !== 'deployment_protection_rule') return { status: 202, body: { event, ignored: 'only deployment_protection_rule events are gated' } };
  const parsed = protectionRuleEvent.safeParse(raw);
  if (!parsed.success) return badEvent('deployment_protection_rule', parsed.error.issues);
  const e = parsed.data;
  if (e.action !== 'requested') return { status: 202, body: { event, ignored: `action ${e.action}` } };
  return {
    repository: e.repository.full_name,
    environment: e.environment,
    runId: e.deployment_callback_url,
    installationId: e.installation.id,
    sha: e.sha ?? e.deployment?.sha ?? '',
  };
}

/** GitLab: a deployment event whose deployment is `blocked` (it waits for an approval). */
function askedOfGitLab(event: string, raw: unknown): Asked {
  if (event !== 'Deployment Hook') return { status: 202, body: { event, ignored: 'only deployment events are gated' } };
  const parsed = gitlabDeploymentEvent.safeParse(raw);
  if (!parsed.success) return badEvent('deployment', parsed.error.issues);
  const e = parsed.data;
  if (e.status !== 'blocked') return { status: 202, body: { event, ignored: `deployment ${e.status}: only a blocked deployment waits for an approval` } };
  return { repository: e.project.path_with_namespace, environment: e.environment, runId: String(e.deployment_id), installationId: 0, sha: gitlabShaOf(e) };
}

function runAnswer(event: string, run: DeploymentRun, replayed: boolean): GateHookAnswer {
  return {
    status: replayed ? 200 : 201,
    body: { event, environment: run.environment, runId: run.runId, promotionId: run.promotionId, replayed, answer: run.answer },
  };
}

/** The promotion a run's deploy needs: the gate's artifact at the version published from the run's commit, or the source's configuration. */
async function requestFor(deps: With<'workflow' | 'scheduler'>, ctx: Ctx, gate: DeploymentGate, runId: string, sha: string): Promise<Promotion> {
  const source =
    gate.source ?? predecessorsOf((await deps.store.getEnvironment(gate.tenant, gate.environment))!, lineOf(await deps.store.listEnvironments(gate.tenant)))[0];
  if (!source) throw new GateRefused(`'${gate.environment}' is the first environment of the line: name the gate's source`);
  const notes =
    gate.host === 'github'
      ? `GitHub Actions run ${runPage(gate, runId)} deploys ${sha ? sha.slice(0, 12) : 'its commit'} to ${gate.repository}'s environment '${gate.hostEnvironment}'`
      : `GitLab deployment ${runId} (${runPage(gate, runId)}) deploys ${sha ? sha.slice(0, 12) : 'its commit'} to ${gate.repository}'s environment '${gate.hostEnvironment}'`;
  let subject: { artifact: string; version: string } | object = {};
  if (gate.artifact) {
    const version = sha ? (await deps.store.listArtifactVersions(gate.tenant, gate.artifact)).find((v) => v.sourceCommit === sha) : undefined;
    if (!version) throw new GateRefused(`no version of '${gate.artifact}' was published from commit ${sha || '(none named)'}`);
    subject = { artifact: gate.artifact, version: version.version };
  }
  const input = promotionRequest.parse({ sourceEnvironment: source, targetEnvironment: gate.environment, notes, ...subject });
  const made = await createPromotion(deps, ctx, input);
  if ('dryRun' in made) throw new Error('unreachable: not a dry run');
  return made as Promotion;
}

class GateRefused extends DomainError {
  readonly code = 'GATE_REFUSED';
  override readonly name = 'GateRefused';
}
