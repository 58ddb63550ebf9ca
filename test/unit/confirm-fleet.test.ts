import { describe, expect, it } from 'vitest';
import { fleetConfirm } from '../../domain/promotion/rollout/confirm-fleet.ts';
import { fleetText } from '../../cli/rollout-view.ts';
import { target as targetSchema, type FleetConfirmation } from '../../domain/kernel/target-schemas.ts';
import type { Environment } from '../../domain/kernel/model.ts';
import type { Promotion, RolloutTarget } from '../../domain/kernel/promotion-model.ts';
import { memoryDeps } from '../support/memory-deps.ts';
import { audit, environment, snapshot } from '../support/store-contract/fixtures.ts';

/** One count of a fleet target's instances: who counts (the window before the change, everyone since), who took the release. */
const T = 'acme';
const applied = '2030-01-01T10:00:00.000Z';
const at = (secondsFromApply: number) => new Date(Date.parse(applied) + secondsFromApply * 1000).toISOString();
const env = { tenant: T, name: 'production', head: { seq: 4, digest: 'old' } } as unknown as Environment;
const item = { appliedAt: applied, confirm: { mode: 'fleet', deadline: at(600) } } as unknown as RolloutTarget;
const fleet = (c: Partial<FleetConfirmation> = {}) =>
  targetSchema.parse({ name: 'edge', wave: 1, confirm: { mode: 'fleet', ...c } }).confirm as FleetConfirmation;

async function setup(subject: Promotion['subject']) {
  const d = memoryDeps();
  const p = { id: 'p1', tenant: T, subject } as unknown as Promotion;
  // A config head names its target on its environment's item: the environment is there.
  await d.deps.store.createEnvironment(environment(T, 'production', 0), snapshot('production', 4), audit(T));
  await d.deps.store.commit(T, [
    {
      kind: 'targetHead',
      head: {
        environment: 'production',
        target: 'edge',
        subject: 'config',
        snapshot: { seq: 5, digest: 'new', roots: {} },
        base: 4,
        promotionId: 'p1',
        wave: 1,
        updatedAt: applied,
        version: 1,
      },
      expectedVersion: null,
    } as never,
  ]);
  const seen = (instance: string, version: string, when: number, artifact?: string) =>
    d.deps.store.recordInstance(T, { environment: 'production', target: 'edge', instance, version, at: at(when), ...(artifact ? { artifact } : {}) }, 3600);
  return { d, p, seen };
}

