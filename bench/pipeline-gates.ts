import { createHash, createHmac, generateKeyPairSync } from 'node:crypto';
import { publishArtifact } from '#domain/artifacts/artifacts';
import { publishArtifact as publishSchema } from '#domain/kernel/promotion-schemas';
import { putDeploymentGate } from '#domain/gitops/deployment-gate-service';
import { deploymentGateBody } from '#domain/gitops/deployment-gate';
import { deploymentGateHook } from '#domain/promotion/request/pipeline-gate';
import { answerDeploymentRuns } from '#domain/promotion/deliver/pipeline-answer';
import { fireSchedule } from '#domain/promotion/step/fire';
import { updateEnvironment } from '#domain/config/environments';
import { ciGateSchema } from '#domain/kernel/ci-gate';
import * as z from '#domain/kernel/zod';
import { localSecretVariable } from '../functions/adapters/secrets.ts';
import { DeploymentHostCalls } from '../functions/adapters/deployment-hosts.ts';
import { sealer } from '../functions/adapters/secret-box.ts';
import { LocalWorkflow } from '../local/workflow.ts';
import { api, ctxOf, expectStatus } from '../local/measure/api.ts';
import { newInvocation } from '../local/measure/attribution.ts';
import { finished, openHarness, type Harness } from '../local/measure/harness.ts';
import { makeLine, usersOf } from '../local/measure/tenants.ts';
import { startDynamo } from '../local/dynamodb.ts';
import { startGitServer } from '../test/support/git-server.ts';
import { startGitHubStandin, type GitHubStandin } from '../test/support/github-standin.ts';
import { table } from '../scripts/build.ts';
import { fmt, heading } from './common.ts';

/**
 * Where deploys already happen (domain/gitops/deployment-gate.ts): one approved staging → production promotion of an
 * artifact, requested by a GitHub Actions job through the App's deployment_protection_rule event (its hook, the
 * promotion, and the answer to GitHub's review endpoint through the GitHub stand-in), beside the same promotion
 * requested through the API; and a promotion waiting for production's allowed hours over LOOKS looks of its schedule.
 * Measured as the other flows are: the real handlers and ASL, every DynamoDB request counted.
 */
const LOOKS = 5;
const ARTIFACT = 'shop';
const REPO = 'acme/shop';
const HOOK_SECRET = 'bench-hook-secret';

interface Window {
  transitions: number;
  wru: number;
  rru: number;
  invocations: number;
  /** the hook's and the answer's write units (the gate's own cost) */
  gateWru: number;
}

