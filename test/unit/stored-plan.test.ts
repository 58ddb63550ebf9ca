import { describe, expect, it } from 'vitest';
import { createEnvironment, updateEnvironment } from '../../domain/config/environments.ts';
import { createEnvironment as envSchema, updateEnvironment as updateSchema } from '../../domain/kernel/schemas.ts';
import { rolloutStartStep, waveTargets, INLINE_PLAN_NAMES } from '../../domain/promotion/rollout/plan.ts';
import { memoryDeps, userCtx } from '../support/memory-deps.ts';
import { promotion } from '../support/store-contract/fixtures.ts';

const admin = userCtx('acme', 'alice', 'admin');

/** `n` targets in 10 waves, labelled with their region. */
const fleet = (n: number, waves = 10) =>
  Array.from({ length: n }, (_, i) => ({
    name: `cell-${String(i + 1).padStart(5, '0')}`,
    wave: Math.min(waves, Math.floor((i * waves) / n) + 1),
    labels: { region: ['eu-west-1', 'eu-central-1', 'us-east-1', 'ap-south-1'][i % 4]! },
  }));

/** dev → prod with these targets in prod, and an approved promotion into prod (its id). */
async function approvedInto(targets: ReturnType<typeof fleet>) {
  const m = memoryDeps();
  await createEnvironment(m.deps, admin, envSchema.parse({ name: 'dev', position: 0, reason: 'test' }));
  await createEnvironment(m.deps, admin, envSchema.parse({ name: 'prod', position: 1, reason: 'test', targets }));
  const p = promotion('acme', { sourceEnvironment: 'dev', targetEnvironment: 'prod', status: 'APPROVED' });
  await m.deps.store.commit('acme', [{ kind: 'promotion', promotion: p, expectedVersion: null }]);
  return { m, id: p.id };
}

/** The stored plan (issue 67): a rollout's waves resolved into pages of their own when it starts; the promotion keeps counts. */
describe('the stored plan of a rollout', () => {
  it('a 10,000-target promotion starts: its item keeps counts per wave (far below the 400 KB item), its names are read from pages by waveTargets, and a retried start writes the same plan', async () => {
    const targets = fleet(10_000);
    const { m, id } = await approvedInto(targets);
    const started = await rolloutStartStep(m.deps, 'acme', id);
    expect(started.next).toBe('execute');
    const p = (await m.deps.store.getPromotion('acme', id))!;
    expect(p.status).toBe('EXECUTING');
    const bytes = Buffer.byteLength(JSON.stringify(p));
    expect(bytes).toBeLessThan(8 * 1024);
    expect(p.rollout!.waves.map((w) => w.count)).toEqual(Array(10).fill(1000));
    expect(p.rollout!.waves.every((w) => w.targets === undefined)).toBe(true);
    const names: string[] = [];
    for (let w = 1; w <= 10; w++) names.push(...(await waveTargets(m.deps, 'acme', id, w)));
    expect(names).toEqual(targets.map((t) => t.name));

    // The start step retried (the flow's retry after a timeout): the same plan, nothing doubled.
    const again = await rolloutStartStep(m.deps, 'acme', id);
    expect(again.next).toBe('execute');
    expect(await waveTargets(m.deps, 'acme', id, 10)).toEqual(targets.slice(9000).map((t) => t.name));
  });

  it(`a small plan (≤ ${INLINE_PLAN_NAMES} targets) keeps its names on the promotion item (no page is written or read)`, async () => {
    const { m, id } = await approvedInto(fleet(6, 3));
    await rolloutStartStep(m.deps, 'acme', id);
    const p = (await m.deps.store.getPromotion('acme', id))!;
    expect(p.rollout!.waves.map((w) => w.targets)).toEqual([
      ['cell-00001', 'cell-00002'],
      ['cell-00003', 'cell-00004'],
      ['cell-00005', 'cell-00006'],
    ]);
    expect(await waveTargets(m.deps, 'acme', id, 2)).toEqual(['cell-00003', 'cell-00004']);
  });

  it('a target of a paged plan cannot be removed while the promotion rolls out through it (409 naming it)', async () => {
    const targets = fleet(1000);
    const { m, id } = await approvedInto(targets);
    await rolloutStartStep(m.deps, 'acme', id);
    const env = (await m.deps.store.getEnvironment('acme', 'prod'))!;
    const refused = await updateEnvironment(
      m.deps,
      admin,
      'prod',
      updateSchema.parse({ version: env.version, reason: 'shrink', targets: targets.filter((t) => t.name !== 'cell-00777') }),
    ).catch((e: unknown) => e as Error & { details?: Record<string, unknown> });
    expect(refused).toMatchObject({ name: 'TargetInUse', details: { target: 'cell-00777', promotionId: id } });
  });
});
