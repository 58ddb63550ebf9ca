import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../../access/auth.ts';
import type { Ctx, With } from '../../kernel/deps.ts';
import { DomainError } from '../../kernel/errors.ts';
import { lineOf } from '../../kernel/line.ts';
import { predecessorsOf } from '../../config/graph.ts';
import { createPromotion as promotionRequest } from '../../kernel/promotion-schemas.ts';
import type { Promotion } from '../../kernel/promotion-model.ts';
import {
  apiBaseOf,
  protectionRuleEvent,
  reviewComment,
  reviewOf,
  runIdOf,
  runKeyOf,
  type DeploymentGate,
  type DeploymentRun,
} from '../../gitops/deployment-gate.ts';
import { createPromotion } from './request.ts';

/**
 * GitHub's deployment protection rule, answered by Stageline (domain/gitops/deployment-gate.ts): the App's webhook
 * (POST /api/v1/deployment-gates/github/{tenant}) requests the promotion a waiting job's deploy needs, and
 * `answerDeploymentRuns` answers GitHub's review endpoint once that promotion has ended.
 */
export interface GateHookAnswer {
  status: number;
  body:
    | { error: { code: string; message: string } }
    | { event: string; ignored: string }
    | { event: string; environment: string; runId: string; promotionId: string | null; replayed: boolean; answer: DeploymentRun['answer'] };
}

const refuse = (status: number, code: string, message: string): GateHookAnswer => ({ status, body: { error: { code, message } } });

const same = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** Who a gated run's promotion is requested by: the tenant's GitHub App, a machine deployer. */
export const gatePrincipal = (gate: DeploymentGate): Principal => ({
  tenant: gate.tenant,
  id: `github-app:${gate.app.id}`,
  name: `GitHub Actions (${gate.repository})`,
  roles: ['deployer'],
  groups: [],
  kind: 'machine',
});

/** The run's page on GitHub (the repository's, on GitHub or GitHub Enterprise Server). */
const runPage = (gate: DeploymentGate, runId: string) => {
  const api = apiBaseOf(gate);
  const web = api === 'https://api.github.com' ? 'https://github.com' : api.replace(/\/api\/v3$/, '');
  return `${web}/${gate.repository}/actions/runs/${runId}`;
};

export async function deploymentGateHook(
  deps: With<'secrets' | 'githubApp' | 'workflow' | 'scheduler'>,
  req: { tenant: string; headers: Record<string, string | undefined>; body: Buffer },
): Promise<GateHookAnswer> {
  const { tenant } = req;
  // Until the hook is verified it answers one thing, whatever is missing (no gate, no secret, a wrong signature): a
  // different answer would tell a caller which tenants have gates.
  const unverified = refuse(401, 'UNAUTHORIZED', 'the webhook does not verify: its X-Hub-Signature-256 is not made with a deployment gate’s webhook secret');
  const gates = await deps.store.listDeploymentGates(tenant);
  const sig = req.headers['x-hub-signature-256'] ?? '';
  // Each gate names its App's webhook secret; the signature must be made with one of them (an App's secret is usually shared by its gates).
  const verified = new Set<string>();
  for (const name of [...new Set(gates.map((g) => g.app.webhookSecret))]) {
    const secret = await deps.secrets.resolve(tenant, name, 'git-webhook');
    if (secret && same(sig, `sha256=${createHmac('sha256', secret).update(req.body).digest('hex')}`)) verified.add(name);
  }
  if (!verified.size) return unverified;
  const event = req.headers['x-github-event'] ?? 'unknown';
  if (event === 'ping') return { status: 200, body: { event, ignored: 'ping' } };
  if (event !== 'deployment_protection_rule') return { status: 202, body: { event, ignored: 'only deployment_protection_rule events are gated' } };
  let raw: unknown;
  try {
    raw = JSON.parse(req.body.toString('utf8'));
  } catch {
    return refuse(400, 'VALIDATION_FAILED', 'the body is not JSON');
  }
  const parsed = protectionRuleEvent.safeParse(raw);
  if (!parsed.success)
    return refuse(
      400,
      'VALIDATION_FAILED',
      `the event lacks what a deployment_protection_rule event carries: ${parsed.error.issues
        .slice(0, 3)
        .map((i) => i.path.join('.') || 'body')
        .join(', ')}`,
    );
  const e = parsed.data;
  if (e.action !== 'requested') return { status: 202, body: { event, ignored: `action ${e.action}` } };
  const gate = gates.find(
    (g) =>
      verified.has(g.app.webhookSecret) &&
      g.repository.toLowerCase() === e.repository.full_name.toLowerCase() &&
      g.hostEnvironment.toLowerCase() === e.environment.toLowerCase(),
  );
  if (!gate)
    return refuse(
      404,
      'NOT_FOUND',
      `no environment of this tenant is gated by ${e.repository.full_name}'s environment '${e.environment}': set one with PUT /api/v1/environments/{env}/deployment-gate`,
    );
  const runId = runIdOf(gate, e.deployment_callback_url);
  if (!runId)
    return refuse(400, 'VALIDATION_FAILED', `deployment_callback_url is not the review endpoint of a run of ${gate.repository} on ${apiBaseOf(gate)}`);
  const key = runKeyOf({ repository: gate.repository, runId, hostEnvironment: e.environment });
  // GitHub redelivers: a run asked about before is answered as it was, and nothing is requested again.
  const known = await deps.store.getDeploymentRun(tenant, key);
  if (known) return runAnswer(event, known, true);
  const sha = e.sha ?? e.deployment?.sha ?? '';
  const ctx: Ctx = { principal: gatePrincipal(gate) };
  let promotionId: string | null = null;
  let refused: string | null = null;
  try {
    promotionId = (await requestFor(deps, ctx, gate, runId, sha)).id;
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
    repository: gate.repository,
    hostEnvironment: e.environment,
    runId,
    installationId: e.installation.id,
    sha,
    promotionId,
    requestedAt: deps.clock().toISOString(),
    answer: null,
  });
  // A refusal is answered at once; a promotion that already ended (a twin, or one that needed nothing) too.
  const answered = await answerRun(deps, gate, run, refused ?? undefined);
  return runAnswer(event, answered ?? run, false);
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
  const notes = `GitHub Actions run ${runPage(gate, runId)} deploys ${sha ? sha.slice(0, 12) : 'its commit'} to ${gate.repository}'s environment '${gate.hostEnvironment}'`;
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