async function flow(b: Harness, gh: GitHubStandin | null, tenant: string, appKey: string): Promise<Window> {
  const u = usersOf(tenant);
  await makeLine(b, u.admin);
  const sha = createHash('sha1').update(tenant).digest('hex');
  const digest = `sha256:${createHash('sha256').update(tenant).digest('hex')}`;
  await publishArtifact(b.deps, ctxOf(u.deployer), ARTIFACT, publishSchema.parse({ version: 'v1.0.0', digest, sourceCommit: sha, gitBranch: 'main' }));
  const toStaging = await api(
    b,
    u.deployer,
    'POST',
    '/api/v1/promotions',
    { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: ARTIFACT, version: 'v1.0.0' },
    'setup',
  );
  expectStatus(toStaging, 201, 'dev → staging');
  await finished(b, tenant, String(toStaging.body.id), 'COMPLETED');
  for (const [type, payload] of [
    ['test_results', { passed: 412, failed: 0 }],
    ['security_scan', { critical: 0, high: 0, signatureVerified: true }],
    ['cost_estimate', { monthlyDelta: 12.5, currency: 'USD', budget: 100 }],
  ] as const)
    expectStatus(await api(b, u.deployer, 'POST', `/api/v1/artifacts/${ARTIFACT}/versions/v1.0.0/evidence`, { type, payload }, 'setup'), 201, type);
  const secrets = { resolve: async (_t: string, name: string) => (name === 'APP_KEY' ? appKey : name === 'APP_HOOK' ? HOOK_SECRET : null) };
  const deps = { ...b.deps, secrets, deploymentHosts: new DeploymentHostCalls(), tunables: { ...b.deps.tunables, allowLoopbackOutbound: true } };
  if (gh)
    await putDeploymentGate(
      deps,
      ctxOf(u.admin),
      'production',
      deploymentGateBody.parse({
        repository: REPO,
        hostEnvironment: 'production',
        artifact: ARTIFACT,
        app: { id: '77', apiUrl: gh.url, privateKeySecret: 'APP_KEY', webhookSecret: 'APP_HOOK' },
      }),
    );
  await b.stream.idle();
  b.counter.reset();
  b.calls.length = 0;

  let id: string;
  let gateWru = 0;
  const measured = async <T>(fn: string, label: string, run: () => Promise<T>) => {
    const inv = newInvocation(fn, label, 'event');
    try {
      return await b.attribution.run(inv, run);
    } finally {
      b.calls.push(inv);
      gateWru += inv.wru;
    }
  };
  if (gh) {
    // The event GitHub sends when the job targets production (the stand-in builds and checks it; here it is handed to the hook as the function would get it).
    const runId = '900001';
    const body = Buffer.from(
      JSON.stringify({
        action: 'requested',
        environment: 'production',
        event: 'push',
        sha,
        deployment_callback_url: `${gh.url}/repos/${REPO}/actions/runs/${runId}/deployment_protection_rule`,
        repository: { full_name: REPO },
        installation: { id: 1 },
      }),
    );
    const headers = {
      'x-github-event': 'deployment_protection_rule',
      'x-hub-signature-256': `sha256=${createHmac('sha256', HOOK_SECRET).update(body).digest('hex')}`,
    };
    const r = await measured('inbound-hooks', 'deployment_protection_rule', () => deploymentGateHook(deps, { host: 'github', tenant, headers, body }));
    if (r.status !== 201 || !('promotionId' in r.body) || !r.body.promotionId)
      throw new Error(`bench: the gate hook answered ${r.status} ${JSON.stringify(r.body)}`);
    id = r.body.promotionId;
  } else {
    const created = await api(
      b,
      u.deployer,
      'POST',
      '/api/v1/promotions',
      { sourceEnvironment: 'staging', targetEnvironment: 'production', artifact: ARTIFACT, version: 'v1.0.0' },
      'request',
    );
    expectStatus(created, 201, 'staging → production');
    id = String(created.body.id);
  }
  await b.signals.wait(`${id}:decide`);
  expectStatus(await api(b, u.approver, 'POST', `/api/v1/promotions/${id}/approve`, { comment: 'lgtm' }, 'approve'), 200, 'approve');
  await finished(b, tenant, id, 'COMPLETED');
  // What the delivery function does on 'Promotion Completed': answer the run waiting on it.
  if (gh && (await measured('webhook-deliver', 'answer GitHub', () => answerDeploymentRuns(deps, tenant, id))) !== 1)
    throw new Error('bench: GitHub was not answered');
  await b.stream.idle();
  return {
    transitions: b.workflow.transitions(LocalWorkflow.executionId({ tenant, promotionId: id })),
    wru: b.calls.reduce((n, c) => n + c.wru, 0),
    rru: b.calls.reduce((n, c) => n + c.rru, 0),
    invocations: b.calls.length,
    gateWru,
  };
}

/**
 * Waits until the promotion is held SCHEDULED with a go token other than the one the last wait saw (the flow parked
 * again); a promotion that ended meanwhile fails the bench at once.
 */
