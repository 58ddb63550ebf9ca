import { DeleteCommand, PutCommand, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Page } from '#domain/model';
import { isTerminal, STATUSES, type Status } from '#domain/promotion/lifecycle';
import type { Approval, Evidence, Promotion, Rule } from '#domain/promotion/model';
import type { PromotionFilter } from '#domain/ports';
import type { FreezeWindow } from '#domain/freeze';
import { GSI_ACTIVE, GSI_ALL, GSI_STATUS, GSI_TARGET, keys, TABLE } from '../keys.ts';
import { openPromotion, strip } from './base.ts';
import { DeploymentStore } from './deployments.ts';

/** Promotions with their gates, approvals and evidence; rules and freeze windows they are decided by; the per-environment lock. */
export class PromotionStore extends DeploymentStore {
  async getPromotion(tenant: string, id: string): Promise<Promotion | null> {
    // One request for the promotion and its gate results (sk P and P#gates).
    const k = keys.promotion(tenant, id);
    const r = await this.db.send(
      new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)', ExpressionAttributeValues: { ':pk': k.pk, ':p': k.sk }, ConsistentRead: true }),
    );
    const item = r.Items?.find((i) => i.sk === k.sk);
    return item ? openPromotion(item, r.Items?.find((i) => i.sk !== k.sk)) : null;
  }

  /** The gate results of listed promotions (one BatchGetItem). */
  protected async withGates(tenant: string, items: Record<string, unknown>[]): Promise<Promotion[]> {
    const promotions = items.map((i) => openPromotion(i));
    const found = await this.batchGet(promotions.map((p) => keys.promotionGates(tenant, p.id)));
    const byPk = new Map(found.map((g) => [g.pk as string, g]));
    return promotions.map((p) => ({ ...p, gates: (byPk.get(keys.promotionGates(tenant, p.id).pk)?.gates as Promotion['gates']) ?? null }));
  }

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
    const page = await this.page<Record<string, unknown>>(tenant, {
      IndexName: index.name,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      FilterExpression: filters.length ? filters.join(' AND ') : undefined,
      ScanIndexForward: false,
      Limit: limit,
    }, cursor, { keep: statuses && ((item) => statuses.has(item.status)) });
    return { items: await this.withGates(tenant, page.items), nextCursor: page.nextCursor };
  }

  async activePromotions(tenant: string, target: string): Promise<Promotion[]> {
    const out: Promotion[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.page<Record<string, unknown>>(tenant, {
        IndexName: GSI_ACTIVE.name,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': GSI_ACTIVE.partitionKey, '#t': 'targetEnvironment' },
        ExpressionAttributeValues: { ':pk': keys.promotionsActive(tenant), ':t': target },
        FilterExpression: '#t = :t',
        ScanIndexForward: true,
      }, cursor);
      out.push(...(await this.withGates(tenant, page.items)));
      cursor = page.nextCursor;
    } while (cursor);
    return out.filter((p) => !isTerminal(p.status));
  }

  async listApprovals(tenant: string, promotionId: string): Promise<Approval[]> {
    const k = keys.approvals(tenant, promotionId);
    return this.queryAll<Approval>(k.pk, k.skPrefix, true);
  }


  async listEvidence(tenant: string, owners: string[]): Promise<Evidence[]> {
    const all = await Promise.all(
      owners.map(async (owner) => {
        const r = await this.db.send(
          new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': keys.evidenceOf(tenant, owner) }, ConsistentRead: true }),
        );
        return (r.Items ?? []).map((i) => {
          const { owner: _o, ...e } = strip<Evidence & { owner: string }>(i)!;
          return e;
        });
      }),
    );
    return all.flat();
  }

  async getRule(tenant: string, id: string): Promise<Rule | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.rule(tenant, id), ConsistentRead: true }));
    return strip<Rule>(r.Item);
  }

  async listFreezeWindows(tenant: string): Promise<FreezeWindow[]> {
    const k = keys.freezeWindows(tenant);
    return this.queryAll<FreezeWindow>(k.pk, k.skPrefix, true);
  }

  async listRules(tenant: string): Promise<Rule[]> {
    const k = keys.rules(tenant);
    return this.queryAll<Rule>(k.pk, k.skPrefix, true);
  }

  async acquireLock(tenant: string, env: string, holder: string, now: Date, ttlSeconds: number): Promise<boolean> {
    const nowSec = Math.floor(now.getTime() / 1000);
    return this.conditional(
      new PutCommand({
        TableName: this.table,
        Item: { ...keys.lock(tenant, env), entity: 'EnvLock', holder, leaseUntil: nowSec + ttlSeconds, [TABLE.ttlAttribute]: nowSec + ttlSeconds + 3600 },
        // Free, re-entrant for the same holder, or the previous lease ran out.
        ConditionExpression: 'attribute_not_exists(pk) OR holder = :h OR leaseUntil < :now',
        ExpressionAttributeValues: { ':h': holder, ':now': nowSec },
      }),
    );
  }

  async releaseLock(tenant: string, env: string, holder: string): Promise<void> {
    try {
      await this.db.send(
        new DeleteCommand({ TableName: this.table, Key: keys.lock(tenant, env), ConditionExpression: 'holder = :h', ExpressionAttributeValues: { ':h': holder } }),
      );
    } catch (err) {
      if ((err as { name?: string }).name !== 'ConditionalCheckFailedException') throw err;
    }
  }
}
