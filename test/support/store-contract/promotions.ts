import { describe, expect, it } from 'vitest';
import type { Approval, Evidence, GateResult, Promotion, RecurringPromotion, RolloutTarget } from '../../../domain/kernel/promotion-model.ts';
import type { Store } from '../../../domain/ports.ts';
import { allPages, audit, conflict, event, freezeWindow, later, promotion, refused, rule, uid, type Contract } from './fixtures.ts';

const gate = (verdict: GateResult['verdict']): GateResult[] => [{ gate: 'policy_compliance', verdict, blocking: true, reason: 'ok', evidenceRefs: [] }];

/** Writes a new promotion as the domain does (with its audit entry). */
async function create(store: Store, p: Promotion): Promise<void> {
  await store.commit(p.tenant, [
    { kind: 'promotion', promotion: p, expectedVersion: null, gatesChanged: p.gates !== null },
    { kind: 'audit', entry: audit(p.tenant, { entityType: 'promotion', entityId: p.id }) },
  ]);
}

/** Moves a stored promotion to a status (the next version). */
async function move(store: Store, p: Promotion, status: Promotion['status']): Promise<Promotion> {
  const next = { ...p, status, version: p.version + 1 };
  await store.commit(p.tenant, [{ kind: 'promotion', promotion: next, expectedVersion: p.version }]);
  return next;
}

