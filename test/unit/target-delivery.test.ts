import { describe, expect, it } from 'vitest';
import { TargetNotFound, ValidationFailed } from '../../domain/kernel/errors.ts';
import { assertTargetRegistries, OCI_TAG, registryFor, targetTagName } from '../../domain/config/targets.ts';
import { assertGitFileFor, gitPathFor, gitTargetFor } from '../../domain/gitops/target-path.ts';
import type { Promotion } from '../../domain/kernel/promotion-model.ts';
import { deliverToGit, gitChangeOf, revertInGit } from '../../domain/promotion/deliver/git-delivery.ts';
import { IsomorphicGitWriter } from '../../functions/adapters/git-writer.ts';
import { memoryDeps } from '../support/memory-deps.ts';
import { deliveryText } from '../../cli/rollout-view.ts';
import { revertTarget } from '../../domain/promotion/deliver/target-delivery.ts';

/** The first issue a check refuses with (path and message). */
function refusal(check: () => unknown): { path: string; message: string } {
  try {
    check();
  } catch (err) {
    if (err instanceof ValidationFailed) return err.issues[0]!;
    throw err;
  }
  throw new Error('not refused');
}

describe('a git target file per target (gitPathFor)', () => {
  it('renders {target} with the target name; a file without it is the same for every target', () => {
    expect(gitPathFor({ file: 'envs/production/{target}/values.yaml' }, 'us-east-1')).toBe('envs/production/us-east-1/values.yaml');
    expect(gitPathFor({ file: 'envs/values-{target}.json' }, 'cell-7')).toBe('envs/values-cell-7.json');
    expect(gitPathFor({ file: 'envs/production/values.yaml' }, 'cell-7')).toBe('envs/production/values.yaml');
    expect(gitPathFor({ file: 'envs/production/values.yaml' }, null)).toBe('envs/production/values.yaml');
    expect(gitTargetFor({ file: 'a/{target}.yaml', branch: 'main' }, 'eu-west-1')).toEqual({ file: 'a/eu-west-1.yaml', branch: 'main' });
  });

  it('refuses a placeholder left unfilled, and a rendered path that would leave the repository', () => {
    expect(refusal(() => gitPathFor({ file: 'envs/{target}/values.yaml' }, null)).message).toMatch(/names a file per target/);
    // Names are checked where targets are declared; a name that is no target name still cannot escape.
    expect(refusal(() => gitPathFor({ file: '{target}/values.yaml' }, '..')).message).toMatch(/inside the repository/);
    expect(refusal(() => gitPathFor({ file: '{target}/values.yaml' }, '/etc')).message).toMatch(/inside the repository/);
  });

  it('allows the placeholder only where the environment declares targets, and checks every target', () => {
    expect(refusal(() => assertGitFileFor('envs/{target}/values.yaml', [], 'body.file'))).toEqual({
      path: 'body.file',
      message: expect.stringContaining('declares no targets'),
    });
    expect(() => assertGitFileFor('envs/{target}/values.yaml', ['canary', 'cell-1'])).not.toThrow();
    expect(() => assertGitFileFor('envs/values.yaml', [])).not.toThrow();
  });
});

describe('a registry per target (registryFor)', () => {
  const registries = [
    { name: 'us', url: 'https://registry-us.example.com' },
    { name: 'eu', url: 'https://registry-eu.example.com' },
  ];
  const env = {
    name: 'production',
    registries,
    targets: [
      { name: 'us-east-1', wave: 1, labels: {}, parameters: [], monitors: [], confirm: { mode: 'immediate' as const } },
      { name: 'eu-west-1', wave: 2, registry: 'eu', labels: {}, parameters: [], monitors: [], confirm: { mode: 'immediate' as const } },
    ],
  };

  it("gives the target's own registry, else the environment's first; none without registries", () => {
    expect(registryFor(env, 'eu-west-1')).toEqual(registries[1]);
    expect(registryFor(env, 'us-east-1')).toEqual(registries[0]);
    expect(registryFor(env, null)).toEqual(registries[0]);
    expect(registryFor({ ...env, registries: [], targets: [] }, null)).toBeNull();
    expect(() => registryFor(env, 'ap-south-1')).toThrow(TargetNotFound);
  });

  it('refuses a target naming a registry the environment does not have, with the field to fix', () => {
    expect(() => assertTargetRegistries(env.targets, registries)).not.toThrow();
    expect(refusal(() => assertTargetRegistries(env.targets, [registries[0]!]))).toEqual({
      path: 'body.targets.1.registry',
      message: expect.stringContaining("'eu' is none of the environment's registries (us)"),
    });
  });
});

