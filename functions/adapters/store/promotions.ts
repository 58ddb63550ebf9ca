import { brotliDecompressSync } from 'node:zlib';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Page } from '#domain/kernel/model';
import { isTerminal, STATUSES, type Status } from '#domain/kernel/lifecycle';
import { subjectKeyOf, type Approval, type Evidence, type Promotion, type RolloutTarget } from '#domain/kernel/promotion-model';
import type { DomainEvent } from '#domain/kernel/ports';
import type { EnvLease, PromotionFilter, PromotionOp, PromotionStorePort } from '#domain/promotion/ports';
import { GSI_ACTIVE, GSI_ALL, GSI_STATUS, GSI_TARGET, indexAttributes, keys, TABLE } from '../keys.ts';
import { createOrVersion, kindsOf, one, type Area, type OpItems } from './area.ts';
import { compress, strip, type StoreBase, type TxItem } from './base.ts';
import { outboxAttribute } from './outbox.ts';

/**
 * A promotion is rewritten at every step, so its size is paid at every step: the attributes that
 * conditions, filters and indexes use stay plain, the rest (policy, gates, transitions, result…)
 * is one brotli-compressed JSON document (`doc`), about a third of its plain size.
 */
export function promotionItem(p: Promotion): Record<string, unknown> {
  const subjectKey = subjectKeyOf(p.subject);
  // Plain: what conditions and index filters read. The gate results live in their own item.
  const { version, status, sourceEnvironment, targetEnvironment, gates: _gates, ...rest } = p;
  return {
    ...keys.promotion(p.tenant, p.id),
    entity: 'Promotion',
    version,
    status,
    sourceEnvironment,
    targetEnvironment,
    doc: compress(JSON.stringify(rest)),
    subjectKey,
    ...indexAttributes.promotion(p, !isTerminal(p.status)),
  };
}

/** A promotion item back to the domain's shape (see promotionItem; items written before `doc` are plain). */
export function openPromotion(item: Record<string, unknown>, gates?: Record<string, unknown>): Promotion {
  const { subjectKey: _s, doc, ...plain } = strip<Record<string, unknown>>(item)!;
  const rest = doc ? (JSON.parse(brotliDecompressSync(doc as Uint8Array).toString('utf8')) as Record<string, unknown>) : {};
  return { gates: null, ...rest, ...plain, ...(gates ? { gates: gates.gates } : {}) } as unknown as Promotion;
}