/** Promotions (with gates, approvals, evidence, the execution lease) and what decides them (rules, freeze windows). */
export function promotionContract(c: Contract) {
  describe('promotions', () => {
    it('creates a promotion once (exists), changes it on its version (version); reads back what was written', async () => {
      const t = c.tenant();
      const p = promotion(t);
      await create(c.store(), p);
      expect(await c.store().getPromotion(t, p.id)).toEqual(p);
      expect(await conflict(create(c.store(), p))).toBe('exists');
      const waiting = await move(c.store(), p, 'VALIDATING');
      expect(await conflict(c.store().commit(t, [{ kind: 'promotion', promotion: { ...p, notes: 'stale', version: 2 }, expectedVersion: 1 }]))).toBe('version');
      expect(await c.store().getPromotion(t, p.id)).toEqual(waiting);
      expect(await c.store().getPromotion(t, 'prm_missing')).toBeNull();
      expect(await c.store().getPromotion(c.tenant(), p.id)).toBeNull();
    });

    it('stores gate results only when a write says they changed', async () => {
      const t = c.tenant();
      const p = promotion(t);
      await create(c.store(), p);
      const gated = { ...p, status: 'AWAITING_APPROVAL' as const, gates: gate('PASS'), version: 2 };
      await c.store().commit(t, [{ kind: 'promotion', promotion: gated, expectedVersion: 1, gatesChanged: true }]);
      expect((await c.store().getPromotion(t, p.id))?.gates).toEqual(gate('PASS'));
      // A write that does not say so leaves the stored results as they were.
      await c.store().commit(t, [{ kind: 'promotion', promotion: { ...gated, gates: gate('FAIL'), version: 3 }, expectedVersion: 2 }]);
      const read = await c.store().getPromotion(t, p.id);
      expect(read?.gates).toEqual(gate('PASS'));
      expect(read?.version).toBe(3);
      expect((await c.store().listPromotions(t, {}, 10)).items[0]?.gates).toEqual(gate('PASS'));
    });

    it('lists newest first by target, source, subject and status (in flight, one final, several), a page at a time', async () => {
      const t = c.tenant();
      const a = promotion(t, { targetEnvironment: 'staging' });
      const b = promotion(t, { targetEnvironment: 'prod', sourceEnvironment: 'staging' });
      const cfg = promotion(t, {
        subject: { type: 'config', sourceSnapshot: { seq: 1, digest: 'sha256:s' }, promotionType: 'FULL', configIds: [], flagIds: [], keyPatterns: [] },
      });
      const d = promotion(t, { targetEnvironment: 'prod', sourceEnvironment: 'staging' });
      for (const p of [a, b, cfg, d]) await create(c.store(), p);
      await move(c.store(), a, 'AWAITING_APPROVAL');
      const done = await move(c.store(), await move(c.store(), b, 'EXECUTING'), 'COMPLETED');
      await move(c.store(), d, 'CANCELLED');
      const ids = async (f: Parameters<Store['listPromotions']>[1]) =>
        (await allPages((cursor) => c.store().listPromotions(t, f, 2, cursor))).items.map((p) => p.id);
      expect(await ids({})).toEqual([d.id, cfg.id, b.id, a.id]);
      expect(await ids({ target: 'prod' })).toEqual([d.id, b.id]);
      expect(await ids({ source: 'staging' })).toEqual([d.id, b.id]);
      expect(await ids({ subject: 'config' })).toEqual([cfg.id]);
      expect(await ids({ subject: 'web', target: 'staging' })).toEqual([a.id]);
      expect(await ids({ status: ['PENDING', 'AWAITING_APPROVAL'] })).toEqual([cfg.id, a.id]);
      expect(await ids({ status: ['AWAITING_APPROVAL'], target: 'staging' })).toEqual([a.id]);
      expect(await ids({ status: ['COMPLETED'] })).toEqual([b.id]);
      expect(await ids({ status: ['COMPLETED', 'CANCELLED'] })).toEqual([d.id, b.id]);
      expect(await ids({ status: ['PENDING', 'COMPLETED'], target: 'prod' })).toEqual([b.id]);
      expect((await c.store().listPromotions(t, { status: ['COMPLETED'] }, 10)).items).toEqual([done]);
      expect((await c.store().listPromotions(c.tenant(), {}, 10)).items).toEqual([]);
    });

    it('refuses a cursor of another listing or tenant, and one it never returned', async () => {
      const t = c.tenant();
      for (let i = 0; i < 3; i++) await create(c.store(), promotion(t));
      const page = await c.store().listPromotions(t, {}, 1);
      expect(page.nextCursor).toBeDefined();
      expect(await refused(c.store().listPromotions(t, { target: 'staging' }, 1, page.nextCursor))).toMatch(/another listing/);
      expect(await refused(c.store().listPromotions(t, { status: ['PENDING'] }, 1, page.nextCursor))).toMatch(/another listing/);
      expect(await refused(c.store().listPromotions(c.tenant(), {}, 1, page.nextCursor))).toMatch(/not a cursor this API returned/);
      expect(await refused(c.store().listPromotions(t, {}, 1, Buffer.from('{"pk":1}').toString('base64url')))).toMatch(/not a cursor this API returned/);
    });

    it('lists what is in flight to a target, oldest first, final ones left out', async () => {
      const t = c.tenant();
      const [a, b, x, other] = [promotion(t), promotion(t), promotion(t), promotion(t, { targetEnvironment: 'prod' })];
      for (const p of [a, b, x, other]) await create(c.store(), p);
      await move(c.store(), b, 'AWAITING_APPROVAL');
      await move(c.store(), x, 'CANCELLED');
      expect((await c.store().activePromotions(t, 'staging')).map((p) => [p.id, p.status])).toEqual([
        [a.id, 'PENDING'],
        [b.id, 'AWAITING_APPROVAL'],
      ]);
      expect((await c.store().activePromotions(t, 'prod')).map((p) => p.id)).toEqual([other.id]);
    });

    it('keeps one approval per approver and release digest: the same again is refused (exists), a new digest replaces it', async () => {
      const t = c.tenant();
      const p = promotion(t);
      await create(c.store(), p);
      const by = (who: string, digest: string): Approval => ({ by: who, name: `${who}@x.test`, at: later().toISOString(), digest });
      await c.store().commit(t, [{ kind: 'approval', promotionId: p.id, approval: by('carol', 'sha256:one') }]);
      await c.store().commit(t, [{ kind: 'approval', promotionId: p.id, approval: { ...by('alice', 'sha256:one'), comment: 'lgtm' } }]);
      expect(await conflict(c.store().commit(t, [{ kind: 'approval', promotionId: p.id, approval: by('carol', 'sha256:one') }]))).toBe('exists');
      const again = by('carol', 'sha256:two');
      await c.store().commit(t, [{ kind: 'approval', promotionId: p.id, approval: again }]);
      const listed = await c.store().listApprovals(t, p.id);
      expect(listed.map((a) => [a.by, a.digest, a.comment])).toEqual([
        ['alice', 'sha256:one', 'lgtm'],
        ['carol', 'sha256:two', undefined],
      ]);
      expect(listed[1]).toEqual(again);
      // Approvals are not part of the promotion's own record.
      expect(await c.store().getPromotion(t, p.id)).toEqual(p);
    });

    it("an approval decided on the promotion's version loses the write once the promotion changed (version), and is stored while it has not", async () => {
      const t = c.tenant();
      const p = promotion(t);
      await create(c.store(), p);
      const by = (who: string): Approval => ({ by: who, name: `${who}@x.test`, at: later().toISOString(), digest: 'sha256:one' });
      expect(await conflict(c.store().commit(t, [{ kind: 'approval', promotionId: p.id, approval: by('carol'), promotionVersion: p.version + 1 }]))).toBe(
        'version',
      );
      expect(await c.store().listApprovals(t, p.id)).toEqual([]);
      await c.store().commit(t, [{ kind: 'approval', promotionId: p.id, approval: by('carol'), promotionVersion: p.version }]);
      expect((await c.store().listApprovals(t, p.id)).map((a) => a.by)).toEqual(['carol']);
      expect(await c.store().getPromotion(t, p.id)).toEqual(p);
    });

    it("a rollout target's change decided on the promotion's version loses the write once the promotion changed (version), and is stored while it has not", async () => {
      const t = c.tenant();
      const p = promotion(t);
      await create(c.store(), p);
      const at = later().toISOString();
      const target: RolloutTarget = {
        promotionId: p.id,
        name: 'canary',
        wave: 1,
        state: 'BAKING',
        before: null,
        appliedAt: at,
        deploymentId: 'dep-1',
        confirm: null,
        taskToken: null,
        bake: null,
        alarm: null,
        error: null,
        rolledBackAt: null,
        version: 1,
        updatedAt: at,
      };
      expect(await conflict(c.store().commit(t, [{ kind: 'rolloutTarget', target, expectedVersion: null, promotionVersion: p.version + 1 }]))).toBe('version');
      expect(await c.store().getRolloutTarget(t, p.id, 'canary')).toBeNull();
      await c.store().commit(t, [{ kind: 'rolloutTarget', target, expectedVersion: null, promotionVersion: p.version }]);
      expect((await c.store().getRolloutTarget(t, p.id, 'canary'))?.state).toBe('BAKING');
      expect(await c.store().getPromotion(t, p.id)).toEqual(p);
    });

    it('keeps evidence per owner in time order, each once (exists); events may ride on it', async () => {
      const t = c.tenant();
      const ev = (type: Evidence['type']): Evidence => ({
        id: uid('ev-'),
        type,
        payload: { passed: 1, nested: { a: [1, 'x', null] } },
        submittedBy: 'u1',
        submittedAt: later().toISOString(),
      });
      const [first, second, third] = [ev('test_results'), ev('security_scan'), ev('benchmark')];
      await c.store().commit(t, [
        { kind: 'evidence', owner: 'promotion:p1', evidence: first },
        { kind: 'event', event: event(t) },
      ]);
      await c.store().commit(t, [{ kind: 'evidence', owner: 'artifact:web@v1', evidence: second }]);
      await c.store().commit(t, [
        { kind: 'evidence', owner: 'promotion:p1', evidence: third },
        { kind: 'audit', entry: audit(t) },
        { kind: 'event', event: event(t) },
      ]);
      expect(await conflict(c.store().commit(t, [{ kind: 'evidence', owner: 'promotion:p1', evidence: first }]))).toBe('exists');
      expect(await c.store().listEvidence(t, ['promotion:p1', 'artifact:web@v1', 'promotion:none'])).toEqual([first, third, second]);
      expect(await c.store().listEvidence(t, [])).toEqual([]);
    });

    it('leases an environment to one holder at a time: re-entrant, taken over when it ran out, released by its holder only', async () => {
      const t = c.tenant();
      const now = new Date('2030-01-01T00:00:00.000Z');
      const at = (s: number) => new Date(now.getTime() + s * 1000);
      expect(await c.store().getLock(t, 'prod')).toBeNull();
      expect(await c.store().acquireLock(t, 'prod', 'p1', now, 60)).toBe(true);
      expect(await c.store().getLock(t, 'prod')).toEqual({ holder: 'p1', leaseUntil: now.getTime() / 1000 + 60 });
      expect(await c.store().acquireLock(t, 'prod', 'p1', at(10), 60)).toBe(true);
      expect(await c.store().acquireLock(t, 'prod', 'p2', at(30), 60)).toBe(false);
      expect(await c.store().acquireLock(t, 'staging', 'p2', at(30), 60)).toBe(true);
      await c.store().releaseLock(t, 'prod', 'p2');
      expect(await c.store().acquireLock(t, 'prod', 'p2', at(31), 60)).toBe(false);
      // p1's lease (renewed at 10 s) runs to 70 s: after it, p2 takes over.
      expect(await c.store().acquireLock(t, 'prod', 'p2', at(71), 60)).toBe(true);
      expect(await c.store().getLock(t, 'prod')).toEqual({ holder: 'p2', leaseUntil: at(71).getTime() / 1000 + 60 });
      await c.store().releaseLock(t, 'prod', 'p2');
      expect(await c.store().getLock(t, 'prod')).toBeNull();
      expect(await c.store().acquireLock(t, 'prod', 'p3', at(72), 60)).toBe(true);
    });

    it('conditions a write on an environment’s lease being free, its own, or run out (leaseFree), writing no lease', async () => {
      const t = c.tenant();
      const now = new Date('2030-01-01T00:00:00.000Z');
      const at = (s: number) => new Date(now.getTime() + s * 1000);
      const free = (holder: string, when: Date) =>
        c.store().commit(t, [
          { kind: 'leaseFree', env: 'prod', holder, now: when },
          { kind: 'audit', entry: audit(t) },
        ]);
      await free('p1', now);
      expect(await c.store().getLock(t, 'prod')).toBeNull();
      expect(await c.store().acquireLock(t, 'prod', 'p2', now, 60)).toBe(true);
      expect(await conflict(free('p1', at(30)))).toBe('version');
      await free('p2', at(30));
      await free('p1', at(61));
      expect(await c.store().getLock(t, 'prod')).toEqual({ holder: 'p2', leaseUntil: now.getTime() / 1000 + 60 });
    });

    it('keeps the pages of a stored plan apart from the promotion: a wave’s names in page order, the same pages written again changing nothing', async () => {
      const t = c.tenant();
      const p = promotion(t, { status: 'EXECUTING' });
      await create(c.store(), p);
      const names = (from: number, n: number) => Array.from({ length: n }, (_, i) => `cell-${String(from + i).padStart(5, '0')}`);
      const pages = [
        { plan: 'abc123', wave: 1, page: 0, names: names(0, 3) },
        { plan: 'abc123', wave: 2, page: 0, names: names(3, 5000) },
        { plan: 'abc123', wave: 2, page: 1, names: names(5003, 2) },
      ];
      await c.store().putPlanPages(t, p.id, pages);
      await c.store().putPlanPages(t, p.id, pages);
      expect(await c.store().getPlanPages(t, p.id, 'abc123', 2, 2)).toEqual(names(3, 5002));
      expect(await c.store().getPlanPages(t, p.id, 'abc123', 1, 1)).toEqual(names(0, 3));
      // The promotion reads back as it was written (its own read does not take the pages).
      expect(await c.store().getPromotion(t, p.id)).toEqual(p);
      // A page the plan names but the store has not: an error, never a shorter wave.
      await expect(c.store().getPlanPages(t, p.id, 'abc123', 1, 2)).rejects.toThrow(/misses a page/);
    });
  });

  describe('policies', () => {
    it('creates a rule once (exists), changes and deletes it on its version (version); lists a tenant’s rules', async () => {
      const t = c.tenant();
      const r = rule('r1');
      await c.store().commit(t, [{ kind: 'rule', rule: r, expectedVersion: null }]);
      await c.store().commit(t, [{ kind: 'rule', rule: rule('r0', { targetEnvironment: 'prod' }), expectedVersion: null }]);
      expect(await conflict(c.store().commit(t, [{ kind: 'rule', rule: r, expectedVersion: null }]))).toBe('exists');
      const r2 = { ...r, requiredApprovers: 2, version: 2 };
      await c.store().commit(t, [{ kind: 'rule', rule: r2, expectedVersion: 1 }]);
      expect(await conflict(c.store().commit(t, [{ kind: 'rule', rule: { ...r, version: 2 }, expectedVersion: 1 }]))).toBe('version');
      expect(await c.store().getRule(t, 'r1')).toEqual(r2);
      expect((await c.store().listRules(t)).map((x) => x.id)).toEqual(['r0', 'r1']);
      expect(await conflict(c.store().commit(t, [{ kind: 'deleteRule', id: 'r1', expectedVersion: 1 }]))).toBe('version');
      expect(await conflict(c.store().commit(t, [{ kind: 'deleteRule', id: 'r9', expectedVersion: 1 }]))).toBe('version');
      await c.store().commit(t, [{ kind: 'deleteRule', id: 'r1', expectedVersion: 2 }]);
      expect(await c.store().getRule(t, 'r1')).toBeNull();
    });

    it('claims one rule per source → target pair (exists); releases it only for its rule (version), or when it is not there', async () => {
      const t = c.tenant();
      const claim = (ruleId: string, claimed = true) => c.store().commit(t, [{ kind: 'rulePair', source: 'dev', target: 'staging', ruleId, claim: claimed }]);
      await claim('r1');
      expect(await conflict(claim('r2'))).toBe('exists');
      expect(await conflict(claim('r2', false))).toBe('version');
      await claim('r1', false);
      await claim('r1', false);
      await claim('r2');
    });

    it('adds freeze windows once (exists) and removes them; removing one that is not there fails (unknown)', async () => {
      const t = c.tenant();
      await c.store().commit(t, [
        { kind: 'freezeWindow', window: freezeWindow(t, 'w2') },
        { kind: 'audit', entry: audit(t, { entityType: 'freeze-window' }) },
      ]);
      await c.store().commit(t, [{ kind: 'freezeWindow', window: freezeWindow(t, 'w1') }]);
      expect(await conflict(c.store().commit(t, [{ kind: 'freezeWindow', window: freezeWindow(t, 'w1') }]))).toBe('exists');
      expect(await c.store().listFreezeWindows(t)).toEqual([freezeWindow(t, 'w1'), freezeWindow(t, 'w2')]);
      await c.store().commit(t, [{ kind: 'deleteFreezeWindow', id: 'w1' }]);
      expect(await conflict(c.store().commit(t, [{ kind: 'deleteFreezeWindow', id: 'w1' }]))).toBe('unknown');
      expect((await c.store().listFreezeWindows(t)).map((w) => w.id)).toEqual(['w2']);
    });

    it('creates a recurring promotion once (exists), writes and deletes it on its revision (version); lists a tenant’s by name', async () => {
      const t = c.tenant();
      const at = '2026-11-25T12:00:00.000Z';
      const recurring = (name: string, rev: number, over: Partial<RecurringPromotion> = {}): RecurringPromotion => ({
        name,
        source: 'staging',
        target: 'prod',
        cron: '0 9 * * 1-5',
        timeZone: 'Europe/Berlin',
        paused: false,
        lastRuns: [],
        version: 1,
        rev,
        createdAt: at,
        createdBy: 'admin',
        updatedAt: at,
        updatedBy: 'admin',
        ...over,
      });
      await c.store().commit(t, [
        { kind: 'recurringPromotion', recurring: recurring('weekdays', 1), expectedRev: null },
        { kind: 'audit', entry: audit(t, { entityType: 'recurring-promotion' }) },
      ]);
      await c.store().commit(t, [{ kind: 'recurringPromotion', recurring: recurring('month-end', 1, { artifact: 'api' }), expectedRev: null }]);
      expect(await conflict(c.store().commit(t, [{ kind: 'recurringPromotion', recurring: recurring('weekdays', 1), expectedRev: null }]))).toBe('exists');
      const ran = recurring('weekdays', 2, { lastRuns: [{ at, outcome: 'skipped', code: 'nothing-new', reason: 'nothing new' }] });
      await c.store().commit(t, [{ kind: 'recurringPromotion', recurring: ran, expectedRev: 1 }]);
      expect(await conflict(c.store().commit(t, [{ kind: 'recurringPromotion', recurring: recurring('weekdays', 2), expectedRev: 1 }]))).toBe('version');
      expect(await c.store().getRecurringPromotion(t, 'weekdays')).toEqual(ran);
      expect((await c.store().listRecurringPromotions(t)).map((r) => r.name)).toEqual(['month-end', 'weekdays']);
      expect(await conflict(c.store().commit(t, [{ kind: 'deleteRecurringPromotion', name: 'weekdays', expectedRev: 1 }]))).toBe('version');
      await c.store().commit(t, [{ kind: 'deleteRecurringPromotion', name: 'weekdays', expectedRev: 2 }]);
      expect(await c.store().getRecurringPromotion(t, 'weekdays')).toBeNull();
      expect(await c.store().getRecurringPromotion(c.tenant(), 'month-end')).toBeNull();
    });
  });
}
