import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localSecretVariable } from '../../functions/adapters/secrets.ts';
import { LocalWorkflow } from '../../local/workflow.ts';
import { startArgoCd, type ArgoCdStandIn } from '../support/argocd-standin.ts';
import { startFlux, type FluxStandIn } from '../support/flux-standin.ts';
import { startGitServer, type GitServer } from '../support/git-server.ts';
import { approveIfAsked, waitFor } from '../support/promotions.ts';
import { productionLine } from '../support/line.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * Targets confirmed by their GitOps controller: an Argo CD application (Synced at the commit Stageline delivered for
 * the target, and Healthy) or a Flux Kustomization (Ready, with that commit as its last applied revision), read
 * through stand-ins held to Argo CD's Swagger and Flux's CRD schema (every answer validated; none may violate them).
 */
const GIT_TOKEN = 'gitops-confirm-git-token-0123456789';
const ARGO_TOKEN = 'argocd-token-abcdef0123456789';
const KUBE_TOKEN = 'kube-token-abcdef0123456789';
const TARGETS = [
  { name: 'canary', wave: 1 },
  { name: 'us-east-1', wave: 2 },
];
const values = (tag: string) => `image:\n  repository: registry.example.com/platform\n  tag: ${tag}\n`;
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const OTHER = 'f00dfeed'.repeat(5);

let t: TestStack;
let g: GitServer;
let argo: ArgoCdStandIn;
let flux: FluxStandIn;

beforeAll(async () => {
  t = await startTestStack();
  [g, argo, flux] = await Promise.all([startGitServer(GIT_TOKEN), startArgoCd(ARGO_TOKEN), startFlux(KUBE_TOKEN)]);
  const mint = t.tenant.bind(t);
  t.tenant = () => {
    const id = mint();
    process.env[localSecretVariable(id, 'git-token', 'GITOPS_TOKEN')!] = GIT_TOKEN;
    process.env[localSecretVariable(id, 'gitops-health', 'ARGOCD_TOKEN')!] = ARGO_TOKEN;
    process.env[localSecretVariable(id, 'gitops-health', 'KUBE_TOKEN')!] = KUBE_TOKEN;
    return id;
  };
});
afterAll(async () => {
  await t.stop();
  await Promise.all([g.close(), argo.close(), flux.close()]);
  // Every answer the stand-ins gave is what Argo CD's Swagger and Flux's CRD describe.
  expect(argo.violations).toEqual([]);
  expect(flux.violations).toEqual([]);
});

type Mode = 'argocd' | 'flux';
const confirmOf = (mode: Mode, tenant: string) =>
  mode === 'argocd'
    ? { mode, server: argo.url, application: `${tenant}-{target}`, tokenSecret: 'ARGOCD_TOKEN', timeoutSeconds: 20, intervalSeconds: 1 }
    : {
        mode,
        apiServer: flux.url,
        namespace: 'flux-system',
        kustomization: `${tenant}-{target}`,
        tokenSecret: 'KUBE_TOKEN',
        timeoutSeconds: 20,
        intervalSeconds: 1,
      };

/** dev → production (canary in wave 1, us-east-1 in wave 2), each target's own git file, confirmed by `mode`. */
async function line(mode: Mode, bakeSeconds = 1) {
  const tenant = t.tenant();
  const { u } = await productionLine(t, { bakeSeconds, targets: TARGETS.map((x) => ({ ...x, confirm: confirmOf(mode, tenant) })) }, tenant);
  const repo = g.repo(`deploy-${tenant}`, Object.fromEntries(TARGETS.map((x) => [`envs/production/${x.name}/values.yaml`, values('v1.0.0')])));
  const put = await t.call('PUT', '/api/v1/environments/production/git-target', {
    token: u.admin,
    body: { repository: repo, branch: 'main', file: 'envs/production/{target}/values.yaml', path: 'image.tag', tokenSecret: 'GITOPS_TOKEN' },
  });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  const v = await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: 'v2.0.0', digest: digest('b') } });
  expect(v.status, JSON.stringify(v.body)).toBe(201);
  // Before the rollout every controller runs the seed commit, healthy.
  for (const x of TARGETS) setState(mode, tenant, x.name, { at: 'a'.repeat(40), ok: true });
  return { tenant, u };
}

