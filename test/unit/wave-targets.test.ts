import { describe, expect, it } from 'vitest';
import { waveTargets } from '../../domain/promotion/rollout/plan.ts';
import { memoryDeps } from '../support/memory-deps.ts';
import { promotion } from '../support/store-contract/fixtures.ts';

/** waveTargets: THE way a wave's target names are read (the engine reads them only through it). */
describe('waveTargets', () => {
  it("answers a wave's target names in order; an unknown wave or promotion is refused naming it", async () => {
    const { deps } = memoryDeps();
    const p = {
      ...promotion('acme'),
      rollout: {
        waves: [
          { wave: 1, targets: ['canary'], bakeSeconds: 0, maxParallel: 1 },
          { wave: 2, targets: ['eu-1', 'eu-2', 'us-1'], bakeSeconds: 60, maxParallel: 2 },
        ],
      },
    } as never as ReturnType<typeof promotion>;
    await deps.store.commit('acme', [{ kind: 'promotion', promotion: p, expectedVersion: null }]);
    expect(await waveTargets(deps, 'acme', p.id, 2)).toEqual(['eu-1', 'eu-2', 'us-1']);
    expect(await waveTargets(deps, 'acme', p.id, 1)).toEqual(['canary']);
    await expect(waveTargets(deps, 'acme', p.id, 3)).rejects.toMatchObject({ issues: [expect.objectContaining({ path: 'wave' })] });
    await expect(waveTargets(deps, 'acme', 'prm_nowhere', 1)).rejects.toMatchObject({ name: 'PromotionNotFound' });
  });
});