/** The events of a promotion's end: the delivery function answers the runs waiting on it on these. */
export const DEPLOYMENT_ANSWER_ON: readonly string[] = [
  'Promotion Completed',
  'Promotion Rejected',
  'Promotion Expired',
  'Promotion Failed',
  'Promotion Cancelled',
  'Promotion Rolled Back',
];

/**
 * Answers the runs waiting on a promotion once it has ended (on the promotion's final events, by the delivery
 * function): approved when it completed, rejected otherwise. Each run is answered once (its answer recorded by a
 * conditional write); GitHub's own "already answered" counts as answered.
 */
export async function answerDeploymentRuns(deps: With<'secrets' | 'githubApp'>, tenant: string, promotionId: string): Promise<number> {
  const runs = (await deps.store.deploymentRunsOf(tenant, promotionId)).filter((r) => !r.answer);
  let n = 0;
  for (const run of runs) {
    const gate = await deps.store.getDeploymentGate(tenant, run.environment);
    if (gate && (await answerRun(deps, gate, run))) n++;
  }
  return n;
}

async function answerRun(deps: With<'secrets' | 'githubApp'>, gate: DeploymentGate, run: DeploymentRun, refused?: string): Promise<DeploymentRun | null> {
  if (run.answer) return run;
  const p = run.promotionId ? await deps.store.getPromotion(run.tenant, run.promotionId) : null;
  const state = refused || !p ? 'rejected' : reviewOf(p.status);
  if (!state) return null;
  const link = p && deps.publicUrl ? `${deps.publicUrl}/dashboard#/promotions/${p.id}` : null;
  const comment = reviewComment(state, p, link, refused);
  const privateKey = await deps.secrets.resolve(run.tenant, gate.app.privateKeySecret, 'github-app-key');
  if (!privateKey) throw new Error(`the GitHub App's private key (secret ${gate.app.privateKeySecret}) is gone: run ${run.runId} cannot be answered`);
  const apiUrl = apiBaseOf(gate);
  const token = await deps.githubApp.installationToken({ apiUrl, appId: gate.app.id, privateKey, installationId: run.installationId });
  await deps.githubApp.review({ apiUrl, token, repository: run.repository, runId: run.runId, environmentName: run.hostEnvironment, state, comment });
  const answer = { state, comment, at: deps.clock().toISOString() } as const;
  await deps.store.answerDeploymentRun(run, answer);
  return { ...run, answer };
}
