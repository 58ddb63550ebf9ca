import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOf } from '../support/cli.ts';
import { waitFor, waitForToken } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * Guards played from the attacker's side, through the API and the CLI: URLs refused when saved,
 * one answer to a break-glass request on every path, decisions bound to the release across a
 * rebase, and the smaller findings.
 */
let t: TestStack;
let hook: Server;
let hookUrl = '';
beforeAll(async () => {
  t = await startTestStack();
  // A Slack stand-in that fails with a body it should never be able to leak.
  hook = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('root:x:0:0:INTERNAL-SECRET-FROM-THE-TARGET');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/services/T0/B0/x`;
});
afterAll(async () => {
  await t.stop();
  await new Promise((r) => hook.close(r));
});

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();
const glass = (reason: string) => ({ 'x-break-glass-reason': reason });

async function tenantWithLine(names?: string[]) {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin, names);
  return { tenant, u };
}

/** Runs as the deployed stack does: loopback is refused like any other private address. */
async function deployedMode<T>(fn: () => Promise<T>): Promise<T> {
  const localMode = t.stack.configure({ STAGELINE_ALLOW_LOOPBACK_OUTBOUND: 'false' });
  try {
    return await fn();
  } finally {
    localMode();
  }
}

describe('every URL a tenant configures is checked when it is saved', () => {
  it('environments, registries, notifications and manifests refuse private, metadata and loopback addresses in any notation and plain http: 400 naming the field and why', async () => {
    const { u } = await tenantWithLine();
    const hookOf = (url: string) => ({ name: 'check', url, secret: 'x'.repeat(16) });
    await deployedMode(async () => {
      for (const [url, why] of [
        ['http://169.254.169.254/latest/meta-data/', /metadata/],
        ['https://127.0.0.1:8443/', /loopback/],
        ['https://[::1]/', /loopback/],
        ['https://0x7f.1/', /127\.0\.0\.1, a loopback/],
        ['https://[::ffff:169.254.169.254]/', /metadata/],
        ['https://10.0.0.5/x', /private/],
        ['http://', /not a valid URL/],
        ['http://hooks.example.com/', /plain http/],
      ] as const) {
        const created = await t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'qa', position: 7, webhookGates: [hookOf(url)] } });
        expect(created.status, url).toBe(400);
        expect(created.body.error.issues, url).toContainEqual({ path: 'webhookGates.0.url', message: expect.stringMatching(why) });
      }
      const staging = (await t.call('GET', '/api/v1/environments/staging', { token: u.viewer })).body;
      const updated = await t.call('PATCH', '/api/v1/environments/staging', {
        token: u.admin,
        body: { version: staging.version, webhookGates: [hookOf('http://[::1]:9/')] },
      });
      expect(updated.status).toBe(400);
      expect(updated.body.error.issues[0]).toMatchObject({ path: 'webhookGates.0.url', message: expect.stringMatching(/loopback/) });
      const registry = await t.call('PATCH', '/api/v1/environments/staging', {
        token: u.admin,
        body: { version: staging.version, registries: [{ name: 'internal', url: 'https://192.168.1.10' }] },
      });
      expect(registry.body.error.issues[0]).toMatchObject({ path: 'registries.0.url', message: expect.stringMatching(/private/) });
      for (const path of ['/api/v1/notifications', '/api/v1/environments/production/notifications']) {
        const slack = await t.call('PUT', path, { token: u.admin, body: { slack: { webhook: 'https://2852039166/services/x' } } });
        expect(slack.status, path).toBe(400);
        expect(slack.body.error.issues[0]).toMatchObject({ path: 'slack.webhook', message: expect.stringMatching(/169\.254\.169\.254.*metadata/) });
      }
      const doc = JSON.stringify({
        artifacts: { promotion: { webhook_gates: { staging: [{ name: 'meta', url: 'http://0251.0376.0251.0376/latest/', secret: '${HOOK_SECRET}' }] } } },
      });
      for (const route of ['plan', 'apply']) {
        const r = await t.call('POST', `/api/v1/manifest/${route}`, { token: u.admin, body: { document: doc } });
        expect(r.status, route).toBe(400);
        expect(r.body.error.issues[0]).toMatchObject({
          path: 'document.artifacts.promotion.webhook_gates.staging.0.url',
          message: expect.stringMatching(/metadata/),
        });
      }
    });
    // Nothing was saved; local mode keeps allowing loopback as before.
    expect((await t.call('GET', '/api/v1/environments/staging', { token: u.viewer })).body.webhookGates).toEqual([]);
    const local = await t.call('POST', '/api/v1/environments', {
      token: u.admin,
      body: { name: 'qa', position: 7, webhookGates: [hookOf('http://127.0.0.1:9/hook')] },
    });
    expect(local.status, JSON.stringify(local.body)).toBe(201);
    expect(
      (await t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'qa2', position: 8, webhookGates: [hookOf('http://10.0.0.5/hook')] } }))
        .status,
    ).toBe(400);
  });

  it('analysis templates: a Prometheus address or web URL on loopback or localhost is refused at save in a deployment (PUT and manifest), as a health URL is; local mode keeps it', async () => {
    const { u } = await tenantWithLine();
    const prometheus = (address: string) => ({ provider: { type: 'prometheus', address, query: 'up' }, successCondition: 'result < 1' });
    const web = (url: string) => ({ provider: { type: 'web', url, jsonPath: '$.v' }, successCondition: 'result < 1' });
    await deployedMode(async () => {
      for (const [body, field, why] of [
        [prometheus('https://localhost'), 'provider.address', /localhost/],
        [prometheus('http://127.0.0.1:9090'), 'provider.address', /loopback/],
        [prometheus('https://[::1]:9090/prom'), 'provider.address', /loopback/],
        [web('https://localhost/metrics'), 'provider.url', /localhost/],
        [web('http://127.0.0.1:8080/m'), 'provider.url', /loopback/],
        [prometheus('https://10.0.0.5'), 'provider.address', /private/],
      ] as const) {
        const put = await t.call('PUT', '/api/v1/analysis-templates/rate', { token: u.admin, body });
        expect(put.status, JSON.stringify(body)).toBe(400);
        expect(put.body.error.issues, JSON.stringify(body)).toContainEqual({ path: field, message: expect.stringMatching(why) });
      }
      const document = JSON.stringify({ artifacts: { promotion: { analysis_templates: [{ name: 'rate', ...web('https://localhost/metrics') }] } } });
      const plan = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document } });
      expect(plan.status).toBe(400);
      expect(plan.body.error.issues).toContainEqual({
        path: 'document.artifacts.promotion.analysis_templates.0.provider.url',
        message: expect.stringMatching(/localhost/),
      });
      expect((await t.call('GET', '/api/v1/analysis-templates', { token: u.viewer })).body.templates).toEqual([]);
      expect((await t.call('PUT', '/api/v1/analysis-templates/rate', { token: u.admin, body: prometheus('https://prometheus.example.com') })).status).toBe(200);
    });
    const local = await t.call('PUT', '/api/v1/analysis-templates/local', { token: u.admin, body: prometheus('http://127.0.0.1:9090') });
    expect(local.status, JSON.stringify(local.body)).toBe(200);
  });
});

describe('one answer to X-Break-Glass-Reason on every path past a freeze', () => {
  it('a deployer is refused 403 naming the admin role on create, execute, schedule, both rollbacks and direct writes, and nothing is cancelled; an admin passes, audited as break-glass', async () => {
    const { u } = await tenantWithLine();
    await t.call('POST', '/api/v1/environments/dev/items/batch', { token: u.deployer, body: { set: [{ key: 'a', value: 1 }] } });
    const first = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    expect((await waitFor(t, u.viewer, first.body.id, ['COMPLETED', 'FAILED', 'CANCELLED'])).status).toBe('COMPLETED');
    await t.call('POST', '/api/v1/environments/dev/items/batch', { token: u.deployer, body: { set: [{ key: 'b', value: 2 }] } });
    const manual = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', trigger: 'manual' },
    });
    await waitFor(t, u.viewer, manual.body.id, ['APPROVED']);
    await waitForToken(t, u.viewer, manual.body.id);
    await t.call('POST', '/api/v1/environments/staging/freeze-windows', {
      token: u.admin,
      body: { reason: 'release freeze', start: inSeconds(-1), end: inSeconds(3600) },
    });

    const h = glass('hotfix');
    const attempts = {
      create: await t.call('POST', '/api/v1/promotions', { token: u.deployer, headers: h, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } }),
      execute: await t.call('POST', `/api/v1/promotions/${manual.body.id}/execute`, { token: u.deployer, headers: h, body: {} }),
      schedule: await t.call('POST', `/api/v1/promotions/${manual.body.id}/schedule`, { token: u.deployer, headers: h, body: { at: inSeconds(600) } }),
      rollback: await t.call('POST', `/api/v1/promotions/${first.body.id}/rollback`, { token: u.deployer, headers: h, body: { reason: 'bad' } }),
      envRollback: await t.call('POST', '/api/v1/environments/staging/rollback', { token: u.deployer, headers: h, body: { snapshot: 0, reason: 'bad' } }),
      configRoute: await t.call('POST', `/api/v1/config/promotions/${manual.body.id}/execute`, { token: u.deployer, headers: h, body: {} }),
      write: await t.call('POST', '/api/v1/environments/dev/items/batch', { token: u.deployer, headers: h, body: { set: [{ key: 'c', value: 3 }] } }),
    };
    for (const [path, r] of Object.entries(attempts)) {
      expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(403);
      expect(r.body.error.message, path).toMatch(/Break-glass needs the admin role; you have: deployer/);
    }
    // Nothing moved: the manual promotion still waits for its go, staging has no rollback, the completed one stands.
    await t.stack.stream.idle();
    expect((await t.call('GET', `/api/v1/promotions/${manual.body.id}`, { token: u.viewer })).body).toMatchObject({
      status: 'APPROVED',
      waitingFor: 'execution',
      freezeOverride: null,
    });
    expect((await t.call('GET', `/api/v1/promotions/${first.body.id}`, { token: u.viewer })).body.status).toBe('COMPLETED');
    expect((await t.call('GET', '/api/v1/promotions?target=staging', { token: u.viewer })).body.items).toHaveLength(2);

    // The admin's break-glass on execute goes through the freeze, bound to the release and audited as break-glass.
    const go = await t.call('POST', `/api/v1/promotions/${manual.body.id}/execute`, { token: u.admin, headers: glass('INC-7 fix'), body: {} });
    expect(go.status, JSON.stringify(go.body)).toBe(202);
    const done = await waitFor(t, u.viewer, manual.body.id, ['COMPLETED', 'CANCELLED', 'FAILED']);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    expect(done.freezeOverride).toMatchObject({ guard: 'freeze-window', reason: 'INC-7 fix', action: 'promotion.execute', releaseDigest: done.releaseDigest });
    const audit = await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${manual.body.id}`, { token: u.viewer });
    expect(audit.body.items.find((e: any) => e.action === 'breakglass.promotion.execute')).toMatchObject({ reason: 'break-glass (freeze-window): INC-7 fix' });

    // An environment rollback by an admin with a reason passes the freeze too (the same helper).
    const back = await t.call('POST', '/api/v1/environments/staging/rollback', {
      token: u.admin,
      headers: glass('INC-7 revert'),
      body: { snapshot: 1, reason: 'revert b' },
    });
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    const reverted = await waitFor(t, u.viewer, back.body.promotion.id, ['COMPLETED', 'CANCELLED', 'FAILED']);
    expect(reverted.status, JSON.stringify(reverted.error)).toBe('COMPLETED');
    const rbAudit = await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${back.body.promotion.id}`, { token: u.viewer });
    expect(rbAudit.body.items.map((e: any) => e.action)).toContain('breakglass.rollback.request');
  });
});

describe('break-glass on an approval', () => {
  it('is stamped only when the approval itself is allowed: a self-approval with a break-glass reason is refused and leaves no freeze override', async () => {
    const { tenant, u } = await tenantWithLine();
    const ann = await t.token({ sub: `ann-${tenant}`, email: `ann@${tenant}.test`, tenant, groups: ['admin'] });
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.admin, body: { key: 'fix.a', value: 1 } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.admin, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    await waitForToken(t, u.viewer, p.body.id);
    await t.call('POST', '/api/v1/environments/production/freeze-windows', {
      token: u.admin,
      body: { reason: 'release freeze', start: inSeconds(-1), end: inSeconds(3600) },
    });

    // The requester (an admin) approves their own promotion with a break-glass reason: separation of duties refuses it, and nothing is stamped.
    const self = await t.call('POST', `/api/v1/promotions/${p.body.id}/approve`, { token: u.admin, headers: glass('INC-9'), body: {} });
    expect(self.status, JSON.stringify(self.body)).toBe(403);
    expect((await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body).toMatchObject({
      status: 'AWAITING_APPROVAL',
      freezeOverride: null,
    });
    const audit = await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${p.body.id}`, { token: u.viewer });
    expect(audit.body.items.map((e: any) => e.action)).not.toContain('breakglass.promotion.approve');

    // Another admin's approval with the reason is allowed, so it carries the override, bound to the release.
    const other = await t.call('POST', `/api/v1/promotions/${p.body.id}/approve`, { token: ann, headers: glass('INC-9'), body: {} });
    expect(other.status, JSON.stringify(other.body)).toBe(200);
    expect((await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body.freezeOverride).toMatchObject({
      reason: 'INC-9',
      action: 'promotion.approve',
      releaseDigest: p.body.releaseDigest,
    });
  });
});

