import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStore, documentClient } from '../../functions/adapters/dynamo-store.ts';
import { LOCAL_REGION, localCredentials } from '../../local/dynamodb.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());
const store = () =>
  new DynamoStore(documentClient({ endpoint: t.stack.dynamo.endpoint, region: LOCAL_REGION, credentials: localCredentials }), t.stack.tableName);

// The local stack's deployment: account 000000000000, region us-east-1 (local/stack.ts).
const arn = (name: string, region = 'us-east-1', account = '000000000000') => `arn:aws:cloudwatch:${region}:${account}:alarm:${name}`;

/** 1 + 2 + 3 targets in three waves, the way a release manager of a multi-region service lays them out. */
const threeWaves = (tenant: string) => [
  { name: 'canary', wave: 1, labels: { tier: 'canary' }, monitors: [arn(`${tenant}/canary-5xx`)], confirm: { mode: 'callback', timeoutSeconds: 600 } },
  { name: 'us-east-1', wave: 2, parameters: [{ key: 'db.endpoint', value: 'db.us-east-1.internal' }] },
  { name: 'eu-west-1', wave: 2, region: 'eu-west-1', monitors: [arn(`${tenant}/eu-5xx`, 'eu-west-1')] },
  { name: 'cell-1', wave: 3 },
  { name: 'cell-2', wave: 3 },
  { name: 'cell-3', wave: 3, confirm: { mode: 'health', url: 'https://status.example.com/cell-3' } },
];