function heldWithNewToken(b: Harness, tenant: string, id: string, what: string): () => Promise<void> {
  let token: string | null = null;
  return async () => {
    for (let i = 0; i < 400; i++) {
      const p = await b.deps.store.getPromotion(tenant, id);
      if (p?.status === 'SCHEDULED' && p.taskToken && p.taskToken !== token) {
        token = p.taskToken;
        return;
      }
      if (p && !['SCHEDULED', 'APPROVED', 'PENDING', 'VALIDATING'].includes(p.status)) throw new Error(`bench: the promotion held for ${what} is ${p.status}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`bench: the promotion was not held for ${what}`);
  };
}

/** A promotion into staging outside its allowed hours: held SCHEDULED with its go token; LOOKS looks of its schedule, each held again. */
async function hoursFlow(b: Harness, tenant: string): Promise<{ transitions: number; waiting: number; wru: number }> {
  const u = usersOf(tenant);
  await makeLine(b, u.admin);
  const hour = (b.deps.clock().getUTCHours() + 3) % 24;
  b.calls.length = 0;
  const env = await b.deps.store.getEnvironment(tenant, 'staging');
  await updateEnvironment({ ...b.deps, sealer: sealer() }, ctxOf(u.admin), 'staging', {
    version: env!.version,
    allowedHours: { timeZone: 'UTC', windows: [{ cron: `0 ${hour} * * *`, durationMinutes: 60 }] },
  } as never);
  expectStatus(await api(b, u.deployer, 'POST', '/api/v1/environments/dev/configs', { key: 'checkout.queue', value: 'v2' }, 'setup'), 201, 'config');
  const created = await api(b, u.deployer, 'POST', '/api/v1/promotions', { sourceEnvironment: 'dev', targetEnvironment: 'staging' }, 'request');
  expectStatus(created, 201, 'dev → staging');
  const id = String(created.body.id);
  const execution = LocalWorkflow.executionId({ tenant, promotionId: id });
  const parked = heldWithNewToken(b, tenant, id, 'the allowed hours');
  await parked();
  const waiting = b.workflow.transitions(execution);
  // A look of its schedule (as if it fired early, or a retry): the execute step runs again, finds the hours still closed, and holds it again.
  for (let i = 0; i < LOOKS; i++) {
    const inv = newInvocation('schedule-fire', `look ${i + 1}: still outside the hours`, 'event');
    await b.attribution.run(inv, () => fireSchedule(b.deps, tenant, id));
    b.calls.push(inv);
    await parked();
  }
  await b.stream.idle();
  return { transitions: b.workflow.transitions(execution), waiting, wru: b.calls.reduce((n, c) => n + c.wru, 0) };
}

/**
 * A promotion into staging with a CI gate (domain/promotion/run/ci-hold.ts): the workflow is dispatched when the
 * promotion is about to execute, the promotion is held while the run is queued over LOOKS looks of its schedule, then
 * the run succeeds and the next look lets it complete. Its transitions when held, at the end, and its WRU.
 */
async function ciFlow(b: Harness, gh: GitHubStandin, tenant: string, appKey: string) {
  const u = usersOf(tenant);
  await makeLine(b, u.admin);
  process.env[localSecretVariable(tenant, 'github-app-key', 'APP_KEY')!] = appKey;
  gh.addWorkflow(REPO, 'e2e.yml', ['release']);
  const env = await b.deps.store.getEnvironment(tenant, 'staging');
  await updateEnvironment({ ...b.deps, sealer: sealer() }, ctxOf(u.admin), 'staging', {
    version: env!.version,
    ciGate: z.parse(ciGateSchema, {
      repository: REPO,
      workflow: 'e2e.yml',
      inputs: [{ name: 'release', value: '{{release}}' }],
      app: { id: '77', apiUrl: gh.url, privateKeySecret: 'APP_KEY' },
    }),
  } as never);
  expectStatus(await api(b, u.deployer, 'POST', '/api/v1/environments/dev/configs', { key: 'checkout.queue', value: 'v2' }, 'setup'), 201, 'config');
  b.calls.length = 0;
  const created = await api(b, u.deployer, 'POST', '/api/v1/promotions', { sourceEnvironment: 'dev', targetEnvironment: 'staging' }, 'request');
  expectStatus(created, 201, 'dev → staging');
  const id = String(created.body.id);
  const execution = LocalWorkflow.executionId({ tenant, promotionId: id });
  const parked = heldWithNewToken(b, tenant, id, 'its CI run');

  await parked();
  const held = b.workflow.transitions(execution);
  // Each look reads the run where the schedule fires, and leaves the flow parked while it runs.
  for (let i = 0; i < LOOKS; i++) {
    const inv = newInvocation('schedule-fire', `look ${i + 1}: the run is still queued`, 'event');
    const r = await b.attribution.run(inv, () => fireSchedule(b.deps, tenant, id));
    b.calls.push(inv);
    if (r.fired) throw new Error('bench: a look of a queued run woke the flow');
  }
  const run = gh.workflowRuns(REPO).at(-1)!;
  gh.setRun(run.id, 'completed', 'success');
  const inv = newInvocation('schedule-fire', 'the last look: the run succeeded', 'event');
  await b.attribution.run(inv, () => fireSchedule(b.deps, tenant, id));
  b.calls.push(inv);
  await finished(b, tenant, id, 'COMPLETED');
  await b.stream.idle();
  return { held, transitions: b.workflow.transitions(execution), wru: b.calls.reduce((n, c) => n + c.wru, 0), runs: gh.workflowRuns(REPO).length };
}

export async function benchPipelineGates(): Promise<{
  gated: Window;
  plain: Window;
  hours: Awaited<ReturnType<typeof hoursFlow>>;
  ci: Awaited<ReturnType<typeof ciFlow>>;
}> {
  heading('Where deploys already happen: a GitHub-gated promotion, and one waiting for allowed hours');
  const loopback = process.env.STAGELINE_ALLOW_LOOPBACK_OUTBOUND;
  process.env.STAGELINE_ALLOW_LOOPBACK_OUTBOUND = 'true';
  const dynamo = await startDynamo({});
  const git = await startGitServer('bench-push-token');
  git.repo(REPO, { 'README.md': '# shop\n' });
  const gh = await startGitHubStandin(git);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  gh.installApp({ appId: '77', slug: 'stageline', publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), installationId: 1, repos: [REPO] });
  const appKey = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  try {
    const { b, close } = await openHarness(dynamo.endpoint);
    try {
      await flow(b, gh, 'gate-warmup', appKey);
      const gated = await flow(b, gh, 'gate-cost', appKey);
      const plain = await flow(b, null, 'gate-plain', appKey);
      const hours = await hoursFlow(b, 'hours-cost');
      const ci = await ciFlow(b, gh, 'ci-cost', appKey);
      if (gh.violations.length) throw new Error(`bench: GitHub's contract broken: ${gh.violations.join('; ')}`);
      console.log(
        table(
          ['promotion', 'transitions', 'WRU', 'RRU', "the gate's WRU (hook + answer)", 'invocations'],
          [
            ['requested through the API', plain.transitions, fmt(plain.wru, 0), fmt(plain.rru, 0), '-', plain.invocations],
            [
              'requested by a GitHub Actions job (deployment gate)',
              gated.transitions,
              fmt(gated.wru, 0),
              fmt(gated.rru, 0),
              fmt(gated.gateWru, 0),
              gated.invocations,
            ],
          ],
        ),
      );
      console.log(
        `a GitHub-gated promotion costs ${gated.transitions - plain.transitions} transition(s) and ${fmt(gated.wru - plain.wru, 0)} WRU more than one requested ` +
          `through the API (the run's record and its answer); GitHub's review was answered once, through the contract-checked stand-in.`,
      );
      console.log(
        table(
          ['waiting for allowed hours', 'transitions when held', `transitions after ${LOOKS} looks`, `WRU, request to ${LOOKS} looks`],
          [['dev → staging outside its hours', hours.waiting, hours.transitions, fmt(hours.wru, 0)]],
        ),
      );
      console.log(
        `each look of a held promotion's schedule (an early or repeated fire) runs the execute step again, which holds it again: ` +
          `${fmt((hours.transitions - hours.waiting) / LOOKS, 1)} transitions per look; the hold itself costs ${hours.waiting} transitions however long it waits.`,
      );
      console.log(
        table(
          [
            'a CI-gated promotion',
            'transitions when held',
            `transitions at the end (${LOOKS} looks while queued, 1 after it succeeded)`,
            'WRU, request to end',
            'runs started',
          ],
          [['dev → staging, e2e.yml dispatched', ci.held, ci.transitions, fmt(ci.wru, 0), ci.runs]],
        ),
      );
      console.log(
        `a CI gate holds the promotion without a Lambda, and a look while the run runs reads it where the schedule fires without waking the flow: ` +
          `${ci.transitions - ci.held} transitions after it was held, however many looks (the last one wakes it); the workflow dispatched once.`,
      );
      return { gated, plain, hours, ci };
    } finally {
      await close();
    }
  } finally {
    await gh.stop();
    await git.close();
    await dynamo.stop();
    if (loopback === undefined) delete process.env.STAGELINE_ALLOW_LOOPBACK_OUTBOUND;
    else process.env.STAGELINE_ALLOW_LOOPBACK_OUTBOUND = loopback;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchPipelineGates();
