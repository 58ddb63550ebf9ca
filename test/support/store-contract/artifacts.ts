import { describe, expect, it } from 'vitest';
import { allPages, artifactVersion, audit, conflict, consumer, deployment, pointer, refused, repoLink, tag, uid, type Contract } from './fixtures.ts';

/** Artifacts (versions, pointers, tags, consumers, registry links) and deployments (history, current, metrics, first sightings). */
export function artifactContract(c: Contract) {
  describe('artifacts', () => {
    it('publishes a version once (exists), its metadata read back exactly; lists an artifact’s versions', async () => {
      const t = c.tenant();
      const odd = { '': 'empty key', tiny: 1e-200, deep: { list: [1, 'two', null, { three: true }] } };
      await c.store().commit(t, [
        { kind: 'artifactVersion', artifact: artifactVersion('web', 'v1.10.0', odd) },
        { kind: 'audit', entry: audit(t) },
      ]);
      await c.store().commit(t, [{ kind: 'artifactVersion', artifact: artifactVersion('web', 'v1.9.0') }]);
      expect(await conflict(c.store().commit(t, [{ kind: 'artifactVersion', artifact: artifactVersion('web', 'v1.9.0') }]))).toBe('exists');
      expect(await c.store().getArtifactVersion(t, 'web', 'v1.10.0')).toEqual(artifactVersion('web', 'v1.10.0', odd));
      expect((await c.store().listArtifactVersions(t, 'web')).map((v) => v.version)).toEqual(['v1.10.0', 'v1.9.0']);
      expect(await c.store().getArtifactVersion(t, 'api', 'v1.9.0')).toBeNull();
    });

    it('moves a pointer on its version (version), created once (version); lists what an environment runs', async () => {
      const t = c.tenant();
      await c.store().commit(t, [{ kind: 'pointer', pointer: pointer('dev', 'web', 'v1', 1), expectedVersion: null }]);
      await c.store().commit(t, [{ kind: 'pointer', pointer: pointer('dev', 'api', 'v7', 1), expectedVersion: null }]);
      await c.store().commit(t, [{ kind: 'pointer', pointer: pointer('devx', 'web', 'v0', 1), expectedVersion: null }]);
      expect(await conflict(c.store().commit(t, [{ kind: 'pointer', pointer: pointer('dev', 'web', 'v2', 1), expectedVersion: null }]))).toBe('version');
      await c.store().commit(t, [{ kind: 'pointer', pointer: pointer('dev', 'web', 'v2', 2), expectedVersion: 1 }]);
      expect(await conflict(c.store().commit(t, [{ kind: 'pointer', pointer: pointer('dev', 'web', 'v3', 2), expectedVersion: 1 }]))).toBe('version');
      expect(await c.store().getPointer(t, 'dev', 'web')).toEqual(pointer('dev', 'web', 'v2', 2));
      expect((await c.store().listPointers(t, 'dev')).map((p) => `${p.name}@${p.version}`)).toEqual(['api@v7', 'web@v2']);
    });

    it('creates an immutable tag once per digest (exists for another); latest-<env> is the pointer’s, a stored one only without a pointer', async () => {
      const t = c.tenant();
      const release = tag('web', 'dev', 'release', 'v1');
      await c.store().commit(t, [{ kind: 'tag', tag: release }]);
      await c.store().commit(t, [{ kind: 'tag', tag: release }]);
      expect(await conflict(c.store().commit(t, [{ kind: 'tag', tag: tag('web', 'dev', 'release', 'v1', 'sha256:other') }]))).toBe('exists');
      // Without a pointer, a latest tag is an item of its own (mutable: it moves).
      await c.store().commit(t, [{ kind: 'tag', tag: tag('web', 'dev', 'latest', 'v0') }]);
      await c.store().commit(t, [{ kind: 'tag', tag: tag('web', 'dev', 'latest', 'v1') }]);
      expect(await c.store().getTag(t, 'web', 'dev', 'latest', 'ignored')).toEqual(tag('web', 'dev', 'latest', 'v1'));
      expect((await c.store().listTags(t, 'web', 'dev')).map((x) => `${x.kind}:${x.version}`)).toEqual(['latest:v1', 'release:v1']);
      // With one, the tag moving with it writes nothing; both read the pointer.
      const p = pointer('dev', 'web', 'v2', 1);
      await c.store().commit(t, [
        { kind: 'pointer', pointer: p, expectedVersion: null },
        { kind: 'tag', tag: { ...tag('web', 'dev', 'latest', 'v2'), createdAt: p.promotedAt, createdBy: p.promotedBy } },
        { kind: 'tag', tag: tag('web', 'dev', 'release', 'v2') },
      ]);
      expect(await c.store().getTag(t, 'web', 'dev', 'latest', '')).toMatchObject({ version: 'v2', digest: p.digest, kind: 'latest', mutable: true });
      expect((await c.store().listTags(t, 'web', 'dev')).map((x) => `${x.kind}:${x.version}`)).toEqual(['release:v1', 'release:v2', 'latest:v2']);
      expect(await c.store().getTag(t, 'web', 'dev', 'release', 'v2')).toEqual(tag('web', 'dev', 'release', 'v2'));
      expect(await c.store().getTag(t, 'web', 'dev', 'rollback', 'v2')).toBeNull();
      expect(await c.store().listTags(t, 'web', 'prod')).toEqual([]);
    });

    it('keeps one constraint per consumer (a put replaces it)', async () => {
      const t = c.tenant();
      await c.store().commit(t, [{ kind: 'consumer', consumer: consumer('web', 'shop', '^1.0.0') }]);
      await c.store().commit(t, [{ kind: 'consumer', consumer: consumer('web', 'app', '^2.0.0') }]);
      await c.store().commit(t, [{ kind: 'consumer', consumer: consumer('web', 'shop', '^1.2.0') }]);
      expect((await c.store().listConsumers(t, 'web')).map((x) => `${x.name} ${x.constraint}`)).toEqual(['app ^2.0.0', 'shop ^1.2.0']);
      expect(await c.store().listConsumers(t, 'api')).toEqual([]);
    });

    it('links registry repositories once (WriteConflict), found by artifact, by repository across tenants, and by tenant; unlinks them', async () => {
      const [t, other] = [c.tenant(), c.tenant()];
      const registry = `registry-${uid()}.example.test`;
      const l1 = repoLink(t, 'web', 'l1', registry, 'team/web');
      const l2 = repoLink(t, 'api', 'l2', registry, 'team/api');
      const l3 = repoLink(other, 'site', 'l3', registry, 'team/web');
      for (const l of [l1, l2, l3]) await c.store().putRepoLink(l, audit(l.tenant));
      expect(await conflict(c.store().putRepoLink(l1, audit(t)))).toBeTruthy();
      expect(await c.store().getRepoLink(t, 'web', 'l1')).toEqual(l1);
      expect(await c.store().listRepoLinks(t, 'web')).toEqual([l1]);
      expect(await c.store().linkedArtifacts(t)).toEqual(['api', 'web']);
      expect((await c.store().repoLinksOf(registry, 'team/web')).map((l) => l.id).sort()).toEqual(['l1', 'l3']);
      // Links live beside the artifact's versions, which they are not.
      await c.store().commit(t, [{ kind: 'artifactVersion', artifact: artifactVersion('web', 'v1') }]);
      expect((await c.store().listArtifactVersions(t, 'web')).map((v) => v.version)).toEqual(['v1']);
      // A manifest replaces a link in place, or fails for one that is not there (version).
      await c.store().commit(t, [{ kind: 'repoLink', link: { ...l1, tags: { pattern: 'v*' } }, replace: true }]);
      expect((await c.store().getRepoLink(t, 'web', 'l1'))?.tags).toEqual({ pattern: 'v*' });
      expect(await conflict(c.store().commit(t, [{ kind: 'repoLink', link: repoLink(t, 'web', 'l9', registry, 'x'), replace: true }]))).toBe('version');
      expect(await conflict(c.store().commit(t, [{ kind: 'repoLink', link: l2, replace: false }]))).toBe('exists');
      await c.store().deleteRepoLink(l2, audit(t));
      expect(await conflict(c.store().deleteRepoLink(l2, audit(t)))).toBe('version');
      expect(await conflict(c.store().commit(t, [{ kind: 'deleteRepoLink', link: l2 }]))).toBe('version');
      await c.store().commit(t, [{ kind: 'deleteRepoLink', link: l1 }]);
      expect(await c.store().linkedArtifacts(t)).toEqual([]);
      expect((await c.store().repoLinksOf(registry, 'team/web')).map((l) => l.id)).toEqual(['l3']);
    });
  });

  describe('deployments', () => {
    it('records deployments with their metrics in one commit: by key, by id, newest first a page at a time', async () => {
      const t = c.tenant();
      const deps = ['2030-01-01T10:00:00.000Z', '2030-01-01T11:00:00.000Z', '2030-01-02T09:00:00.000Z'].map((at) => deployment('prod', at));
      for (const d of deps) {
        await c
          .store()
          .commit(t, [{ kind: 'deployment', deployment: d, metrics: { environment: 'prod', day: d.deployedAt.slice(0, 10), add: { deployments: 1 } } }]);
      }
      await c.store().commit(t, [{ kind: 'deployment', deployment: deployment('dev', '2030-01-01T10:00:00.000Z') }]);
      expect(await c.store().getDeployment(t, 'prod', deps[0]!.deployedAt, deps[0]!.id)).toEqual(deps[0]);
      expect(await c.store().findDeployment(t, deps[1]!.id)).toEqual(deps[1]);
      expect(await c.store().findDeployment(t, 'nope')).toBeNull();
      const { items, sizes } = await allPages((cursor) => c.store().listDeployments(t, 'prod', 2, cursor));
      expect(items.map((d) => d.id)).toEqual([deps[2]!.id, deps[1]!.id, deps[0]!.id]);
      expect(sizes.slice(0, 2)).toEqual([2, 1]);
      const first = await c.store().listDeployments(t, 'prod', 2);
      expect(await refused(c.store().listDeployments(t, 'dev', 2, first.nextCursor))).toMatch(/another environment/);
      expect(await refused(c.store().listDeployments(c.tenant(), 'prod', 2, first.nextCursor))).toMatch(/not a cursor this API returned/);
    });

    it('adds metric counters per environment and day, the deltas of one commit merged', async () => {
      const t = c.tenant();
      const d = deployment('prod', '2030-03-01T10:00:00.000Z');
      await c.store().commit(t, [
        { kind: 'deployment', deployment: d, metrics: { environment: 'prod', day: '2030-03-01', add: { deployments: 1, leadSeconds: 30 } } },
        { kind: 'metrics', delta: { environment: 'prod', day: '2030-03-01', add: { deployments: 1, failures: 1 } } },
        { kind: 'metrics', delta: { environment: 'prod', day: '2030-03-03', add: { rollbacks: 1 } } },
        { kind: 'audit', entry: audit(t) },
      ]);
      await c.store().commit(t, [{ kind: 'metrics', delta: { environment: 'prod', day: '2030-03-01', add: { deployments: 2 } } }]);
      expect(await c.store().getMetrics(t, 'prod', '2030-03-01', '2030-03-02')).toEqual([
        { day: '2030-03-01', counters: { deployments: 4, leadSeconds: 30, failures: 1 } },
      ]);
      expect((await c.store().getMetrics(t, 'prod', '2030-02-01', '2030-03-31')).map((m) => m.day)).toEqual(['2030-03-01', '2030-03-03']);
      expect(await c.store().getMetrics(t, 'dev', '2030-01-01', '2030-12-31')).toEqual([]);
    });

    it("keeps a target's records and counters apart: its own history (and cursors), its own days; the environment's counters untouched", async () => {
      const t = c.tenant();
      const mine = ['2030-04-01T10:00:00.000Z', '2030-04-02T10:00:00.000Z', '2030-04-03T10:00:00.000Z'].map((at) => ({
        ...deployment('prod', at),
        target: 'canary',
      }));
      for (const d of mine)
        await c
          .store()
          .commit(t, [
            { kind: 'deployment', deployment: d, metrics: { environment: 'prod', target: 'canary', day: d.deployedAt.slice(0, 10), add: { deployments: 1 } } },
          ]);
      const whole = deployment('prod', '2030-04-02T12:00:00.000Z');
      await c.store().commit(t, [{ kind: 'deployment', deployment: whole, metrics: { environment: 'prod', day: '2030-04-02', add: { deployments: 1 } } }]);
      // The environment's history holds every record; the target's only its own, newest first, a page at a time.
      expect((await c.store().listDeployments(t, 'prod', 10)).items.map((d) => d.id)).toEqual([mine[2]!.id, whole.id, mine[1]!.id, mine[0]!.id]);
      const { items } = await allPages((cursor) => c.store().listDeployments(t, 'prod', 2, cursor, 'canary'));
      expect(items).toEqual([mine[2], mine[1], mine[0]]);
      expect((await c.store().listDeployments(t, 'prod', 10, undefined, 'cell-1')).items).toEqual([]);
      const first = await c.store().listDeployments(t, 'prod', 2, undefined, 'canary');
      expect(await refused(c.store().listDeployments(t, 'prod', 2, first.nextCursor))).toMatch(/another environment or target/);
      // A status change rewrites the target's copy too.
      const failed = { ...mine[0]!, status: 'FAILED' as const };
      await c.store().commit(t, [{ kind: 'deployment', deployment: failed }]);
      expect((await c.store().listDeployments(t, 'prod', 10, undefined, 'canary')).items[2]).toEqual(failed);
      expect(await c.store().getMetrics(t, 'prod', '2030-04-01', '2030-04-30', 'canary')).toEqual([
        { day: '2030-04-01', counters: { deployments: 1 } },
        { day: '2030-04-02', counters: { deployments: 1 } },
        { day: '2030-04-03', counters: { deployments: 1 } },
      ]);
      expect(await c.store().getMetrics(t, 'prod', '2030-04-01', '2030-04-30')).toEqual([{ day: '2030-04-02', counters: { deployments: 1 } }]);
    });

    it('remembers the first sighting of an image (the earliest wins) and the current deployment (never moved back)', async () => {
      const t = c.tenant();
      await c.store().markFirstSeen(t, 'web:v1', '2030-01-02T00:00:00.000Z');
      await c.store().markFirstSeen(t, 'web:v1', '2030-01-03T00:00:00.000Z');
      expect(await c.store().firstSeen(t, 'web:v1')).toBe('2030-01-02T00:00:00.000Z');
      await c.store().markFirstSeen(t, 'web:v1', '2030-01-01T00:00:00.000Z');
      expect(await c.store().firstSeen(t, 'web:v1')).toBe('2030-01-01T00:00:00.000Z');
      expect(await c.store().firstSeen(t, 'web:v2')).toBeNull();
      const [older, newer] = [deployment('prod', '2030-01-01T00:00:00.000Z'), deployment('prod', '2030-01-05T00:00:00.000Z')];
      await c.store().putCurrent(t, newer);
      await c.store().putCurrent(t, older);
      expect(await c.store().getCurrent(t, 'prod')).toEqual(newer);
      const same = { ...newer, id: uid('dep-'), imageTag: 'web:v2' };
      await c.store().putCurrent(t, same);
      expect(await c.store().getCurrent(t, 'prod')).toEqual(same);
      expect(await c.store().getCurrent(t, 'dev')).toBeNull();
    });
  });
}