/** What a target's controller reports: synced/applied at `at`, healthy or not. */
function setState(mode: Mode, tenant: string, target: string, s: { at: string; ok: boolean; degraded?: boolean }) {
  const name = `${tenant}-${target}`;
  if (mode === 'argocd')
    argo.set(name, {
      sync: 'Synced',
      revision: s.at,
      health: s.degraded ? 'Degraded' : s.ok ? 'Healthy' : 'Progressing',
      ...(s.degraded ? { message: 'Deployment "platform" exceeded its progress deadline' } : {}),
    });
  else
    flux.set('flux-system', name, {
      ready: s.degraded ? 'False' : s.ok ? 'True' : 'Unknown',
      reason: s.degraded ? 'HealthCheckFailed' : s.ok ? 'ReconciliationSucceeded' : 'Progressing',
      ...(s.degraded ? { message: 'health check failed after 2m0s: timeout waiting for: [Deployment/platform/platform status: InProgress]' } : {}),
      lastAppliedRevision: `main@sha1:${s.at}`,
    });
}

async function promote(u: Awaited<ReturnType<TestStack['users']>>): Promise<string> {
  const p = await t.call('POST', '/api/v1/promotions', {
    token: u.deployer,
    body: { sourceEnvironment: 'dev', targetEnvironment: 'production', artifact: 'platform', version: 'v2.0.0' },
  });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  await approveIfAsked(t, u, p.body.id, ['EXECUTING', 'COMPLETED', 'APPROVED', 'FAILED']);
  return p.body.id as string;
}

const rows = (d: any): Record<string, any> => Object.fromEntries((d.rollout?.waves ?? []).flatMap((w: any) => w.targets.map((x: any) => [x.name, x])));

/**
 * Follows a promotion to its end: each time a target is changed and waits for its confirmation (its commit known),
 * `react` says what its controller reports now; `baking` is called once per target entering its bake.
 */
