import { describe, expect, it } from 'vitest';
import { createEnvironment, updateEnvironment } from '../../domain/config/environments.ts';
import { mayRunOwnConfig, targetVersion, wavesOf } from '../../domain/config/targets.ts';
import { TargetInUse, TargetNotFound } from '../../domain/kernel/errors.ts';
import { createEnvironment as createSchema } from '../../domain/kernel/schemas.ts';
import type { Environment, TargetHead } from '../../domain/kernel/model.ts';
import { memoryDeps, userCtx } from '../support/memory-deps.ts';
import { promotion } from '../support/store-contract/fixtures.ts';
import type { StartWindow } from '../../domain/kernel/target-schemas.ts';
import { windowAt } from '../../domain/promotion/rollout/start.ts';

const T = 'acme';
const admin = userCtx(T, 'admin', 'admin');

async function withTargets() {
  const m = memoryDeps();
  const body = createSchema.parse({
    name: 'production',
    position: 2,
    bakeSeconds: 20,
    targets: [
      { name: 'canary', wave: 1 },
      { name: 'us-east-1', wave: 2 },
      { name: 'eu-west-1', wave: 2 },
    ],
    rollout: { minBakeSeconds: 30, maxParallel: 4, waves: [{ wave: 2, bakeSeconds: 90, maxParallel: 1 }] },
  });
  const env = await createEnvironment(m.deps, admin, body);
  return { ...m, env };
}

describe('targets', () => {
  it('orders waves with their targets; a wave bakes its own time or the environment’s, never under the minimum', async () => {
    const { env } = await withTargets();
    expect(wavesOf(env)).toEqual([
      { wave: 1, targets: [expect.objectContaining({ name: 'canary' })], bakeSeconds: 30, maxParallel: 4, pause: false },
      {
        wave: 2,
        targets: [expect.objectContaining({ name: 'us-east-1' }), expect.objectContaining({ name: 'eu-west-1' })],
        bakeSeconds: 90,
        maxParallel: 1,
        pause: false,
      },
    ]);
  });

  it("targetVersion: a target's own head while it holds over the environment head, the environment's head otherwise; unknown targets 404", async () => {
    const { deps, env, store } = await withTargets();
    // Nothing rolled out yet: every target runs the environment head.
    expect(await targetVersion(store, env, 'canary', { kind: 'config' })).toEqual({ kind: 'config', target: 'canary', own: false, snapshot: env.head });
    const own: TargetHead = {
      environment: 'production',
      target: 'canary',
      subject: 'config',
      snapshot: { seq: env.head.seq + 1, digest: 'sha256:new', roots: env.head.roots },
      base: env.head.seq,
      promotionId: 'prm_1',
      wave: 1,
      updatedAt: deps.clock().toISOString(),
      version: 1,
    };
    await store.commit(T, [{ kind: 'targetHead', head: own, expectedVersion: null }]);
    expect(await targetVersion(store, env, 'canary', { kind: 'config' })).toMatchObject({ own: true, snapshot: { digest: 'sha256:new' } });
    expect(await targetVersion(store, env, 'us-east-1', { kind: 'config' })).toMatchObject({ own: false, snapshot: env.head });
    // No target named: the environment's head, what every target has reached.
    expect(await targetVersion(store, env, undefined, { kind: 'config' })).toMatchObject({ target: null, own: false, snapshot: env.head });
    // The environment head moved on (the rollout completed, or a direct change): the target head no longer holds.
    const moved = { ...env, head: { ...env.head, seq: env.head.seq + 2 } };
    expect(await targetVersion(store, moved, 'canary', { kind: 'config' })).toMatchObject({ own: false, snapshot: moved.head });
    await expect(targetVersion(store, env, 'ap-south-1', { kind: 'config' })).rejects.toBeInstanceOf(TargetNotFound);
    // An environment without targets: `default` (or nothing) is its one target; any other name is unknown.
    const plain = { ...env, targets: undefined };
    expect(await targetVersion(store, plain, 'default', { kind: 'config' })).toMatchObject({ own: false, snapshot: env.head });
    await expect(targetVersion(store, plain, 'canary', { kind: 'config' })).rejects.toBeInstanceOf(TargetNotFound);
    // Artifacts: none promoted yet.
    expect(await targetVersion(store, env, 'canary', { kind: 'artifact', name: 'api' })).toEqual({
      kind: 'artifact',
      target: 'canary',
      own: false,
      artifact: null,
    });
  });

  it("targetVersion reads a target's config head only when the environment's item names the target (or does not know which it names)", async () => {
    const { deps, store } = await withTargets();
    let reads = 0;
    const counted = { ...store, getTargetHead: (...a: Parameters<typeof store.getTargetHead>) => (reads++, store.getTargetHead(...a)) };
    const read = async () => (await store.getEnvironment(T, 'production'))!;
    const config = async (env: Environment, target: string) => {
      reads = 0;
      const v = await targetVersion(counted, env, target, { kind: 'config' });
      return { own: v.own, reads };
    };
    const env = await read();
    expect(env.ownHeads).toEqual({ at: env.head.seq, targets: [] });
    expect(await config(env, 'canary')).toEqual({ own: false, reads: 0 });
    const head: TargetHead = {
      environment: 'production',
      target: 'canary',
      subject: 'config',
      snapshot: { seq: env.head.seq + 1, digest: 'sha256:new', roots: env.head.roots },
      base: env.head.seq,
      promotionId: 'prm_1',
      wave: 1,
      updatedAt: deps.clock().toISOString(),
      version: 1,
    };
    await store.commit(T, [{ kind: 'targetHead', head, expectedVersion: null }]);
    const named = await read();
    expect(mayRunOwnConfig(named, 'canary')).toBe(true);
    expect(await config(named, 'canary')).toEqual({ own: true, reads: 1 });
    expect(await config(named, 'us-east-1')).toEqual({ own: false, reads: 0 });
    // Read before the name was added, the environment does not name it: the head is not read (the read is as of that item).
    expect(await config(env, 'canary')).toEqual({ own: false, reads: 0 });
    // Not known (an item written before it named them, or names about another head): the head is read, and holds.
    const { ownHeads: _o, ...older } = named;
    expect(await config(older, 'canary')).toEqual({ own: true, reads: 1 });
    expect(await config({ ...named, ownHeads: { at: named.head.seq + 1, targets: [] } }, 'canary')).toEqual({ own: true, reads: 1 });
  });

  it('removing a target a promotion is rolling out through is refused with 409; other changes and other targets are not', async () => {
    const { store, deps, env } = await withTargets();
    const p = promotion(T, {
      targetEnvironment: 'production',
      status: 'EXECUTING',
      rollout: {
        waves: [
          { wave: 1, targets: ['canary'], bakeSeconds: 30, maxParallel: 4 },
          { wave: 2, targets: ['us-east-1'], bakeSeconds: 90, maxParallel: 1 },
        ],
        wave: 1,
      },
    });
    await store.commit(T, [{ kind: 'promotion', promotion: p, expectedVersion: null }]);
    const keep = env.targets!.filter((x) => x.name !== 'eu-west-1').map((x) => ({ ...x, analysis: x.analysis ?? [] }));
    const updated = await updateEnvironment(deps, admin, 'production', { version: 1, targets: keep });
    expect(updated.targets!.map((x) => x.name)).toEqual(['canary', 'us-east-1']);
    await expect(
      updateEnvironment(deps, admin, 'production', {
        version: 2,
        targets: keep.filter((x) => x.name !== 'us-east-1'),
        rollout: createSchema.shape.rollout.parse({}),
      }),
    ).rejects.toThrow(TargetInUse);
    await expect(updateEnvironment(deps, admin, 'production', { version: 2, targets: [] })).rejects.toThrow(/promotion .* is rolling out through it/);
  });
});

