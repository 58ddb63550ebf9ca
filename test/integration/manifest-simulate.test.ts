import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPage } from '../../domain/manifest/simulation-pages.ts';
import { cliOf } from '../support/cli.ts';
import { waitFor, waitForToken } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
let u: Awaited<ReturnType<TestStack['users']>>;
/** the promotions made below: an allowed one, one blocked by its tests gate, one approved, one waiting for approval */
const ids: Record<'allowed' | 'blocked' | 'approved' | 'waiting', string> = { allowed: '', blocked: '', approved: '', waiting: '' };

const plan = (document: string, simulate = '90d') =>
  t.call('POST', `/api/v1/manifest/plan?simulate=${encodeURIComponent(simulate)}`, { token: u.viewer, body: { document } });
const exported = async () => (await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer })).body;
const promote = (source: string, target: string, extra: Record<string, unknown> = {}) =>
  t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: source, targetEnvironment: target, ...extra } });

beforeAll(async () => {
  t = await startTestStack();
  const tenant = t.tenant();
  u = await t.users(tenant);
  await makeLine(t, u.admin);
  // Staging runs the tests gate: a promotion there without test results is blocked.
  const staging = await t.call('GET', '/api/v1/environments/staging', { token: u.admin });
  const upd = await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: staging.body.version, gates: { tests: true } } });
  expect(upd.status, JSON.stringify(upd.body)).toBe(200);
  // Allowed: dev → staging with passing tests attached before validation.
  await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'k', value: 1 } });
  const a = await promote('dev', 'staging', { autoStart: false });
  expect(a.status, JSON.stringify(a.body)).toBe(201);
  ids.allowed = a.body.id;
  const ev = await t.call('POST', `/api/v1/promotions/${ids.allowed}/evidence`, {
    token: u.deployer,
    body: { type: 'test_results', payload: { passed: 12, failed: 0 } },
  });
  expect(ev.status).toBe(201);
  expect((await t.call('POST', `/api/v1/promotions/${ids.allowed}/validate`, { token: u.deployer })).status).toBe(202);
  expect((await waitFor(t, u.viewer, ids.allowed, ['COMPLETED', 'VALIDATION_FAILED', 'FAILED'])).status).toBe('COMPLETED');
  // Blocked: dev → staging of newer content, without test results.
  await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'k2', value: 2 } });
  const b = await promote('dev', 'staging');
  expect(b.status, JSON.stringify(b.body)).toBe(201);
  ids.blocked = b.body.id;
  expect((await waitFor(t, u.viewer, ids.blocked, ['COMPLETED', 'VALIDATION_FAILED', 'FAILED'])).status).toBe('VALIDATION_FAILED');
  // Approved: staging → production (the last environment needs one approval).
  const c = await promote('staging', 'production');
  expect(c.status, JSON.stringify(c.body)).toBe(201);
  ids.approved = c.body.id;
  await waitForToken(t, u.viewer, ids.approved);
  expect((await t.call('POST', `/api/v1/promotions/${ids.approved}/approve`, { token: u.approver, body: {} })).status).toBe(200);
  expect((await waitFor(t, u.viewer, ids.approved, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
  // Waiting: staging → production of content changed in staging since, nobody approved it yet.
  await t.call('POST', '/api/v1/environments/staging/configs', { token: u.deployer, body: { key: 'k3', value: 3 } });
  const d = await promote('staging', 'production');
  expect(d.status, JSON.stringify(d.body)).toBe(201);
  ids.waiting = d.body.id;
  expect((await waitForToken(t, u.viewer, ids.waiting)).status).toBe('AWAITING_APPROVAL');
}, 120_000);
afterAll(() => t.stop());

const byId = (sim: any) => Object.fromEntries(sim.changes.map((c: any) => [c.id, c]));

describe('manifest plan ?simulate: the document replayed over the promotions of a look-back', () => {
  it('the current setup reproduces every stored decision digest: no changes', async () => {
    const yaml = await t.call('GET', '/api/v1/manifest', { token: u.viewer });
    const r = await plan(yaml.body);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.changes).toEqual([]);
    const sim = r.body.simulation;
    expect(sim).toMatchObject({ promotions: 4, truncated: false, limit: 10_000, rollbacksSkipped: 0, changesTruncated: false, changes: [] });
    // A fresh tenant's history is shorter than 90 days: the answer says how far back it goes.
    const first = await t.call('GET', `/api/v1/promotions/${ids.allowed}`, { token: u.viewer });
    expect(sim).toMatchObject({ coversLookBack: false, reachedBack: first.body.requestedAt });
    expect(sim.summary).toEqual({ changed: 0, allowedToBlocked: 0, blockedToAllowed: 0, approvalsChanged: 0, newlyHeldByWindow: 0, digestsReproduced: 4 });
    // The digests are the decision records' own.
    for (const id of Object.values(ids)) {
      const rec = await t.call('GET', `/api/v1/promotions/${id}/decision`, { token: u.viewer });
      expect(rec.status, JSON.stringify(rec.body)).toBe(200);
      expect(rec.body.decisionDigest).toMatch(/^sha256:/);
    }
    // Without ?simulate the plan answers as before.
    const plain = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: yaml.body } });
    expect(plain.body.simulation).toBeUndefined();
  });

  it('a rule that asks for an approval lists the promotions it governs, with old and new', async () => {
    const doc = await exported();
    doc.artifacts.promotion.approval_rules = [
      ...doc.artifacts.promotion.approval_rules,
      { name: 'dev to staging needs a person', sourceEnvironment: 'dev', targetEnvironment: 'staging', requiresApproval: true, requiredApprovers: 1 },
    ];
    const r = await plan(JSON.stringify(doc));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const sim = r.body.simulation;
    const c = byId(sim);
    expect(Object.keys(c).sort()).toEqual([ids.allowed, ids.blocked].sort());
    expect(c[ids.allowed]).toMatchObject({
      sourceEnvironment: 'dev',
      targetEnvironment: 'staging',
      outcome: { old: 'ALLOWED', new: 'AWAITING_APPROVAL' },
      allowed: { old: true, new: false },
      approvalsRequired: { old: 0, new: 1 },
      changed: true,
    });
    expect(c[ids.allowed].decisionDigest.old).not.toBe(c[ids.allowed].decisionDigest.new);
    expect(c[ids.blocked]).toMatchObject({ outcome: { old: 'BLOCKED_BY_GATES', new: 'BLOCKED_BY_GATES' }, approvalsRequired: { old: 0, new: 1 } });
    expect(sim.summary).toMatchObject({ changed: 2, allowedToBlocked: 1, blockedToAllowed: 0, approvalsChanged: 2, digestsReproduced: 2 });
  });

  it("raising production's approvers from 1 to 2 turns exactly the promotions approved once into waiting ones", async () => {
    const doc = await exported();
    doc.artifacts.promotion.approval_rules = [
      ...doc.artifacts.promotion.approval_rules,
      { name: 'two people for production', sourceEnvironment: 'staging', targetEnvironment: 'production', requiresApproval: true, requiredApprovers: 2 },
    ];
    const r = await plan(JSON.stringify(doc));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const sim = r.body.simulation;
    const c = byId(sim);
    // Both promotions into production need one more approval; only the one approved once was allowed, and is no longer.
    expect(Object.keys(c).sort()).toEqual([ids.approved, ids.waiting].sort());
    expect(c[ids.approved]).toMatchObject({
      outcome: { old: 'ALLOWED', new: 'AWAITING_APPROVAL' },
      allowed: { old: true, new: false },
      approvalsRequired: { old: 1, new: 2 },
    });
    expect(c[ids.waiting]).toMatchObject({ outcome: { old: 'AWAITING_APPROVAL', new: 'AWAITING_APPROVAL' }, approvalsRequired: { old: 1, new: 2 } });
    const flipped = sim.changes.filter((x: any) => x.allowed.old && !x.allowed.new).map((x: any) => x.id);
    expect(flipped).toEqual([ids.approved]);
    expect(sim.summary).toMatchObject({ changed: 2, allowedToBlocked: 1, blockedToAllowed: 0, approvalsChanged: 2, digestsReproduced: 2 });
  });

  it('turning a gate off lets through what it blocked; a freeze window over the time names the promotions it would have held', async () => {
    const doc = await exported();
    doc.artifacts.promotion.gates.staging.tests = false;
    const r = await plan(JSON.stringify(doc));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const c = byId(r.body.simulation);
    // The promotions into staging: the blocked one goes through; the allowed one stays allowed, its tests no longer judged (a new digest).
    expect(Object.keys(c).sort()).toEqual([ids.allowed, ids.blocked].sort());
    expect(c[ids.blocked]).toMatchObject({ outcome: { old: 'BLOCKED_BY_GATES', new: 'ALLOWED' }, allowed: { old: false, new: true } });
    expect(c[ids.allowed]).toMatchObject({ outcome: { old: 'ALLOWED', new: 'ALLOWED' }, approvalsRequired: { old: 0, new: 0 } });
    expect(c[ids.allowed].decisionDigest.new).not.toBe(c[ids.allowed].decisionDigest.old);
    expect(r.body.simulation.summary).toMatchObject({ changed: 2, blockedToAllowed: 1, allowedToBlocked: 0, digestsReproduced: 2 });

    const frozen = await exported();
    const now = Date.now();
    frozen.artifacts.promotion.freeze_windows = [
      { reason: 'quarter close', environment: 'production', start: new Date(now - 3_600_000).toISOString(), end: new Date(now + 3_600_000).toISOString() },
    ];
    const f = await plan(JSON.stringify(frozen));
    expect(f.status, JSON.stringify(f.body)).toBe(200);
    const h = byId(f.body.simulation);
    expect(Object.keys(h).sort()).toEqual([ids.approved, ids.waiting].sort());
    expect(h[ids.approved].heldByWindow.old).toBeNull();
    expect(h[ids.approved].heldByWindow.new).toMatchObject({ reason: 'quarter close', scope: 'production' });
    expect(f.body.simulation.summary).toMatchObject({ changed: 2, newlyHeldByWindow: 2 });
  });

  it('comes in pages when asked for fewer promotions per request: following next replays every one once, and the pages add up to the whole', async () => {
    const doc = await exported();
    doc.artifacts.promotion.approval_rules = [
      ...doc.artifacts.promotion.approval_rules,
      { name: 'two people for production', sourceEnvironment: 'staging', targetEnvironment: 'production', requiresApproval: true, requiredApprovers: 2 },
    ];
    const document = JSON.stringify(doc);
    const whole = (await plan(document)).body.simulation;
    expect(whole).toMatchObject({ next: null, truncated: false });
    const seen: string[] = [];
    let sim: any = null;
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const q: string = `/api/v1/manifest/plan?simulate=90d&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await t.call('POST', q, { token: u.viewer, body: { document } });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const page = r.body.simulation;
      // One a page (the store may answer one empty page at the end: a page that stopped at its limit cannot know it was the last).
      expect(page.promotions).toBeLessThanOrEqual(1);
      seen.push(...page.changes.map((c: any) => c.id));
      sim = sim ? addPage(sim, page) : page;
      cursor = page.next;
      if (!cursor) break;
      expect(page).toMatchObject({ truncated: true, coversLookBack: true });
    }
    expect(cursor).toBeNull();
    expect(sim.promotions).toBe(4);
    expect(sim.summary).toEqual(whole.summary);
    expect(seen).toEqual(whole.changes.map((c: any) => c.id));
    expect(new Set(seen).size).toBe(seen.length);
    // A cursor that is not one, or paging without simulate: 400 naming the field.
    const bad = await t.call('POST', '/api/v1/manifest/plan?simulate=90d&cursor=nonsense', { token: u.viewer, body: { document } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues.map((i: any) => i.path)).toEqual(['query.cursor']);
    const plain = await t.call('POST', '/api/v1/manifest/plan?limit=2', { token: u.viewer, body: { document } });
    expect(plain.status).toBe(400);
    expect(plain.body.error.issues.map((i: any) => i.path)).toEqual(['query.limit']);
    expect((await t.call('POST', '/api/v1/manifest/plan?simulate=90d&limit=0', { token: u.viewer, body: { document } })).status).toBe(400);
  });

  it('a look-back that is not one is refused with 400 naming simulate', async () => {
    const yaml = (await t.call('GET', '/api/v1/manifest', { token: u.viewer })).body;
    for (const bad of ['400d', '90', 'd', '-1d', '1w', '0d', '90days']) {
      const r = await plan(yaml, bad);
      expect(r.status, bad).toBe(400);
      expect(r.body.error.issues.map((i: any) => i.path)).toEqual(['query.simulate']);
    }
    expect((await plan(yaml, '365d')).status).toBe(200);
    expect((await plan(yaml, '24h')).status).toBe(200);
    // An export simulates nothing.
    expect((await t.call('GET', '/api/v1/manifest?simulate=7d', { token: u.viewer })).status).toBe(400);
  });

  it('writes nothing', async () => {
    const state = async () => {
      const [promotions, audit, manifest] = await Promise.all([
        t.call('GET', '/api/v1/promotions?limit=50', { token: u.viewer }),
        t.call('GET', '/api/v1/audit?limit=100', { token: u.admin }),
        t.call('GET', '/api/v1/manifest', { token: u.viewer }),
      ]);
      return JSON.stringify({
        promotions: promotions.body.items.map((p: any) => [p.id, p.version, p.updatedAt]),
        audit: audit.body.items.map((e: any) => e.id),
        digest: manifest.headers.get('x-manifest-digest'),
      });
    };
    // The stream consumer's work after the promotions (attestations, the chain) settles first.
    let before = await state();
    for (let i = 0; i < 40; i++) {
      await new Promise((res) => setTimeout(res, 250));
      const again = await state();
      if (again === before) break;
      before = again;
    }
    const doc = await exported();
    doc.artifacts.promotion.gates.staging.tests = false;
    doc.artifacts.promotion.freeze_windows = [
      { reason: 'x', start: new Date(Date.now() - 60_000).toISOString(), end: new Date(Date.now() + 60_000).toISOString() },
    ];
    expect((await plan(JSON.stringify(doc))).status).toBe(200);
    expect(await state()).toBe(before);
  });

  it('the CLI prints the changed promotions as a table and the counts (stageline plan --simulate 90d)', async () => {
    const cli = (...args: string[]) => cliOf(t)(u.viewer, ...args);
    const dir = mkdtempSync(join(tmpdir(), 'stageline-simulate-'));
    const doc = await exported();
    doc.artifacts.promotion.approval_rules = [
      ...doc.artifacts.promotion.approval_rules,
      { name: 'dev to staging needs a person', sourceEnvironment: 'dev', targetEnvironment: 'staging', requiresApproval: true, requiredApprovers: 1 },
    ];
    const file = join(dir, 'manifest.json');
    writeFileSync(file, JSON.stringify(doc));
    const { stdout } = await cli('plan', '-f', file, '--simulate', '90d');
    expect(stdout).toContain('Simulation over 4 promotions');
    expect(stdout).toMatch(/Promotion\s+Subject\s+Route\s+Outcome\s+Approvals\s+Freeze window\s+Decision digest/);
    const row = stdout.split('\n').find((l) => l.startsWith(ids.allowed));
    expect(row).toMatch(/dev → staging\s+ALLOWED → AWAITING_APPROVAL\s+0 → 1/);
    expect(stdout).toContain('2 of 4 would have been decided differently: 1 allowed → not allowed, 0 not allowed → allowed, 2 with other approvals');
    expect(stdout).toContain('History goes back only to ');
    // Two promotions a request: the CLI follows next, says how far back it has come, and prints the same whole.
    const paged = await cli('plan', '-f', file, '--simulate', '90d', '--per-request', '2');
    expect(paged.stderr).toMatch(/replayed 2 promotions, back to \d{4}-/);
    expect(paged.stdout).toContain('2 of 4 would have been decided differently: 1 allowed → not allowed, 0 not allowed → allowed, 2 with other approvals');
    expect(paged.stdout.split('\n').find((l) => l.startsWith(ids.allowed))).toBe(row);
    const same = join(dir, 'current.json');
    writeFileSync(same, JSON.stringify(await exported()));
    const unchanged = await cli('plan', '-f', same, '--simulate', '90d');
    expect(unchanged.stdout).toContain('0 of 4 would have been decided differently');
    expect(unchanged.stdout).toContain('4 decision digests reproduced');
    await expect(cli('plan', '-f', same, '--simulate', '2y')).rejects.toThrow(/simulate/);
  });

  it('a target that comes to ask for a signature lists its artifact promotions (the signature is not verified by the replay)', async () => {
    const tenant = t.tenant();
    const v = await t.users(tenant);
    await makeLine(t, v.admin);
    const pub = await t.call('POST', '/api/v1/artifacts/platform/versions', {
      token: v.deployer,
      body: { version: 'v1.0.0', digest: `sha256:${'a'.repeat(64)}` },
    });
    expect(pub.status, JSON.stringify(pub.body)).toBe(201);
    const r = await t.call('POST', '/api/v1/promotions', {
      token: v.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version: 'v1.0.0' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect((await waitFor(t, v.viewer, r.body.id, ['COMPLETED', 'FAILED', 'VALIDATION_FAILED'])).status).toBe('COMPLETED');
    const doc = (await t.call('GET', '/api/v1/manifest?format=json', { token: v.viewer })).body;
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    Object.assign(doc.artifacts.promotion.environment_settings.staging, { verification: 'signature_match', signing_key: pem });
    const p = await t.call('POST', '/api/v1/manifest/plan?simulate=7d', { token: v.viewer, body: { document: JSON.stringify(doc) } });
    expect(p.status, JSON.stringify(p.body)).toBe(200);
    expect(p.body.simulation.changes).toHaveLength(1);
    const c = p.body.simulation.changes[0];
    expect(c).toMatchObject({ id: r.body.id, signatureRequired: { old: false, new: true }, outcome: { old: 'ALLOWED', new: 'ALLOWED' }, changed: true });
    expect(c.decisionDigest.new).toBe(c.decisionDigest.old);
  });
});
