import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliOf } from '../support/cli.ts';
import { SEED_003, tenantWithLine, useManifestStack } from '../support/manifest.ts';
import { makeLine } from '../support/stack.ts';

// The manifest's promotion policy: gates, notifications, approval rules and freeze windows; plan, apply and export
// (API and CLI); how a document is refused. What else a manifest carries is in manifest-resources.test.ts.
const t = useManifestStack();
const tenant = () => tenantWithLine(t);

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
    expect(three.body.changes).toEqual([
      {
        op: 'change',
        path: 'approval_rules.staging->production.requiredApprovers',
        before: 2,
        after: 3,
        needs: { role: 'admin', environments: ['production'] },
      },
    ]);
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
    const cli = (...args: string[]) => cliOf(t)(u.admin, ...args);
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
});
