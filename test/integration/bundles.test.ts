import { describe, expect, it } from 'vitest';
import { verifyAttestation } from '../../domain/attestation/verify.ts';
import { cliOf } from '../support/cli.ts';
import { approveIfAsked, digest, promoteToEnd, waitFor, waitForToken } from '../support/promotions.ts';
import { alarmArn, alarmEvent } from '../support/alarms.ts';
import { productionLine } from '../support/line.ts';
import { makeLine, useTestStack } from '../support/stack.ts';

const t = useTestStack();
const cli = cliOf(t);

describe('release bundles: several artifacts and a configuration snapshot promoted as one unit', () => {
  it('creates a bundle from what dev runs, promotes it through the line in one step each, and shows it everywhere', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const publish = (artifact: string, version: string, c: string, metadata: Record<string, unknown> = {}) =>
      t.call('POST', `/api/v1/artifacts/${artifact}/versions`, { token: u.deployer, body: { version, digest: digest(c), metadata } });
    expect((await publish('api', 'v1.0.0', 'a')).status).toBe(201);
    expect((await publish('worker', 'v1.0.0', 'b')).status).toBe(201);
    expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'queue.size', value: 10 } })).status).toBe(201);

    // Created from dev: both artifacts and dev's configuration; the same content again is the same bundle (200).
    const created = await t.call('POST', '/api/v1/bundles', { token: u.deployer, body: { name: 'checkout', from: 'dev', config: true } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.members).toEqual([
      { name: 'api', version: 'v1.0.0', digest: digest('a') },
      { name: 'worker', version: 'v1.0.0', digest: digest('b') },
    ]);
    expect(created.body.config).toMatchObject({ environment: 'dev', keyPatterns: [] });
    const again = await t.call('POST', '/api/v1/bundles', { token: u.deployer, body: { name: 'checkout', from: 'dev', config: true } });
    expect(again.status).toBe(200);
    expect(again.body.digest).toBe(created.body.digest);
    // Bad input: named fields, never a 500.
    const both = await t.call('POST', '/api/v1/bundles', {
      token: u.deployer,
      body: { name: 'x', from: 'dev', members: [{ name: 'api', version: 'v1.0.0' }] },
    });
    expect(both.status).toBe(400);
    const unknown = await t.call('POST', '/api/v1/bundles', { token: u.deployer, body: { name: 'x', members: [{ name: 'api', version: 'v9.9.9' }] } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain('api@v9.9.9');
    const twice = await t.call('POST', '/api/v1/bundles', {
      token: u.deployer,
      body: {
        name: 'x',
        members: [
          { name: 'api', version: 'v1.0.0' },
          { name: 'api', version: 'v1.0.0' },
        ],
      },
    });
    expect(twice.status).toBe(400);
    expect((await t.call('POST', '/api/v1/bundles', { token: u.viewer, body: { name: 'checkout', from: 'dev' } })).status).toBe(403);

    // A dry run lists each member's move and the configuration's changes; nothing is written.
    const dry = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', bundle: 'checkout', dryRun: true },
    });
    expect(dry.status, JSON.stringify(dry.body)).toBe(200);
    expect(dry.body.releaseDigest).toBe(created.body.digest);
    expect(dry.body.members).toEqual([
      { artifact: 'api', from: null, to: 'v1.0.0', digest: digest('a'), moves: true },
      { artifact: 'worker', from: null, to: 'v1.0.0', digest: digest('b'), moves: true },
    ]);
    expect(dry.body.changes).toEqual([expect.objectContaining({ kind: 'config', key: 'queue.size', action: 'add' })]);

    const toStaging = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', bundle: 'checkout' },
    });
    expect(toStaging.status, JSON.stringify(toStaging.body)).toBe(201);
    expect(toStaging.body.subject).toMatchObject({ type: 'bundle', name: 'checkout', digest: created.body.digest });
    const done = await waitFor(t, u.viewer, toStaging.body.id, ['COMPLETED', 'FAILED', 'ROLLED_BACK']);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    expect(done.result.members.map((m: any) => [m.name, m.version, m.previous.version ?? null])).toEqual([
      ['api', 'v1.0.0', null],
      ['worker', 'v1.0.0', null],
    ]);
    // Every member and the configuration moved in the one transaction, under one deployment record naming the bundle.
    for (const a of ['api', 'worker']) {
      const v = await t.call('GET', `/api/v1/artifacts/${a}/versions?environment=staging`, { token: u.viewer });
      expect(v.body.latest.version).toBe('v1.0.0');
    }
    const cfg = await t.call('GET', '/api/v1/environments/staging/configs', { token: u.viewer });
    expect(cfg.body.items.map((i: any) => [i.key, i.value])).toEqual([['queue.size', 10]]);
    const history = await t.call('GET', '/api/v1/platform/deployments/history?environment=staging', { token: u.viewer });
    expect(history.body.filter((d: any) => d.promotionId === toStaging.body.id).map((d: any) => [d.imageTag, d.digest])).toEqual([
      [`checkout@${created.body.digest.slice(7, 19)}`, created.body.digest],
    ]);
    // Again into staging: nothing to move.
    const already = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', bundle: 'checkout' },
    });
    expect(already.status).toBe(422);
    expect(already.body.error.message).toContain("'staging' already runs all of checkout@");

    // The changes view and the bundle's page say what each environment runs.
    const changes = await t.call('GET', `/api/v1/promotions/${toStaging.body.id}/changes`, { token: u.viewer });
    expect(changes.status).toBe(200);
    expect(changes.body.bundle.members.map((m: any) => [m.name, m.from, m.to, m.moves])).toEqual([
      ['api', null, 'v1.0.0', true],
      ['worker', null, 'v1.0.0', true],
    ]);
    const shown = await t.call('GET', '/api/v1/bundles/checkout', { token: u.viewer });
    expect(shown.body.environments).toEqual([
      { environment: 'dev', digest: created.body.digest },
      { environment: 'staging', digest: created.body.digest },
      { environment: 'production', digest: null },
    ]);
    const status = await t.call('GET', '/api/v1/status?env=staging', { token: u.viewer });
    expect(status.body.environments[0].artifacts.map((a: any) => [a.artifact, a.version, a.bundle?.name])).toEqual([
      ['api', 'v1.0.0', 'checkout'],
      ['worker', 'v1.0.0', 'checkout'],
    ]);
    expect((await t.call('GET', '/api/v1/promotions?subject=bundle:checkout', { token: u.viewer })).body.items.map((p: any) => p.id)).toEqual([
      toStaging.body.id,
    ]);

    // The signed verification summary names the bundle and each member by digest: an admission check of one image finds it.
    let att;
    for (let i = 0; i < 100; i++) {
      att = await t.call('GET', `/api/v1/promotions/${toStaging.body.id}/attestation`, { token: u.viewer });
      if (att.status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(att!.status).toBe(200);
    // Signed with the tenant's own attestation key (the top-level key signs only the Merkle anchor).
    const key = await t.call('GET', '/api/v1/audit/public-key', { token: u.viewer });
    const v = verifyAttestation(att!.body.envelope, key.body.attestation.publicKeyPem, { tenant: key.body.tenant, subjectDigest: digest('b') });
    expect(v.ok, JSON.stringify(v)).toBe(true);
    if (v.ok) expect(v.statement.subject.map((s) => s.name)).toEqual(['bundle:checkout', 'api', 'worker', expect.stringMatching(/^config:dev@/)]);
  });

  it('refuses what would break a pinned consumer unless the consumer moves with it, re-pinned; approvals bind to the bundle digest', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const publish = (artifact: string, version: string, c: string, metadata: Record<string, unknown> = {}) =>
      t.call('POST', `/api/v1/artifacts/${artifact}/versions`, { token: u.deployer, body: { version, digest: digest(c), metadata } });
    const promote = async (source: string, target: string, body: Record<string, unknown>) => {
      const r = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: source, targetEnvironment: target, ...body } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      await approveIfAsked(t, u, r.body.id, ['COMPLETED', 'FAILED']);
      return waitFor(t, u.viewer, r.body.id, ['COMPLETED', 'FAILED', 'ROLLED_BACK']);
    };
    // v1 of both everywhere; production's worker pins api ^1.
    await publish('api', 'v1.0.0', '1');
    await publish('worker', 'v1.0.0', '2');
    for (const [s, d] of [
      ['dev', 'staging'],
      ['staging', 'production'],
    ])
      for (const a of ['api', 'worker']) expect((await promote(s!, d!, { artifact: a, version: 'v1.0.0' })).status).toBe('COMPLETED');
    await t.call('PUT', '/api/v1/artifacts/api/consumers/worker', { token: u.deployer, body: { constraint: '^1.0.0', environment: 'production' } });
    // v2: the worker's new version pins api ^2.
    await publish('api', 'v2.0.0', '3');
    await publish('worker', 'v2.0.0', '4', { pins: { api: '^2.0.0' } });
    const apiOnly = await t.call('POST', '/api/v1/bundles', { token: u.deployer, body: { name: 'api-only', members: [{ name: 'api', version: 'v2.0.0' }] } });
    const both = await t.call('POST', '/api/v1/bundles', { token: u.deployer, body: { name: 'platform', from: 'dev' } });
    expect(both.status).toBe(201);
    expect((await promote('dev', 'staging', { bundle: 'platform' })).status).toBe('COMPLETED');

    // api alone into production breaks the worker's pin: refused, naming the consumer and its constraint.
    const alone = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'staging', targetEnvironment: 'production', bundle: 'api-only', bundleDigest: apiOnly.body.digest },
    });
    expect(alone.status).toBe(422);
    expect(alone.body.error.message).toContain("consumer 'worker' pins api ^1.0.0");
    // Not promoted from where it does not run: production does not run the bundle.
    const wrongSource = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'production', targetEnvironment: 'staging', bundle: 'platform' },
    });
    expect(wrongSource.status).toBeGreaterThanOrEqual(400);

    // The bundle moves the worker with it, re-pinned: allowed. Production asks for approval, bound to the bundle's digest.
    const r = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'staging', targetEnvironment: 'production', bundle: 'platform' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.releaseDigest).toBe(both.body.digest);
    await approveIfAsked(t, u, r.body.id, ['COMPLETED']);
    const decision = await t.call('GET', `/api/v1/promotions/${r.body.id}/decision`, { token: u.viewer });
    for (const a of decision.body.approvals) expect(a.digest).toBe(both.body.digest);
    const ended = await waitFor(t, u.viewer, r.body.id, ['COMPLETED', 'FAILED', 'ROLLED_BACK']);
    expect(ended.status, JSON.stringify(ended.error)).toBe('COMPLETED');
    expect(ended.result.members.map((m: any) => [m.name, m.previous.version])).toEqual([
      ['api', 'v1.0.0'],
      ['worker', 'v1.0.0'],
    ]);

    // The CLI: list, show, and promote --bundle (a dry run here: production already runs it).
    const status = await cli(u.viewer, 'promote', 'status', '--env', 'production');
    expect(status.stdout).toContain('api v2.0.0-production (bundle platform)');
    const list = await cli(u.viewer, 'bundles', 'list');
    expect(list.stdout).toContain('platform');
    expect(list.stdout).toContain('api@v2.0.0, worker@v2.0.0');
    const show = await cli(u.viewer, 'bundles', 'show', 'platform');
    expect(show.stdout).toMatch(/production\s+\S+ \(newest\)/);
    const created = await cli(u.deployer, 'bundles', 'create', '--name', 'just-api', '--from', 'production', '--only', 'api');
    expect(created.stdout).toContain('bundle just-api sha256:');
    expect(created.stdout).toContain('api@v2.0.0');
    const refused = await cli(u.deployer, 'promote', '--bundle', 'platform', '--from', 'staging', '--to', 'production', '--dry-run').catch((e) => e);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("'production' already runs all of platform@");
  });

  it('a consumer version a bundle brings into an environment brings its pins: the next patch of what it consumes is accepted there, and only there', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const publish = async (artifact: string, version: string, c: string, metadata: Record<string, unknown> = {}) => {
      const r = await t.call('POST', `/api/v1/artifacts/${artifact}/versions`, { token: u.deployer, body: { version, digest: digest(c), metadata } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    };
    const request = (source: string, target: string, body: Record<string, unknown>) =>
      t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: source, targetEnvironment: target, ...body } });
    const promote = async (source: string, target: string, body: Record<string, unknown>) => {
      const r = await request(source, target, body);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      await approveIfAsked(t, u, r.body.id, ['COMPLETED', 'FAILED']);
      return waitFor(t, u.viewer, r.body.id, ['COMPLETED', 'FAILED', 'ROLLED_BACK']);
    };
    // web 2 (pinning api ^2) and api 2 everywhere; web's pin on api is stored for every environment.
    await publish('api', 'v2.0.0', '1');
    await publish('web', 'v2.0.0', '2', { pins: { api: '^2.0.0' } });
    for (const [s, d] of [
      ['dev', 'staging'],
      ['staging', 'production'],
    ])
      for (const a of ['api', 'web']) expect((await promote(s!, d!, { artifact: a, version: 'v2.0.0' })).status).toBe('COMPLETED');
    expect((await t.call('PUT', '/api/v1/artifacts/api/consumers/web', { token: u.deployer, body: { constraint: '^2.0.0' } })).status).toBe(200);

    // web 3 pins api ^3: the two move into staging together, as one bundle.
    await publish('api', 'v3.0.0', '3');
    await publish('web', 'v3.0.0', '4', { pins: { api: '^3.0.0' } });
    const pair = await t.call('POST', '/api/v1/bundles', { token: u.deployer, body: { name: 'web-api', from: 'dev' } });
    expect(pair.status, JSON.stringify(pair.body)).toBe(201);
    expect((await promote('dev', 'staging', { bundle: 'web-api', bundleDigest: pair.body.digest })).status).toBe('COMPLETED');

    // Staging runs web 3, whose pin is api ^3 there: the next patch of api goes in alone.
    await publish('api', 'v3.0.1', '5');
    const patch = await promote('dev', 'staging', { artifact: 'api', version: 'v3.0.1' });
    expect(patch.status, JSON.stringify(patch.error)).toBe('COMPLETED');
    // Production still runs web 2, pinning api ^2: api 3 alone is refused there, naming the pin.
    const refused = await request('staging', 'production', { artifact: 'api', version: 'v3.0.1' });
    expect(refused.status, JSON.stringify(refused.body)).toBe(422);
    expect(refused.body.error.message).toContain("consumer 'web' pins api ^2.0.0");
  });

  it('a bundle promotion awaiting approval rebases onto the newest bundle of its name: the digest moves, the approvals given are void', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const publish = (artifact: string, version: string, c: string) =>
      t.call('POST', `/api/v1/artifacts/${artifact}/versions`, { token: u.deployer, body: { version, digest: digest(c) } });
    await publish('api', 'v1.0.0', '5');
    await publish('worker', 'v1.0.0', '6');
    const first = await t.call('POST', '/api/v1/bundles', { token: u.deployer, body: { name: 'shop', from: 'dev' } });
    expect(first.status).toBe(201);
    await promoteToEnd(t, u, { sourceEnvironment: 'dev', targetEnvironment: 'staging', bundle: 'shop' });
    const rule = await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: { name: 'two', sourceEnvironment: 'staging', targetEnvironment: 'production', requiredApprovers: 2 },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const r = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'staging', targetEnvironment: 'production', bundle: 'shop' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    await waitForToken(t, u.viewer, r.body.id);
    expect((await t.call('POST', `/api/v1/promotions/${r.body.id}/approve`, { token: u.approver, body: {} })).status).toBe(200);
    // Nothing newer yet: a rebase changes nothing.
    expect((await t.call('POST', `/api/v1/promotions/${r.body.id}/rebase`, { token: u.deployer })).body.releaseDigest).toBe(first.body.digest);

    // api v1.1.0 reaches staging; the bundle taken from staging again is its newest version.
    await publish('api', 'v1.1.0', '7');
    await promoteToEnd(t, u, { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'api', version: 'v1.1.0' });
    const second = await t.call('POST', '/api/v1/bundles', { token: u.deployer, body: { name: 'shop', from: 'staging' } });
    expect(second.status).toBe(201);
    expect(second.body.digest).not.toBe(first.body.digest);
    const rebased = await t.call('POST', `/api/v1/promotions/${r.body.id}/rebase`, { token: u.deployer });
    expect(rebased.status, JSON.stringify(rebased.body)).toBe(200);
    expect(rebased.body.status).toBe('AWAITING_APPROVAL');
    expect(rebased.body.subject).toMatchObject({ type: 'bundle', name: 'shop', digest: second.body.digest });
    expect(rebased.body.releaseDigest).toBe(second.body.digest);
    expect(rebased.body.approvedBy).toEqual([]);
    expect(rebased.body.notes).toContain('api@v1.1.0, worker@v1.0.0; was api@v1.0.0, worker@v1.0.0');
    // Two approvals of the new digest, then production runs the new api with the worker it had.
    for (const who of [u.approver, u.admin])
      expect((await t.call('POST', `/api/v1/promotions/${r.body.id}/approve`, { token: who, body: {} })).status).toBe(200);
    const ended = await waitFor(t, u.viewer, r.body.id, ['COMPLETED', 'FAILED', 'ROLLED_BACK']);
    expect(ended.status, JSON.stringify(ended.error)).toBe('COMPLETED');
    expect((await t.call('GET', '/api/v1/artifacts/api/tags/latest-production', { token: u.viewer })).body.version).toBe('v1.1.0');
  });

  it('puts every member and key back together: an alarm while it bakes, and a rollback of the completed promotion', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const env = await t.call('GET', '/api/v1/environments/staging', { token: u.viewer });
    await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: env.body.version, bakeSeconds: 2 } });
    const publish = (artifact: string, version: string, c: string) =>
      t.call('POST', `/api/v1/artifacts/${artifact}/versions`, { token: u.deployer, body: { version, digest: digest(c) } });
    const setKey = (key: string, value: number) => t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key, value } });
    const promoteBundle = async (alarm: boolean) => {
      const created = await t.call('POST', '/api/v1/bundles', { token: u.deployer, body: { name: 'shop', from: 'dev', config: true } });
      expect(created.status, JSON.stringify(created.body)).toBeLessThan(300);
      const p = await t.call('POST', '/api/v1/promotions', {
        token: u.deployer,
        body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', bundle: 'shop', bundleDigest: created.body.digest },
      });
      expect(p.status, JSON.stringify(p.body)).toBe(201);
      if (alarm) {
        await waitFor(t, u.viewer, p.body.id, ['EXECUTING']);
        const a = await t.call('POST', `/api/v1/promotions/${p.body.id}/evidence`, {
          token: u.deployer,
          body: { type: 'alarm', payload: { name: 'error-rate', state: 'ALARM', reason: '5xx > 2 %' } },
        });
        expect(a.status).toBe(201);
      }
      return waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED', 'ROLLED_BACK'], 30_000);
    };
    const staging = async () => ({
      api: (await t.call('GET', '/api/v1/artifacts/api/versions?environment=staging', { token: u.viewer })).body.latest?.version ?? null,
      worker: (await t.call('GET', '/api/v1/artifacts/worker/versions?environment=staging', { token: u.viewer })).body.latest?.version ?? null,
      keys: Object.fromEntries((await t.call('GET', '/api/v1/environments/staging/configs', { token: u.viewer })).body.items.map((i: any) => [i.key, i.value])),
    });

    await publish('api', 'v1.0.0', '1');
    await publish('worker', 'v1.0.0', '2');
    expect((await setKey('pool.size', 5)).status).toBe(201);
    expect((await promoteBundle(false)).status).toBe('COMPLETED');
    expect(await staging()).toEqual({ api: 'v1.0.0', worker: 'v1.0.0', keys: { 'pool.size': 5 } });

    // v2 of both and a new key: an alarm while it bakes puts all three back in one transaction.
    await publish('api', 'v2.0.0', '3');
    await publish('worker', 'v2.0.0', '4');
    expect((await setKey('pool.max', 8)).status).toBe(201);
    const failed = await promoteBundle(true);
    expect(failed.status).toBe('ROLLED_BACK');
    expect(failed.error.message).toContain('error-rate');
    expect(await staging()).toEqual({ api: 'v1.0.0', worker: 'v1.0.0', keys: { 'pool.size': 5 } });

    // Promoted again without an alarm, then rolled back by hand: the impact names every member and key, one approval-bound unit.
    const env2 = await t.call('GET', '/api/v1/environments/staging', { token: u.viewer });
    await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: env2.body.version, bakeSeconds: 0, autoPromotionPaused: false } });
    const done = await promoteBundle(false);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    expect(await staging()).toEqual({ api: 'v2.0.0', worker: 'v2.0.0', keys: { 'pool.size': 5, 'pool.max': 8 } });
    const preview = await t.call('POST', `/api/v1/promotions/${done.id}/rollback`, { token: u.deployer, body: { reason: 'checkout errors', dryRun: true } });
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    expect(preview.body.reverts).toEqual([
      { artifact: 'api', from: 'v2.0.0', to: 'v1.0.0' },
      { artifact: 'worker', from: 'v2.0.0', to: 'v1.0.0' },
      expect.objectContaining({ kind: 'config', key: 'pool.max', from: 8, action: 'remove' }),
    ]);
    const rb = await t.call('POST', `/api/v1/promotions/${done.id}/rollback`, { token: u.deployer, body: { reason: 'checkout errors' } });
    expect(rb.status, JSON.stringify(rb.body)).toBe(200);
    expect(rb.body.promotion.subject).toMatchObject({
      type: 'bundle',
      name: 'shop',
      members: [
        { name: 'api', version: 'v1.0.0' },
        { name: 'worker', version: 'v1.0.0' },
      ],
    });
    await approveIfAsked(t, u, rb.body.promotion.id, ['COMPLETED', 'FAILED']);
    const back = await waitFor(t, u.viewer, rb.body.promotion.id, ['COMPLETED', 'FAILED', 'ROLLED_BACK']);
    expect(back.status, JSON.stringify(back.error)).toBe('COMPLETED');
    expect(await staging()).toEqual({ api: 'v1.0.0', worker: 'v1.0.0', keys: { 'pool.size': 5 } });
    expect((await t.call('GET', `/api/v1/promotions/${done.id}`, { token: u.viewer })).body.status).toBe('ROLLED_BACK');
  });

  it('rolls out wave by wave with a head per member on each target, and an alarm in wave 2 puts every member back on every changed target', async () => {
    const tenant = t.tenant();
    const us = alarmArn(`${tenant}/us-east-1-5xx`);
    const { u } = await productionLine(
      t,
      {
        bakeSeconds: 1,
        targets: [
          { name: 'canary', wave: 1 },
          { name: 'us-east-1', wave: 2, monitors: [us] },
        ],
        rollout: { waves: [{ wave: 2, bakeSeconds: 1 }] },
      },
      tenant,
    );
    const publish = (artifact: string, version: string, c: string) =>
      t.call('POST', `/api/v1/artifacts/${artifact}/versions`, { token: u.deployer, body: { version, digest: digest(c) } });
    const promote = async (alarmInWave2: boolean) => {
      const b = await t.call('POST', '/api/v1/bundles', { token: u.deployer, body: { name: 'edge', from: 'dev' } });
      const p = await t.call('POST', '/api/v1/promotions', {
        token: u.deployer,
        body: { sourceEnvironment: 'dev', targetEnvironment: 'production', bundle: 'edge', bundleDigest: b.body.digest },
      });
      expect(p.status, JSON.stringify(p.body)).toBe(201);
      await approveIfAsked(t, u, p.body.id, ['EXECUTING', 'COMPLETED']);
      if (alarmInWave2) {
        for (let i = 0; ; i++) {
          const d = (await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body;
          const wave2 = d.rollout?.waves?.[1]?.targets?.[0];
          if (wave2?.state === 'BAKING') break;
          if (i > 200) throw new Error(`wave 2 never baked: ${JSON.stringify(d.rollout)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        // Wave 2 runs v2 of both members (each its own head, naming the bundle) while the environment still runs v1.
        const mid = await t.call('GET', '/api/v1/environments/production/targets', { token: u.viewer });
        const row = mid.body.waves[1].targets[0];
        expect(row.artifacts.map((a: any) => [a.name, a.version, a.own, a.bundle?.digest])).toEqual([
          ['api', 'v2.0.0', true, b.body.digest],
          ['worker', 'v2.0.0', true, b.body.digest],
        ]);
        expect((await t.call('POST', '/dev/events', { body: alarmEvent(us, '5xx in us-east-1') })).status).toBe(202);
      }
      return waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED', 'ROLLED_BACK'], 30_000);
    };
    const runs = async () => {
      const v = await t.call('GET', '/api/v1/environments/production/targets', { token: u.viewer });
      return Object.fromEntries(
        v.body.waves.flatMap((w: any) => w.targets.map((x: any) => [x.name, x.artifacts.map((a: any) => `${a.name}@${a.version}`).join(' ')])),
      );
    };

    await publish('api', 'v1.0.0', '1');
    await publish('worker', 'v1.0.0', '2');
    const first = await promote(false);
    expect(first.status, JSON.stringify(first.error)).toBe('COMPLETED');
    expect(first.rollout.waves.map((w: any) => w.targets.map((x: any) => x.state))).toEqual([['DONE'], ['DONE']]);
    expect(await runs()).toEqual({ canary: 'api@v1.0.0 worker@v1.0.0', 'us-east-1': 'api@v1.0.0 worker@v1.0.0' });

    await publish('api', 'v2.0.0', '3');
    await publish('worker', 'v2.0.0', '4');
    // Wave 2 bakes long enough for its alarm to come.
    const env = await t.call('GET', '/api/v1/environments/production', { token: u.viewer });
    const patched = await t.call('PATCH', '/api/v1/environments/production', {
      token: u.admin,
      body: { version: env.body.version, rollout: { waves: [{ wave: 2, bakeSeconds: 30 }] } },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const second = await promote(true);
    expect(second.status, JSON.stringify(second.error)).toBe('ROLLED_BACK');
    expect(second.rollout.waves.map((w: any) => w.targets.map((x: any) => x.state))).toEqual([['ROLLED_BACK'], ['ROLLED_BACK']]);
    // Every member back on every changed target: no target runs half a bundle.
    expect(await runs()).toEqual({ canary: 'api@v1.0.0 worker@v1.0.0', 'us-east-1': 'api@v1.0.0 worker@v1.0.0' });
  });
});
