import { describe, expect, it } from 'vitest';
import { createEnvironment } from '../../domain/config/environments.ts';
import { createItem, getItem, updateItem } from '../../domain/config/items.ts';
import { AlreadyExists, SelfApprovalForbidden, VersionConflict } from '../../domain/kernel/errors.ts';
import { createPromotion as promotionSchema } from '../../domain/kernel/promotion-schemas.ts';
import { createEnvironment as envSchema, createItem as itemSchema, updateItem as updateSchema } from '../../domain/kernel/schemas.ts';
import { approvePromotion } from '../../domain/promotion/decide/approve.ts';
import { createPromotion } from '../../domain/promotion/request/request.ts';
import { decideStep, executeStep } from '../../domain/promotion/step/steps.ts';
import type { Ctx, Deps, With } from '../../domain/ports.ts';
import { memoryDeps, userCtx } from '../support/memory-deps.ts';

/**
 * Use cases on the memory store: the domain's own rules (retries on a lost write, the audit entry and
 * events of each change, the promotion lifecycle) in milliseconds, without DynamoDB Local or a flow.
 */

/** dev → prod: prod is the last environment of the line (protected; one approver, separation of duties). */
async function line(deps: With<'sealer'>, admin: Ctx): Promise<void> {
  await createEnvironment(deps, admin, envSchema.parse({ name: 'dev', position: 0, reason: 'test' }));
  await createEnvironment(deps, admin, envSchema.parse({ name: 'prod', position: 1, reason: 'test' }));
}

