import { describe, expect, it } from 'vitest';
import type { FreezeWindow } from '../../domain/freeze/model.ts';
import { guardFreeze, nextAllowedOf } from '../../domain/freeze/windows.ts';
import { EnvironmentFrozen, Forbidden } from '../../domain/kernel/errors.ts';
import { memoryDeps, userCtx } from '../support/memory-deps.ts';

/** A freeze window means no direct change to the environments it covers, except an admin's break-glass with a reason. */

const window = (scope: string, patch: Partial<FreezeWindow> = {}): FreezeWindow => ({
  id: `frz_${scope === '*' ? 'all' : scope}`,
  tenant: 'acme',
  scope,
  reason: 'release freeze',
  kind: 'once',
  start: '2030-01-01T08:00:00.000Z',
  end: '2030-01-01T12:00:00.000Z',
  createdBy: 'alice',
  createdAt: '2029-12-31T00:00:00.000Z',
  ...patch,
});

describe('the freeze guard on direct writes', () => {
  it('refuses a write to a frozen environment, naming the window and until when, with the occurrence in the details', async () => {
    const { deps, store } = memoryDeps();
    await store.commit('acme', [{ kind: 'freezeWindow', window: window('prod') }]);
    const bob = userCtx('acme', 'bob', 'deployer');
    const refused = await guardFreeze(deps, bob, 'prod', 'config.update').catch((e: EnvironmentFrozen) => e);
    expect(refused).toBeInstanceOf(EnvironmentFrozen);
    expect((refused as EnvironmentFrozen).message).toBe(
      "'prod' is frozen until 2030-01-01T12:00:00.000Z by freeze window frz_prod (release freeze): no change reaches it by any path. Wait for the window to close, or an admin may override it once, audited as break-glass, with the header X-Break-Glass-Reason",
    );
    expect((refused as EnvironmentFrozen).details).toEqual({
      freeze: { id: 'frz_prod', reason: 'release freeze', scope: 'prod', start: '2030-01-01T08:00:00.000Z', end: '2030-01-01T12:00:00.000Z' },
    });
    // A blank reason is no reason.
    await expect(guardFreeze(deps, { ...bob, breakGlassReason: '  ' }, 'prod', 'config.update')).rejects.toThrow(EnvironmentFrozen);
    // A reason from anyone but an admin is refused as such.
    await expect(guardFreeze(deps, { ...bob, breakGlassReason: 'hotfix' }, 'prod', 'config.update')).rejects.toThrow(Forbidden);
  });

  it('lets an admin through with a reason, recorded as break-glass past the freeze', async () => {
    const { deps, store } = memoryDeps();
    await store.commit('acme', [{ kind: 'freezeWindow', window: window('*') }]);
    const alice = { ...userCtx('acme', 'alice', 'admin'), breakGlassReason: 'hotfix' };
    expect(await guardFreeze(deps, alice, 'prod', 'config.update')).toMatchObject({
      by: 'alice@acme.test',
      reason: 'hotfix',
      action: 'config.update',
      guard: 'freeze-window',
    });
  });

  it('does not hold an environment no open window covers', async () => {
    const { deps, store } = memoryDeps();
    await store.commit('acme', [
      { kind: 'freezeWindow', window: window('dev') },
      { kind: 'freezeWindow', window: window('prod', { id: 'frz_later', start: '2030-01-02T00:00:00.000Z', end: '2030-01-03T00:00:00.000Z' }) },
    ]);
    expect(await guardFreeze(deps, userCtx('acme', 'bob', 'deployer'), 'prod', 'config.update')).toBeNull();
  });

  it('the first free time crosses windows that touch, recurring ones too', async () => {
    const touching = [window('prod'), window('prod', { id: 'frz_next', start: '2030-01-01T12:00:00.000Z', end: '2030-01-01T14:00:00.000Z' })];
    expect((await nextAllowedOf(touching, 'prod', new Date('2030-01-01T09:00:00.000Z'))).toISOString()).toBe('2030-01-01T14:00:00.000Z');
    expect((await nextAllowedOf(touching, 'dev', new Date('2030-01-01T09:00:00.000Z'))).toISOString()).toBe('2030-01-01T09:00:00.000Z');
    const nightly = window('prod', { kind: 'recurring', start: undefined, end: undefined, cron: '0 22 * * *', endCron: '0 6 * * *', timezone: 'UTC' });
    expect((await nextAllowedOf([nightly], 'prod', new Date('2030-01-01T23:00:00.000Z'))).toISOString()).toBe('2030-01-02T06:00:00.000Z');
  });
});