async function follow(token: string, id: string, react: (target: string, commit: string) => void, baking: (target: string) => void = () => {}) {
  const seen = new Set<string>();
  const baked = new Set<string>();
  const end = Date.now() + 60_000;
  for (;;) {
    // A GET is safe to send again: a connection the loaded machine reset is read once more, not a failed test.
    const read = () => t.call('GET', `/api/v1/promotions/${id}`, { token });
    const d = (
      await read().catch(async (err) => (/fetch failed/.test(String(err)) ? (await new Promise((r) => setTimeout(r, 200)), read()) : Promise.reject(err)))
    ).body;
    for (const [name, r] of Object.entries(rows(d))) {
      if (r.state === 'CONFIRMING' && r.git?.commit && !seen.has(name)) {
        seen.add(name);
        react(name, r.git.commit);
      }
      if (r.state === 'BAKING' && !baked.has(name)) {
        baked.add(name);
        baking(name);
      }
    }
    if (['COMPLETED', 'ROLLED_BACK', 'FAILED'].includes(d.status)) return d;
    if (Date.now() > end) throw new Error(`promotion ${id} never ended: ${JSON.stringify(d)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/*
 * Each test makes its own tenant, line, repository and controller objects (named after the tenant) and counts only
 * its own tenant's reads, so a mode's tests (mostly waiting: a confirmation deadline, polls, a bake) run side by side.
 */
describe.concurrent.each(['argocd', 'flux'] as const)('targets confirmed by %s', (mode) => {
  /** The polls of this tenant's controller objects. */
  const reads = (tenant: string) =>
    [...(mode === 'argocd' ? argo.reads : flux.reads)]
      .filter(([name]) => name.replace(/^flux-system\//, '').startsWith(`${tenant}-`))
      .reduce((a, [, n]) => a + n, 0);

  it('confirms each target once its controller runs the commit delivered for it, healthy; the rollout completes', async () => {
    const { tenant, u } = await line(mode);
    const before = reads(tenant);
    const id = await promote(u);
    // Changed: the controller still runs the old commit (not confirmed), then the delivered one, healthy.
    const done = await follow(u.viewer, id, (target, commit) => setTimeout(() => setState(mode, tenant, target, { at: commit, ok: true }), 1500));
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    const r = rows(done);
    for (const x of TARGETS) {
      expect(r[x.name].state).toBe('DONE');
      expect(r[x.name].confirmation).toMatchObject({ mode, by: 'stageline', at: expect.any(String) });
      expect(r[x.name].confirmation.detail).toContain(r[x.name].git.commit.slice(0, 12));
    }
    // Polled more than once per target (the first polls saw the old commit) and the token was always right.
    expect(reads(tenant) - before).toBeGreaterThan(TARGETS.length * 2);
    expect(mode === 'argocd' ? argo.unauthorized : flux.unauthorized).toBe(0);
    // Two transitions per poll, as for a health URL: bounded by the polls the controller answered.
    const transitions = t.stack.workflow.transitions(LocalWorkflow.executionId({ tenant, promotionId: id }));
    expect(transitions).toBeLessThanOrEqual(5 + 4 * TARGETS.length + 2 * TARGETS.length + 2 * (reads(tenant) - before));
  }, 90_000);

  it('never confirms a target its controller runs at another revision: past its deadline the rollout rolls back, naming the revision', async () => {
    const { tenant, u } = await line(mode);
    const id = await promote(u);
    const done = await follow(u.viewer, id, (target) => setState(mode, tenant, target, { at: OTHER, ok: true }));
    expect(done.status, JSON.stringify(done.rollout)).toBe('ROLLED_BACK');
    const canary = rows(done).canary;
    expect(canary.state).toBe('ROLLED_BACK');
    expect(canary.error).toContain('not confirmed by');
    expect(canary.error).toContain(OTHER);
    expect(canary.error).toContain(canary.git.commit);
    expect(rows(done)['us-east-1'].state).toBe('PENDING');
    expect(done.error.message).toContain(OTHER);
  }, 90_000);

  it('rolls back a target its controller reports degraded during the bake', async () => {
    const { tenant, u } = await line(mode, 4);
    const id = await promote(u);
    const commits = new Map<string, string>();
    const done = await follow(
      u.viewer,
      id,
      (target, commit) => (commits.set(target, commit), setState(mode, tenant, target, { at: commit, ok: true })),
      (target) => setState(mode, tenant, target, { at: commits.get(target)!, ok: false, degraded: true }),
    );
    expect(done.status, JSON.stringify(done.rollout)).toBe('ROLLED_BACK');
    const canary = rows(done).canary;
    expect(canary.state).toBe('ROLLED_BACK');
    expect(canary.confirmation).toMatchObject({ mode, by: 'stageline' });
    expect(canary.error).toContain('not healthy at the end of its bake');
    expect(canary.error).toContain(mode === 'argocd' ? 'Degraded' : 'HealthCheckFailed');
    expect(done.error.message).toContain('failed its bake');
    // The rollback put its file back (or said why not: it ran no version of the artifact before).
    expect(canary.git.revert).toBeDefined();
  }, 90_000);
});

describe('GitOps confirmations are refused when badly configured (400 naming the field)', () => {
  it('refuses argocd without an application, a private or metadata server, a secret of another purpose', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev']);
    const create = (confirm: Record<string, unknown>) =>
      t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'production', position: 1, targets: [{ name: 'canary', wave: 1, confirm }] } });
    const argocd = { mode: 'argocd', server: 'https://argocd.example.com', application: 'platform-{target}', tokenSecret: 'ARGOCD_TOKEN' };
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ ...argocd, application: undefined }, 'confirm.application', /./],
      [{ ...argocd, server: 'http://169.254.169.254/latest/meta-data' }, 'confirm.server', /link-local|public/],
      [{ ...argocd, server: 'https://10.0.0.7:8080' }, 'confirm.server', /private/],
      [{ ...argocd, tokenSecret: 'git-token/GITOPS_TOKEN' }, 'confirm.tokenSecret', /purpose 'git-token'.*gitops-health/],
      [{ ...argocd, tokenSecret: 'nonsense-purpose/X' }, 'confirm.tokenSecret', /secret purpose 'nonsense-purpose'/],
      [
        { mode: 'flux', apiServer: 'https://192.168.1.10:6443', namespace: 'flux-system', kustomization: 'platform-{target}', tokenSecret: 'KUBE' },
        'confirm.apiServer',
        /private/,
      ],
      [
        { mode: 'flux', apiServer: 'https://k8s.example.com', namespace: 'Flux_System', kustomization: 'platform-{target}', tokenSecret: 'KUBE' },
        'confirm.namespace',
        /namespace/,
      ],
    ];
    for (const [confirm, field, message] of cases) {
      const r = await create(JSON.parse(JSON.stringify(confirm)));
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      const issue = (r.body.error?.issues ?? []).find((i: any) => String(i.path).endsWith(field));
      expect(issue, `${field}: ${JSON.stringify(r.body)}`).toBeDefined();
      expect(issue.message).toMatch(message);
    }
    // The well-formed one is taken, and read back as given (defaults filled in).
    const ok = await create(argocd);
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(ok.body.targets[0].confirm).toEqual({ ...argocd, timeoutSeconds: 600, intervalSeconds: 15 });
  });
});
