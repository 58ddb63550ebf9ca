import { describe, expect, it } from 'vitest';
import type { TreeNode } from '../../../domain/config/tree.ts';
import type { Environment, TargetHead } from '../../../domain/kernel/model.ts';
import { keys } from '../../../functions/adapters/keys.ts';
import { allPages, audit, conflict, environment, event, refused, snapshot, targets, uid, type Contract } from './fixtures.ts';

/** Environments (the item, unique positions, monitors, item ids, the manifest head) and snapshots with their nodes. */
export function configContract(c: Contract) {
  describe('environments', () => {
    it('creates an environment with its first snapshot; lists a tenant’s environments by name, and only its own', async () => {
      const [t, other] = [c.tenant(), c.tenant()];
      const staging = environment(t, 'staging', 1);
      await c.store().createEnvironment(staging, snapshot('staging', 1), audit(t));
      await c.store().createEnvironment(environment(t, 'dev', 0), snapshot('dev', 1), audit(t));
      await c.store().createEnvironment(environment(other, 'prod', 0), snapshot('prod', 1), audit(other));
      expect(await c.store().getEnvironment(t, 'staging')).toEqual(staging);
      expect(await c.store().getEnvironment(t, 'staging', { consistent: false })).toEqual(staging);
      expect((await c.store().listEnvironments(t)).map((e) => e.name)).toEqual(['dev', 'staging']);
      expect(await c.store().getSnapshot(t, 'staging', 1)).toEqual(snapshot('staging', 1));
      expect(await c.store().getEnvironment(t, 'prod')).toBeNull();
    });

    it('refuses a name taken (exists) and a position taken (position), writing nothing of either', async () => {
      const t = c.tenant();
      await c.store().createEnvironment(environment(t, 'dev', 0), snapshot('dev', 1), audit(t));
      expect(await conflict(c.store().createEnvironment(environment(t, 'dev', 5), snapshot('dev', 2), audit(t)))).toBe('exists');
      expect(await conflict(c.store().createEnvironment(environment(t, 'qa', 0), snapshot('qa', 1), audit(t)))).toBe('position');
      expect(await c.store().getEnvironment(t, 'qa')).toBeNull();
      expect(await c.store().getSnapshot(t, 'qa', 1)).toBeNull();
      expect(await c.store().getSnapshot(t, 'dev', 2)).toBeNull();
      expect((await c.store().queryAudit(t, { limit: 10 })).items).toHaveLength(1);
    });

    it('updates on the version read (version otherwise); a move frees the old position and claims the new one', async () => {
      const t = c.tenant();
      const dev = environment(t, 'dev', 0);
      await c.store().createEnvironment(dev, snapshot('dev', 1), audit(t));
      await c.store().createEnvironment(environment(t, 'staging', 1), snapshot('staging', 1), audit(t));
      const moved = { ...dev, position: 2, description: 'moved', version: 2 };
      await c.store().updateEnvironment(moved, dev, audit(t));
      expect(await c.store().getEnvironment(t, 'dev')).toEqual(moved);
      expect(await conflict(c.store().updateEnvironment({ ...dev, description: 'stale', version: 2 }, dev, audit(t)))).toBe('version');
      // Position 0 is free again; position 1 is staging's.
      await c.store().createEnvironment(environment(t, 'qa', 0), snapshot('qa', 1), audit(t));
      expect(await conflict(c.store().updateEnvironment({ ...moved, position: 1, version: 3 }, moved, audit(t)))).toBe('position');
      expect((await c.store().getEnvironment(t, 'dev'))?.position).toBe(2);
    });

    it('deletes only an empty environment at the version read, freeing its position; its snapshots stay', async () => {
      const t = c.tenant();
      const full = environment(t, 'dev', 0, { itemCount: 3 });
      await c.store().createEnvironment(full, snapshot('dev', 1), audit(t));
      expect(await conflict(c.store().deleteEnvironment(full, audit(t)))).toBe('version');
      const empty = { ...full, itemCount: 0, version: 2 };
      await c.store().updateEnvironment(empty, full, audit(t));
      expect(await conflict(c.store().deleteEnvironment(full, audit(t)))).toBe('version');
      await c.store().deleteEnvironment(empty, audit(t));
      expect(await c.store().getEnvironment(t, 'dev')).toBeNull();
      expect(await c.store().getSnapshot(t, 'dev', 1)).not.toBeNull();
      await c.store().createEnvironment(environment(t, 'qa', 0), snapshot('qa', 1), audit(t));
    });

    it('keeps the monitor index with the environment: created, moved by an update or a commit, cleared by a delete; across tenants', async () => {
      const [t, other] = [c.tenant(), c.tenant()];
      const [a, b, x] = [
        `arn:aws:cloudwatch:eu-west-1:111122223333:alarm:${uid()}`,
        `arn:aws:cloudwatch:eu-west-1:111122223333:alarm:${uid()}`,
        `arn:x:${uid()}`,
      ];
      const dev = environment(t, 'dev', 0, { monitors: [a] });
      await c.store().createEnvironment(dev, snapshot('dev', 1), audit(t));
      await c.store().createEnvironment(environment(other, 'prod', 0, { monitors: [a] }), snapshot('prod', 1), audit(other));
      expect(await c.store().monitorWatchers(a)).toEqual(
        expect.arrayContaining([
          { tenant: t, environment: 'dev' },
          { tenant: other, environment: 'prod' },
        ]),
      );
      expect(await c.store().monitorWatchers(a)).toHaveLength(2);
      const v2 = { ...dev, monitors: [b], version: 2 };
      await c.store().updateEnvironment(v2, dev, audit(t));
      expect(await c.store().monitorWatchers(a)).toEqual([{ tenant: other, environment: 'prod' }]);
      expect(await c.store().monitorWatchers(b)).toEqual([{ tenant: t, environment: 'dev' }]);
      const v3 = { ...v2, monitors: [x], version: 3 };
      await c.store().commit(t, [
        { kind: 'environment', env: v3, expectedVersion: 2, previousMonitors: [b] },
        { kind: 'audit', entry: audit(t) },
      ]);
      expect(await c.store().monitorWatchers(b)).toEqual([]);
      expect(await c.store().monitorWatchers(x)).toEqual([{ tenant: t, environment: 'dev' }]);
      await c.store().deleteEnvironment(v3, audit(t));
      expect(await c.store().monitorWatchers(x)).toEqual([]);
    });

    it('commits an environment on its version, and the manifest head on the digest read (version otherwise)', async () => {
      const t = c.tenant();
      const dev = environment(t, 'dev', 0);
      await c.store().createEnvironment(dev, snapshot('dev', 1), audit(t));
      await c.store().commit(t, [{ kind: 'environment', env: { ...dev, bakeSeconds: 60, version: 2 }, expectedVersion: 1 }]);
      expect(await conflict(c.store().commit(t, [{ kind: 'environment', env: { ...dev, version: 2 }, expectedVersion: 1 }]))).toBe('version');
      expect((await c.store().getEnvironment(t, 'dev'))?.bakeSeconds).toBe(60);
      expect(await c.store().manifestHead(t)).toBeNull();
      await c.store().commit(t, [{ kind: 'manifestHead', digest: 'sha256:one', previous: null }]);
      expect(await conflict(c.store().commit(t, [{ kind: 'manifestHead', digest: 'sha256:two', previous: null }]))).toBe('version');
      expect(await conflict(c.store().commit(t, [{ kind: 'manifestHead', digest: 'sha256:two', previous: 'sha256:zero' }]))).toBe('version');
      await c.store().commit(t, [{ kind: 'manifestHead', digest: 'sha256:two', previous: 'sha256:one' }]);
      expect(await c.store().manifestHead(t)).toBe('sha256:two');
    });

    it('maps item ids back to kind and key', async () => {
      const t = c.tenant();
      await c.store().putItemIds(t, [
        { id: 'i1', kind: 'config', key: 'a.b' },
        { id: 'i2', kind: 'flag', key: 'beta' },
      ]);
      expect(await c.store().getItemId(t, 'i2')).toEqual({ kind: 'flag', key: 'beta' });
      expect(await c.store().getItemId(t, 'i3')).toBeNull();
      expect(await c.store().getItemId(c.tenant(), 'i1')).toBeNull();
    });
  });

  describe('targets (an item of their own, written with the environment when they change)', () => {
    // What an environment is, but the names of its targets' own heads (their own contract is under 'target heads').
    const bare = (env: Environment | null | undefined) => {
      if (!env) return env;
      const { ownHeads: _o, ...rest } = env;
      return rest;
    };
    const moved = <E extends { head: { seq: number; digest: string }; version: number }>(env: E, seq: number): E => ({
      ...env,
      head: { ...env.head, seq, digest: `sha256:moved-${seq}` },
      version: env.version + 1,
    });

    it('reads them with the environment (one, all, with an app key); writes that do not change them keep them; a change writes them; none left removes them', async () => {
      const t = c.tenant();
      const prod = environment(t, 'prod', 0, { targets: targets(6) });
      await c.store().createEnvironment(prod, snapshot('prod', 1), audit(t));
      expect(bare(await c.store().getEnvironment(t, 'prod'))).toEqual(prod);
      expect(bare(await c.store().getEnvironment(t, 'prod', { consistent: false }))).toEqual(prod);
      expect((await c.store().listEnvironments(t)).map(bare)).toEqual([prod]);
      expect(bare((await c.store().appKeyAndEnvironment(t, null, 'prod')).env)).toEqual(prod);
      // A head move and a setting: the targets stay.
      const v2 = moved(prod, 2);
      await c.store().commitSnapshot(v2, prod, snapshot('prod', 2), audit(t));
      expect(bare(await c.store().getEnvironment(t, 'prod'))).toEqual(v2);
      const v3 = { ...v2, bakeSeconds: 30, version: 3 };
      await c.store().commit(t, [{ kind: 'environment', env: v3, expectedVersion: 2 }]);
      expect(bare(await c.store().getEnvironment(t, 'prod'))).toEqual(v3);
      // Targets changed by an update, then by a commit that names the previous ones (a manifest apply): 100 of them.
      const v4 = { ...v3, targets: targets(3), version: 4 };
      await c.store().updateEnvironment(v4, v3, audit(t));
      expect(bare(await c.store().getEnvironment(t, 'prod'))).toEqual(bare(v4));
      const v5 = { ...v4, targets: targets(100, 20), version: 5 };
      await c.store().commit(t, [{ kind: 'environment', env: v5, expectedVersion: 4, previousTargets: v4.targets }]);
      expect((await c.store().listEnvironments(t)).map(bare)).toEqual([v5]);
      // A commit that changes them without naming the previous ones is refused: it would not write them.
      expect(await conflict(c.store().commit(t, [{ kind: 'environment', env: { ...v5, targets: targets(2), version: 6 }, expectedVersion: 5 }]))).toBe(
        'version',
      );
      expect(bare(await c.store().getEnvironment(t, 'prod'))).toEqual(v5);
      // None left: the environment reads without targets, through a head move too.
      const { targets: _t, ...untargeted } = v5;
      const v6 = { ...untargeted, version: 6 };
      await c.store().updateEnvironment(v6, v5, audit(t));
      expect(bare(await c.store().getEnvironment(t, 'prod'))).toEqual(v6);
      const v7 = moved(v6, 3);
      await c.store().commitSnapshot(v7, v6, snapshot('prod', 3), audit(t));
      expect(bare(await c.store().getEnvironment(t, 'prod'))).toEqual(v7);
      // Deleted with its targets: the name created again has none.
      const withTargets = { ...v7, targets: targets(2), version: 8 };
      await c.store().updateEnvironment(withTargets, v7, audit(t));
      await c.store().deleteEnvironment(withTargets, audit(t));
      // (a new incarnation's first snapshot comes after the old one's: they stay)
      await c.store().createEnvironment(environment(t, 'prod', 0), snapshot('prod', 4), audit(t));
      expect(bare(await c.store().getEnvironment(t, 'prod'))).toEqual(environment(t, 'prod', 0));
    });

    it('a targets change and a config change from the same read: the later one loses (version), and read again it keeps the other', async () => {
      const t = c.tenant();
      const prod = environment(t, 'prod', 0, { targets: targets(4) });
      await c.store().createEnvironment(prod, snapshot('prod', 1), audit(t));
      // The targets change first: the head move from the same read loses, and made again keeps the new targets.
      const retargeted = { ...prod, targets: targets(6), version: 2 };
      await c.store().updateEnvironment(retargeted, prod, audit(t));
      expect(await conflict(c.store().commitSnapshot(moved(prod, 2), prod, snapshot('prod', 2), audit(t)))).toBe('version');
      const read = (await c.store().getEnvironment(t, 'prod'))!;
      expect(bare(read)).toEqual(retargeted);
      const v3 = moved(read, 2);
      await c.store().commitSnapshot(v3, read, snapshot('prod', 2), audit(t));
      // The head moves first: the targets change from the same read loses, and made again keeps the head.
      expect(await conflict(c.store().updateEnvironment({ ...read, targets: targets(2), version: 3 }, read, audit(t)))).toBe('version');
      const again = (await c.store().getEnvironment(t, 'prod'))!;
      expect(bare(again)).toEqual(bare(v3));
      const v4 = { ...again, targets: targets(2), version: 4 };
      await c.store().updateEnvironment(v4, again, audit(t));
      expect(bare(await c.store().getEnvironment(t, 'prod'))).toEqual(bare(v4));
      expect((await c.store().getEnvironment(t, 'prod'))?.head.seq).toBe(2);
    });

    it('holds 10,000 targets in pages of their own: written in one change, read back in order, one target read alone, changed and removed', async () => {
      const t = c.tenant();
      const many = targets(10_000, 1000);
      const prod = environment(t, 'prod', 0, { targets: many });
      await c.store().createEnvironment(prod, snapshot('prod', 1), audit(t));
      expect(bare(await c.store().getEnvironment(t, 'prod'))).toEqual(prod);
      // One target alone: its page, found from its name (never the list).
      expect(await c.store().getTarget(t, 'prod', 't-7777')).toEqual(many[7776]);
      expect(await c.store().getTarget(t, 'prod', 'nowhere')).toBeNull();
      // Changed: the new set is read, the old one's pages are gone.
      const fewer = { ...prod, targets: targets(1500, 100), version: 2 };
      await c.store().updateEnvironment(fewer, prod, audit(t));
      expect(bare(await c.store().getEnvironment(t, 'prod'))).toEqual(fewer);
      expect(await c.store().getTarget(t, 'prod', 't-7777')).toBeNull();
      expect(await c.store().getTarget(t, 'prod', 't-1500')).toEqual(fewer.targets[1499]);
      // Two writers from the same read: one wins, the other is refused and changes nothing.
      const a = { ...fewer, targets: targets(20), version: 3 };
      const b = { ...fewer, targets: targets(30), version: 3 };
      await c.store().updateEnvironment(a, fewer, audit(t));
      expect(await conflict(c.store().updateEnvironment(b, fewer, audit(t)))).toBe('version');
      expect(bare(await c.store().getEnvironment(t, 'prod'))).toEqual(a);
      expect(await c.store().getTarget(t, 'prod', 't-021')).toBeNull();
      // An environment without targets has none to read alone.
      const { targets: _t, ...none } = a;
      await c.store().updateEnvironment({ ...none, version: 4 }, a, audit(t));
      expect(await c.store().getTarget(t, 'prod', 't-001')).toBeNull();
    }, 120_000);

    it('reads an environment whose item holds its targets (as written before they had an item), and keeps them through the writes after it', async () => {
      const t = c.tenant();
      const legacy = environment(t, 'prod', 0, { targets: targets(6) });
      await c.putItem({ ...keys.environment(t, 'prod'), entity: 'Environment', ...legacy });
      expect(bare(await c.store().getEnvironment(t, 'prod'))).toEqual(legacy);
      const v2 = moved(legacy, 2);
      await c.store().commitSnapshot(v2, legacy, snapshot('prod', 2), audit(t));
      expect(bare(await c.store().getEnvironment(t, 'prod'))).toEqual(v2);
      expect((await c.store().listEnvironments(t)).map(bare)).toEqual([v2]);
      // A write over such an item that was not read since (so still holds them) is refused rather than dropping them;
      // read again, it is written and they stay.
      await c.putItem({ ...keys.environment(t, 'prod'), entity: 'Environment', ...v2 });
      expect(await conflict(c.store().commit(t, [{ kind: 'environment', env: { ...v2, bakeSeconds: 5, version: 3 }, expectedVersion: 2 }]))).toBe('version');
      expect(bare((await c.store().appKeyAndEnvironment(t, null, 'prod')).env)).toEqual(v2);
      const v3 = { ...v2, bakeSeconds: 5, version: 3 };
      await c.store().commit(t, [{ kind: 'environment', env: v3, expectedVersion: 2 }]);
      expect(bare(await c.store().getEnvironment(t, 'prod'))).toEqual(v3);
    });
  });

  describe('snapshots', () => {
    it('moves the head and writes the snapshot on the version read; a lost race writes neither', async () => {
      const t = c.tenant();
      const dev = environment(t, 'dev', 0);
      await c.store().createEnvironment(dev, snapshot('dev', 1), audit(t));
      const v2 = { ...dev, head: { ...dev.head, seq: 2, digest: 'sha256:dev-2' }, itemCount: 1, version: 2 };
      await c.store().commitSnapshot(v2, dev, snapshot('dev', 2), audit(t), [event(t)]);
      expect(await c.store().getEnvironment(t, 'dev')).toEqual(v2);
      expect(await c.store().getSnapshot(t, 'dev', 2)).toEqual(snapshot('dev', 2));
      // Another writer read version 1 too.
      expect(await conflict(c.store().commitSnapshot({ ...v2, head: { ...v2.head, seq: 3 } }, dev, snapshot('dev', 3), audit(t)))).toBe('version');
      expect(await c.store().getSnapshot(t, 'dev', 3)).toBeNull();
      // A snapshot is written once.
      expect(await conflict(c.store().commitSnapshot({ ...v2, version: 3 }, v2, snapshot('dev', 2), audit(t)))).toBe('version');
      expect(await conflict(c.store().commit(t, [{ kind: 'snapshot', snapshot: snapshot('dev', 2) }]))).toBe('version');
    });

    it('lists snapshots newest first, a page at a time; a cursor belongs to its listing and its tenant', async () => {
      const t = c.tenant();
      let env = environment(t, 'dev', 0);
      await c.store().createEnvironment(env, snapshot('dev', 1), audit(t));
      for (let seq = 2; seq <= 5; seq++) {
        const next = { ...env, head: { ...env.head, seq }, version: env.version + 1 };
        await c.store().commitSnapshot(next, env, snapshot('dev', seq), audit(t));
        env = next;
      }
      await c.store().createEnvironment(environment(t, 'qa', 1), snapshot('qa', 1), audit(t));
      const { items, sizes } = await allPages((cursor) => c.store().listSnapshots(t, 'dev', 2, cursor));
      expect(items.map((s) => s.seq)).toEqual([5, 4, 3, 2, 1]);
      expect(sizes.slice(0, 3)).toEqual([2, 2, 1]);
      // A page that reaches the limit has a cursor even when nothing follows (as DynamoDB's Limit): its page is empty.
      const full = await c.store().listSnapshots(t, 'dev', 5);
      expect(full.items).toHaveLength(5);
      expect(await c.store().listSnapshots(t, 'dev', 5, full.nextCursor)).toEqual({ items: [] });
      const first = await c.store().listSnapshots(t, 'dev', 2);
      expect(first.nextCursor).toBeDefined();
      expect(await refused(c.store().listSnapshots(t, 'qa', 2, first.nextCursor))).toMatch(/another listing/);
      expect(await refused(c.store().listSnapshots(c.tenant(), 'dev', 2, first.nextCursor))).toMatch(/not a cursor this API returned/);
      expect(await refused(c.store().listSnapshots(t, 'dev', 2, 'not-a-cursor'))).toMatch(/not a cursor this API returned/);
    });

    it('keeps trie nodes by address (written again: the same content); reads only those there are', async () => {
      const t = c.tenant();
      const leaf: TreeNode = { t: 'L', e: [] };
      await c.store().putNodes(t, new Map([['n1', leaf]]));
      await c.store().putNodes(t, new Map([['n1', leaf]]));
      const found = await c.store().nodes(t).getNodes(['n1', 'n2', 'n1']);
      expect([...found]).toEqual([['n1', leaf]]);
      expect((await c.store().nodes(c.tenant()).getNodes(['n1'])).size).toBe(0);
    });
  });

  describe('target heads', () => {
    const head = (t: string, target: string, subject: string, version: number, seq = 3): TargetHead => ({
      environment: 'production',
      target,
      subject,
      ...(subject === 'config'
        ? { snapshot: { seq, digest: `sha256:${'a'.repeat(64)}`, roots: { config: { a: 'x', c: 'y', n: 1 }, flag: { a: 'x', c: 'y', n: 0 } } } }
        : { artifact: { name: 'api', version: '1.2.3', digest: `sha256:${'b'.repeat(64)}` } }),
      base: 2,
      promotionId: 'prm_1',
      wave: 1,
      updatedAt: '2026-11-24T10:00:00.000Z',
      version,
    });

    it("writes a target head once (exists), moves it on the version read (version), reads one and lists an environment's by target, not another environment's", async () => {
      const t = c.tenant();
      // A config head names its target on its environment's item: the environments are there.
      await c.store().createEnvironment(environment(t, 'production', 0, { targets: targets(2) }), snapshot('production', 1), audit(t));
      await c.store().createEnvironment(environment(t, 'staging', 1, { targets: targets(2) }), snapshot('staging', 1), audit(t));
      await c.store().commit(t, [{ kind: 'targetHead', head: head(t, 'canary', 'config', 1), expectedVersion: null }]);
      await c.store().commit(t, [{ kind: 'targetHead', head: head(t, 'canary', 'artifact:api', 1), expectedVersion: null }]);
      await c.store().commit(t, [{ kind: 'targetHead', head: { ...head(t, 'cell-1', 'config', 1), environment: 'staging' }, expectedVersion: null }]);
      expect(await conflict(c.store().commit(t, [{ kind: 'targetHead', head: head(t, 'canary', 'config', 1), expectedVersion: null }]))).toBe('exists');
      await c.store().commit(t, [{ kind: 'targetHead', head: head(t, 'canary', 'config', 2, 4), expectedVersion: 1 }]);
      expect(await conflict(c.store().commit(t, [{ kind: 'targetHead', head: head(t, 'canary', 'config', 2, 5), expectedVersion: 1 }]))).toBe('version');
      expect(await c.store().getTargetHead(t, 'production', 'canary', 'config')).toEqual(head(t, 'canary', 'config', 2, 4));
      expect(await c.store().getTargetHead(t, 'production', 'cell-1', 'config')).toBeNull();
      expect((await c.store().listTargetHeads(t, 'production')).map((h) => `${h.target}/${h.subject}`)).toEqual(['canary/artifact:api', 'canary/config']);
      expect(await c.store().listTargetHeads(c.tenant(), 'production')).toEqual([]);
    });

    it("names the targets of config heads on the environment's item in their transaction (not artifact heads), unlists those put back, and names none once the head moves", async () => {
      const t = c.tenant();
      const at = (seq: number, ...names: string[]) => ({ at: seq, targets: names });
      const own = async () => (await c.store().getEnvironment(t, 'production'))!.ownHeads;
      const config = (target: string, base: number, version = 1) => ({ ...head(t, target, 'config', version), base });
      await c.store().createEnvironment(environment(t, 'production', 0, { targets: targets(3) }), snapshot('production', 1), audit(t));
      // A new environment: none, about its first head (no target head holds over it).
      expect(await own()).toEqual(at(1));
      const before = (await c.store().getEnvironment(t, 'production'))!;
      await c.store().commit(t, [{ kind: 'targetHead', head: config('t-001', 1), expectedVersion: null }]);
      await c.store().commit(t, [{ kind: 'targetHead', head: { ...head(t, 't-002', 'artifact:api', 1), base: 1 }, expectedVersion: null }]);
      expect(await own()).toEqual(at(1, 't-001'));
      // Two config heads in one transaction (one write of the item): both named. Names the version does not count.
      await c.store().commit(t, [
        { kind: 'targetHead', head: config('t-002', 1), expectedVersion: null },
        { kind: 'targetHead', head: config('t-003', 1), expectedVersion: null },
      ]);
      const named = (await c.store().getEnvironment(t, 'production'))!;
      expect(named.ownHeads).toEqual(at(1, 't-001', 't-002', 't-003'));
      expect(named.version).toBe(before.version);
      // A write of the whole item from a read before a name was added is refused (it would drop it); read again, it keeps them.
      expect(await conflict(c.store().commit(t, [{ kind: 'environment', env: { ...before, bakeSeconds: 5, version: 2 }, expectedVersion: 1 }]))).toBe(
        'version',
      );
      await c.store().commit(t, [{ kind: 'environment', env: { ...named, bakeSeconds: 5, version: 2 }, expectedVersion: 1 }]);
      expect(await own()).toEqual(at(1, 't-001', 't-002', 't-003'));
      // Put back (a rollback): the head's write names nothing; the rollout's end unlists them at once.
      await c.store().commit(t, [{ kind: 'targetHead', head: config('t-001', 1, 2), expectedVersion: 1, putBack: true }]);
      expect(await own()).toEqual(at(1, 't-001', 't-002', 't-003'));
      await c.store().commit(t, [{ kind: 'ownHeadsBack', environment: 'production', targets: ['t-001', 't-002'] }]);
      expect(await own()).toEqual(at(1, 't-003'));
      // The head moves on: every older target head stops holding, and none is named.
      const read = (await c.store().getEnvironment(t, 'production'))!;
      await c
        .store()
        .commitSnapshot({ ...read, head: { ...read.head, seq: 2, digest: 'sha256:production-2' }, version: 3 }, read, snapshot('production', 2), audit(t));
      expect(await own()).toEqual(at(2));
      // Unlisting the last name leaves none.
      await c.store().commit(t, [{ kind: 'targetHead', head: config('t-001', 2, 3), expectedVersion: 2 }]);
      await c.store().commit(t, [{ kind: 'ownHeadsBack', environment: 'production', targets: ['t-001'] }]);
      expect(await own()).toEqual(at(2));
      // A config head of an environment that is not there is refused (its item is not made up).
      expect(
        await conflict(c.store().commit(t, [{ kind: 'targetHead', head: { ...config('t-001', 1), environment: 'nowhere' }, expectedVersion: null }])),
      ).toBe('unknown');
    });

    it('an item written before it named them is not known (a target read reads its head) until its head moves past it; an environment without targets names none', async () => {
      const t = c.tenant();
      const legacy = environment(t, 'production', 0, { targets: targets(2) });
      await c.putItem({ ...keys.environment(t, 'production'), entity: 'Environment', ...legacy, targets: undefined, targetsDigest: undefined });
      await c.store().commit(t, [{ kind: 'environment', env: legacy, expectedVersion: 1, previousTargets: [] }]);
      // Written over an item that did not name them: none about the head after its own (its own is not known).
      const read = (await c.store().getEnvironment(t, 'production'))!;
      expect(read.ownHeads).toEqual({ at: 2, targets: [] });
      // A setting keeps that; the head moving to 2 makes it known.
      const v2 = { ...read, bakeSeconds: 5, version: 2 };
      await c.store().commit(t, [{ kind: 'environment', env: v2, expectedVersion: 1 }]);
      expect((await c.store().getEnvironment(t, 'production'))!.ownHeads).toEqual({ at: 2, targets: [] });
      await c.store().commit(t, [{ kind: 'targetHead', head: { ...head(t, 't-001', 'config', 1), base: 2 }, expectedVersion: null }]);
      const named = (await c.store().getEnvironment(t, 'production'))!;
      await c
        .store()
        .commitSnapshot({ ...named, head: { ...named.head, seq: 2, digest: 'sha256:p-2' }, version: 3 }, named, snapshot('production', 2), audit(t));
      expect((await c.store().getEnvironment(t, 'production'))!.ownHeads).toEqual({ at: 2, targets: ['t-001'] });
      await c.store().createEnvironment(environment(t, 'dev', 1), snapshot('dev', 1), audit(t));
      expect((await c.store().getEnvironment(t, 'dev'))!.ownHeads).toBeUndefined();
    });
  });

  describe('instances', () => {
    it('records an instance only when what it read changes; lists a target’s instances (ids are data: __proto__ too)', async () => {
      const t = c.tenant();
      const seen = (instance: string, version: string, at: string, artifact?: string) => ({
        environment: 'production',
        target: 'edge',
        instance,
        version,
        at,
        ...(artifact ? { artifact } : {}),
      });
      expect(await c.store().recordInstance(t, seen('__proto__', 'v1', '2030-01-01T00:00:00.000Z'), 3600)).toBe(true);
      expect(await c.store().recordInstance(t, seen('__proto__', 'v1', '2030-01-01T00:05:00.000Z'), 3600)).toBe(false);
      expect(await c.store().recordInstance(t, seen('__proto__', 'v1', '2030-01-01T00:06:00.000Z', 'api@1.0.0'), 3600)).toBe(true);
      expect(await c.store().recordInstance(t, seen('pod-1', 'v2', '2030-01-01T00:07:00.000Z'), 3600)).toBe(true);
      expect(await c.store().listInstances(t, 'production', 'edge', 1000)).toEqual([
        seen('__proto__', 'v1', '2030-01-01T00:06:00.000Z', 'api@1.0.0'),
        seen('pod-1', 'v2', '2030-01-01T00:07:00.000Z'),
      ]);
      expect(await c.store().listInstances(t, 'production', 'edge', 1)).toHaveLength(1);
      expect(await c.store().listInstances(t, 'production', 'other', 1000)).toEqual([]);
      expect(await c.store().countInstances(t, 'production', 'edge', 1000)).toBe(2);
      expect(await c.store().countInstances(t, 'production', 'edge', 1)).toBe(1);
      expect(await c.store().countInstances(t, 'production', 'other', 1000)).toBe(0);
    });
  });
}