describe('use cases on the memory store', () => {
  it('creates an environment with its first snapshot and audit entry; a name or a position taken is refused, also to a request that lost a race', async () => {
    const { deps, store } = memoryDeps();
    const admin = userCtx('acme', 'alice', 'admin');
    const dev = await createEnvironment(deps, admin, envSchema.parse({ name: 'dev', position: 0, reason: 'first' }));
    expect(await store.getEnvironment('acme', 'dev')).toEqual(dev);
    expect(await store.getSnapshot('acme', 'dev', dev.head.seq)).toMatchObject({ environment: 'dev', change: { action: 'create' } });
    expect((await store.queryAudit('acme', { limit: 10 })).items).toEqual([
      expect.objectContaining({ action: 'environment.create', entityId: 'dev', actorName: 'alice@acme.test', reason: 'first' }),
    ]);
    await expect(createEnvironment(deps, admin, envSchema.parse({ name: 'dev', position: 5 }))).rejects.toBeInstanceOf(AlreadyExists);
    await expect(createEnvironment(deps, admin, envSchema.parse({ name: 'qa', position: 0 }))).rejects.toBeInstanceOf(AlreadyExists);
    // Two requests read the line before either writes: the loser's write fails on the position, and its retry reads who holds it.
    const raced = await Promise.allSettled([
      createEnvironment(deps, admin, envSchema.parse({ name: 'staging', position: 1 })),
      createEnvironment(deps, userCtx('acme', 'bob', 'admin'), envSchema.parse({ name: 'stage', position: 1 })),
    ]);
    expect(raced.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((raced.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(AlreadyExists);
    expect((await store.listEnvironments('acme')).map((e) => [e.name, e.position])).toHaveLength(2);
  });

  it('writes a config as a new snapshot, head and audit entry in one commit; a stale item version is refused; a lost race is retried on fresh reads', async () => {
    const { deps, store } = memoryDeps();
    const admin = userCtx('acme', 'alice', 'admin');
    const bob = userCtx('acme', 'bob', 'deployer');
    await line(deps, admin);
    const before = (await store.getEnvironment('acme', 'dev'))!;
    const item = await createItem(deps, bob, 'config', 'dev', itemSchema.parse({ key: 'query.timeout', value: '30s', reason: 'slow' }));
    const after = (await store.getEnvironment('acme', 'dev'))!;
    expect(after.head.seq).toBe(before.head.seq + 1);
    expect(after.version).toBe(before.version + 1);
    expect(await store.getSnapshot('acme', 'dev', after.head.seq)).toMatchObject({ itemCount: 1, change: { action: 'set', keys: ['config:query.timeout'] } });
    expect((await store.queryAudit('acme', { limit: 1 })).items[0]).toMatchObject({
      action: 'config.create',
      entityId: 'dev/query.timeout',
      after: after.head.digest,
    });
    expect(await getItem(deps, bob, 'config', 'dev', item.id)).toMatchObject({ key: 'query.timeout', value: '30s', version: 1 });

    await updateItem(deps, bob, 'config', 'dev', item.id, updateSchema.parse({ value: '45s', version: 1 }));
    await expect(updateItem(deps, bob, 'config', 'dev', item.id, updateSchema.parse({ value: '60s', version: 1 }))).rejects.toBeInstanceOf(VersionConflict);

    // Another writer (another process) moves the environment between this write's read and its commit: the commit loses
    // its condition (WriteConflict), and the retry writes on top of what the other one wrote.
    let raced = false;
    const racing: Deps = {
      ...deps,
      store: Object.assign(Object.create(store) as typeof store, {
        async commitSnapshot(...args: Parameters<typeof store.commitSnapshot>) {
          if (!raced) {
            raced = true;
            const cur = (await store.getEnvironment('acme', 'dev'))!;
            await store.commit('acme', [
              { kind: 'environment', env: { ...cur, description: 'changed elsewhere', version: cur.version + 1 }, expectedVersion: cur.version },
            ]);
          }
          return store.commitSnapshot(...args);
        },
      }),
    };
    await createItem(racing, bob, 'config', 'dev', itemSchema.parse({ key: 'query.retries', value: 3 }));
    expect(raced).toBe(true);
    const env = (await store.getEnvironment('acme', 'dev'))!;
    expect(env.description).toBe('changed elsewhere');
    expect(env.itemCount).toBe(2);
    expect((await store.listSnapshots('acme', 'dev', 10)).items.map((s) => s.change.keys)).toEqual([
      ['config:query.retries'],
      ['config:query.timeout'],
      ['config:query.timeout'],
      [],
    ]);
  });

  it('requests a promotion, runs its gates, refuses the requester’s approval, approves it and executes it: each step’s record, audit entry and events', async () => {
    const { deps, store, started, answered, advance } = memoryDeps();
    const admin = userCtx('acme', 'alice', 'admin');
    const bob = userCtx('acme', 'bob', 'deployer', 'approver');
    const carol = userCtx('acme', 'carol', 'approver');
    await line(deps, admin);
    await createItem(deps, bob, 'config', 'dev', itemSchema.parse({ key: 'query.timeout', value: '30s' }));

    const requested = await createPromotion(deps, bob, promotionSchema.parse({ sourceEnvironment: 'dev', targetEnvironment: 'prod', notes: 'ship it' }));
    if ('dryRun' in requested) throw new Error('not a dry run');
    expect(requested).toMatchObject({ status: 'PENDING', policy: { requiresApproval: true, requiredApprovers: 1, separationOfDuties: true } });
    expect(started).toEqual([expect.objectContaining({ tenant: 'acme', promotionId: requested.id })]);
    expect((await store.activePromotions('acme', 'prod')).map((p) => p.id)).toEqual([requested.id]);

    // The flow's first task: the gates pass, and the promotion waits for an approver with the flow's token.
    advance(5);
    expect(await decideStep(deps, 'acme', requested.id, 'token-1')).toEqual({ next: 'await-approval' });
    const waiting = (await store.getPromotion('acme', requested.id))!;
    expect(waiting).toMatchObject({ status: 'AWAITING_APPROVAL', taskToken: 'token-1' });
    expect(waiting.gates?.map((g) => [g.gate, g.verdict])).toContainEqual(['policy_compliance', 'PASS']);

    await expect(approvePromotion(deps, bob, requested.id)).rejects.toBeInstanceOf(SelfApprovalForbidden);
    advance(60);
    const approved = await approvePromotion(deps, carol, requested.id, 'looks good');
    expect(approved).toMatchObject({ status: 'APPROVED', approvedBy: ['carol@acme.test'], taskToken: null });
    expect(await store.listApprovals('acme', requested.id)).toEqual([
      expect.objectContaining({ by: 'carol-id', comment: 'looks good', digest: requested.releaseDigest }),
    ]);
    expect(answered).toEqual([expect.objectContaining({ token: 'token-1', output: expect.objectContaining({ next: 'execute' }) })]);
    // Approving twice is idempotent: the same state, no second approval.
    expect((await approvePromotion(deps, carol, requested.id)).status).toBe('APPROVED');
    expect(await store.listApprovals('acme', requested.id)).toHaveLength(1);

    // Execute (no bake time): one commit moves prod's head to dev's content and completes the promotion.
    expect(await executeStep(deps, 'acme', requested.id, false)).toEqual({ next: 'done' });
    const [dev, prod] = [(await store.getEnvironment('acme', 'dev'))!, (await store.getEnvironment('acme', 'prod'))!];
    expect(prod.head.digest).toBe(dev.head.digest);
    expect(prod.itemCount).toBe(1);
    expect((await store.getPromotion('acme', requested.id))!.status).toBe('COMPLETED');
    expect(await store.activePromotions('acme', 'prod')).toEqual([]);
    expect((await store.listPromotions('acme', { status: ['COMPLETED'] }, 10)).items.map((p) => p.id)).toEqual([requested.id]);

    expect(store.outbox('acme').map((e) => e.type)).toEqual(
      expect.arrayContaining(['Promotion Requested', 'Approval Required', 'Promotion Approved', 'Promotion Completed']),
    );
    const actions = (await store.queryAudit('acme', { limit: 50, entityType: 'promotion' })).items.map((e) => e.action).reverse();
    expect(actions[0]).toBe('promotion.create');
    expect(actions).toEqual(expect.arrayContaining(['promotion.gates', 'promotion.approved']));
  });

  it('lead time is per environment and counts from the release first appearing in the line: a config carries its origin from dev through staging to prod', async () => {
    const { deps, store, advance } = memoryDeps();
    const admin = userCtx('acme', 'alice', 'admin');
    const bob = userCtx('acme', 'bob', 'deployer');
    const carol = userCtx('acme', 'carol', 'approver');
    for (const [position, name] of ['dev', 'staging', 'prod'].entries())
      await createEnvironment(deps, admin, envSchema.parse({ name, position, reason: 'test' }));
    await createItem(deps, bob, 'config', 'dev', itemSchema.parse({ key: 'query.timeout', value: '30s' }));
    const promote = async (sourceEnvironment: string, targetEnvironment: string) => {
      const p = await createPromotion(deps, bob, promotionSchema.parse({ sourceEnvironment, targetEnvironment }));
      if ('dryRun' in p) throw new Error('not a dry run');
      if ((await decideStep(deps, 'acme', p.id, `token-${p.id}`)).next === 'await-approval') await approvePromotion(deps, carol, p.id);
      expect(await executeStep(deps, 'acme', p.id, false)).toEqual({ next: 'done' });
    };
    const leadHours = async (env: string) => {
      const days = await store.getMetrics('acme', env, '2000-01-01', '2999-12-31');
      const ms = days.reduce((a, d) => a + (d.counters.leadMs ?? 0), 0);
      return { count: days.reduce((a, d) => a + (d.counters.leadCount ?? 0), 0), hours: Math.round(ms / 3_600_000) };
    };

    // Act: an hour after the change in dev it reaches staging; two hours later, prod.
    advance(3600);
    await promote('dev', 'staging');
    advance(7200);
    await promote('staging', 'prod');

    // Assert: each environment has its own lead time, both from dev's snapshot (prod: 3 h, not the 2 h since staging).
    expect(await leadHours('staging')).toEqual({ count: 1, hours: 1 });
    expect(await leadHours('prod')).toEqual({ count: 1, hours: 3 });
  });
});
