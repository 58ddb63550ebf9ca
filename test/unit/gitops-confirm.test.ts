import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { judgeArgocd } from '../../domain/promotion/rollout/confirm-argocd.ts';
import { judgeFlux } from '../../domain/promotion/rollout/confirm-flux.ts';
import { controllerName } from '../../domain/promotion/rollout/confirm-modes.ts';
import { shaOf } from '../../domain/promotion/rollout/delivered.ts';
import { confirmation } from '../../domain/kernel/target-schemas.ts';
import { rolloutLines } from '../../cli/rollout-view.ts';
import { GuardedGitOpsStatus } from '../../functions/adapters/gitops-status.ts';
import { overrideConfig } from '../../functions/configuration-overrides.ts';
import { applicationViolations, startArgoCd, type ArgoCdStandIn } from '../support/argocd-standin.ts';
import { kustomizationViolations, startFlux, type FluxStandIn } from '../support/flux-standin.ts';

const C = 'c0ffee'.repeat(6) + 'c0ff';
const LATER = 'beef'.repeat(10);
const OTHER = 'f00d'.repeat(10);
const own = { own: C, commits: [C] };

const app = (sync: string, revision: string, health: string, extra: Record<string, unknown> = {}) => ({
  metadata: { name: 'platform-canary' },
  spec: { project: 'default' },
  status: { sync: { status: sync, revision }, health: { status: health, ...extra } },
});
const ks = (ready: string, reason: string, revision?: string, extra: { stalled?: boolean; generation?: number; observed?: number } = {}) => ({
  metadata: { name: 'platform-canary', generation: extra.generation ?? 2 },
  status: {
    observedGeneration: extra.observed ?? 2,
    ...(revision ? { lastAppliedRevision: revision } : {}),
    conditions: [
      { type: 'Ready', status: ready, reason, message: reason, lastTransitionTime: '2026-11-25T10:00:00Z' },
      ...(extra.stalled ? [{ type: 'Stalled', status: 'True', reason, message: reason, lastTransitionTime: '2026-11-25T10:00:00Z' }] : []),
    ],
  },
});

describe('judging an Argo CD application', () => {
  it('confirms Synced at the delivered commit and Healthy, and nothing less', () => {
    expect(judgeArgocd(app('Synced', C, 'Healthy'), own)).toMatchObject({ confirmed: true, detail: expect.stringContaining('the delivered commit') });
    expect(judgeArgocd(app('OutOfSync', C, 'Healthy'), own)).toMatchObject({ confirmed: false });
    expect(judgeArgocd(app('Synced', C, 'Progressing'), own)).toMatchObject({ confirmed: false });
    expect(judgeArgocd({}, own)).toMatchObject({ confirmed: false, detail: expect.stringContaining('Unknown') });
    expect(judgeArgocd('not json', own)).toMatchObject({ confirmed: false });
  });
  it('never confirms a sync at another revision, and names it', () => {
    const j = judgeArgocd(app('Synced', OTHER, 'Healthy'), own);
    expect(j.confirmed).toBe(false);
    expect(j.detail).toContain(OTHER);
    expect(j.detail).toContain(C);
  });
  it('accepts a later commit of the same rollout (the branch head), and says so', () => {
    expect(judgeArgocd(app('Synced', LATER, 'Healthy'), { own: C, commits: [C, LATER] })).toMatchObject({
      confirmed: true,
      detail: expect.stringContaining('a later commit of this rollout'),
    });
  });
  it('reports Degraded and Missing as degraded, Progressing not', () => {
    expect(judgeArgocd(app('Synced', C, 'Degraded', { message: 'crash loop' }), own)).toMatchObject({ confirmed: false, degraded: true });
    expect(judgeArgocd(app('Synced', C, 'Degraded', { message: 'crash loop' }), own).detail).toContain('crash loop');
    expect(judgeArgocd(app('Synced', C, 'Missing'), own).degraded).toBe(true);
    expect(judgeArgocd(app('Synced', C, 'Progressing'), own).degraded).toBeUndefined();
  });
  it('without a delivered commit, confirms on Synced and Healthy alone and says so', () => {
    expect(judgeArgocd(app('Synced', OTHER, 'Healthy'), { own: null, commits: null })).toMatchObject({
      confirmed: true,
      detail: expect.stringContaining('no commit was delivered'),
    });
  });
  it('refuses an application of another project', () => {
    expect(judgeArgocd(app('Synced', C, 'Healthy'), own, { name: 'x', project: 'payments' })).toMatchObject({ confirmed: false });
  });
});