describe('fleetConfirm', () => {
  it('counts the instances seen from windowSeconds before the change on, and the share that read the release', async () => {
    const { d, p, seen } = await setup({ type: 'config' } as Promotion['subject']);
    await seen('__proto__', 'new', 5);
    await seen('constructor', 'old', -100);
    await seen('gone-long-ago', 'old', -1000); // before the window: not part of the fleet
    const c = fleet({ minShare: 0.5, windowSeconds: 300 });
    const got = await fleetConfirm(d.deps, p, env, 'edge', c, item, new Date(at(30)));
    expect(got).toEqual({
      confirmed: true,
      detail: '1/2 instances (50 %) run production@5',
      late: `1/2 instances took production@5 by ${at(600)}`,
      fleet: { seen: 2, took: 1, share: 0.5, minShare: 0.5 },
    });
    // minInstances not reached: not confirmed, and the detail says why.
    const few = await fleetConfirm(d.deps, p, env, 'edge', fleet({ minShare: 0.5, minInstances: 3 }), item, new Date(at(30)));
    expect(few.confirmed).toBe(false);
    expect(few.detail).toBe('1/2 instances (50 %) run production@5; at least 3 must be seen');
  });

  it('defaults: minShare 0.9, window 300 s, one instance at least; 9/10 confirms and 8/10 does not', async () => {
    const { d, p, seen } = await setup({ type: 'config' } as Promotion['subject']);
    expect(fleet()).toEqual({ mode: 'fleet', minShare: 0.9, windowSeconds: 300, minInstances: 1, timeoutSeconds: 900, intervalSeconds: 15 });
    for (let i = 0; i < 10; i++) await seen(`pod-${i}`, i < 8 ? 'new' : 'old', i);
    expect((await fleetConfirm(d.deps, p, env, 'edge', fleet(), item, new Date(at(20)))).confirmed).toBe(false);
    await seen('pod-8', 'new', 15);
    const nine = await fleetConfirm(d.deps, p, env, 'edge', fleet(), item, new Date(at(20)));
    expect(nine).toMatchObject({ confirmed: true, fleet: { seen: 10, took: 9, share: 0.9 } });
    expect((await fleetConfirm(d.deps, p, env, 'edge', fleet(), item, new Date(at(20)))).detail).toBe('9/10 instances (90 %) run production@5');
  });

  it('an artifact release: the instances that say they run its version or digest', async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const { d, p, seen } = await setup({ type: 'artifact', name: 'api', version: '1.4.0', digest } as Promotion['subject']);
    await seen('a', 'any', 1, 'api@1.4.0');
    await seen('b', 'any', 1, `api@${digest}`);
    await seen('c', 'any', 1, 'api@1.3.9');
    await seen('d', 'any', 1, 'web@1.4.0');
    await seen('e', 'any', 1);
    const got = await fleetConfirm(d.deps, p, env, 'edge', fleet(), item, new Date(at(5)));
    expect(got.fleet).toEqual({ seen: 5, took: 2, share: 0.4, minShare: 0.9 });
    expect(got.late).toBe(`2/5 instances took 1.4.0 by ${at(600)}`);
  });

  it('counts at most fleetMaxInstances instances (the first by id) and says how many over the cap were not counted', async () => {
    const { d, p, seen } = await setup({ type: 'config' } as Promotion['subject']);
    for (let i = 0; i < 5; i++) await seen(`pod-${i}`, i < 3 ? 'new' : 'old', 1);
    const capped = { ...d.deps, tunables: { ...d.deps.tunables, fleetMaxInstances: 3 } };
    const got = await fleetConfirm(capped, p, env, 'edge', fleet(), item, new Date(at(5)));
    expect(got.fleet).toEqual({ seen: 3, took: 3, share: 1, minShare: 0.9, over: 2, cap: 3 });
    expect(got.detail).toBe('3/3 instances (100 %) run production@5; 2 instances over the cap (3) were not counted');
    expect(got.late).toBe(`3/3 instances took production@5 by ${at(600)}; 2 instances over the cap (3) were not counted`);
    expect(got.confirmed).toBe(true);
    // One over: said in the singular; at the cap exactly: nothing over, nothing said.
    const four = { ...d.deps, tunables: { ...d.deps.tunables, fleetMaxInstances: 4 } };
    expect((await fleetConfirm(four, p, env, 'edge', fleet(), item, new Date(at(5)))).detail).toMatch(/; 1 instance over the cap \(4\) was not counted$/);
    const five = { ...d.deps, tunables: { ...d.deps.tunables, fleetMaxInstances: 5 } };
    const all = await fleetConfirm(five, p, env, 'edge', fleet(), item, new Date(at(5)));
    expect(all.fleet).toEqual({ seen: 5, took: 3, share: 0.6, minShare: 0.9 });
    expect(all.detail).toBe('3/5 instances (60 %) run production@5');
  });

  it('the CLI says a fleet count, and the instances over the cap that were not counted', () => {
    const row = (fleet: Record<string, number>) => ({ confirmation: { mode: 'fleet', fleet } }) as never;
    expect(fleetText(row({ seen: 10, took: 9, share: 0.9, minShare: 0.9 }))).toBe(': 9/10 instances (90 %, needs 90 %)');
    expect(fleetText(row({ seen: 3, took: 3, share: 1, minShare: 0.9, over: 2, cap: 3 }))).toBe(
      ': 3/3 instances (100 %, needs 90 %; 2 over the cap of 3 not counted)',
    );
  });

  it('refuses a share of 0 or above 1 and a window outside 30..86400 s, naming the field', () => {
    for (const [c, path] of [
      [{ minShare: 0 }, 'minShare'],
      [{ minShare: 1.5 }, 'minShare'],
      [{ windowSeconds: 10 }, 'windowSeconds'],
      [{ intervalSeconds: 0 }, 'intervalSeconds'],
    ] as const) {
      const r = targetSchema.safeParse({ name: 'edge', wave: 1, confirm: { mode: 'fleet', ...c } });
      expect(r.success).toBe(false);
      expect(r.error!.issues[0]!.path).toEqual(['confirm', path]);
    }
  });
});