/** Promotions with their gate results, approvals and evidence; the per-environment execution lease. */
export function promotionArea(base: StoreBase): Area<PromotionStorePort, PromotionOp> {
  const { db, table } = base;

  /** The gate results of listed promotions (one BatchGetItem). */
  async function withGates(tenant: string, items: Record<string, unknown>[]): Promise<Promotion[]> {
    const promotions = items.map((i) => openPromotion(i));
    const found = await base.batchGet(promotions.map((p) => keys.promotionGates(tenant, p.id)));
    const byPk = new Map(found.map((g) => [g.pk as string, g]));
    return promotions.map((p) => ({ ...p, gates: (byPk.get(keys.promotionGates(tenant, p.id).pk)?.gates as Promotion['gates']) ?? null }));
  }

  const port: PromotionStorePort = {
    async getPromotion(tenant: string, id: string): Promise<Promotion | null> {
      // One request for the promotion and its gate results (sk P and P#gates).
      const k = keys.promotion(tenant, id);
      const r = await db.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
          ExpressionAttributeValues: { ':pk': k.pk, ':p': k.sk },
          ConsistentRead: true,
        }),
      );
      const item = r.Items?.find((i) => i.sk === k.sk);
      return item
        ? openPromotion(
            item,
            r.Items?.find((i) => i.sk !== k.sk),
          )
        : null;
    },

    /** The gate results of listed promotions (one BatchGetItem). */
    async listPromotions(tenant: string, f: PromotionFilter, limit: number, cursor?: string): Promise<Page<Promotion>> {
      // Statuses still in flight are read from the active index, one final status from its own (keys.ts).
      const inFlight = !!f.status?.length && f.status.every((s) => (STATUSES as readonly string[]).includes(s) && !isTerminal(s as Status));
      const final = !inFlight && f.status?.length === 1 ? f.status[0]! : undefined;
      const [index, pk] = inFlight
        ? [GSI_ACTIVE, keys.promotionsActive(tenant)]
        : final
          ? [GSI_STATUS, keys.promotionsByStatus(tenant, final)]
          : f.target
            ? [GSI_TARGET, keys.promotionsByTarget(tenant, f.target)]
            : [GSI_ALL, keys.promotionsAll(tenant)];
      const names: Record<string, string> = { '#pk': index.partitionKey };
      const values: Record<string, unknown> = { ':pk': pk };
      const filters: string[] = [];
      const add = (attr: string, value: string | undefined) => {
        if (value === undefined) return;
        names[`#${attr}`] = attr;
        values[`:${attr}`] = value;
        filters.push(`#${attr} = :${attr}`);
      };
      if (index !== GSI_TARGET) add('targetEnvironment', f.target);
      add('sourceEnvironment', f.source);
      add('subjectKey', f.subject);
      // The indexes do not project `status` (keys.ts INDEX_FILTERS): statuses are filtered on the items
      // read from the table (the indexes are eventually consistent: an item that has moved on since is
      // left out).
      const statuses = f.status ? new Set<unknown>(f.status) : undefined;
      const page = await base.page<Record<string, unknown>>(
        tenant,
        {
          IndexName: index.name,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          FilterExpression: filters.length ? filters.join(' AND ') : undefined,
          ScanIndexForward: false,
          Limit: limit,
        },
        cursor,
        { keep: statuses && ((item) => statuses.has(item.status)) },
      );
      return { items: await withGates(tenant, page.items), nextCursor: page.nextCursor };
    },

    async listRolloutTargets(tenant: string, promotionId: string): Promise<RolloutTarget[]> {
      const k = keys.rolloutTargets(tenant, promotionId);
      return base.queryAll<RolloutTarget>(k.pk, k.skPrefix, true);
    },

    async putPlanPages(tenant, promotionId, pages) {
      if (!pages.length) return;
      // Batches of 25 (a page ≤ ~210 KB: a batch stays under the 16 MB request); the same keys again on a retried start.
      await base.batchPut(
        pages.map((pg) => ({
          ...keys.planPage(tenant, promotionId, pg.plan, pg.wave, pg.page),
          entity: 'PlanPage',
          wave: pg.wave,
          page: pg.page,
          names: pg.names,
        })),
      );
    },

    async getPlanPages(tenant, promotionId, plan, wave, pages) {
      if (pages <= 0) return [];
      const items = await base.batchGet(Array.from({ length: pages }, (_, i) => keys.planPage(tenant, promotionId, plan, wave, i)));
      if (items.length !== pages) throw new Error(`the stored plan of ${promotionId} misses a page of wave ${wave} (${items.length} of ${pages})`);
      return items.sort((a, b) => (a.page as number) - (b.page as number)).flatMap((i) => i.names as string[]);
    },

    async getRolloutTarget(tenant: string, promotionId: string, target: string): Promise<RolloutTarget | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.rolloutTarget(tenant, promotionId, target), ConsistentRead: true }));
      return strip<RolloutTarget>(r.Item);
    },

    async getRolloutTargets(tenant: string, promotionId: string, names: readonly string[]): Promise<RolloutTarget[]> {
      if (!names.length) return [];
      const items = await base.batchGet(names.map((n) => keys.rolloutTarget(tenant, promotionId, n)));
      return items.map((i) => strip<RolloutTarget>(i)!);
    },

    async activePromotions(tenant: string, target: string): Promise<Promotion[]> {
      const out: Promotion[] = [];
      let cursor: string | undefined;
      do {
        const page = await base.page<Record<string, unknown>>(
          tenant,
          {
            IndexName: GSI_ACTIVE.name,
            KeyConditionExpression: '#pk = :pk',
            ExpressionAttributeNames: { '#pk': GSI_ACTIVE.partitionKey, '#t': 'targetEnvironment' },
            ExpressionAttributeValues: { ':pk': keys.promotionsActive(tenant), ':t': target },
            FilterExpression: '#t = :t',
            ScanIndexForward: true,
          },
          cursor,
        );
        out.push(...(await withGates(tenant, page.items)));
        cursor = page.nextCursor;
      } while (cursor);
      return out.filter((p) => !isTerminal(p.status));
    },

    async listApprovals(tenant: string, promotionId: string): Promise<Approval[]> {
      const k = keys.approvals(tenant, promotionId);
      return base.queryAll<Approval>(k.pk, k.skPrefix, true);
    },

    async listEvidence(tenant: string, owners: string[]): Promise<Evidence[]> {
      const all = await Promise.all(
        owners.map(async (owner) => {
          const r = await db.send(
            new QueryCommand({
              TableName: table,
              KeyConditionExpression: 'pk = :pk',
              ExpressionAttributeValues: { ':pk': keys.evidenceOf(tenant, owner) },
              ConsistentRead: true,
            }),
          );
          return (r.Items ?? []).map((i) => {
            const { owner: _o, ...e } = strip<Evidence & { owner: string }>(i)!;
            return e;
          });
        }),
      );
      return all.flat();
    },

    async acquireLock(tenant: string, env: string, holder: string, now: Date, ttlSeconds: number): Promise<boolean> {
      const nowSec = Math.floor(now.getTime() / 1000);
      return base.conditional(
        new PutCommand({
          TableName: table,
          Item: { ...keys.lock(tenant, env), entity: 'EnvLock', holder, leaseUntil: nowSec + ttlSeconds, [TABLE.ttlAttribute]: nowSec + ttlSeconds + 3600 },
          // Free, re-entrant for the same holder, or the previous lease ran out.
          ConditionExpression: 'attribute_not_exists(pk) OR holder = :h OR leaseUntil < :now',
          ExpressionAttributeValues: { ':h': holder, ':now': nowSec },
        }),
      );
    },

    async releaseLock(tenant: string, env: string, holder: string): Promise<void> {
      try {
        await db.send(
          new DeleteCommand({ TableName: table, Key: keys.lock(tenant, env), ConditionExpression: 'holder = :h', ExpressionAttributeValues: { ':h': holder } }),
        );
      } catch (err) {
        if ((err as { name?: string }).name !== 'ConditionalCheckFailedException') throw err;
      }
    },

    async getReleaseClaim(tenant: string, target: string, source: string, releaseDigest: string): Promise<string | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.releaseClaim(tenant, target, source, releaseDigest), ConsistentRead: true }));
      return typeof r.Item?.holder === 'string' ? r.Item.holder : null;
    },

    async getLock(tenant: string, env: string): Promise<EnvLease | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.lock(tenant, env), ConsistentRead: true }));
      return r.Item ? { holder: String(r.Item.holder), leaseUntil: Number(r.Item.leaseUntil) } : null;
    },
  };

  /** The release's claim, taken by the promotion from the one that held it (none: from nobody). */
  const claimItem = (p: Promotion, { source, previous }: { source: string; previous: string | null }): TxItem => ({
    Put: {
      TableName: table,
      Item: { ...keys.releaseClaim(p.tenant, p.targetEnvironment, source, p.releaseDigest), entity: 'ReleaseClaim', holder: p.id },
      ConditionExpression: previous === null ? 'attribute_not_exists(pk)' : 'holder = :previous',
      ...(previous === null ? {} : { ExpressionAttributeValues: { ':previous': previous } }),
    },
  });
  const items = (op: PromotionOp, tenant: string, events: DomainEvent[]): OpItems => {
    switch (op.kind) {
      case 'promotion': {
        const promotion = base.put(promotionItem(op.promotion), op.expectedVersion);
        const claim = op.claim ? [claimItem(op.promotion, op.claim)] : [];
        if (!op.gatesChanged && !claim.length) return one(promotion, createOrVersion(op.expectedVersion));
        const gates: TxItem[] = op.gatesChanged
          ? [
              {
                Put: {
                  TableName: table,
                  Item: { ...keys.promotionGates(op.promotion.tenant, op.promotion.id), entity: 'PromotionGates', gates: op.promotion.gates },
                },
              },
            ]
          : [];
        return {
          items: [promotion, ...gates, ...claim],
          reasons: [createOrVersion(op.expectedVersion), ...gates.map(() => 'unknown' as const), ...claim.map(() => 'version' as const)],
        };
      }
      case 'rolloutTarget': {
        const target = base.put(
          { ...keys.rolloutTarget(tenant, op.target.promotionId, op.target.name), entity: 'RolloutTarget', ...op.target },
          op.expectedVersion,
        );
        if (op.promotionVersion === undefined) return one(target, createOrVersion(op.expectedVersion));
        // Decided on the promotion as it was: one written since (the flow's decision to stop) loses the write.
        const unchanged: TxItem = {
          ConditionCheck: {
            TableName: table,
            Key: keys.promotion(tenant, op.target.promotionId),
            ConditionExpression: 'version = :v',
            ExpressionAttributeValues: { ':v': op.promotionVersion },
          },
        };
        return { items: [target, unchanged], reasons: [createOrVersion(op.expectedVersion), 'version'] };
      }
      case 'leaseFree': {
        const nowSec = Math.floor(op.now.getTime() / 1000);
        // As acquireLock's condition, read only: free, this holder's, or the lease ran out.
        const free: TxItem = {
          ConditionCheck: {
            TableName: table,
            Key: keys.lock(tenant, op.env),
            ConditionExpression: 'attribute_not_exists(pk) OR holder = :h OR leaseUntil < :now',
            ExpressionAttributeValues: { ':h': op.holder, ':now': nowSec },
          },
        };
        return one(free, 'version');
      }
      case 'approval': {
        // One approval per approver and release digest: a second one for the same digest is refused.
        const approval: TxItem = {
          Put: {
            TableName: table,
            Item: { ...keys.approval(tenant, op.promotionId, op.approval.by), entity: 'Approval', ...op.approval },
            ConditionExpression: 'attribute_not_exists(pk) OR digest <> :d',
            ExpressionAttributeValues: { ':d': op.approval.digest },
          },
        };
        if (op.promotionVersion === undefined) return one(approval, 'exists');
        // Decided on the promotion as it was: one changed since (a rebase) loses the write.
        const unchanged: TxItem = {
          ConditionCheck: {
            TableName: table,
            Key: keys.promotion(tenant, op.promotionId),
            ConditionExpression: 'version = :v',
            ExpressionAttributeValues: { ':v': op.promotionVersion },
          },
        };
        return { items: [approval, unchanged], reasons: ['exists', 'version'] };
      }
      case 'evidence': {
        const e = op.evidence;
        return one(
          {
            Put: {
              TableName: table,
              Item: { ...keys.evidence(tenant, op.owner, e.submittedAt, e.id), entity: 'Evidence', owner: op.owner, ...e, ...outboxAttribute(events) },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          'exists',
        );
      }
    }
  };

  return {
    port,
    writes: {
      kinds: kindsOf<PromotionOp>({ promotion: true, approval: true, evidence: true, rolloutTarget: true, leaseFree: true }),
      // Evidence is a fact item: the commit's events ride on it when it comes before the commit's audit entry (or there is none).
      carriers: ['evidence'],
      items: (op, ctx) => items(op, ctx.tenant, ctx.events),
    },
  };
}
