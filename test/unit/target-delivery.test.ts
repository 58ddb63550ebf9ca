import { describe, expect, it } from 'vitest';
import { TargetNotFound, ValidationFailed } from '../../domain/kernel/errors.ts';
import { assertTargetRegistries, registryFor } from '../../domain/config/targets.ts';
import { assertGitFileFor, gitPathFor, gitTargetFor } from '../../domain/gitops/target-path.ts';

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
