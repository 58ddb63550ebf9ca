import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEntry } from '#domain/kernel/model';
import type { WebhookDelivery, WebhookSubscription } from '#domain/webhooks/model';
import type { WebhookRepo } from '#domain/webhooks/ports';
import { keys, TABLE } from '../keys.ts';
import type { WebhookOp } from '#domain/webhooks/ports';
import { createOrVersion, kindsOf, one, type Area, type OpItems } from './area.ts';
import type { TxItem } from './base.ts';
import { strip, type StoreBase } from './base.ts';
import { auditItems } from './audit.ts';

/** Kept a month: the delivery log of a subscription. */
const DELIVERY_TTL_SECONDS = 30 * 86400;

/** Outbound webhook subscriptions and their deliveries (domain/webhooks). */
export function webhookArea(base: StoreBase): Area<WebhookRepo, WebhookOp> {
  const { db, table } = base;
  const subItem = (sub: WebhookSubscription, expectedVersion: number | null): TxItem =>
    base.put({ ...keys.webhook(sub.tenant, sub.id), entity: 'Webhook', ...sub }, expectedVersion);
  const subDelete = (sub: WebhookSubscription): TxItem => ({
    Delete: {
      TableName: table,
      Key: keys.webhook(sub.tenant, sub.id),
      ConditionExpression: '#v = :v',
      ExpressionAttributeNames: { '#v': 'version' },
      ExpressionAttributeValues: { ':v': sub.version },
    },
  });

  const deliveryItem = (d: WebhookDelivery): Record<string, unknown> => {
    return {
      ...keys.webhookDelivery(d.tenant, d.subscription, d.id),
      entity: 'WebhookDelivery',
      ...d,
      [TABLE.ttlAttribute]: Math.floor(Date.parse(d.createdAt) / 1000) + DELIVERY_TTL_SECONDS,
    };
  };

  const port: WebhookRepo = {
    async getWebhook(tenant: string, id: string): Promise<WebhookSubscription | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.webhook(tenant, id), ConsistentRead: true }));
      return strip<WebhookSubscription>(r.Item);
    },

    async listWebhooks(tenant: string): Promise<WebhookSubscription[]> {
      const k = keys.webhooks(tenant);
      return base.queryAll<WebhookSubscription>(k.pk, k.skPrefix, true);
    },

    async putWebhook(sub: WebhookSubscription, expectedVersion: number | null, audit: AuditEntry): Promise<void> {
      await base.transact([subItem(sub, expectedVersion), ...auditItems(table, audit)], [createOrVersion(expectedVersion), 'exists']);
    },

    async deleteWebhook(sub: WebhookSubscription, audit: AuditEntry): Promise<void> {
      await base.transact([subDelete(sub), ...auditItems(table, audit)], ['version', 'exists']);
    },

    async setWebhookHealth(tenant: string, id: string, health: WebhookSubscription['health']): Promise<void> {
      await base.conditional(
        new UpdateCommand({
          TableName: table,
          Key: keys.webhook(tenant, id),
          UpdateExpression: 'SET health = :h',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':h': health },
        }),
      );
    },

    async createWebhookDelivery(d: WebhookDelivery): Promise<boolean> {
      return base.conditional(new PutCommand({ TableName: table, Item: deliveryItem(d), ConditionExpression: 'attribute_not_exists(pk)' }));
    },

    async getWebhookDelivery(tenant: string, subscription: string, id: string): Promise<WebhookDelivery | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.webhookDelivery(tenant, subscription, id), ConsistentRead: true }));
      return strip<WebhookDelivery>(r.Item);
    },

    async updateWebhookDelivery(d: WebhookDelivery, expectedRev: number): Promise<boolean> {
      return base.conditional(
        new PutCommand({
          TableName: table,
          Item: deliveryItem(d),
          ConditionExpression: '#r = :r',
          ExpressionAttributeNames: { '#r': 'rev' },
          ExpressionAttributeValues: { ':r': expectedRev },
        }),
      );
    },

    async listWebhookDeliveries(
      tenant: string,
      subscription: string,
      limit: number,
      cursor?: string,
    ): Promise<{ items: WebhookDelivery[]; cursor: string | null }> {
      const k = keys.webhookDeliveries(tenant, subscription);
      const page = await base.page<WebhookDelivery>(
        tenant,
        {
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
          ExpressionAttributeValues: { ':pk': k.pk, ':p': k.skPrefix },
          ScanIndexForward: false,
          Limit: limit,
          ConsistentRead: true,
        },
        cursor,
      );
      return { items: page.items, cursor: page.nextCursor ?? null };
    },
  };
  const items = (op: WebhookOp): OpItems =>
    op.kind === 'webhook' ? one(subItem(op.sub, op.expectedVersion), createOrVersion(op.expectedVersion)) : one(subDelete(op.sub), 'version');
  return { port, writes: { kinds: kindsOf<WebhookOp>({ webhook: true, deleteWebhook: true }), items } };
}
