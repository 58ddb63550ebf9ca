import { describe, expect, it } from 'vitest';
import { createEnvironment, updateEnvironment } from '../../domain/config/environments.ts';
import { createEnvironment as envSchema, updateEnvironment as updateSchema } from '../../domain/kernel/schemas.ts';
import { waveTargets, INLINE_PLAN_NAMES } from '../../domain/promotion/rollout/plan.ts';
import { rolloutStartStep } from '../../domain/promotion/rollout/begin.ts';
import { targetBakedStep } from '../../domain/promotion/rollout/bake.ts';
import { rolloutPage } from '../../domain/promotion/terms/rollout-view.ts';
import { promotionDetail } from '../../domain/promotion/views.ts';
import { decisionRecord } from '../../domain/promotion/terms/decision-record.ts';
import type { RolloutTarget } from '../../domain/kernel/promotion-model.ts';
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

/** The stored plan: a rollout's waves resolved into pages of their own when it starts; the promotion keeps counts. */
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

  it('at 1,000 targets the detail and the decision record stay bounded (counts per wave and state, a page of rows); GET …/rollout pages a wave by state', async () => {
    const targets = fleet(1000);
    const { m, id } = await approvedInto(targets);
    await rolloutStartStep(m.deps, 'acme', id);
    // Wave 1 under way: 3 targets confirming, 40 done, one failed.
    const item = (name: string, state: RolloutTarget['state']) =>
      ({ promotionId: id, name, wave: 1, state, before: null, confirm: null, version: 1, updatedAt: '2030-01-01T00:00:00.000Z' }) as unknown as RolloutTarget;
    const states = [...Array(3).fill('CONFIRMING'), ...Array(40).fill('DONE'), 'FAILED'] as RolloutTarget['state'][];
    await m.deps.store.commit(
      'acme',
      states.map((st, i) => ({ kind: 'rolloutTarget' as const, target: item(targets[i + 10]!.name, st), expectedVersion: null })),
    );
    const p = (await m.deps.store.getPromotion('acme', id))!;
    const detail = await promotionDetail(m.deps, p);
    const decision = await decisionRecord(m.deps, admin, id);
    for (const answer of [detail, decision]) {
      expect(Buffer.byteLength(JSON.stringify(answer))).toBeLessThan(48 * 1024);
      const w1 = (answer as { rollout: { waves: { count: number; states: Record<string, number>; targets: { name: string; state: string }[] }[] } }).rollout
        .waves[0]!;
      expect(w1.count).toBe(100);
      expect(w1.states).toEqual({ PENDING: 56, CONFIRMING: 3, DONE: 40, FAILED: 1 });
      expect(w1.targets).toHaveLength(20);
      // What a person looks for first: the targets changing and the one that failed.
      expect(w1.targets.slice(0, 4).map((t) => t.state)).toEqual(['CONFIRMING', 'CONFIRMING', 'CONFIRMING', 'FAILED']);
    }
    // Paged: wave 1's DONE targets 25 at a time, each once, in plan order.
    const done: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await rolloutPage(m.deps, admin, id, { wave: 1, state: 'DONE', limit: 25, ...(cursor ? { cursor } : {}) });
      expect(page.total).toBe(40);
      expect(Buffer.byteLength(JSON.stringify(page))).toBeLessThan(16 * 1024);
      done.push(...page.targets.map((t) => t.name));
      cursor = page.nextCursor;
    } while (cursor);
    expect(done).toEqual(targets.slice(13, 53).map((t) => t.name));
    const wave7 = await rolloutPage(m.deps, admin, id, { wave: 7, limit: 1000 });
    expect(wave7.targets.map((t) => t.name)).toEqual(targets.slice(600, 700).map((t) => t.name));
    // A cursor of another wave, or none this listing returned: 400 naming it; a wave the plan has not: 400 naming wave.
    const first = await rolloutPage(m.deps, admin, id, { wave: 1, limit: 10 });
    await expect(rolloutPage(m.deps, admin, id, { wave: 2, limit: 10, cursor: first.nextCursor })).rejects.toMatchObject({
      issues: [expect.objectContaining({ path: 'query.cursor' })],
    });
    // A wave the plan does not have is an empty page (a request the document accepts is never a 400).
    expect(await rolloutPage(m.deps, admin, id, { wave: 11, limit: 10 })).toMatchObject({ wave: 11, count: 0, total: 0, targets: [] });
  });

  it('the end of a bake never finishes a target still waiting for its confirmation: the rollout fails closed, the target stays CONFIRMING', async () => {
    const targets = fleet(2, 1);
    const { m, id } = await approvedInto(targets);
    await rolloutStartStep(m.deps, 'acme', id);
    const item = (name: string, state: RolloutTarget['state']) =>
      ({
        promotionId: id,
        name,
        wave: 1,
        state,
        before: null,
        confirm: { mode: 'fleet', deadline: '2030-01-01T09:10:00.000Z' },
        bake: null,
        alarm: null,
        error: null,
        rolledBackAt: null,
        taskToken: null,
        appliedAt: '2030-01-01T09:00:00.000Z',
        version: 1,
        updatedAt: '2030-01-01T09:00:00.000Z',
      }) as unknown as RolloutTarget;
    await m.deps.store.commit('acme', [{ kind: 'rolloutTarget', target: item('cell-00001', 'CONFIRMING'), expectedVersion: null }]);
    await expect(targetBakedStep(m.deps as never, 'acme', id, 'cell-00001', 1)).rejects.toMatchObject({
      name: 'PromotionFailed',
      message: expect.stringMatching(/still CONFIRMING: it was never confirmed/),
    });
    expect((await m.deps.store.getRolloutTarget('acme', id, 'cell-00001'))?.state).toBe('CONFIRMING');
  });
});
