import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alarmArn, alarmEvent } from '../support/alarms.ts';
import { approveIfAsked, waitFor } from '../support/promotions.ts';
import { pushImage, startRegistry, type LocalRegistry } from '../support/registry.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * A bundle rolls out like any release: each target it changes gets each member's per-target tag
 * (`latest-<env>-<target>`) in the target's registry, and a rollback moves every member's tag back.
 */
let t: TestStack;
let dev: LocalRegistry;
let east: LocalRegistry;
let west: LocalRegistry;

beforeAll(async () => {
  t = await startTestStack();
  [dev, east, west] = await Promise.all([startRegistry({ name: 'dev-reg' }), startRegistry({ name: 'east' }), startRegistry({ name: 'west' })]);
});
afterAll(async () => {
  await Promise.all([dev?.stop(), east?.stop(), west?.stop()]);
  await t.stop();
});

const reg = (r: LocalRegistry) => ({ name: r.name, url: r.url });

async function tagOf(r: LocalRegistry, repo: string, tag: string): Promise<string | null> {
  const res = await fetch(`${r.url}/v2/${repo}/manifests/${tag}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  return res.status === 200 ? res.headers.get('docker-content-digest') : null;
}

const detail = async (token: string, id: string) => (await t.call('GET', `/api/v1/promotions/${id}`, { token })).body;
const rows = (d: any): Record<string, any> => Object.fromEntries(d.rollout.waves.flatMap((w: any) => w.targets.map((x: any) => [x.name, x])));

describe('a bundle through waves, per target in its registries', () => {
  it('tags each member per target (latest-production-<target>) as its wave changes it, and an alarm in wave 2 moves every member’s tag back', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev']);
    const alarm = alarmArn(`${tenant}/us-east-1-5xx`);
    expect((await t.call('PATCH', '/api/v1/environments/dev', { token: u.admin, body: { version: 1, registries: [reg(dev)] } })).status).toBe(200);
    const created = await t.call('POST', '/api/v1/environments', {
      token: u.admin,
      body: {
        name: 'production',
        position: 1,
        bakeSeconds: 1,
        registries: [reg(east), reg(west)],
        targets: [
          { name: 'canary', wave: 1 },
          { name: 'us-east-1', wave: 2, monitors: [alarm] },
          { name: 'eu-west-1', wave: 2, registry: 'west' },
        ],
        rollout: { waves: [{ wave: 2, bakeSeconds: 1 }] },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const image = (n: number) => ({ configBytes: Buffer.from(`{"v":${n}}`), layers: [randomBytes(512)] });
    const publish = async (artifact: string, version: string, d: string) => {
      const r = await t.call('POST', `/api/v1/artifacts/${artifact}/versions`, { token: u.deployer, body: { version, digest: d } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    };
    const promote = async () => {
      const b = await t.call('POST', '/api/v1/bundles', { token: u.deployer, body: { name: 'shop', from: 'dev' } });
      expect(b.status, JSON.stringify(b.body)).toBeLessThan(300);
      const p = await t.call('POST', '/api/v1/promotions', {
        token: u.deployer,
        body: { sourceEnvironment: 'dev', targetEnvironment: 'production', bundle: 'shop', bundleDigest: b.body.digest },
      });
      expect(p.status, JSON.stringify(p.body)).toBe(201);
      await approveIfAsked(t, u, p.body.id, ['EXECUTING', 'COMPLETED']);
      return p.body.id as string;
    };

    const api1 = await pushImage(reg(dev), 'api', image(1));
    const worker1 = await pushImage(reg(dev), 'worker', image(2));
    await publish('api', 'v1.0.0', api1);
    await publish('worker', 'v1.0.0', worker1);
    /** Each member's per-target tags point at `onTargets`, the environment's own tag at `onEnvironment`. */
    const expectTags = async (members: [repo: string, onTargets: string, onEnvironment: string][]) => {
      for (const [repo, d, env] of members) {
        expect(await tagOf(east, repo, 'latest-production-canary'), repo).toBe(d);
        expect(await tagOf(east, repo, 'latest-production-us-east-1'), repo).toBe(d);
        expect(await tagOf(west, repo, 'latest-production-eu-west-1'), repo).toBe(d);
        expect(await tagOf(east, repo, 'latest-production'), repo).toBe(env);
      }
    };
    const first = await waitFor(t, u.viewer, await promote(), ['COMPLETED', 'FAILED', 'ROLLED_BACK'], 60_000);
    expect(first.status, JSON.stringify(first.error)).toBe('COMPLETED');
    await expectTags([
      ['api', api1, api1],
      ['worker', worker1, worker1],
    ]);
    expect(rows(first).canary.registries).toEqual([
      { artifact: 'api', registry: 'east', tag: 'latest-production-canary', digest: api1 },
      { artifact: 'worker', registry: 'east', tag: 'latest-production-canary', digest: worker1 },
    ]);

    // v2 of both; wave 2 bakes long enough for its alarm to come.
    const env = (await t.call('GET', '/api/v1/environments/production', { token: u.admin })).body;
    const patched = await t.call('PATCH', '/api/v1/environments/production', {
      token: u.admin,
      body: { version: env.version, rollout: { waves: [{ wave: 2, bakeSeconds: 30 }] } },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const api2 = await pushImage(reg(dev), 'api', image(3));
    const worker2 = await pushImage(reg(dev), 'worker', image(4));
    await publish('api', 'v2.0.0', api2);
    await publish('worker', 'v2.0.0', worker2);
    const id = await promote();
    for (let i = 0; ; i++) {
      const d = await detail(u.viewer, id);
      if (d.rollout && rows(d)['us-east-1']?.state === 'BAKING' && rows(d)['eu-west-1']?.state === 'BAKING') break;
      if (i > 300) throw new Error(`wave 2 never baked: ${JSON.stringify(d.status)} ${JSON.stringify(d.rollout)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // Wave 2 runs v2 of both members, per target; the environment's own tags have not moved.
    await expectTags([
      ['api', api2, api1],
      ['worker', worker2, worker1],
    ]);
    expect((await t.call('POST', '/dev/events', { body: alarmEvent(alarm, '5xx in us-east-1') })).status).toBe(202);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED', 'ROLLED_BACK'], 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('ROLLED_BACK');
    // Every member's tag on every changed target is back on v1.
    await expectTags([
      ['api', api1, api1],
      ['worker', worker1, worker1],
    ]);
    // A rollout that rolls back never completed: no result; each row says what was put back.
    expect(done.result).toBeNull();
    expect(rows(done)['eu-west-1'].registries).toEqual([
      { artifact: 'api', registry: 'west', tag: 'latest-production-eu-west-1', digest: api2, revert: { digest: api1 } },
      { artifact: 'worker', registry: 'west', tag: 'latest-production-eu-west-1', digest: worker2, revert: { digest: worker1 } },
    ]);
  });
});
