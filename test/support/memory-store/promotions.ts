import type { FreezeWindow } from '../../../domain/freeze/model.ts';
import { isTerminal, STATUSES, type Status } from '../../../domain/kernel/lifecycle.ts';
import type { Page } from '../../../domain/kernel/model.ts';
import {
  subjectKeyOf,
  type Approval,
  type Evidence,
  type Promotion,
  type RecurringPromotion,
  type RolloutTarget,
  type Rule,
} from '../../../domain/kernel/promotion-model.ts';
import type { EnvLease, PolicyOp, PolicyStorePort, PromotionFilter, PromotionOp, PromotionStorePort } from '../../../domain/promotion/ports.ts';
import { GSI_ACTIVE, GSI_ALL, GSI_STATUS, GSI_TARGET, indexAttributes, keys, TABLE } from '../../../functions/adapters/keys.ts';
import { strip } from '../../../functions/adapters/store/base.ts';
import type { MemoryState, Writers } from './area.ts';
import { create, createOrVersion, differs, less, overwrite, versioned, type Item } from './table.ts';
import { parseEventDetail } from '../../../domain/kernel/events.ts';

/**
 * A promotion's item: its gate results live in an item of their own (written only when they change,
 * as in the DynamoDB store), and its index attributes say whether it is in flight or final.
 */
function promotionItem(p: Promotion): Item {
  const { gates: _gates, ...rest } = p;
  return {
    ...keys.promotion(p.tenant, p.id),
    entity: 'Promotion',
    ...rest,
    subjectKey: subjectKeyOf(p.subject),
    ...indexAttributes.promotion(p, !isTerminal(p.status)),
  };
}

/** The promotion, with the gate results of its gates item (none: null). */
function openPromotion(item: Item, gates: Item | undefined): Promotion {
  const { subjectKey: _s, ...plain } = strip<Record<string, unknown>>(item)!;
  return { gates: null, ...plain, ...(gates ? { gates: gates.gates } : {}) } as unknown as Promotion;
}