describe('decisions are bound to the release', () => {
  it("a deployer who adds a key and rebases an admin's break-glass promotion does not get it through the freeze, and cannot approve it", async () => {
    const { tenant, u } = await tenantWithLine();
    const bob = await t.token({ sub: `bob-${tenant}`, email: `bob@${tenant}.test`, tenant, groups: ['deployer', 'approver'] });
    await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { email: { recipients: [`ops@${tenant}.test`], approvers: true } } });
    await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: { name: 'two eyes', sourceEnvironment: 'staging', targetEnvironment: 'production', requiredApprovers: 2 },
    });
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.admin, body: { key: 'hotfix.a', value: 'fix' } });
    await t.call('POST', '/api/v1/environments/production/freeze-windows', {
      token: u.admin,
      body: { reason: 'release freeze', start: inSeconds(-1), end: inSeconds(3600) },
    });

    const p = await t.call('POST', '/api/v1/promotions', {
      token: u.admin,
      headers: glass('INC-42 hotfix.a only'),
      body: {
        sourceEnvironment: 'staging',
        targetEnvironment: 'production',
        promotionType: 'PATTERN',
        keyPatterns: ['hotfix.*'],
        notes: 'INC-42: hotfix.a only',
      },
    });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    expect(p.body.freezeOverride).toMatchObject({ reason: 'INC-42 hotfix.a only', releaseDigest: p.body.releaseDigest });
    await waitForToken(t, u.viewer, p.body.id);

    await t.call('POST', '/api/v1/environments/staging/configs', { token: bob, body: { key: 'hotfix.bob-extra', value: 'mine' } });
    // The deployer cannot re-break glass for his release either: 403 and nothing changes.
    const glassy = await t.call('POST', `/api/v1/promotions/${p.body.id}/rebase`, { token: bob, headers: glass('also mine'), body: {} });
    expect(glassy.status).toBe(403);
    expect((await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body.releaseDigest).toBe(p.body.releaseDigest);

    // The first approval request (bob could approve the admin's own release) must be out before the rebase, or a
    // late delivery of it would be counted as one of the rebased release's.
    await t.stack.stream.idle();
    for (let n = -1, i = 0; i < 200 && n !== t.stack.outbox.mails.length; i++) {
      n = t.stack.outbox.mails.length;
      await new Promise((r) => setTimeout(r, 250));
    }
    const mailsBefore = t.stack.outbox.mails.length;
    const rebased = await t.call('POST', `/api/v1/promotions/${p.body.id}/rebase`, { token: bob, body: {} });
    expect(rebased.status, JSON.stringify(rebased.body)).toBe(200);
    expect(rebased.body.releaseDigest).not.toBe(p.body.releaseDigest);
    expect(rebased.body.freezeOverride).toBeNull();
    expect(rebased.body.requestedBy.name).toBe(`admin@${tenant}.test`);
    expect(rebased.body.rebasedBy).toMatchObject({ name: `bob@${tenant}.test` });
    expect(rebased.body.changeSummary).toMatchObject({ added: 2, keys: ['config:hotfix.a', 'config:hotfix.bob-extra'] });
    expect(rebased.body.notes).toMatch(new RegExp(`^Rebased by bob@${tenant}\\.test onto staging@\\d+: 2 added`));
    expect(rebased.body.notes).not.toContain('hotfix.a only');
    const audit = await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${p.body.id}`, { token: u.viewer });
    expect(audit.body.items.find((e: any) => e.action === 'promotion.rebase')).toMatchObject({
      actorName: `bob@${tenant}.test`,
      reason: expect.stringContaining('voids the break-glass of admin@'),
    });

    // The approval request sent again shows the new content and who chose it.
    await t.stack.stream.idle();
    let mail: any;
    for (let i = 0; i < 200 && !mail; i++) {
      mail = t.stack.outbox.mails.slice(mailsBefore).find((m) => m.to === `approver@${tenant}.test` && m.subject.includes('needs your approval'));
      if (!mail) await new Promise((r) => setTimeout(r, 25));
    }
    expect(mail?.text).toContain('hotfix.bob-extra');
    expect(mail?.text).toContain(`rebased by bob@${tenant}.test`);
    expect(t.stack.outbox.mails.slice(mailsBefore).some((m) => m.to === `bob@${tenant}.test` && /Review and approve/.test(m.text))).toBe(false);

    // The rebaser chose the content: separation of duties treats him as the requester.
    const self = await t.call('POST', `/api/v1/promotions/${p.body.id}/approve`, { token: bob, body: {} });
    expect(self.status).toBe(403);
    expect(self.body.error).toMatchObject({ code: 'SELF_APPROVAL_FORBIDDEN', message: expect.stringMatching(/rebased/) });
    expect((await t.call('POST', `/api/v1/promotions/${p.body.id}/approve`, { token: u.approver, body: {} })).status).toBe(200);
    expect((await t.call('POST', `/api/v1/promotions/${p.body.id}/approve`, { token: u.approver2, body: {} })).status).toBe(200);
    const done = await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'CANCELLED', 'FAILED']);
    expect(done.status).toBe('CANCELLED');
    expect(done.error).toMatchObject({ code: 'FROZEN' });
    const prod = await t.call('GET', '/api/v1/environments/production/configs?limit=10', { token: u.viewer });
    expect(prod.body.items.map((i: any) => i.key)).not.toContain('hotfix.bob-extra');
  });
});

describe('smaller findings', () => {
  it('manifest apply audits every change: a weakening after ten cosmetic edits has an entry of its own, with the document digest and plan', async () => {
    const { u } = await tenantWithLine(['dev', 'qa', 'uat', 'staging', 'production']);
    await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: { name: 'prod', sourceEnvironment: 'staging', targetEnvironment: 'production', requiredApprovers: 1 },
    });
    const doc = (await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer })).body;
    const p = doc.artifacts.promotion;
    for (const env of p.environments) Object.assign(p.environment_settings[env], { description: `the ${env} stage`, bake_seconds: 5 });
    p.approval_rules[0].requiresApproval = false;
    const document = JSON.stringify(doc);
    const applied = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document } });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect(applied.body.changes.length).toBe(11);
    expect(applied.body.changes.at(-1)?.path ?? '').not.toBe('');
    const rules = await t.call('GET', '/api/v1/audit?entityType=rule', { token: u.viewer });
    expect(rules.body.items).toContainEqual(
      expect.objectContaining({
        action: 'manifest.rule.change',
        entityId: 'staging->production',
        before: 'true',
        after: 'false',
        reason: expect.stringContaining('change approval_rules.staging->production.requiresApproval'),
      }),
    );
    const apply = (await t.call('GET', '/api/v1/audit?entityType=manifest', { token: u.viewer })).body.items.find((e: any) => e.action === 'manifest.apply');
    expect(apply.reason).toContain(`document ${applied.body.documentDigest}`);
    expect(apply.reason).toContain(`plan ${applied.body.planDigest}`);
    for (const c of applied.body.changes) expect(apply.reason).toContain(`${c.op} ${c.path}`);
  });

  it("a Slack webhook's error answer is not echoed into the promotion: the status code only", async () => {
    const { u } = await tenantWithLine();
    expect((await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { slack: { webhook: hookUrl, channels: ['#ops'] } } })).status).toBe(200);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'k', value: 1 } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    await waitFor(t, u.viewer, p.body.id, ['COMPLETED']);
    await t.stack.stream.idle();
    let failed: any[] = [];
    for (let i = 0; i < 200 && !failed.length; i++) {
      failed = (await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body.notifications.filter(
        (n: any) => n.channel === 'slack' && n.status === 'failed',
      );
      if (!failed.length) await new Promise((r) => setTimeout(r, 25));
    }
    expect(failed.length).toBeGreaterThan(0);
    for (const n of failed) {
      expect(n.error).toMatch(/Slack answered HTTP 500/);
      expect(n.error).not.toContain('INTERNAL-SECRET');
    }
  });

  it('the CLI shows control characters and bidi overrides in service text as escapes: no forged row, no clipboard write', async () => {
    const { u } = await tenantWithLine();
    const forged = 'ok\r\u001b[2K2026-01-01T00:00:00Z  carol@x.test  promotion.approve\u001b]52;c;ZWNobyBvd25lZA==\u0007\u202eevil\u009b';
    const made = await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'k', value: 1, reason: forged } });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const cli = (...args: string[]) => cliOf(t)(u.viewer, ...args);
    for (const args of [
      ['audit', '--limit', '5'],
      ['audit', '--limit', '5', '--json'],
    ]) {
      const { stdout } = await cli(...args);
      expect(stdout, args.join(' ')).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
      expect(stdout).toContain('\\u001b]52;c;');
      expect(stdout).toContain('\\u202eevil');
    }
    const json = JSON.parse((await cli('audit', '--limit', '5', '--json')).stdout);
    expect(json.items.map((e: any) => e.reason)).toContain(forged); // --json stays exact data
  });
});
