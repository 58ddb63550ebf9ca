import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { canonicalJson, sha256Hex } from '../../domain/kernel/canonical.ts';
import { keys } from '../../functions/adapters/keys.ts';
import { resetSecretBox } from '../../functions/adapters/secret-box.ts';
import { overrideConfig } from '../../functions/configuration-overrides.ts';
import { DynamoStore } from '../../functions/adapters/store/on-first-use.ts';
import { documentClient } from '../../functions/adapters/store/base.ts';
import { localClient } from '../../local/dynamodb.ts';
import { waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
let hook: Server;
let hookUrl: string;
const SECRET = 'a-very-secret-webhook-key';
const seen: { verified: boolean; body: any }[] = [];

beforeAll(async () => {
  t = await startTestStack();
  // A tenant's webhook gate: checks the HMAC, then answers by path.
  hook = createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    const ts = req.headers['x-stageline-timestamp'];
    const sig = createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex');
    const verified = req.headers['x-stageline-signature'] === `sha256=${sig}`;
    seen.push({ verified, body: JSON.parse(body) });
    if (req.url === '/slow') return setTimeout(() => res.end('{"verdict":"PASS"}'), 3000);
    if (req.url === '/broken') {
      res.writeHead(500);
      return res.end('oops');
    }
    if (req.url === '/redirect') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/' });
      return res.end();
    }
    if (req.url === '/leaky') {
      // An internal service answering with data: none of it may reach the promotion.
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ verdict: 'FAIL', reason: `internal-token=AKIA-SECRET-VALUE ${'x'.repeat(5000)}`, secret: 'db-password-123' }));
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(
        req.url === '/fail' ? { verdict: 'FAIL', reason: 'change freeze' } : { verdict: verified ? 'PASS' : 'FAIL', reason: verified ? 'ok' : 'bad signature' },
      ),
    );
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}`;
});
afterAll(async () => {
  hook.closeAllConnections();
  hook.close();
  await t.stop();
});

async function setup(gates: Record<string, boolean>, webhookGates: unknown[] = []) {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  const staging = await t.call('GET', '/api/v1/environments/staging', { token: u.admin });
  const upd = await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: staging.body.version, gates, webhookGates } });
  if (upd.status !== 200) throw new Error(JSON.stringify(upd.body));
  await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'k', value: 1 } });
  return u;
}

const promote = (u: Record<string, string>, extra: Record<string, unknown> = {}) =>
  t.call('POST', '/api/v1/promotions', { token: u.deployer!, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', ...extra } });

describe('validation gates', () => {
  it('fail closed without evidence, in a fixed order, and say why', async () => {
    const u = await setup({ tests: true, security_scan: true, cost_analysis: true });
    const r = await promote(u);
    const done = await waitFor(t, u.viewer, r.body.id, ['VALIDATION_FAILED', 'COMPLETED']);
    expect(done.status).toBe('VALIDATION_FAILED');
    expect(done.gates.map((g: any) => [g.gate, g.verdict, g.blocking])).toEqual([
      ['policy_compliance', 'PASS', true],
      ['tests', 'FAIL', true],
      ['security_scan', 'FAIL', true],
      ['cost_analysis', 'WARN', false],
      ['performance_baseline', 'SKIPPED', false],
    ]);
    expect(done.error.message).toBe(
      'Tests failed: no test results were attached (this gate fails closed); Security scan failed: no scan evidence was attached (this gate fails closed)',
    );
    const decision = await t.call('GET', `/api/v1/promotions/${r.body.id}/decision`, { token: u.viewer });
    expect(decision.body.outcome).toBe('BLOCKED_BY_GATES');
    const staging = await t.call('GET', '/api/v1/environments/staging', { token: u.viewer });
    expect(staging.body.itemCount).toBe(0);
  });

  it('security_scan fails closed unless the scan says it verified the signature', async () => {
    const u = await setup({ tests: false, security_scan: true, cost_analysis: false });
    for (const [payload, reason] of [
      [{ critical: 0, high: 0 }, /^the scan does not say the artifact's signature was verified \(it needs signatureVerified: true; this gate fails closed\)$/],
      [{ critical: 0, high: 0, signatureVerified: false }, /^the scan says the artifact's signature did not verify$/],
    ] as const) {
      const r = await promote(u, { autoStart: false });
      expect((await t.call('POST', `/api/v1/promotions/${r.body.id}/evidence`, { token: u.deployer, body: { type: 'security_scan', payload } })).status).toBe(
        201,
      );
      await t.call('POST', `/api/v1/promotions/${r.body.id}/validate`, { token: u.deployer });
      const done = await waitFor(t, u.viewer, r.body.id, ['VALIDATION_FAILED', 'COMPLETED']);
      expect(done.status).toBe('VALIDATION_FAILED');
      expect(done.gates.find((g: any) => g.gate === 'security_scan')).toMatchObject({ verdict: 'FAIL', reason: expect.stringMatching(reason) });
      await t.call('DELETE', `/api/v1/promotions/${r.body.id}`, { token: u.deployer });
    }
  });

  it('pass with evidence attached before validation; warn-only gates never block', async () => {
    const u = await setup({ tests: true, security_scan: true, cost_analysis: true, performance_baseline: true });
    const r = await promote(u, { autoStart: false });
    expect(r.body.status).toBe('PENDING');
    const ev = (type: string, payload: unknown) => t.call('POST', `/api/v1/promotions/${r.body.id}/evidence`, { token: u.deployer, body: { type, payload } });
    expect((await ev('test_results', { passed: 120, failed: 0 })).status).toBe(201);
    expect((await ev('security_scan', { critical: 0, high: 0, medium: 3, signatureVerified: true })).status).toBe(201);
    expect((await ev('cost_estimate', { monthlyDelta: 500, budget: 100 })).status).toBe(201);
    expect((await ev('benchmark', { metric: 'p99_ms', value: 130, baseline: 100, tolerancePct: 10 })).status).toBe(201);
    expect((await ev('test_results', { passed: 'many' })).status).toBe(400);
    expect((await ev('nonsense', {})).status).toBe(400);
    expect((await t.call('POST', `/api/v1/promotions/${r.body.id}/validate`, { token: u.deployer })).status).toBe(202);
    const done = await waitFor(t, u.viewer, r.body.id, ['VALIDATION_FAILED', 'COMPLETED', 'FAILED']);
    expect(done.status).toBe('COMPLETED');
    expect(done.gates.map((g: any) => g.verdict)).toEqual(['PASS', 'PASS', 'PASS', 'WARN', 'WARN']);
    expect(done.gates[1].evidenceRefs).toHaveLength(1);
  });

  it('evidence attached to the config release (the source snapshot) serves its promotions', async () => {
    const u = await setup({ tests: true });
    const dev = await t.call('GET', '/api/v1/environments/dev', { token: u.viewer });
    const ev = await t.call('POST', `/api/v1/environments/dev/snapshots/${dev.body.snapshot.seq}/evidence`, {
      token: u.deployer,
      body: { type: 'test_results', payload: { passed: 3, failed: 0 } },
    });
    expect(ev.status).toBe(201);
    expect(
      (
        await t.call('POST', '/api/v1/environments/dev/snapshots/99/evidence', {
          token: u.deployer,
          body: { type: 'test_results', payload: { passed: 3, failed: 0 } },
        })
      ).status,
    ).toBe(404);
    const r = await promote(u);
    expect((await waitFor(t, u.viewer, r.body.id, ['VALIDATION_FAILED', 'COMPLETED'])).status).toBe('COMPLETED');
  });

  it('evidence posted on a promotion speaks for its release: after a rebase onto other content the gates do not count it', async () => {
    const u = await setup({ tests: true });
    const rule = await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: { name: 'reviewed', sourceEnvironment: 'dev', targetEnvironment: 'staging', requiresApproval: true, requiredApprovers: 1 },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const r = await promote(u, { autoStart: false });
    const tested = await t.call('POST', `/api/v1/promotions/${r.body.id}/evidence`, {
      token: u.admin,
      body: { type: 'test_results', payload: { passed: 40, failed: 0 } },
    });
    expect(tested.status).toBe(201);
    expect(tested.body.releaseDigest).toBe(r.body.releaseDigest);
    await t.call('POST', `/api/v1/promotions/${r.body.id}/validate`, { token: u.deployer });
    expect((await waitFor(t, u.viewer, r.body.id, ['AWAITING_APPROVAL', 'VALIDATION_FAILED'])).status).toBe('AWAITING_APPROVAL');

    // The deployer puts untested content in dev and rebases the waiting promotion onto it: the tests were of the earlier release.
    expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'untested', value: 'x' } })).status).toBe(201);
    const rebased = await t.call('POST', `/api/v1/promotions/${r.body.id}/rebase`, { token: u.deployer, body: {} });
    expect(rebased.status, JSON.stringify(rebased.body)).toBe(200);
    expect(rebased.body.status).toBe('VALIDATION_FAILED');
    expect(rebased.body.gates.find((g: any) => g.gate === 'tests')).toMatchObject({
      verdict: 'FAIL',
      reason: 'no test results were attached (this gate fails closed)',
    });
    const decision = await t.call('GET', `/api/v1/promotions/${r.body.id}/decision`, { token: u.viewer });
    expect(decision.body.evidence).toEqual([expect.objectContaining({ id: tested.body.id, accepted: false })]);

    // Tests of the release it has now count.
    expect(
      (await t.call('POST', `/api/v1/promotions/${r.body.id}/evidence`, { token: u.admin, body: { type: 'test_results', payload: { passed: 41, failed: 0 } } }))
        .status,
    ).toBe(201);
    await t.call('POST', `/api/v1/promotions/${r.body.id}/validate`, { token: u.deployer });
    expect((await waitFor(t, u.viewer, r.body.id, ['AWAITING_APPROVAL', 'VALIDATION_FAILED'])).status).toBe('AWAITING_APPROVAL');
  });

  it('webhook gates are HMAC-signed; a failing, erroring or slow provider fails closed', async () => {
    const ok = await setup({}, [{ name: 'change-board', url: `${hookUrl}/ok`, secret: SECRET, timeoutMs: 1000 }]);
    const r1 = await promote(ok);
    expect((await waitFor(t, ok.viewer, r1.body.id, ['VALIDATION_FAILED', 'COMPLETED'])).status).toBe('COMPLETED');
    expect(seen.at(-1)).toMatchObject({ verified: true, body: { promotionId: r1.body.id, targetEnvironment: 'staging' } });
    const envView = await t.call('GET', '/api/v1/environments/staging', { token: ok.admin });
    expect(JSON.stringify(envView.body)).not.toContain(SECRET);

    for (const path of ['/fail', '/broken', '/slow']) {
      const u = await setup({}, [{ name: 'change-board', url: `${hookUrl}${path}`, secret: SECRET, timeoutMs: 300 }]);
      const r = await promote(u);
      const done = await waitFor(t, u.viewer, r.body.id, ['VALIDATION_FAILED', 'COMPLETED']);
      expect(done.status, path).toBe('VALIDATION_FAILED');
      expect(done.gates.at(-1)).toMatchObject({ gate: 'webhook:change-board', verdict: 'FAIL', blocking: true });
    }
  });

  it('SSRF: webhook URLs resolving to metadata, private or (outside local mode) loopback addresses are refused; redirects are not followed; bodies are not echoed', async () => {
    // Literal metadata and private addresses are refused when saved (domain/kernel/url-policy.ts) ...
    for (const url of ['http://169.254.169.254/latest/meta-data', 'http://0xa9fea9fe/', 'http://10.1.2.3/hook']) {
      await expect(setup({}, [{ name: 'probe', url, secret: SECRET, timeoutMs: 500 }]), url).rejects.toThrow(/webhookGates\.0\.url.*only public addresses/);
    }
    // ... and the call-time guard still holds for what reaches it: ::ffff:127.0.0.1 is loopback, allowed only in local mode, and nothing listens on port 1.
    const probe = await setup({}, [{ name: 'probe', url: 'http://[::ffff:127.0.0.1]:1/', secret: SECRET, timeoutMs: 500 }]);
    const probed = await waitFor(t, probe.viewer, (await promote(probe)).body.id, ['VALIDATION_FAILED', 'COMPLETED']);
    expect(probed.status).toBe('VALIDATION_FAILED');
    const redirect = await setup({}, [{ name: 'redir', url: `${hookUrl}/redirect`, secret: SECRET, timeoutMs: 1000 }]);
    const r1 = await promote(redirect);
    const d1 = await waitFor(t, redirect.viewer, r1.body.id, ['VALIDATION_FAILED', 'COMPLETED']);
    expect(d1.status).toBe('VALIDATION_FAILED');
    expect(d1.gates.at(-1).reason).toMatch(/redirect/);
    const leaky = await setup({}, [{ name: 'leaky', url: `${hookUrl}/leaky`, secret: SECRET, timeoutMs: 1000 }]);
    const r2 = await promote(leaky);
    const d2 = await waitFor(t, leaky.viewer, r2.body.id, ['VALIDATION_FAILED', 'COMPLETED']);
    expect(JSON.stringify(d2)).not.toContain('db-password-123');
    expect(d2.gates.at(-1).reason.length).toBeLessThanOrEqual(200);
    // Loopback is allowed only by the local-mode setting: without it the same local hook is refused.
    // (saved in local mode; the deployed stack would have refused it when saved)
    const off = await setup({}, [{ name: 'change-board', url: `${hookUrl}/ok`, secret: SECRET, timeoutMs: 1000 }]);
    const localMode = t.stack.configure({ STAGELINE_ALLOW_LOOPBACK_OUTBOUND: 'false' });
    try {
      const r3 = await promote(off);
      const d3 = await waitFor(t, off.viewer, r3.body.id, ['VALIDATION_FAILED', 'COMPLETED']);
      expect(d3.status).toBe('VALIDATION_FAILED');
      expect(d3.gates.at(-1).reason).toMatch(/loopback/);
    } finally {
      localMode();
    }
  });

  it('webhook secrets are sealed in the table, never returned, and no audit digest depends on them', async () => {
    const u = await setup({}, [{ name: 'change-board', url: `${hookUrl}/ok`, secret: SECRET, timeoutMs: 1000 }]);
    const view = await t.call('GET', '/api/v1/environments/staging', { token: u.admin });
    expect(JSON.stringify(view.body)).not.toContain(SECRET);
    const tenant = (JSON.parse(Buffer.from(u.admin.split('.')[1]!, 'base64url').toString()) as Record<string, string>)['custom:tenant_id']!;
    const raw = await localClient(t.stack.dynamo.endpoint).send(
      new GetItemCommand({
        TableName: t.stack.tableName,
        Key: { pk: { S: keys.environment(tenant, 'staging').pk }, sk: { S: keys.environment(tenant, 'staging').sk } },
      }),
    );
    const stored = JSON.stringify(raw.Item);
    expect(stored).not.toContain(SECRET);
    expect(stored).toContain('enc:v1:');
    // The gate still signs with the (unsealed) secret.
    const r = await promote(u);
    expect((await waitFor(t, u.viewer, r.body.id, ['VALIDATION_FAILED', 'COMPLETED'])).status).toBe('COMPLETED');
    // The same settings with another secret give the same audit digest: nothing to guess offline.
    const audit = await t.call('GET', '/api/v1/audit?entityType=environment&entityId=staging', { token: u.viewer });
    const digests = audit.body.items.map((e: { after: string }) => e.after);
    const current = await t.call('GET', '/api/v1/environments/staging', { token: u.admin });
    const upd = await t.call('PATCH', '/api/v1/environments/staging', {
      token: u.admin,
      body: { version: current.body.version, webhookGates: [{ name: 'change-board', url: `${hookUrl}/ok`, secret: 'another-secret-of-16+', timeoutMs: 1000 }] },
    });
    expect(upd.status).toBe(200);
    const after = await t.call('GET', '/api/v1/audit?entityType=environment&entityId=staging&limit=1', { token: u.viewer });
    expect(digests).toContain(after.body.items[0].after);
    expect(JSON.stringify(audit.body)).not.toContain(sha256Hex(canonicalJson(SECRET)));
  });

  it('reads of an environment and of notification settings never touch the sealing key: only the writers of a secret and its senders hold it', async () => {
    const u = await setup({}, [{ name: 'change-board', url: `${hookUrl}/ok`, secret: SECRET, timeoutMs: 1000 }]);
    const slack = await t.call('PUT', '/api/v1/notifications', {
      token: u.admin,
      body: {
        slack: { webhook: 'https://hooks.slack.com/services/T000/B000/sealed-path-secret', channels: [] },
        // A Teams Workflows URL carries its signature (sig): sealed the same way.
        teams: { webhook: 'https://prod-12.westus.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=sealed-teams-sig' },
      },
    });
    expect(slack.status, JSON.stringify(slack.body)).toBe(200);
    // A key that cannot be loaded (as in a function whose role may not read the sealing secret): any use of it fails.
    const undo = overrideConfig({ STAGELINE_SECRETS_KEY: 'AAAA' });
    resetSecretBox();
    try {
      const reads: [string, string][] = [
        ['GET', '/api/v1/environments/staging'],
        ['GET', '/api/v1/environments'],
        ['GET', '/api/v1/environments/staging/targets'],
        ['GET', '/api/v1/notifications'],
        ['GET', '/api/v1/manifest'],
      ];
      for (const [method, path] of reads) {
        const r = await t.call(method, path, { token: u.viewer });
        expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBe(200);
        expect(JSON.stringify(r.body)).not.toContain(SECRET);
        expect(JSON.stringify(r.body)).not.toContain('sealed-path-secret');
        expect(JSON.stringify(r.body)).not.toContain('sealed-teams-sig');
        expect(JSON.stringify(r.body)).not.toContain('enc:v1:');
      }
      // A function's store made afresh (a new container) with that key reads both: the secrets stay sealed, nothing is opened.
      const tenant = (JSON.parse(Buffer.from(u.admin.split('.')[1]!, 'base64url').toString()) as Record<string, string>)['custom:tenant_id']!;
      const store = new DynamoStore(
        documentClient({ endpoint: t.stack.dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
        t.stack.tableName,
      );
      const staging = await store.getEnvironment(tenant, 'staging');
      expect(String(staging!.webhookGates[0]!.secret)).toMatch(/^enc:v1:/);
      expect((await store.listEnvironments(tenant)).find((e) => e.name === 'staging')!.webhookGates[0]!.secret).toEqual(staging!.webhookGates[0]!.secret);
      expect(String((await store.getNotificationSettings(tenant, 'tenant'))!.slack!.webhook)).toMatch(/^enc:v1:/);
      expect(String((await store.listNotificationSettings(tenant))[0]!.slack!.webhook)).toMatch(/^enc:v1:/);
      expect(String((await store.getNotificationSettings(tenant, 'tenant'))!.teams!.webhook)).toMatch(/^enc:v1:/);
      expect(String((await store.listNotificationSettings(tenant))[0]!.teams!.webhook)).toMatch(/^enc:v1:/);
      const n = await t.call('GET', '/api/v1/notifications', { token: u.viewer });
      expect(n.body.slack.webhook).toBe('https://hooks.slack.com/…');
      expect(n.body.teams.webhook).toBe('https://prod-12.westus.logic.azure.com/…');
      // A change of the environment that writes no secret keeps the sealed one as it is (nothing to seal, nothing to open).
      const env = await t.call('GET', '/api/v1/environments/staging', { token: u.admin });
      const upd = await t.call('PATCH', '/api/v1/environments/staging', {
        token: u.admin,
        body: { version: env.body.version, description: 'no secret in this change' },
      });
      expect(upd.status, JSON.stringify(upd.body)).toBe(200);
    } finally {
      undo();
      resetSecretBox();
    }
    // With the key back, the gate caller opens the secret it kept sealed and signs with it.
    const r = await promote(u);
    expect((await waitFor(t, u.viewer, r.body.id, ['VALIDATION_FAILED', 'COMPLETED'])).status).toBe('COMPLETED');
  });
});
