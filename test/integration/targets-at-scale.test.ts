import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

/** `n` targets in 10 waves, each labelled with its region (a fleet of cells across four regions). */
const fleet = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    name: `cell-${String(i + 1).padStart(5, '0')}`,
    wave: Math.min(10, Math.floor((i * 10) / n) + 1),
    labels: { region: ['eu-west-1', 'eu-central-1', 'us-east-1', 'ap-south-1'][i % 4]! },
  }));

describe('10,000 targets in one environment', () => {
  it('are written in one request, read back a page at a time (in wave order, filtered by label and name), and a concurrent writer gets 409', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev', 'production']);
    const written = await t.call('PATCH', '/api/v1/environments/production', { token: u.admin, body: { version: 1, targets: fleet(10_000) } });
    expect(written.status, JSON.stringify(written.body).slice(0, 500)).toBe(200);
    expect(written.body.targets).toHaveLength(10_000);

    // Paged: 1,000 at a time, every target once, in wave then declaration order; each wave says how many it has.
    const names: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const q = `limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await t.call('GET', `/api/v1/environments/production/targets?${q}`, { token: u.viewer });
      expect(page.status, JSON.stringify(page.body).slice(0, 500)).toBe(200);
      expect(page.body.total).toBe(10_000);
      expect(page.body.waves.map((w: { count: number }) => w.count)).toEqual(Array(10).fill(1000));
      for (const w of page.body.waves) names.push(...w.targets.map((x: { name: string }) => x.name));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(10);
    expect(names).toEqual(fleet(10_000).map((x) => x.name));

    // Filtered by a label (a glob) and by name.
    const eu = await t.call('GET', '/api/v1/environments/production/targets?label=region%3Deu-*&limit=10', { token: u.viewer });
    expect(eu.status, JSON.stringify(eu.body).slice(0, 500)).toBe(200);
    expect(eu.body.total).toBe(5000);
    expect(eu.body.waves.flatMap((w: { targets: { labels: { region: string } }[] }) => w.targets.map((x) => x.labels.region))).toEqual(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? 'eu-central-1' : 'eu-west-1')),
    );
    const named = await t.call('GET', '/api/v1/environments/production/targets?name=cell-0999*', { token: u.viewer });
    expect(named.body.total).toBe(10);
    expect(named.body.waves.flatMap((w: { targets: { name: string }[] }) => w.targets.map((x) => x.name))).toEqual(
      Array.from({ length: 10 }, (_, i) => `cell-0999${i}`),
    );

    // A bad cursor or filter: 400 naming it.
    const bad = await t.call('GET', '/api/v1/environments/production/targets?cursor=nonsense', { token: u.viewer });
    expect(bad.status).toBe(400);

    // Two writers from the same version: one wins, the other is refused with 409 and changes nothing.
    const [a, b] = await Promise.all([
      t.call('PATCH', '/api/v1/environments/production', { token: u.admin, body: { version: written.body.version, targets: fleet(9_000) } }),
      t.call('PATCH', '/api/v1/environments/production', { token: u.admin, body: { version: written.body.version, targets: fleet(8_000) } }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const winner = a.status === 200 ? 9_000 : 8_000;
    const after = await t.call('GET', '/api/v1/environments/production/targets?limit=1', { token: u.viewer });
    expect(after.body.total).toBe(winner);
  }, 300_000);

  it('refuses, with the field to fix, more targets than the limit and a duplicate name (saying which)', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev', 'production']);
    const tooMany = await t.call('PATCH', '/api/v1/environments/production', { token: u.admin, body: { version: 1, targets: fleet(10_001) } });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.issues).toEqual([
      expect.objectContaining({ path: expect.stringMatching(/(^|\.)targets$/), message: expect.stringContaining('at most 10000 targets') }),
    ]);
    const twice = fleet(3000);
    twice[2500] = { ...twice[2500]!, name: twice[17]!.name };
    const dup = await t.call('PATCH', '/api/v1/environments/production', { token: u.admin, body: { version: 1, targets: twice } });
    expect(dup.status).toBe(400);
    expect(dup.body.error.issues).toEqual([
      expect.objectContaining({
        path: expect.stringMatching(/targets\.2500\.name$/),
        message: expect.stringContaining(`'cell-00018' is already declared at targets.17`),
      }),
    ]);
  }, 120_000);
});