describe('a file per target never reaches the git writer as written', () => {
  const gitTarget = {
    tenant: 't1',
    environment: 'production',
    repository: 'https://git.example.test/deploy.git',
    branch: 'main',
    file: 'envs/production/{target}/values.yaml',
    path: 'image.tag',
    value: 'version' as const,
    tokenSecret: null,
    version: 1,
    createdAt: '',
    createdBy: '',
    updatedAt: '',
    updatedBy: '',
  };
  const promotion = {
    tenant: 't1',
    id: 'prm_1',
    targetEnvironment: 'production',
    sourceEnvironment: 'staging',
    subject: { type: 'artifact', name: 'api', version: 'v2', digest: `sha256:${'b'.repeat(64)}` },
    rollout: { waves: [{ wave: 1, targets: ['canary'], bakeSeconds: 0, maxParallel: 1 }], wave: 1 },
  } as unknown as Promotion & { subject: { type: 'artifact' } };

  it('the git writer refuses a literal {target} path before it clones anything', async () => {
    const writer = new IsomorphicGitWriter({ resolve: async () => null } as never);
    const input = { tenant: 't1', target: gitTarget, value: 'v2', message: 'm', author: { name: 'a', email: 'a@example.test' } };
    await expect(writer.commit(input)).rejects.toThrow(/names a file per target of production: it is committed per target/);
    await expect(writer.pushBranch({ ...input, head: 'stageline/x', at: new Date() })).rejects.toThrow(/names a file per target/);
  });

  it('a rollout’s completion commits nothing for a file per target (its targets did), and an environment-wide revert leaves it to them', async () => {
    const { deps, store } = memoryDeps();
    await store.putGitTarget(gitTarget, null, { tenant: 't1' } as never);
    // deps.git.commit rejects ("not part of these tests"): a call would fail the test.
    const done = await deliverToGit(deps, promotion);
    expect(done).toMatchObject({ file: 'envs/production/{target}/values.yaml', changed: false, attempts: 0, perTarget: true });
    const reverted = await revertInGit(
      deps,
      promotion,
      { type: 'artifact', name: promotion.subject.name, version: 'v1', digest: `sha256:${'a'.repeat(64)}` },
      'alarm',
    );
    expect(reverted).toMatchObject({ commit: null, changed: false, error: expect.stringMatching(/names a file per target/) });
  });

  it('pull-request mode does not take a file per target (400 naming the field)', () => {
    expect(refusal(() => assertGitFileFor('envs/{target}/values.yaml', ['canary'], 'body.file', true))).toEqual({
      path: 'body.file',
      message: expect.stringMatching(/pull-request mode does not take it/),
    });
    expect(() => assertGitFileFor('envs/values.yaml', ['canary'], 'body.file', true)).not.toThrow();
  });
});

describe('the per-target tag (latest-<env>-<target>)', () => {
  it('is a valid OCI tag for the longest environment and target names', () => {
    const tag = targetTagName('e'.repeat(32), 't'.repeat(40));
    expect(tag).toHaveLength(80);
    expect(OCI_TAG.test(tag)).toBe(true);
    expect(targetTagName('production', 'us-east-1')).toBe('latest-production-us-east-1');
  });

  it('is refused at declaration when it would not be one', () => {
    const target = { name: 'canary', wave: 1, labels: {}, parameters: [], monitors: [], confirm: { mode: 'immediate' } } as never;
    expect(refusal(() => assertTargetRegistries([target], [{ name: 'east' }], 'body', 'x'.repeat(130)))).toEqual({
      path: 'body.targets.0.name',
      message: expect.stringMatching(/not a valid OCI tag/),
    });
    expect(() => assertTargetRegistries([target], [{ name: 'east' }], 'body', 'production')).not.toThrow();
  });
});

describe('what stageline promotions show says of a target’s deliveries', () => {
  const commit = 'a'.repeat(7) + 'b'.repeat(33);
  it('its commit (short) and its tag, and after a rollback what they went back to', () => {
    expect(deliveryText({})).toBe('');
    expect(
      deliveryText({
        git: { file: 'envs/canary/values.yaml', commit, changed: true },
        registry: { registry: 'east', tag: 'latest-production-canary', digest: `sha256:${'1'.repeat(64)}` },
      }),
    ).toBe(' [git aaaaaaa; east:latest-production-canary]');
    expect(
      deliveryText({
        git: { file: 'f.yaml', commit, changed: true, revert: { commit: 'c'.repeat(40), changed: true } },
        registry: { registry: 'east', tag: 'latest-production-canary', digest: `sha256:${'1'.repeat(64)}`, revert: { digest: `sha256:${'2'.repeat(64)}` } },
      }),
    ).toBe(' [git aaaaaaa, reverted ccccccc; east:latest-production-canary, back to 222222222222]');
    expect(deliveryText({ git: { file: 'f.yaml', commit, changed: false, revert: { commit: null, changed: false, error: 'ran no version' } } })).toBe(
      ' [git aaaaaaa (unchanged), not reverted]',
    );
  });
});

