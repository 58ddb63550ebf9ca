import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { localSecretVariable } from '../../functions/adapters/secrets.ts';
import { redactUrl } from '../../domain/kernel/url-policy.ts';
import { tenantWithLine, useManifestStack } from '../support/manifest.ts';
import { waitFor } from '../support/promotions.ts';

// What a manifest carries beside the promotion policy: webhook gates with their secrets by reference, webhook
// subscriptions, monitors, git targets and registry links; the unsafe ones refused. The policy is in manifest-policy.test.ts.
const t = useManifestStack();
const tenant = () => tenantWithLine(t);

describe('promotion policy as code: manifest plan / apply / export', () => {
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
      expect(timeout.body.changes).toEqual([
        { op: 'change', path: 'webhook_gates.staging.change-board.timeout_ms', before: 2000, after: 3000, needs: { role: 'admin', environments: ['staging'] } },
      ]);
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

  it('carries webhook subscriptions, monitors, git targets and registry links: export → apply to another tenant is the same state, a second apply changes nothing, no secret in the document', async () => {
    const a = await tenant();
    // The git target's push token exists for each tenant (a target naming a missing secret is refused at save).
    process.env[localSecretVariable(a.id, 'git-token', 'GITOPS_TOKEN')!] = 'push-token';
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
    process.env[localSecretVariable(b.id, 'git-token', 'GITOPS_TOKEN')!] = 'push-token';
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
