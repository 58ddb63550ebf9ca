import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';
import { localSecretVariable } from '../../functions/adapters/secrets.ts';
import { redactUrl } from '../../domain/kernel/url-policy.ts';

let t: TestStack;
const secretName = `SLACK_WEBHOOK`;
beforeAll(async () => {
  t = await startTestStack();
  // Locally a `${NAME}` reference is the tenant's environment variable STAGELINE_SECRET_<TENANT>__<NAME> (Secrets Manager
  // stageline/<tenant>/<purpose>/<NAME> on AWS): every tenant this file makes has its Slack webhook secret.
  const mint = t.tenant.bind(t);
  t.tenant = () => {
    const id = mint();
    process.env[localSecretVariable(id, 'slack-webhook', secretName)!] = 'https://hooks.slack.com/services/T000/B000/XXXXSECRET';
    return id;
  };
});
afterAll(() => t.stop());

/** Seed 003's manifest.yaml: the gates block as the seed writes it, and its notifications/verification settings. */
const SEED_003 = `# manifest.yaml
artifacts:
  promotion:
    gates:
      dev:
        policy_compliance: true     # MANDATORY
        tests: false                # Optional
        security_scan: false        # Optional

      staging:
        policy_compliance: true     # MANDATORY
        tests: true                 # Run integration tests
        security_scan: true         # CVE scan + cosign verify
        cost_analysis: false        # Optional

      production:
        policy_compliance: true     # MANDATORY
        tests: true                 # Full test suite
        security_scan: true         # CVE scan + cosign verify
        cost_analysis: true         # Estimate infrastructure cost
        performance_baseline: true  # Compare against SLO

    notifications:
      slack:
        webhook: \${SLACK_WEBHOOK}
        channels: ["#platform-ops"]
      email:
        recipients: ["ops@acme.com"]

    cross_registry_sync: true
    verification: digest_match
`;

async function tenant() {
  const id = t.tenant();
  const u = await t.users(id);
  await makeLine(t, u.admin);
  return { id, u };
}