describe('judging a Flux Kustomization', () => {
  it('confirms Ready=True with the delivered commit applied, in either revision format', () => {
    expect(judgeFlux(ks('True', 'ReconciliationSucceeded', `main@sha1:${C}`), own).confirmed).toBe(true);
    expect(judgeFlux(ks('True', 'ReconciliationSucceeded', C), own).confirmed).toBe(true);
    expect(judgeFlux(ks('True', 'ReconciliationSucceeded', `main@sha1:${OTHER}`), own)).toMatchObject({
      confirmed: false,
      detail: expect.stringContaining(OTHER),
    });
    expect(judgeFlux(ks('True', 'ReconciliationSucceeded'), own).confirmed).toBe(false);
    expect(judgeFlux(ks('Unknown', 'Progressing', `main@sha1:${C}`), own)).toMatchObject({ confirmed: false });
  });
  it('waits for the spec generation to be reconciled', () => {
    expect(judgeFlux(ks('True', 'ReconciliationSucceeded', `main@sha1:${C}`, { generation: 3, observed: 2 }), own).confirmed).toBe(false);
  });
  it('reports Ready=False with a failure reason (or Stalled) as degraded, not while progressing', () => {
    expect(judgeFlux(ks('False', 'HealthCheckFailed', `main@sha1:${C}`), own)).toMatchObject({ confirmed: false, degraded: true });
    expect(judgeFlux(ks('False', 'DependencyNotReady', `main@sha1:${C}`), own).degraded).toBeUndefined();
    expect(judgeFlux(ks('Unknown', 'Progressing', `main@sha1:${C}`, { stalled: true }), own).degraded).toBe(true);
  });
  it('reads the commit out of the revision formats Flux writes', () => {
    expect(shaOf(`main@sha1:${C}`)).toBe(C);
    expect(shaOf(`sha1:${C.toUpperCase()}`)).toBe(C);
    expect(shaOf(`main/${C}`)).toBe(C);
    expect(shaOf(C)).toBe(C);
    expect(shaOf('main@sha1:abc')).toBeNull();
    expect(shaOf(`x${C}`)).toBeNull();
  });
});

describe('the confirmation schema', () => {
  it('fills in names per target and refuses a token of another purpose', () => {
    expect(controllerName('{environment}-platform-{target}', 'production', 'canary')).toBe('production-platform-canary');
    const base = { mode: 'argocd', server: 'https://argocd.example.com', application: 'p-{target}', tokenSecret: 'ARGOCD_TOKEN' };
    expect(confirmation.safeParse(base).success).toBe(true);
    const other = confirmation.safeParse({ ...base, tokenSecret: 'git-token/GITOPS_TOKEN' });
    expect(other.success).toBe(false);
    expect(JSON.stringify(other.error?.issues)).toContain('gitops-health');
    expect(confirmation.safeParse({ ...base, application: 'P_{target}' }).success).toBe(false);
    expect(confirmation.safeParse({ ...base, server: 'https://169.254.169.254' }).success).toBe(false);
  });
});

describe('the CLI says what a GitOps target waits for and what confirmed it', () => {
  it('names the controller while confirming, and its verdict while baking', () => {
    const soon = new Date(Date.now() + 60_000).toISOString();
    const row = (name: string, state: string, confirmation: Record<string, unknown>) =>
      ({ name, state, appliedAt: soon, confirmation, bake: null, alarm: null, error: null, rolledBackAt: null }) as never;
    const lines = rolloutLines({
      phase: 'ROLLING_OUT',
      wave: 1,
      halted: null,
      waiting: null,
      waves: [
        {
          wave: 1,
          bakeSeconds: 60,
          targets: [
            row('canary', 'CONFIRMING', { mode: 'argocd', deadline: soon, at: null, by: null }),
            row('edge', 'BAKING', { mode: 'flux', deadline: soon, at: soon, by: 'stageline', detail: 'Flux Kustomization x is Ready at c0ffee' }),
          ],
        },
      ],
    } as never);
    expect(lines[1]).toContain('canary waits for its Argo CD application');
    expect(lines[1]).toContain('edge baking');
    expect(lines[1]).toContain('Ready at c0ffee');
  });
});

describe('the stand-ins are held to the published descriptions', () => {
  it('flags answers Argo CD’s Swagger and Flux’s CRD do not allow', () => {
    expect(applicationViolations(200, { metadata: { generation: 3 }, status: { sync: { status: 'Synced', revision: C } } })).toEqual([]);
    expect(applicationViolations(200, { metadata: { generation: '3' } })).not.toEqual([]);
    expect(applicationViolations(200, { status: { sync: { revision: 7 } } })).not.toEqual([]);
    expect(applicationViolations(404, { code: 5, message: 'not found' })).toEqual([]);
    const good = { ...ks('True', 'ReconciliationSucceeded', C), spec: { interval: '1m', prune: true, sourceRef: { kind: 'GitRepository', name: 'x' } } };
    expect(kustomizationViolations(good)).toEqual([]);
    expect(kustomizationViolations({ ...good, spec: { interval: '1m' } })).not.toEqual([]);
    expect(kustomizationViolations(ks('Maybe', 'x', C))).not.toEqual([]);
    expect(kustomizationViolations({ ...good, status: { ...good.status, conditions: [{ type: 'Ready', status: 'True' }] } })).not.toEqual([]);
  });
});