describe('what a rollback does to a target’s deliveries (revertTarget)', () => {
  const p = {
    tenant: 't1',
    id: 'prm_1',
    targetEnvironment: 'production',
    sourceEnvironment: 'staging',
    subject: { type: 'artifact', name: 'api', version: 'v2', digest: `sha256:${'b'.repeat(64)}` },
  } as unknown as Promotion;
  const item = {
    promotionId: 'prm_1',
    name: 'canary',
    wave: 1,
    state: 'BAKING',
    before: null,
    confirm: null,
    version: 1,
    updatedAt: '',
    git: { file: 'envs/production/canary/values.yaml', commit: 'c'.repeat(40), changed: true },
    registry: { registry: 'east', tag: 'latest-production-canary', digest: `sha256:${'b'.repeat(64)}` },
  } as const;

  it('a target that ran nothing of the artifact before keeps its file and tag, and says why (no git or registry call is made)', async () => {
    const { deps } = memoryDeps();
    const out = await revertTarget(deps, p, { ...item, git: { ...item.git }, registry: { ...item.registry } }, 'alarm');
    expect(out.git).toMatchObject({
      commit: 'c'.repeat(40),
      revert: { commit: null, changed: false, error: expect.stringMatching(/ran no version of api before/) },
    });
    expect(out.registry).toMatchObject({
      tag: 'latest-production-canary',
      revert: { digest: null, reason: expect.stringMatching(/latest-production-canary stays at/) },
    });
  });

  it('a config release has nothing to put back, and a delivery reverted already is not reverted twice', async () => {
    const { deps } = memoryDeps();
    expect(await revertTarget(deps, { ...p, subject: { type: 'config' } } as unknown as Promotion, { ...item }, 'alarm')).toEqual({});
    const done = { ...item, git: { ...item.git, revert: { commit: 'd'.repeat(40), changed: true } }, registry: { ...item.registry, revert: { digest: 'x' } } };
    expect(await revertTarget(deps, p, done, 'alarm')).toEqual({});
  });
});

describe("a git target's path map (gitChangeOf)", () => {
  const base = {
    tenant: 't1',
    environment: 'staging',
    repository: 'https://git.example.test/deploy.git',
    branch: 'main',
    file: 'envs/staging/values.yaml',
    path: 'image.tag',
    value: 'version' as const,
    tokenSecret: null,
    version: 1,
    createdAt: '',
    createdBy: '',
    updatedAt: '',
    updatedBy: '',
  };
  const mapped = { ...base, paths: { api: { file: 'envs/staging/api.json', edit: 'json-path' as const, path: 'image.tag', value: 'digest' as const } } };
  const d = `sha256:${'a'.repeat(64)}`;

  it('writes an artifact the map names at its place, and one it does not at the target’s file and path', () => {
    const api = gitChangeOf('staging', mapped, { type: 'artifact', name: 'api', version: 'v1.0.0', digest: d });
    expect(api.write).toEqual({ value: d });
    expect(api.target).toMatchObject({ file: 'envs/staging/api.json', edit: 'json-path', path: 'image.tag', value: 'digest' });
    const other = gitChangeOf('staging', mapped, { type: 'artifact', name: 'worker', version: 'v1.0.0', digest: d });
    expect(other.target).toBe(mapped);
    expect(other.write).toEqual({ value: 'v1.0.0' });
  });

  it('refuses a bundle with a member the map leaves out, naming it; an inherited key is never a place', () => {
    const members = [
      { name: 'api', version: 'v1.0.0', digest: d },
      { name: 'worker', version: 'v1.0.0', digest: d },
    ];
    expect(() => gitChangeOf('staging', mapped, { type: 'bundle', name: 'checkout', members })).toThrow(/worker \(paths\.worker\)/);
    const inherited = { ...base, paths: Object.create({ api: { path: 'image.tag' } }) as Record<string, { path: string }> };
    expect(() => gitChangeOf('staging', inherited, { type: 'bundle', name: 'checkout', members: members.slice(0, 1) })).toThrow(/api \(paths\.api\)/);
    const both = { ...mapped, paths: { ...mapped.paths, worker: { path: 'worker.tag' } } };
    const change = gitChangeOf('staging', both, { type: 'bundle', name: 'checkout', members });
    expect(change.write.edits?.map((e) => [e.artifact, e.file, e.edit, e.path, e.written])).toEqual([
      ['api', 'envs/staging/api.json', 'json-path', 'image.tag', d],
      ['worker', 'envs/staging/values.yaml', 'yaml-path', 'worker.tag', 'v1.0.0'],
    ]);
  });
});