describe('promotion policy as code: manifest plan / apply / export', () => {
  it("seed 003's manifest plans field by field, applies as one audited change, and export → apply is a no-op", async () => {
    const { u } = await tenant();
    const plan = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: SEED_003 } });
    expect(plan.status).toBe(200);
    const paths = plan.body.changes.map((c: any) => `${c.op} ${c.path}`);
    expect(paths).toContain('change gates.staging.tests');
    expect(paths).toContain('change gates.production.performance_baseline');
    expect(plan.body.changes.find((c: any) => c.path === 'gates.staging.tests')).toMatchObject({ before: false, after: true });
    expect(paths.some((p: string) => p.startsWith('add notifications'))).toBe(true);
    // Planning changes nothing.
    expect((await t.call('GET', '/api/v1/environments/staging', { token: u.viewer })).body.gates.tests).toBe(false);

    expect((await t.call('POST', '/api/v1/manifest/apply', { token: u.deployer, body: { document: SEED_003 } })).status).toBe(403);
    const applied = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: SEED_003, expectedDigest: plan.body.digest } });
    expect(applied.status).toBe(200);
    expect(applied.body).toMatchObject({ applied: true, summary: plan.body.summary });
    expect((await t.call('GET', '/api/v1/environments/production', { token: u.viewer })).body.gates).toMatchObject({
      tests: true,
      security_scan: true,
      cost_analysis: true,
      performance_baseline: true,
    });
    const notify = await t.call('GET', '/api/v1/notifications', { token: u.viewer });
    expect(notify.body.slack).toMatchObject({ webhook: 'https://hooks.slack.com/…', channels: ['#platform-ops'] });
    expect(JSON.stringify(notify.body)).not.toContain('XXXXSECRET');
    const audit = await t.call('GET', '/api/v1/audit?entityType=manifest', { token: u.viewer });
    const applies = audit.body.items.filter((e: any) => e.action === 'manifest.apply');
    expect(applies).toHaveLength(1);
    expect(applies[0]).toMatchObject({ action: 'manifest.apply', before: plan.body.digest, after: applied.body.digest });
    // The notifications change is security-relevant: an entry of its own, the webhook only by reference.
    expect(audit.body.items.some((e: any) => e.action === 'manifest.notifications.add')).toBe(true);
    expect(JSON.stringify(audit.body.items)).not.toContain('XXXXSECRET');

    // Export: the same document back (secret by reference only), and applying it changes nothing.
    const exported = await t.call('GET', '/api/v1/manifest', { token: u.viewer });
    expect(exported.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(exported.body).toContain('webhook: ${SLACK_WEBHOOK}');
    expect(exported.body).not.toContain('XXXXSECRET');
    expect(exported.headers.get('x-manifest-digest')).toBe(applied.body.digest);
    const again = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: exported.body } });
    expect(again.body.changes).toEqual([]);
    const json = await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer });
    expect((await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: JSON.stringify(json.body) } })).body).toMatchObject({
      applied: false,
      changes: [],
    });
  });

  it("binds the tenant's Slack workspace (team_id), exports it, and refuses a Slack signing secret in the document", async () => {
    const { u } = await tenant();
    const withTeam = SEED_003.replace('        channels: ["#platform-ops"]\n', '        channels: ["#platform-ops"]\n        team_id: T0MANIFEST\n');
    const plan = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: withTeam } });
    expect(JSON.stringify(plan.body.changes.filter((c: any) => c.path.startsWith('notifications')))).toContain('"team_id":"T0MANIFEST"');
    expect((await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: withTeam } })).status).toBe(200);
    expect((await t.call('GET', '/api/v1/notifications', { token: u.viewer })).body.slack.teamId).toBe('T0MANIFEST');
    const exported = await t.call('GET', '/api/v1/manifest', { token: u.viewer });
    expect(exported.body).toContain('team_id: T0MANIFEST');
    expect((await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: exported.body } })).body.changes).toEqual([]);
    // The signing secret is the deployment's: a document cannot carry one.
    const withSecret = SEED_003.replace(
      '        channels: ["#platform-ops"]\n',
      '        channels: ["#platform-ops"]\n        signing_secret: \${SLACK_SIGNING}\n',
    );
    const refused = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: withSecret } });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body.error.issues)).toContain('signing_secret');
  });

  it('a tenant with no environments yet exports a document whose apply changes nothing', async () => {
    const u = await t.users(t.tenant());
    const json = await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer });
    expect(json.body.artifacts.promotion.environments).toEqual([]);
    const plan = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: JSON.stringify(json.body) } });
    expect(plan.status).toBe(200);
    expect(plan.body.changes).toEqual([]);
    expect((await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: JSON.stringify(json.body) } })).body).toMatchObject({
      applied: false,
      changes: [],
    });
  });

  it('a stale plan is refused, and two applies of the same plan never interleave (one 200, one 409)', async () => {
    const { u } = await tenant();
    const docA = SEED_003.replace('cost_analysis: true         # Estimate', 'cost_analysis: false        # Estimate');
    const plan = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: SEED_003 } });
    const [a, b] = await Promise.all([
      t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: SEED_003, expectedDigest: plan.body.digest } }),
      t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: docA, expectedDigest: plan.body.digest } }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const loser = a.status === 409 ? a : b;
    expect(loser.body.error.message).toMatch(/plan again|changed/);
  });

  it('manages approval rules by source → target pair: added, changed field by field, removed; export → apply is a no-op', async () => {
    const { u } = await tenant();
    const doc = (approvers: number, rules = true) => `artifacts:
  promotion:
${
  rules
    ? `    approval_rules:
      - name: production needs two
        sourceEnvironment: staging
        targetEnvironment: production
        requiredApprovers: ${approvers}
        approverGroups: [approver, admin]
      - name: staging on its own
        sourceEnvironment: dev
        targetEnvironment: staging
        requiresApproval: false
        requiredApprovers: 0
        autoPromote: true
`
    : '    approval_rules: []\n'
}`;
    const plan = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: doc(2) } });
    expect(plan.status, JSON.stringify(plan.body)).toBe(200);
    expect(plan.body.changes.map((c: any) => [c.op, c.path])).toEqual([
      ['add', 'approval_rules.dev->staging'],
      ['add', 'approval_rules.staging->production'],
    ]);
    const applied = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: doc(2), expectedDigest: plan.body.digest } });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    const rules = (await t.call('GET', '/api/v1/promotions/rules', { token: u.viewer })).body.items;
    expect(rules.map((r: any) => [r.sourceEnvironment, r.targetEnvironment, r.requiredApprovers, r.autoPromote])).toEqual(
      expect.arrayContaining([
        ['staging', 'production', 2, false],
        ['dev', 'staging', 0, true],
      ]),
    );
    // The rule governs promotions: a staging → production promotion now needs two approvals.
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.deployer, body: { key: 'k', value: 1 } });
    const dry = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'staging', targetEnvironment: 'production', promotionType: 'FULL', dryRun: true },
    });
    expect(dry.body.approval).toMatchObject({ required: true, approvers: 2 });
    // Export → apply changes nothing; one field changed is one change, the rule keeps its id.
    const exported = await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer });
    expect((await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: JSON.stringify(exported.body) } })).body.changes).toEqual([]);
    const three = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: doc(3) } });
    expect(three.body.changes).toEqual([{ op: 'change', path: 'approval_rules.staging->production.requiredApprovers', before: 2, after: 3 }]);
    expect((await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: doc(3) } })).status).toBe(200);
    const after = (await t.call('GET', '/api/v1/promotions/rules', { token: u.viewer })).body.items.find((r: any) => r.targetEnvironment === 'production');
    expect(after).toMatchObject({ id: rules.find((r: any) => r.targetEnvironment === 'production').id, requiredApprovers: 3, version: 2 });
    // An empty list removes them; a rule naming an unknown environment or a second rule for a pair is refused.
    expect((await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: doc(0, false) } })).body.summary).toEqual({
      add: 0,
      change: 0,
      remove: 2,
    });
    expect((await t.call('GET', '/api/v1/promotions/rules', { token: u.viewer })).body.items).toEqual([]);
    const bad = await t.call('POST', '/api/v1/manifest/plan', {
      token: u.viewer,
      body: {
        document: doc(2)
          .replace('targetEnvironment: production', 'targetEnvironment: qa')
          .replace('sourceEnvironment: dev', 'sourceEnvironment: staging')
          .replace('targetEnvironment: staging', 'targetEnvironment: qa'),
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues.map((i: any) => i.path)).toEqual(
      expect.arrayContaining(['document.artifacts.promotion.approval_rules.0.targetEnvironment', 'document.artifacts.promotion.approval_rules.1']),
    );
  });

  it('manages webhook gates with their HMAC secret by reference: the gate runs signed with the secret read from it, and no secret is in the document', async () => {
    const { u, id } = await tenant();
    const HOOK = 'change-board-secret-2026';
    process.env[localSecretVariable(id, 'gate-key', 'CHANGE_BOARD')!] = HOOK;
    // The tenant's change board: PASS only for a request signed with the referenced secret.
    const hook = createServer(async (req, res) => {
      let body = '';
      for await (const c of req) body += c;
      const sig = createHmac('sha256', HOOK).update(`${req.headers['x-stageline-timestamp']}.${body}`).digest('hex');
      const ok = req.headers['x-stageline-signature'] === `sha256=${sig}`;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ verdict: ok ? 'PASS' : 'FAIL', reason: ok ? 'approved by the board' : 'bad signature' }));
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `http://127.0.0.1:${(hook.address() as { port: number }).port}/check`;
      const doc = (secret: string, timeout = 2000) =>
        `artifacts:\n  promotion:\n    webhook_gates:\n      staging:\n        - name: change-board\n          url: ${url}\n          timeout_ms: ${timeout}\n          blocking: true\n          secret: ${secret}\n`;
      // A literal secret is refused, naming the field.
      const literal = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: doc('change-board-secret-2026') } });
      expect(literal.status).toBe(400);
      expect(literal.body.error.issues[0].path).toBe('document.artifacts.promotion.webhook_gates.staging.0.secret');
      const plan = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: doc('${CHANGE_BOARD}') } });
      expect(plan.body.changes.map((c: any) => [c.op, c.path])).toEqual([['add', 'webhook_gates.staging.change-board']]);
      const applied = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: doc('${CHANGE_BOARD}') } });
      expect(applied.status, JSON.stringify(applied.body)).toBe(200);
      // The API shows the gate and the reference, never the secret; the export writes the reference back.
      const env = (await t.call('GET', '/api/v1/environments/staging', { token: u.viewer })).body;
      expect(env.webhookGates).toEqual([{ name: 'change-board', url: redactUrl(url), timeoutMs: 2000, blocking: true, secretRef: 'CHANGE_BOARD' }]); // the URL redacted for viewers
      const exported = await t.call('GET', '/api/v1/manifest', { token: u.viewer });
      expect(exported.body).toContain('secret: ${CHANGE_BOARD}');
      expect(exported.body).not.toContain(HOOK);
      expect((await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: exported.body } })).body.changes).toEqual([]);
      const timeout = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: doc('${CHANGE_BOARD}', 3000) } });
      expect(timeout.body.changes).toEqual([{ op: 'change', path: 'webhook_gates.staging.change-board.timeout_ms', before: 2000, after: 3000 }]);
      // A promotion into staging runs the gate, signed with the secret the reference names.
      await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'k', value: 1 } });
      const p = await t.call('POST', '/api/v1/promotions', {
        token: u.deployer,
        body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', promotionType: 'FULL' },
      });
      const done = await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED', 'VALIDATION_FAILED'], 30_000);
      expect(done.status, JSON.stringify(done.gates)).toBe('COMPLETED');
      expect(done.gates.at(-1)).toMatchObject({ gate: 'webhook:change-board', verdict: 'PASS', reason: expect.stringContaining('approved by the board') });
      // A reference to a secret that does not exist is refused at apply, naming the field.
      const missing = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: doc('${NOT_THERE}') } });
      expect(missing.status).toBe(400);
      expect(missing.body.error.issues[0]).toMatchObject({
        path: 'document.artifacts.promotion.webhook_gates.staging.0.secret',
        message: expect.stringContaining('no webhook gate key NOT_THERE'),
      });
    } finally {
      hook.closeAllConnections();
      hook.close();
    }
  });

  it('names the line and field of what is wrong; refuses literal secrets and unknown environments', async () => {
    const { u } = await tenant();
    const bad = SEED_003.replace('tests: true                 # Run integration tests', 'tests: yes-please');
    const r = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: bad } });
    expect(r.status).toBe(400);
    expect(r.body.error.issues[0]).toMatchObject({
      path: 'document.artifacts.promotion.gates.staging.tests',
      message: expect.stringMatching(/^line 12: artifacts\.promotion\.gates\.staging\.tests /),
    });
    const literal = SEED_003.replace('webhook: ${SLACK_WEBHOOK}', 'webhook: https://hooks.slack.com/services/T0/B0/leaked');
    const l = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: literal } });
    expect(l.status).toBe(400);
    expect(l.body.error.issues[0].message).toMatch(/^line 25: .*must be a reference like \$\{SLACK_WEBHOOK\}/);
    const yaml = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: 'artifacts:\n  promotion:\n    gates: [unclosed\n' } });
    expect(yaml.status).toBe(400);
    expect(yaml.body.error.issues[0].message).toMatch(/^line \d+: /);
    const unknown = await t.call('POST', '/api/v1/manifest/plan', {
      token: u.viewer,
      body: { document: 'artifacts:\n  promotion:\n    gates:\n      qa:\n        tests: true\n' },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.issues[0]).toMatchObject({ path: 'document.artifacts.promotion.gates.qa' });
    const missingSecret = SEED_003.replace('${SLACK_WEBHOOK}', '${NOT_THERE}');
    const m = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: missingSecret } });
    expect(m.status).toBe(400);
    expect(m.body.error.issues[0].message).toMatch(/no Slack webhook secret NOT_THERE/);
    // Tenant isolation: another tenant's export is its own.
    const other = await t.users(t.tenant());
    const theirs = await t.call('GET', '/api/v1/manifest?format=json', { token: other.viewer });
    expect(theirs.body.artifacts.promotion.environments).toEqual([]);
    // The JSON Schema is published.
    const schema = await t.call('GET', '/api/v1/manifest/schema.json');
    expect(schema.status).toBe(200);
    expect(JSON.stringify(schema.body)).toContain('freeze_windows');
  });

  it('duplicate keys are found in one pass and a mapping holds at most 1,000 keys: a 24,000-key mapping is refused with the limit, not parsed for seconds', async () => {
    const u = await t.users(t.tenant());
    const dup = await t.call('POST', '/api/v1/manifest/plan', {
      token: u.viewer,
      body: { document: 'artifacts:\n  promotion:\n    gates:\n      staging:\n        tests: true\n      staging:\n        tests: false\n' },
    });
    expect(dup.status).toBe(400);
    expect(dup.body.error.issues[0]).toMatchObject({ path: 'document:6', message: "line 6: map keys must be unique ('staging' appears twice)" });
    const huge = `artifacts:\n  promotion:\n    gates: {${Array.from({ length: 24_000 }, (_, i) => `e${i}: 0`).join(', ')}}\n`;
    expect(huge.length).toBeLessThan(256 * 1024);
    const big = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: huge } });
    expect(big.status).toBe(400);
    expect(big.body.error.issues[0].message).toBe('line 3: a mapping has 24000 keys; at most 1000 per mapping');
    // The same number of keys spread over many mappings is parsed (and refused only for what it says).
    const spread = `artifacts:\n  promotion:\n    gates:\n${Array.from({ length: 900 }, (_, i) => `      e${i}: {tests: true}`).join('\n')}\n`;
    const r = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: spread } });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).not.toContain('at most 1000');
  });

  it('exports text with control characters escaped, so strict YAML readers take it and read back the same value', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    const reason = 'change\u009e freeze\u2028line \u0085 \ufeff\u007f end';
    expect(
      (await t.call('POST', '/api/v1/freeze-windows', { token: u.admin, body: { reason, start: '2099-01-01T00:00:00Z', end: '2099-01-02T00:00:00Z' } })).status,
    ).toBe(201);
    const r = await t.call('GET', '/api/v1/manifest', { token: u.viewer });
    const text = typeof r.body === 'string' ? r.body : String(r.body);
    expect(text).not.toMatch(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u2028\u2029\uFEFF]/);
    expect(text).toContain('\\u009E');
    const { parse } = await import('yaml');
    expect(parse(text).artifacts.promotion.freeze_windows[0].reason).toBe(reason);
  });

  it('manages freeze windows too; CLI plan / apply / export', async () => {
    const { u } = await tenant();
    const root = join(import.meta.dirname, '..', '..');
    const run = promisify(execFile);
    const cli = (...args: string[]) =>
      run(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'cli', 'stageline.ts'), ...args], {
        env: { ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: u.admin },
        cwd: root,
      });
    const dir = mkdtempSync(join(tmpdir(), 'stageline-manifest-'));
    const file = join(dir, 'manifest.yaml');
    writeFileSync(
      file,
      `${SEED_003}    freeze_windows:\n      - reason: weekend\n        environment: production\n        cron: "0 16 * * 5"\n        end_cron: "0 8 * * 1"\n        timezone: Europe/Berlin\n    webhooks:\n      - url: https://hooks.example.com/deploys\n        events: [promotion.completed]\n`,
    );
    const planned = await cli('plan', '-f', file);
    expect(planned.stdout).toContain('~ gates.staging.tests: false → true');
    expect(planned.stdout).toMatch(/\+ freeze_windows = \{"reason":"weekend","environment":"production"/);
    expect(planned.stdout).toMatch(/Plan: \d+ to add, \d+ to change, 0 to remove/);
    const applied = await cli('apply', '-f', file);
    expect(applied.stdout).toMatch(/Applied: \d+ added, \d+ changed, 0 removed/);
    // The new subscription's signing secret is shown by the apply, the only time it is.
    const secret = /webhook \S+ https:\/\/hooks\.example\.com\/deploys: signing secret (whsec_\S+)/.exec(applied.stdout)?.[1];
    expect(secret, applied.stdout).toBeTruthy();
    expect((await t.call('GET', '/api/v1/webhooks', { token: u.viewer })).body.items).toHaveLength(1);
    const windows = await t.call('GET', '/api/v1/environments/production/freeze-windows', { token: u.viewer });
    expect(windows.body.items).toHaveLength(1);
    const out = join(dir, 'exported.yaml');
    await cli('export', '--output', out);
    expect((await cli('plan', '-f', out)).stdout).toContain('No changes');
  });

  it('carries webhook subscriptions, monitors, git targets and registry links: export → apply to another tenant is the same state, a second apply changes nothing, no secret in the document', async () => {
    const a = await tenant();
    // Each tenant monitors its own alarms (<tenant>/<name>).
    const alarm = (name: string, of = a.id) => `arn:aws:cloudwatch:us-east-1:000000000000:alarm:${of}/${name}`;
    const hook = 'https://hooks.example.com/stageline';
    expect(
      (
        await t.call('POST', '/api/v1/webhooks', {
          token: a.u.admin,
          body: { url: hook, events: ['promotion.completed', 'artifact.published'], description: 'deploy bot' },
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await t.call('POST', '/api/v1/webhooks', {
          token: a.u.admin,
          body: { url: hook, events: ['freeze.started'], environment: 'production', enabled: false },
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await t.call('PATCH', '/api/v1/environments/production', {
          token: a.u.admin,
          body: { version: 1, monitors: [alarm('p99-latency'), alarm('5xx-rate')] },
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await t.call('PUT', '/api/v1/environments/production/git-target', {
          token: a.u.admin,
          body: {
            repository: 'https://git.example.com/org/deploy.git',
            branch: 'main',
            file: 'envs/production/values.yaml',
            path: 'image.tag',
            tokenSecret: 'GITOPS_TOKEN',
          },
        })
      ).status,
    ).toBe(200);
    const link = await t.call('POST', '/api/v1/artifacts/platform/links', {
      token: a.u.admin,
      body: { registry: 'registry.example.com', repository: 'org/platform', tags: { pattern: 'v1\\..*' } },
    });
    expect(link.status, JSON.stringify(link.body)).toBe(201);
    expect(
      (await t.call('POST', '/api/v1/artifacts/platform/versions', { token: a.u.deployer, body: { version: 'v1.0.0', digest: `sha256:${'c'.repeat(64)}` } }))
        .status,
    ).toBe(201);

    const yaml = await t.call('GET', '/api/v1/manifest', { token: a.u.viewer });
    const text = String(yaml.body);
    expect(text).not.toMatch(/whsec_|slr_/);
    expect(text).toContain('token: ${GITOPS_TOKEN}');
    const exported = (await t.call('GET', '/api/v1/manifest?format=json', { token: a.u.viewer })).body.artifacts.promotion;
    // A receiver URL is exported redacted (its path often holds the receiver's credential): origin, ellipsis, fingerprint,
    // written as the API shows it (a person reads the document), not percent-encoded.
    const redacted = redactUrl(hook);
    expect(redacted).toMatch(/^https:\/\/hooks\.example\.com\/…#[0-9a-f]{8}$/);
    expect(text).toContain(`url: ${redacted}\n`);
    expect(text).not.toContain('%E2%80%A6');
    expect(text).not.toContain('/stageline');
    const shown = (await t.call('GET', '/api/v1/webhooks', { token: a.u.viewer })).body.items.map((w: { url: string }) => w.url);
    expect(shown).toEqual([redacted, redacted]);
    expect(exported.webhooks).toEqual([
      { url: redacted, events: ['artifact.published', 'promotion.completed'], description: 'deploy bot' },
      { url: redacted, events: ['freeze.started'], environment: 'production', enabled: false },
    ]);
    // Applied back to the same tenant, the redacted URL keeps the stored one: nothing changes (so does an older export's percent-encoded form).
    expect((await t.call('POST', '/api/v1/manifest/plan', { token: a.u.viewer, body: { document: text } })).body.changes).toEqual([]);
    const encoded = text.replaceAll('/…#', '/%E2%80%A6#');
    expect(encoded).not.toBe(text);
    expect((await t.call('POST', '/api/v1/manifest/plan', { token: a.u.viewer, body: { document: encoded } })).body.changes).toEqual([]);
    const reapplied = await t.call('POST', '/api/v1/manifest/apply', { token: a.u.admin, body: { document: text } });
    expect(reapplied.body).toMatchObject({ applied: false, changes: [] });
    expect(exported.environment_settings.production.monitors).toEqual([alarm('p99-latency'), alarm('5xx-rate')]);
    expect(exported.git_targets).toEqual({
      production: {
        repository: 'https://git.example.com/org/deploy.git',
        branch: 'main',
        file: 'envs/production/values.yaml',
        path: 'image.tag',
        value: 'version',
        token: '${GITOPS_TOKEN}',
      },
    });
    expect(exported.registry_links).toEqual({ platform: [{ registry: 'registry.example.com', repository: 'org/platform', tags: { pattern: 'v1\\..*' } }] });

    // Another tenant (with alarms of the same names in its own namespace): the plan names every change; the apply creates them, showing each new secret once.
    const b = await tenant();
    // Another tenant has no subscription the redacted URL could name: refused, naming the field, until the full URL is given.
    const asIs = await t.call('POST', '/api/v1/manifest/plan', {
      token: b.u.viewer,
      body: { document: text.replaceAll(alarm('p99-latency'), alarm('p99-latency', b.id)).replaceAll(alarm('5xx-rate'), alarm('5xx-rate', b.id)) },
    });
    expect(asIs.status).toBe(400);
    expect(asIs.body.error.issues.map((i: { path: string }) => i.path)).toEqual([
      'document.artifacts.promotion.webhooks.0.url',
      'document.artifacts.promotion.webhooks.1.url',
    ]);
    const mine = text
      .replaceAll(alarm('p99-latency'), alarm('p99-latency', b.id))
      .replaceAll(alarm('5xx-rate'), alarm('5xx-rate', b.id))
      .replaceAll(redacted, hook);
    const plan = await t.call('POST', '/api/v1/manifest/plan', { token: b.u.viewer, body: { document: mine } });
    expect(plan.status, JSON.stringify(plan.body)).toBe(200);
    expect(plan.body.changes.map((c: { op: string; path: string }) => `${c.op} ${c.path}`)).toEqual(
      expect.arrayContaining([
        'add environment_settings.production.monitors',
        `add webhooks.* ${redacted}`,
        `add webhooks.production ${redacted}`,
        'add git_targets.production',
        'add registry_links.platform',
      ]),
    );
    const applied = await t.call('POST', '/api/v1/manifest/apply', { token: b.u.admin, body: { document: mine, expectedDigest: plan.body.digest } });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect(applied.body.secrets.webhooks.map((w: { secret: string }) => w.secret)).toEqual([
      expect.stringMatching(/^whsec_/),
      expect.stringMatching(/^whsec_/),
    ]);
    expect(applied.body.secrets.registry_links).toEqual([
      expect.objectContaining({ artifact: 'platform', repository: 'org/platform', notifyToken: expect.stringMatching(/^slr_/) }),
    ]);
    const again = (await t.call('GET', '/api/v1/manifest?format=json', { token: b.u.viewer })).body.artifacts.promotion;
    expect(again).toEqual({
      ...exported,
      environment_settings: {
        ...exported.environment_settings,
        production: { ...exported.environment_settings.production, monitors: [alarm('p99-latency', b.id), alarm('5xx-rate', b.id)] },
      },
    });
    // The API sees what the apply made: the same objects the routes manage; the audit trail has no secret.
    expect((await t.call('GET', '/api/v1/webhooks', { token: b.u.viewer })).body.items).toHaveLength(2);
    expect((await t.call('GET', '/api/v1/environments/production/git-target', { token: b.u.viewer })).body).toMatchObject({
      tokenSecret: 'GITOPS_TOKEN',
      version: 1,
    });
    expect((await t.call('GET', '/api/v1/artifacts/platform/links', { token: b.u.viewer })).body.items).toEqual([
      expect.objectContaining({ registry: 'registry.example.com', repository: 'org/platform' }),
    ]);
    const trail = JSON.stringify((await t.call('GET', '/api/v1/audit?limit=100', { token: b.u.viewer })).body);
    for (const w of applied.body.secrets.webhooks) expect(trail).not.toContain(w.secret.slice(6));
    expect(trail).toContain('manifest.webhook.add');

    // Applying the same document again changes nothing.
    const twice = await t.call('POST', '/api/v1/manifest/apply', { token: b.u.admin, body: { document: mine } });
    expect(twice.body).toMatchObject({ applied: false, changes: [] });
    expect(twice.body.secrets).toBeUndefined();

    // Changed in the document: one subscription goes, one changes in place, the git target goes, the link's filter changes (same link).
    const doc = {
      artifacts: {
        promotion: {
          ...again,
          webhooks: [{ ...exported.webhooks[0], events: ['promotion.failed'] }],
          git_targets: { production: null },
          registry_links: { platform: [{ ...exported.registry_links.platform[0], tags: { semver: true } }] },
        },
      },
    };
    const changed = await t.call('POST', '/api/v1/manifest/apply', { token: b.u.admin, body: { document: JSON.stringify(doc) } });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body.changes.map((c: { op: string; path: string }) => `${c.op} ${c.path}`).sort()).toEqual(
      [
        `change webhooks.* ${redacted}.events`,
        `remove webhooks.production ${redacted}`,
        'remove git_targets.production',
        'add registry_links.platform.registry.example.com/org/platform.tags.semver',
        'remove registry_links.platform.registry.example.com/org/platform.tags.pattern',
      ].sort(),
    );
    const subs = (await t.call('GET', '/api/v1/webhooks', { token: b.u.viewer })).body.items;
    expect(subs).toEqual([expect.objectContaining({ events: ['promotion.failed'], version: 2 })]);
    expect((await t.call('GET', '/api/v1/environments/production/git-target', { token: b.u.viewer })).status).toBe(404);
    const links = (await t.call('GET', '/api/v1/artifacts/platform/links', { token: b.u.viewer })).body.items;
    expect(links).toEqual([expect.objectContaining({ id: applied.body.secrets.registry_links[0].id, tags: { semver: true } })]);
  });

  it('refuses a private webhook URL, a monitor of another account and a metadata git remote, naming each path; nothing is applied', async () => {
    const { u } = await tenant();
    const before = await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer });
    const promotion = before.body.artifacts.promotion;
    const doc = {
      artifacts: {
        promotion: {
          ...promotion,
          gates: { ...promotion.gates, dev: { ...promotion.gates.dev, tests: true } },
          environment_settings: {
            ...promotion.environment_settings,
            production: { ...promotion.environment_settings.production, monitors: ['arn:aws:cloudwatch:eu-west-1:111122223333:alarm:theirs'] },
          },
          webhooks: [
            { url: 'https://hooks.example.com/ok', events: ['artifact.published'] },
            { url: 'https://10.0.0.7/hook', events: ['promotion.completed'] },
          ],
          git_targets: { staging: { repository: 'http://169.254.169.254/latest/meta-data', branch: 'main', file: 'values.yaml', path: 'image.tag' } },
        },
      },
    };
    for (const route of ['plan', 'apply']) {
      const r = await t.call('POST', `/api/v1/manifest/${route}`, { token: u.admin, body: { document: JSON.stringify(doc) } });
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      const paths = r.body.error.issues.map((i: { path: string }) => i.path);
      expect(paths).toEqual(
        expect.arrayContaining([
          'document.artifacts.promotion.environment_settings.production.monitors.0',
          'document.artifacts.promotion.webhooks.1.url',
          'document.artifacts.promotion.git_targets.staging.repository',
        ]),
      );
      expect(JSON.stringify(r.body)).toMatch(/account 111122223333/);
    }
    const after = await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer });
    expect(after.headers.get('x-manifest-digest')).toBe(before.headers.get('x-manifest-digest'));
    expect((await t.call('GET', '/api/v1/webhooks', { token: u.viewer })).body.items).toEqual([]);
  });
});