describe('start windows', () => {
  const windows = (w: Partial<StartWindow>[]) =>
    w.map((x) => ({ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00', timezone: 'UTC', ...x }) as StartWindow);

  it('a wave starts inside a window; outside, it waits for the next opening (time zone, days, windows across midnight)', () => {
    // 2030-01-07 is a Monday.
    expect(windowAt([], new Date('2030-01-05T03:00:00Z'))).toEqual({ open: true, opens: null });
    expect(windowAt(windows([{}]), new Date('2030-01-07T10:00:00Z'))).toEqual({ open: true, opens: null });
    expect(windowAt(windows([{}]), new Date('2030-01-07T17:00:00Z'))).toEqual({ open: false, opens: new Date('2030-01-08T09:00:00Z') });
    // Friday evening: Monday morning.
    expect(windowAt(windows([{}]), new Date('2030-01-11T18:30:00Z')).opens).toEqual(new Date('2030-01-14T09:00:00Z'));
    // 09:00 in Berlin is 08:00 UTC in January.
    expect(windowAt(windows([{ timezone: 'Europe/Berlin' }]), new Date('2030-01-07T07:30:00Z')).opens).toEqual(new Date('2030-01-07T08:00:00Z'));
    // 22:00-02:00 on Mondays: 01:00 on Tuesday belongs to Monday's window.
    const night = windows([{ days: ['mon'], start: '22:00', end: '02:00' }]);
    expect(windowAt(night, new Date('2030-01-08T01:00:00Z')).open).toBe(true);
    expect(windowAt(night, new Date('2030-01-09T01:00:00Z')).opens).toEqual(new Date('2030-01-14T22:00:00Z'));
  });
});