describe('targets of an environment', () => {
  it('an environment without targets answers exactly as before: no targets, no rollout in its answer', async () => {
    const u = await t.users(t.tenant());
    const r = await t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'dev', position: 0 } });
    expect(r.status).toBe(201);
    expect(Object.keys(r.body)).not.toContain('targets');
    expect(Object.keys(r.body)).not.toContain('rollout');
  });

  it('creates, shows and updates targets in waves with their labels, parameters, monitors and confirmation; the defaults filled in', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev', 'staging']);
    const created = await t.call('POST', '/api/v1/environments', {
      token: u.admin,
      body: {
        name: 'production',
        position: 5,
        bakeSeconds: 30,
        targets: threeWaves(tenant),
        rollout: { maxParallel: 2, waves: [{ wave: 3, bakeSeconds: 120 }] },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.targets.map((x: { name: string; wave: number }) => `${x.wave}:${x.name}`)).toEqual([
      '1:canary',
      '2:us-east-1',
      '2:eu-west-1',
      '3:cell-1',
      '3:cell-2',
      '3:cell-3',
    ]);
    expect(created.body.targets[0]).toEqual({
      name: 'canary',
      wave: 1,
      labels: { tier: 'canary' },
      parameters: [],
      monitors: [arn(`${tenant}/canary-5xx`)],
      confirm: { mode: 'callback', timeoutSeconds: 600 },
    });
    expect(created.body.targets[1].parameters).toEqual([{ kind: 'config', key: 'db.endpoint', value: 'db.us-east-1.internal' }]);
    expect(created.body.targets[3].confirm).toEqual({ mode: 'immediate' });
    expect(created.body.targets[5].confirm).toEqual({
      mode: 'health',
      url: 'https://status.example.com/cell-3',
      timeoutSeconds: 300,
      intervalSeconds: 15,
      expectStatus: 200,
    });
    expect(created.body.rollout).toEqual({ maxParallel: 2, minBakeSeconds: 0, waves: [{ wave: 3, bakeSeconds: 120 }], startWindows: [] });
    const read = await t.call('GET', '/api/v1/environments/production', { token: u.viewer });
    expect(read.body.targets).toEqual(created.body.targets);

    // Drop wave 3 (rollout options for it go too), add a start window.
    const updated = await t.call('PATCH', '/api/v1/environments/production', {
      token: u.admin,
      body: {
        version: 1,
        targets: threeWaves(tenant).filter((x) => x.wave < 3),
        rollout: { startWindows: [{ days: ['mon', 'tue', 'wed', 'thu'], start: '09:00', end: '16:00', timezone: 'Europe/Berlin' }] },
      },
    });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body.targets).toHaveLength(3);
    expect(updated.body.rollout.startWindows).toEqual([{ days: ['mon', 'tue', 'wed', 'thu'], start: '09:00', end: '16:00', timezone: 'Europe/Berlin' }]);
    // Targets removed altogether: the environment answers as one without targets again.
    const none = await t.call('PATCH', '/api/v1/environments/production', { token: u.admin, body: { version: 2, targets: [] } });
    expect(none.status).toBe(200);
    expect(Object.keys(none.body)).not.toContain('targets');
  });

  it('refuses, with the field to fix, duplicate names, a wave gap, an empty wave, a bad name, monitors of another place and a private health URL', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    const create = (body: Record<string, unknown>) =>
      t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'production', position: 2, ...body } });
    const cases: [Record<string, unknown>, string, string][] = [
      [
        {
          targets: [
            { name: 'a', wave: 1 },
            { name: 'a', wave: 2 },
          ],
        },
        'targets.1.name',
        "target 'a' is already declared",
      ],
      [
        {
          targets: [
            { name: 'a', wave: 1 },
            { name: 'b', wave: 3 },
          ],
        },
        'targets',
        'wave 2 has no target',
      ],
      [{ targets: [{ name: 'b', wave: 2 }] }, 'targets', 'wave 1 has no target'],
      [{ targets: [{ name: 'a', wave: 1 }], rollout: { waves: [{ wave: 2, bakeSeconds: 60 }] } }, 'rollout.waves.0.wave', 'wave 2 is empty'],
      [{ targets: [{ name: 'a', wave: 0 }] }, 'targets.0.wave', 'from 1'],
      [{ targets: [{ name: 'US_EAST', wave: 1 }] }, 'targets.0.name', 'lower-case'],
      [{ targets: [{ name: '__proto__', wave: 1 }] }, 'targets.0.name', ''],
      [{ targets: [{ name: 'a', wave: 1, monitors: [arn(`${tenant}/x`, 'eu-west-1')] }] }, 'targets.0.monitors.0', 'region eu-west-1'],
      [{ targets: [{ name: 'a', wave: 1, region: 'eu-west-1', monitors: [arn(`${tenant}/x`)] }] }, 'targets.0.monitors.0', 'region us-east-1'],
      [{ targets: [{ name: 'a', wave: 1, monitors: [arn('other-tenant/x')] }] }, 'targets.0.monitors.0', `${tenant}/<name>`],
      [{ targets: [{ name: 'a', wave: 1, confirm: { mode: 'health', url: 'http://169.254.169.254/latest' } }] }, 'targets.0.confirm.url', 'public'],
      [{ targets: [{ name: 'a', wave: 1, confirm: { mode: 'sometimes' } }] }, 'targets.0.confirm', ''],
      [{ rollout: { waves: [{ wave: 1, bakeSeconds: 5 }] } }, 'rollout', 'declare targets first'],
      [{ targets: [{ name: 'a', wave: 1 }], rollout: { startWindows: [{ start: '9am', end: '17:00' }] } }, 'rollout.startWindows.0.start', 'HH:MM'],
    ];
    for (const [body, path, says] of cases) {
      const r = await create(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.issues, JSON.stringify(body)).toEqual(
        expect.arrayContaining([expect.objectContaining({ path: expect.stringContaining(path), message: expect.stringContaining(says) })]),
      );
    }
    expect((await t.call('GET', '/api/v1/environments/production', { token: u.viewer })).status).toBe(404);
  });

  it("a target's monitors are watched like the environment's: an alarm event finds the environment through them", async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev']);
    const canary = arn(`${tenant}/canary-5xx`);
    const r = await t.call('POST', '/api/v1/environments', {
      token: u.admin,
      body: { name: 'production', position: 3, targets: [{ name: 'canary', wave: 1, monitors: [canary] }] },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(await store().monitorWatchers(canary)).toEqual([{ tenant, environment: 'production' }]);
    // Removing the target stops the watch.
    expect((await t.call('PATCH', '/api/v1/environments/production', { token: u.admin, body: { version: 1, targets: [{ name: 'b', wave: 1 }] } })).status).toBe(
      200,
    );
    expect(await store().monitorWatchers(canary)).toEqual([]);
  });

  it('targets round-trip through the manifest: applied from a document, exported, and the export applies as a no-op; a bad wave is refused with its path', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev', 'production']);
    const settings = { production: { bake_seconds: 10, targets: threeWaves(tenant), rollout: { maxParallel: 3 } } };
    const document = JSON.stringify({ artifacts: { promotion: { environment_settings: settings } } });
    const applied = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document } });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect(applied.body.changes.map((c: { path: string }) => c.path)).toEqual(expect.arrayContaining(['environment_settings.production.targets']));
    const env = await t.call('GET', '/api/v1/environments/production', { token: u.viewer });
    expect(env.body.targets.map((x: { name: string }) => x.name)).toEqual(['canary', 'us-east-1', 'eu-west-1', 'cell-1', 'cell-2', 'cell-3']);
    expect(env.body.rollout.maxParallel).toBe(3);
    const exported = await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer });
    expect(exported.body.artifacts.promotion.environment_settings.production.targets).toHaveLength(6);
    const again = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: JSON.stringify(exported.body) } });
    expect(again.body).toMatchObject({ applied: false, changes: [] });
    const gap = JSON.stringify({ artifacts: { promotion: { environment_settings: { production: { targets: [{ name: 'a', wave: 2 }] } } } } });
    const refused = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: gap } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.issues).toEqual([
      expect.objectContaining({
        path: 'document.artifacts.promotion.environment_settings.production.targets',
        message: expect.stringContaining('wave 1 has no target'),
      }),
    ]);
  });
  it('targets too large (over 1.5 MiB of JSON in all) are a 400 naming targets, never a 500; the environment is not created', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    // 100 targets of 50 parameters each: about 1.7 MB of JSON, under the 2 MB body limit, over the 1.5 MiB targets hold in all.
    const value = 'x'.repeat(300);
    const targets = Array.from({ length: 100 }, (_, i) => ({
      name: `cell-${i}`,
      wave: 1 + Math.floor(i / 20),
      parameters: Array.from({ length: 50 }, (_, j) => ({ key: `k${j}`, value })),
    }));
    const r = await t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'production', position: 0, targets } });
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error.issues).toEqual([expect.objectContaining({ path: 'targets', message: expect.stringContaining('at most 1572864 bytes') })]);
    expect((await t.call('GET', '/api/v1/environments/production', { token: u.admin })).status).toBe(404);
    // 100 targets as a release manager declares them (labels, a region, a monitor, a parameter) fit.
    const fits = Array.from({ length: 100 }, (_, i) => ({
      name: `cell-${i}`,
      wave: 1 + Math.floor(i / 20),
      labels: { tier: i ? 'main' : 'canary', cell: String(i) },
      region: 'us-east-1',
      monitors: [arn(`${tenant}/cell-${i}-5xx`)],
      parameters: [{ key: 'db.endpoint', value: `db.cell-${i}.internal` }],
    }));
    const ok = await t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'production', position: 0, targets: fits } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    // 100 alarms watched (more than one transaction holds): each one finds the environment, and a removed one no longer does.
    expect(await store().monitorWatchers(arn(`${tenant}/cell-99-5xx`))).toEqual([{ tenant, environment: 'production' }]);
    const fewer = fits.slice(0, 99).map(({ monitors: _m, ...rest }, i) => (i === 0 ? { ...rest, monitors: [arn(`${tenant}/cell-0-5xx`)] } : rest));
    const put = await t.call('PATCH', '/api/v1/environments/production', { token: u.admin, body: { targets: fewer, version: ok.body.version } });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(await store().monitorWatchers(arn(`${tenant}/cell-99-5xx`))).toEqual([]);
    expect(await store().monitorWatchers(arn(`${tenant}/cell-42-5xx`))).toEqual([]);
    expect(await store().monitorWatchers(arn(`${tenant}/cell-0-5xx`))).toEqual([{ tenant, environment: 'production' }]);
  });
});
