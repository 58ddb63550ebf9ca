import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEffects, type CheckContext, type Effects, type HistoryEntry } from '../../chaos/effects.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * The effect receivers of a chaos run (chaos/effects.ts): real promotions on a local stack under a fault plan
 * (a step's answer lost after its effects, a step run twice) leave one commit, one pull request, one tag move,
 * one webhook-id and one notification per change; and each check names a duplicate made on purpose.
 */
const SEED = 1;
let t: TestStack;
let fx: Effects;

beforeAll(async () => {
  t = await startTestStack({ faults: { seed: SEED, rates: { 'step.after': 0.3, 'step.twice': 0.3 } }, webhookRetryBaseMs: 50 });
  fx = await startEffects();
});
afterAll(async () => {
  await t?.stop();
  await fx?.stop();
});

/** The API as the workload meets it, keeping the history the checker prints. */
function recorded(history: HistoryEntry[], tenant: string) {
  return {
    url: t.url,
    async call(method: string, path: string, opts: { token?: string; body?: unknown } = {}) {
      const r = await t.call(method, path, opts);
      const promotionId = /\/promotions\/([^/?]+)/.exec(path)?.[1] ?? (typeof r.body?.id === 'string' && path === '/api/v1/promotions' ? r.body.id : undefined);
      history.push({ at: new Date().toISOString(), tenant, method, path, status: r.status, ...(promotionId ? { promotionId } : {}) });
      return r;
    },
  };
}

const TERMINAL = ['COMPLETED', 'FAILED', 'ROLLED_BACK', 'CANCELLED', 'REJECTED', 'EXPIRED'];

/** Drives a promotion to its end as its users would: approves when asked, merges its pull request when it waits for one. */
async function drive(api: ReturnType<typeof recorded>, u: Record<string, string>, id: string, merge: () => Promise<number>) {
  const until = Date.now() + 90_000;
  for (;;) {
    const d = (await api.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body;
    if (TERMINAL.includes(d?.status)) return d;
    if (d?.status === 'AWAITING_APPROVAL' && d.waitingFor === 'approval')
      await api.call('POST', `/api/v1/promotions/${id}/approve`, { token: u.approver, body: {} });
    if (d?.waitingFor === 'merge') await merge();
    if (Date.now() > until) throw new Error(`promotion ${id} never ended: ${JSON.stringify(d)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function promote(api: ReturnType<typeof recorded>, token: string, body: Record<string, unknown>) {
  const p = await api.call('POST', '/api/v1/promotions', { token, body });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  return p.body.id as string;
}

/** A tenant with every receiver set up: staging commits to git and syncs the registry, production opens pull requests. */
async function tenantWithEffects(history: HistoryEntry[]) {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  const api = recorded(history, tenant);
  const e = fx.setup(tenant, api, u.admin);
  await e.registries({ dev: 'source', staging: 'target' });
  const commit = await e.gitTarget('staging', 'commit');
  const pr = await e.gitTarget('production', 'pull-request');
  const hooks = await e.webhooks();
  await e.notifications();
  return { tenant, u, api, e, commit, pr, hooks };
}

describe('effects once under faults (step answers lost, steps run twice)', () => {
  it('a config promotion, an artifact promotion with a git commit and a registry sync, and one through a pull request: no effect twice, every event delivered', async () => {
    const history: HistoryEntry[] = [];
    const { tenant, u, api, e } = await tenantWithEffects(history);
    const promotions: CheckContext['promotions'] = [];

    await e.publish('app', 'v1.0.0', u.deployer);
    const toStaging = await promote(api, u.deployer, { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'app', version: 'v1.0.0' });
    promotions.push({ tenant, id: toStaging, kind: 'artifact', environment: 'staging' });
    const staged = await drive(api, u, toStaging, e.mergePulls);

    expect((await api.call('POST', '/api/v1/environments/dev/configs', { token: u.admin, body: { key: 'feature.x', value: 'on' } })).status).toBe(201);
    const config = await promote(api, u.deployer, { sourceEnvironment: 'dev', targetEnvironment: 'staging' });
    promotions.push({ tenant, id: config, kind: 'config', environment: 'staging' });
    const configured = await drive(api, u, config, e.mergePulls);

    const toProduction = await promote(api, u.deployer, { sourceEnvironment: 'staging', targetEnvironment: 'production', artifact: 'app', version: 'v1.0.0' });
    promotions.push({ tenant, id: toProduction, kind: 'artifact', environment: 'production' });
    const produced = await drive(api, u, toProduction, e.mergePulls);

    // The faults were there (the plan injected some), and the promotions ended.
    expect(t.stack.faults!.total()).toBeGreaterThan(0);
    const ends = [staged, configured, produced].map((d) => `${d.id}: ${d.status} ${JSON.stringify(d.error ?? null)}`);
    expect([staged.status, configured.status, produced.status], ends.join('\n')).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    // The receivers saw the effects (a check over nothing proves nothing).
    expect(fx.seen.manifestPuts.filter((p) => p.tenant === tenant && p.reference === 'latest-staging')).not.toHaveLength(0);
    expect(fx.github.pulls(`chaos-${tenant}/production-pull-request`)).toHaveLength(1);

    const violations = await fx.check({ stack: t.stack, tenants: [tenant], history, seed: SEED, promotions });
    expect(violations, JSON.stringify(violations, null, 2)).toEqual([]);
    // Every completion reached the receiver (check waited for deliveries on their way).
    expect(new Set(fx.seen.webhooks.filter((w) => w.tenant === tenant && w.type === 'promotion.completed').map((w) => w.promotionId))).toEqual(
      new Set([toStaging, config, toProduction]),
    );
  });
});

describe('each check names a duplicate effect', () => {
  it('a second commit applying the promotion, a second manifest PUT of the tag, a second webhook-id for one event, a second notification: git-once, registry-once, webhook-once, notify-once', async () => {
    const history: HistoryEntry[] = [];
    const { tenant, u, api, e, commit, hooks } = await tenantWithEffects(history);
    await e.publish('svc', 'v2.0.0', u.deployer);
    const id = await promote(api, u.deployer, { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'svc', version: 'v2.0.0' });
    const done = await drive(api, u, id, e.mergePulls);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    const ctx: CheckContext = {
      stack: t.stack,
      tenants: [tenant],
      history,
      seed: SEED,
      promotions: [{ tenant, id, kind: 'artifact', environment: 'staging' }],
    };
    expect(await fx.check(ctx)).toEqual([]);

    // git: someone (a second run of the step) pushes another commit carrying the same promotion and target.
    const bare = join(fx.git.root, `${commit.fullName}.git`);
    const work = mkdtempSync(join(tmpdir(), 'chaos-dup-'));
    try {
      fx.git.git(work, 'clone', '-q', bare, 'w');
      const message = fx.git.git(join(work, 'w'), 'log', '-1', '--format=%B');
      expect(message).toContain(`Stageline-Promotion: ${id}`);
      fx.git.git(join(work, 'w'), 'commit', '-q', '--allow-empty', '-m', message);
      fx.git.git(join(work, 'w'), 'push', '-q', 'origin', 'main');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }

    // registry: the tag written again onto the digest it holds (through the recording proxy, as the sync writes it).
    const target = fx.registry.target.url;
    const accept = 'application/vnd.oci.image.manifest.v1+json';
    const got = await fetch(`${target}/v2/svc/manifests/latest-staging`, { headers: { accept } });
    expect(got.status).toBe(200);
    const bytes = Buffer.from(await got.arrayBuffer());
    const put = await fetch(`${target}/v2/svc/manifests/latest-staging`, { method: 'PUT', headers: { 'content-type': accept }, body: bytes });
    expect(put.status).toBe(201);

    // webhook: the same event delivered under another webhook-id, signed with the subscription's secret.
    const first = fx.seen.webhooks.find((w) => w.tenant === tenant && w.promotionId === id && w.type === 'promotion.completed')!;
    expect(first).toBeDefined();
    const otherId = `msg_${first.webhookId.slice(4, 12)}other`;
    const now = new Date();
    const signature = new Webhook(hooks.secret).sign(otherId, now, first.body);
    const sent = await fetch(`${fx.webhookUrl}/${tenant}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': otherId,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signature,
      },
      body: first.body,
    });
    expect(sent.status).toBe(200);

    // notification: the completion email sent again.
    const mail = t.stack.outbox.mails.find((m) => m.to === `ops@${tenant}.test` && m.text.includes(id))!;
    expect(mail).toBeDefined();
    await t.stack.outbox.email({ to: mail.to, subject: mail.subject, html: mail.html, text: mail.text });

    const violations = await fx.check(ctx, { waitMs: 5_000 });
    expect(violations.map((v) => [v.invariant, v.tenant, v.promotionId]).sort()).toEqual(
      [
        ['git-once', tenant, id],
        ['registry-once', tenant, id],
        ['webhook-once', tenant, id],
        ['notify-once', tenant, id],
      ].sort(),
    );
    const named = Object.fromEntries(violations.map((v) => [v.invariant, v]));
    expect(named['git-once']!.detail).toMatch(/2 commits apply promotion/);
    expect(named['registry-once']!.detail).toContain('latest-staging');
    expect(named['webhook-once']!.detail).toContain(otherId);
    expect(named['notify-once']!.detail).toContain(mail.subject);
    // The promotion's history comes with each, so a failure can be read without the run.
    expect(named['git-once']!.history.some((h) => h.includes(`/promotions/${id}`))).toBe(true);
  });
});
