import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';
import { rollouts } from '../support/waves.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

/** `n` targets that name no wave, labelled with their region. */
const fleet = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    name: `cell-${String(i + 1).padStart(5, '0')}`,
    labels: { region: ['eu-west-1', 'eu-central-1', 'us-east-1', 'ap-south-1'][i % 4]! },
  }));

const issues = (body: any) => (body?.error?.issues ?? []) as { path: string; message: string }[];

describe('waves by share and by label selector', () => {
  it('1, then 1%, then eu-* then the rest: resolved into waves the targets listing shows; a bad plan is a 400 naming the field', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev', 'production']);
    const rollout = {
      waves: [
        { wave: 1, share: '1' },
        { wave: 2, share: '1%' },
        { wave: 3, selector: 'region=eu-*' },
        { wave: 4, share: 'rest' },
      ],
    };
    const ok = await t.call('PATCH', '/api/v1/environments/production', { token: u.admin, body: { version: 1, targets: fleet(1000), rollout } });
    expect(ok.status, JSON.stringify(ok.body).slice(0, 600)).toBe(200);
    const listed = await t.call('GET', '/api/v1/environments/production/targets?limit=1', { token: u.viewer });
    expect(listed.status, JSON.stringify(listed.body).slice(0, 600)).toBe(200);
    expect(listed.body.total).toBe(1000);
    const counts = await Promise.all(
      [1, 2, 3, 4].map(async (w) => (await t.call('GET', `/api/v1/environments/production/targets?wave=${w}&limit=1`, { token: u.viewer })).body.total),
    );
    // 1; 1% of 1,000 = 10; the eu-* targets left (half of the 989 left, rounded as they fall); the rest.
    expect(counts[0]).toBe(1);
    expect(counts[1]).toBe(10);
    expect(counts[0] + counts[1] + counts[2] + counts[3]).toBe(1000);
    const eu = await t.call('GET', '/api/v1/environments/production/targets?wave=3&limit=1000', { token: u.viewer });
    expect(eu.body.waves[0].targets.every((x: { labels: { region: string } }) => x.labels.region.startsWith('eu-'))).toBe(true);

    const v = ok.body.version;
    const refused = async (body: Record<string, unknown>) => {
      const r = await t.call('PATCH', '/api/v1/environments/production', { token: u.admin, body: { version: v, ...body } });
      expect(r.status, JSON.stringify(r.body).slice(0, 600)).toBe(400);
      return issues(r.body);
    };
    // A share that rounds down to no target: which wave, and why.
    expect(
      await refused({
        targets: fleet(50),
        rollout: {
          waves: [
            { wave: 1, share: '1%' },
            { wave: 2, share: 'rest' },
          ],
        },
      }),
    ).toEqual([
      expect.objectContaining({
        path: 'rollout.waves.0.share',
        message: expect.stringContaining('wave 1 would be empty: 1% of 50 targets rounds down to none'),
      }),
    ]);
    // A selector that matches nothing.
    expect(
      await refused({
        targets: fleet(50),
        rollout: {
          waves: [
            { wave: 1, selector: 'region=mars-*' },
            { wave: 2, share: 'rest' },
          ],
        },
      }),
    ).toEqual([expect.objectContaining({ path: 'rollout.waves.0.selector', message: expect.stringContaining('matches no target') })]);
    // A first wave over the canary bound (10% of the fleet or 100, whichever is larger).
    expect(
      await refused({
        targets: fleet(2000),
        rollout: {
          waves: [
            { wave: 1, share: '20%' },
            { wave: 2, share: 'rest' },
          ],
        },
      }),
    ).toEqual([expect.objectContaining({ path: 'rollout.waves', message: expect.stringContaining('canary bound of 200') })]);
    // A target that names no wave when no wave takes it.
    expect(await refused({ targets: fleet(5), rollout: { waves: [{ wave: 1, share: '2' }] } })).toEqual([expect.objectContaining({ path: 'targets.2.wave' })]);
    // A share or selector that is not one.
    expect((await refused({ targets: fleet(5), rollout: { waves: [{ wave: 1, share: '150%' }] } })).map((i) => i.path)).toContain('rollout.waves.0.share');
    expect((await refused({ targets: fleet(5), rollout: { waves: [{ wave: 1, selector: 'Region=eu' }] } })).map((i) => i.path)).toContain(
      'rollout.waves.0.selector',
    );
  });

  it('round-trip through the manifest: targets with labels and no wave, waves by share and selector, exported as written and applied again as a no-op', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev', 'production']);
    const rollout = {
      waves: [
        { wave: 1, share: '1' },
        { wave: 2, selector: 'region=eu-*', share: '10%' },
        { wave: 3, share: 'rest' },
      ],
    };
    const document = JSON.stringify({ artifacts: { promotion: { environment_settings: { production: { targets: fleet(200), rollout } } } } });
    const applied = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document } });
    expect(applied.status, JSON.stringify(applied.body).slice(0, 600)).toBe(200);
    const wave2 = await t.call('GET', '/api/v1/environments/production/targets?wave=2&limit=1000', { token: u.viewer });
    expect(wave2.body.total).toBe(20);
    const exported = await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer });
    const production = exported.body.artifacts.promotion.environment_settings.production;
    expect(production.targets[0]).toEqual(expect.objectContaining({ name: 'cell-00001', labels: { region: 'eu-west-1' } }));
    expect(production.targets[0].wave).toBeUndefined();
    expect(production.rollout.waves.map((w: Record<string, unknown>) => [w.share, w.selector])).toEqual([
      ['1', undefined],
      ['10%', 'region=eu-*'],
      ['rest', undefined],
    ]);
    const again = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: JSON.stringify(exported.body) } });
    expect(again.body).toMatchObject({ applied: false, changes: [] });
    // A manifest whose share rounds to no target: refused with its path, nothing applied.
    const bad = JSON.stringify({
      artifacts: {
        promotion: {
          environment_settings: {
            production: {
              targets: fleet(20),
              rollout: {
                waves: [
                  { wave: 1, share: '1%' },
                  { wave: 2, share: 'rest' },
                ],
              },
            },
          },
        },
      },
    });
    const refused = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: bad } });
    expect(refused.status, JSON.stringify(refused.body).slice(0, 600)).toBe(400);
    expect(refused.body.error.issues).toEqual([
      expect.objectContaining({
        path: 'document.artifacts.promotion.environment_settings.production.rollout.waves.0.share',
        message: expect.stringContaining('wave 1 would be empty'),
      }),
    ]);
  });

  it('a promotion through 120 targets by share completes from its stored plan; its detail keeps counts and a page of rows, GET …/rollout pages a wave', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev', 'production']);
    const rollout = {
      maxParallel: 40,
      waves: [
        { wave: 1, share: '1' },
        { wave: 2, share: '10%' },
        { wave: 3, share: 'rest' },
      ],
    };
    const ok = await t.call('PATCH', '/api/v1/environments/production', { token: u.admin, body: { version: 1, targets: fleet(120), rollout } });
    expect(ok.status, JSON.stringify(ok.body).slice(0, 600)).toBe(200);
    expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } })).status).toBe(201);
    const w = rollouts(t);
    const id = await w.promote(u);
    const done = await w.until(u.viewer, id, (d) => d.status === 'COMPLETED', 'the rollout completes', 120_000);
    expect(done.rollout.waves.map((x: { count: number }) => x.count)).toEqual([1, 12, 107]);
    expect(done.rollout.waves[2].states).toEqual({ DONE: 107 });
    expect(done.rollout.waves[2].targets).toHaveLength(20);
    const page = await t.call('GET', `/api/v1/promotions/${id}/rollout?wave=3&limit=100`, { token: u.viewer });
    expect(page.status, JSON.stringify(page.body).slice(0, 600)).toBe(200);
    expect(page.body.targets).toHaveLength(100);
    const rest = await t.call('GET', `/api/v1/promotions/${id}/rollout?wave=3&limit=100&cursor=${page.body.nextCursor}`, { token: u.viewer });
    expect(rest.body.targets.map((x: { name: string }) => x.name)).toEqual(
      fleet(120)
        .slice(113)
        .map((x) => x.name),
    );
    expect(rest.body.nextCursor).toBeUndefined();
    const bad = await t.call('GET', `/api/v1/promotions/${id}/rollout?wave=2&cursor=${page.body.nextCursor}`, { token: u.viewer });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues).toEqual([expect.objectContaining({ path: 'query.cursor' })]);
  }, 240_000);
});