describe('the GitOps status adapter against the stand-ins', () => {
  let argo: ArgoCdStandIn;
  let flux: FluxStandIn;
  let undo: () => void;
  const secrets = new Map([
    ['ARGO', 'argo-token'],
    ['KUBE', 'kube-token'],
  ]);
  const adapter = new GuardedGitOpsStatus({ resolve: async (_t, name, purpose) => (purpose === 'gitops-health' ? (secrets.get(name) ?? null) : null) });
  beforeAll(async () => {
    undo = overrideConfig({ STAGELINE_ALLOW_LOOPBACK_OUTBOUND: 'true' });
    [argo, flux] = await Promise.all([startArgoCd('argo-token'), startFlux('kube-token')]);
  });
  afterAll(async () => {
    undo();
    await Promise.all([argo.close(), flux.close()]);
    expect(argo.violations).toEqual([]);
    expect(flux.violations).toEqual([]);
  });

  it('reads an Argo CD application with the bearer token; an unknown app, a wrong token, a missing secret say why', async () => {
    argo.set('platform-canary', { sync: 'Synced', revision: C, health: 'Healthy', project: 'payments' });
    const read = await adapter.argocdApplication({ tenant: 'acme', server: argo.url, name: 'platform-canary', tokenSecret: 'ARGO', project: 'payments' });
    expect(read.ok).toBe(true);
    expect(judgeArgocd(read.ok ? read.body : null, own, { name: 'platform-canary', project: 'payments' }).confirmed).toBe(true);
    expect(await adapter.argocdApplication({ tenant: 'acme', server: argo.url, name: 'nope', tokenSecret: 'ARGO' })).toMatchObject({ ok: false, status: 404 });
    secrets.set('WRONG', 'not-it');
    expect(await adapter.argocdApplication({ tenant: 'acme', server: argo.url, name: 'platform-canary', tokenSecret: 'WRONG' })).toMatchObject({
      ok: false,
      status: 401,
    });
    expect(await adapter.argocdApplication({ tenant: 'acme', server: argo.url, name: 'platform-canary', tokenSecret: 'MISSING' })).toMatchObject({
      ok: false,
      error: expect.stringContaining('gitops-health'),
    });
  });

  it('reads a Flux Kustomization through the Kubernetes client, on the guarded outbound client', async () => {
    flux.set('flux-system', 'platform-canary', { ready: 'True', reason: 'ReconciliationSucceeded', lastAppliedRevision: `main@sha1:${C}` });
    const read = await adapter.fluxKustomization({
      tenant: 'acme',
      apiServer: flux.url,
      namespace: 'flux-system',
      name: 'platform-canary',
      tokenSecret: 'KUBE',
    });
    expect(read.ok, JSON.stringify(read)).toBe(true);
    expect(judgeFlux(read.ok ? read.body : null, own).confirmed).toBe(true);
    expect(await adapter.fluxKustomization({ tenant: 'acme', apiServer: flux.url, namespace: 'flux-system', name: 'nope', tokenSecret: 'KUBE' })).toMatchObject(
      {
        ok: false,
        status: 404,
      },
    );
    expect(flux.reads.get('flux-system/platform-canary')).toBe(1);
  });

  it('trusts a private cluster CA given as caSecret, and only then', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stageline-ca-'));
    try {
      const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          key,
          '-out',
          cert,
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
        ],
        { stdio: 'ignore' },
      );
      const tls = { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
      const cluster = await startFlux('kube-token', tls);
      try {
        secrets.set('CLUSTER_CA', tls.cert);
        cluster.set('flux-system', 'platform-canary', { ready: 'True', reason: 'ReconciliationSucceeded', lastAppliedRevision: `main@sha1:${C}` });
        const req = { tenant: 'acme', apiServer: cluster.url, namespace: 'flux-system', name: 'platform-canary', tokenSecret: 'KUBE' };
        expect(await adapter.fluxKustomization(req)).toMatchObject({ ok: false, error: expect.stringMatching(/certificate/i) });
        const read = await adapter.fluxKustomization({ ...req, caSecret: 'CLUSTER_CA' });
        expect(read.ok, JSON.stringify(read)).toBe(true);
        expect(cluster.violations).toEqual([]);
      } finally {
        await cluster.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never connects to a private or metadata address, whatever the client', async () => {
    for (const apiServer of ['http://169.254.169.254', 'https://10.1.2.3:6443', 'https://[::ffff:169.254.169.254]']) {
      const r = await adapter.fluxKustomization({ tenant: 'acme', apiServer, namespace: 'flux-system', name: 'x', tokenSecret: 'KUBE' });
      expect(r, apiServer).toMatchObject({ ok: false, error: expect.stringContaining('refused') });
    }
    const a = await adapter.argocdApplication({ tenant: 'acme', server: 'https://169.254.169.254', name: 'x', tokenSecret: 'ARGO' });
    expect(a).toMatchObject({ ok: false, error: expect.stringContaining('refused') });
  });
});