/** Promotions with their gate results, approvals and evidence; the per-environment lease; rules and freeze windows. */
export function promotionArea({ table }: MemoryState) {
  const withGates = (tenant: string, items: Item[]) => items.map((i) => openPromotion(i, table.get(keys.promotionGates(tenant, String(i.id)))));

  const promotions: PromotionStorePort = {
    async getPromotion(tenant: string, id: string): Promise<Promotion | null> {
      const item = table.get(keys.promotion(tenant, id));
      return item ? openPromotion(item, table.get(keys.promotionGates(tenant, id))) : null;
    },

    async listPromotions(tenant: string, f: PromotionFilter, limit: number, cursor?: string): Promise<Page<Promotion>> {
      // The DynamoDB store's choice of index: in-flight statuses from the active index, one final status from its own.
      const inFlight = !!f.status?.length && f.status.every((s) => (STATUSES as readonly string[]).includes(s) && !isTerminal(s as Status));
      const final = !inFlight && f.status?.length === 1 ? f.status[0]! : undefined;
      const [index, partition] = inFlight
        ? [GSI_ACTIVE, keys.promotionsActive(tenant)]
        : final
          ? [GSI_STATUS, keys.promotionsByStatus(tenant, final)]
          : f.target
            ? [GSI_TARGET, keys.promotionsByTarget(tenant, f.target)]
            : [GSI_ALL, keys.promotionsAll(tenant)];
      const statuses = f.status ? new Set<unknown>(f.status) : undefined;
      const filter = (i: Item) =>
        (index === GSI_TARGET || f.target === undefined || i.targetEnvironment === f.target) &&
        (f.source === undefined || i.sourceEnvironment === f.source) &&
        (f.subject === undefined || i.subjectKey === f.subject) &&
        (!statuses || statuses.has(i.status));
      const page = table.page(tenant, { index, partition, forward: false, limit, filter }, cursor);
      return { items: withGates(tenant, page.items), nextCursor: page.nextCursor };
    },

    async listRolloutTargets(tenant: string, promotionId: string): Promise<RolloutTarget[]> {
      const k = keys.rolloutTargets(tenant, promotionId);
      return table.query(k.pk, { prefix: k.skPrefix }).map((i) => strip<RolloutTarget>(i)!);
    },

    async putPlanPages(tenant, promotionId, pages) {
      for (const pg of pages)
        table.put({ ...keys.planPage(tenant, promotionId, pg.plan, pg.wave, pg.page), entity: 'PlanPage', wave: pg.wave, page: pg.page, names: [...pg.names] });
    },

    async getPlanPages(tenant, promotionId, plan, wave, pages) {
      const items = Array.from({ length: Math.max(0, pages) }, (_, i) => table.get(keys.planPage(tenant, promotionId, plan, wave, i)));
      if (items.some((i) => !i)) throw new Error(`the stored plan of ${promotionId} misses a page of wave ${wave}`);
      return items.flatMap((i) => i!.names as string[]);
    },

    async getRolloutTarget(tenant: string, promotionId: string, target: string): Promise<RolloutTarget | null> {
      return strip<RolloutTarget>(table.get(keys.rolloutTarget(tenant, promotionId, target)));
    },

    async getRolloutTargets(tenant: string, promotionId: string, names: readonly string[]): Promise<RolloutTarget[]> {
      return names.flatMap((n) => {
        const i = table.get(keys.rolloutTarget(tenant, promotionId, n));
        return i ? [strip<RolloutTarget>(i)!] : [];
      });
    },

    async activePromotions(tenant: string, target: string): Promise<Promotion[]> {
      const items = table.queryIndex(GSI_ACTIVE, keys.promotionsActive(tenant)).filter((i) => i.targetEnvironment === target);
      return withGates(tenant, items).filter((p) => !isTerminal(p.status));
    },

    async listApprovals(tenant: string, promotionId: string): Promise<Approval[]> {
      const k = keys.approvals(tenant, promotionId);
      return table.query(k.pk, { prefix: k.skPrefix }).map((i) => strip<Approval>(i)!);
    },

    async listEvidence(tenant: string, owners: string[]): Promise<Evidence[]> {
      return owners.flatMap((owner) =>
        table.query(keys.evidenceOf(tenant, owner)).map((i) => {
          const { owner: _o, ...e } = strip<Evidence & { owner: string }>(i)!;
          return e;
        }),
      );
    },

    async acquireLock(tenant: string, env: string, holder: string, now: Date, ttlSeconds: number): Promise<boolean> {
      const nowSec = Math.floor(now.getTime() / 1000);
      return table.write({
        key: keys.lock(tenant, env),
        // Free, re-entrant for the same holder, or the previous lease ran out.
        when: (cur) => cur === undefined || cur.holder === holder || less(cur.leaseUntil, nowSec),
        to: { ...keys.lock(tenant, env), entity: 'EnvLock', holder, leaseUntil: nowSec + ttlSeconds, [TABLE.ttlAttribute]: nowSec + ttlSeconds + 3600 },
        reason: 'unknown',
      });
    },

    async releaseLock(tenant: string, env: string, holder: string): Promise<void> {
      table.write({ key: keys.lock(tenant, env), when: (cur) => cur?.holder === holder, to: null, reason: 'unknown' });
    },

    async getReleaseClaim(tenant: string, target: string, source: string, releaseDigest: string): Promise<string | null> {
      const holder = table.get(keys.releaseClaim(tenant, target, source, releaseDigest))?.holder;
      return typeof holder === 'string' ? holder : null;
    },

    async getLock(tenant: string, env: string): Promise<EnvLease | null> {
      const i = table.get(keys.lock(tenant, env));
      return i ? { holder: String(i.holder), leaseUntil: Number(i.leaseUntil) } : null;
    },
  };

  const policies: PolicyStorePort = {
    async getRule(tenant: string, id: string): Promise<Rule | null> {
      return strip<Rule>(table.get(keys.rule(tenant, id)));
    },
    async listRules(tenant: string): Promise<Rule[]> {
      const k = keys.rules(tenant);
      return table.query(k.pk, { prefix: k.skPrefix }).map((i) => strip<Rule>(i)!);
    },
    async listFreezeWindows(tenant: string): Promise<FreezeWindow[]> {
      const k = keys.freezeWindows(tenant);
      return table.query(k.pk, { prefix: k.skPrefix }).map((i) => strip<FreezeWindow>(i)!);
    },
    async getRecurringPromotion(tenant: string, name: string): Promise<RecurringPromotion | null> {
      return strip<RecurringPromotion>(table.get(keys.recurringPromotion(tenant, name)));
    },
    async listRecurringPromotions(tenant: string): Promise<RecurringPromotion[]> {
      const k = keys.recurringPromotions(tenant);
      return table.query(k.pk, { prefix: k.skPrefix }).map((i) => strip<RecurringPromotion>(i)!);
    },
  };

  /** As the DynamoDB store's: the release's claim, taken from the promotion that held it (null: from nobody). */
  const claimWrite = (p: Promotion, { source, previous }: { source: string; previous: string | null }) => {
    const key = keys.releaseClaim(p.tenant, p.targetEnvironment, source, p.releaseDigest);
    return {
      key,
      when: (cur: Record<string, unknown> | undefined) => (previous === null ? cur === undefined : cur?.holder === previous),
      to: { ...key, entity: 'ReleaseClaim', holder: p.id },
      reason: 'version' as const,
    };
  };
  const writes: Writers<PromotionOp | PolicyOp> = {
    promotion: (op) => [
      versioned(promotionItem(op.promotion), op.expectedVersion),
      ...(op.gatesChanged
        ? [overwrite({ ...keys.promotionGates(op.promotion.tenant, op.promotion.id), entity: 'PromotionGates', gates: op.promotion.gates })]
        : []),
      ...(op.claim ? [claimWrite(op.promotion, op.claim)] : []),
    ],
    rolloutTarget: (op, ctx) => [
      versioned(
        { ...keys.rolloutTarget(ctx.tenant, op.target.promotionId, op.target.name), entity: 'RolloutTarget', ...op.target },
        op.expectedVersion,
        'version',
        createOrVersion(op.expectedVersion),
      ),
      // Decided on the promotion as it was: one written since (the flow's decision to stop) loses the write.
      ...(op.promotionVersion === undefined
        ? []
        : [
            {
              key: keys.promotion(ctx.tenant, op.target.promotionId),
              when: (cur: Record<string, unknown> | undefined) => cur?.version === op.promotionVersion,
              to: (cur: Record<string, unknown> | undefined) => cur!,
              reason: 'version' as const,
            },
          ]),
    ],
    // As acquireLock's condition, read only: free, this holder's, or the lease ran out.
    leaseFree: (op, ctx) => [
      {
        key: keys.lock(ctx.tenant, op.env),
        when: (cur) => cur === undefined || cur.holder === op.holder || less(cur.leaseUntil, Math.floor(op.now.getTime() / 1000)),
        to: (cur) => cur!,
        reason: 'version' as const,
      },
    ],
    // One approval per approver and release digest: a second one for the same digest is refused.
    approval: (op, ctx) => [
      {
        key: keys.approval(ctx.tenant, op.promotionId, op.approval.by),
        when: (cur) => cur === undefined || differs(cur.digest, op.approval.digest),
        to: { ...keys.approval(ctx.tenant, op.promotionId, op.approval.by), entity: 'Approval', ...op.approval },
        reason: 'exists',
      },
      // Decided on the promotion as it was: one changed since (a rebase) loses the write.
      ...(op.promotionVersion === undefined
        ? []
        : [
            {
              key: keys.promotion(ctx.tenant, op.promotionId),
              when: (cur: Record<string, unknown> | undefined) => cur?.version === op.promotionVersion,
              to: (cur: Record<string, unknown> | undefined) => cur!,
              reason: 'version' as const,
            },
          ]),
    ],
    // Evidence is a fact item: the commit's events ride on it when it comes before the commit's audit entry (or there is none).
    evidence: (op, ctx) => {
      for (const e of ctx.events) parseEventDetail(e.type, e.detail);
      const e = op.evidence;
      return [create({ ...keys.evidence(ctx.tenant, op.owner, e.submittedAt, e.id), entity: 'Evidence', owner: op.owner, ...e }, 'exists')];
    },
    rule: (op, ctx) => [
      versioned({ ...keys.rule(ctx.tenant, op.rule.id), entity: 'Rule', ...op.rule }, op.expectedVersion, 'version', createOrVersion(op.expectedVersion)),
    ],
    rulePair: (op, ctx) => [
      op.claim
        ? create({ ...keys.rulePair(ctx.tenant, op.source, op.target), entity: 'RulePair', ruleId: op.ruleId }, 'exists')
        : { key: keys.rulePair(ctx.tenant, op.source, op.target), when: (cur) => cur === undefined || cur.ruleId === op.ruleId, to: null, reason: 'version' },
    ],
    deleteRule: (op, ctx) => [{ key: keys.rule(ctx.tenant, op.id), when: (cur) => cur?.version === op.expectedVersion, to: null, reason: 'version' }],
    freezeWindow: (op, ctx) => [create({ ...keys.freezeWindow(ctx.tenant, op.window.id), entity: 'FreezeWindow', ...op.window }, 'exists')],
    deleteFreezeWindow: (op, ctx) => [{ key: keys.freezeWindow(ctx.tenant, op.id), when: (cur) => cur !== undefined, to: null, reason: 'unknown' }],
    recurringPromotion: (op, ctx) => [
      versioned(
        { ...keys.recurringPromotion(ctx.tenant, op.recurring.name), entity: 'Recurring', ...op.recurring },
        op.expectedRev,
        'rev',
        createOrVersion(op.expectedRev),
      ),
    ],
    deleteRecurringPromotion: (op, ctx) => [
      { key: keys.recurringPromotion(ctx.tenant, op.name), when: (cur) => cur?.rev === op.expectedRev, to: null, reason: 'version' },
    ],
  };

  return { port: { ...promotions, ...policies }, writes };
}
