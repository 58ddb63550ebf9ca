import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEntry } from '#domain/model';
import type { WebhookDelivery, WebhookSubscription } from '#domain/webhooks/model';
import type { GitTarget } from '#domain/gitops/ports';
import { keys, TABLE } from '../keys.ts';
import { strip } from './base.ts';
import { AppKeyStore } from './app-keys.ts';

/** Kept a month: the delivery log of a subscription. */
const DELIVERY_TTL_SECONDS = 30 * 86400;

/** Outbound webhook subscriptions and their deliveries; environments' git targets. */
export class DeliveryStore extends AppKeyStore {
  async getWebhook(tenant: string, id: string): Promise<WebhookSubscription | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.webhook(tenant, id), ConsistentRead: true }));
    return strip<WebhookSubscription>(r.Item);
  }

  async listWebhooks(tenant: string): Promise<WebhookSubscription[]> {
    const k = keys.webhooks(tenant);
    return this.queryAll<WebhookSubscription>(k.pk, k.skPrefix, true);
  }

  async putWebhook(sub: WebhookSubscription, expectedVersion: number | null, audit: AuditEntry): Promise<void> {
    await this.transact([this.put({ ...keys.webhook(sub.tenant, sub.id), entity: 'Webhook', ...sub }, expectedVersion), ...this.auditItems(audit)], [expectedVersion === null ? 'exists' : 'version', 'exists']);
  }

  async deleteWebhook(sub: WebhookSubscription, audit: AuditEntry): Promise<void> {
    await this.transact(
      [
        { Delete: { TableName: this.table, Key: keys.webhook(sub.tenant, sub.id), ConditionExpression: '#v = :v', ExpressionAttributeNames: { '#v': 'version' }, ExpressionAttributeValues: { ':v': sub.version } } },
        ...this.auditItems(audit),
      ],
      ['version', 'exists'],
    );
  }

  async setWebhookHealth(tenant: string, id: string, health: WebhookSubscription['health']): Promise<void> {
    await this.conditional(
      new UpdateCommand({ TableName: this.table, Key: keys.webhook(tenant, id), UpdateExpression: 'SET health = :h', ConditionExpression: 'attribute_exists(pk)', ExpressionAttributeValues: { ':h': health } }),
    );
  }

  private deliveryItem(d: WebhookDelivery): Record<string, unknown> {
    return { ...keys.webhookDelivery(d.tenant, d.subscription, d.id), entity: 'WebhookDelivery', ...d, [TABLE.ttlAttribute]: Math.floor(Date.parse(d.createdAt) / 1000) + DELIVERY_TTL_SECONDS };
  }

  async createWebhookDelivery(d: WebhookDelivery): Promise<boolean> {
    return this.conditional(new PutCommand({ TableName: this.table, Item: this.deliveryItem(d), ConditionExpression: 'attribute_not_exists(pk)' }));
  }

  async getWebhookDelivery(tenant: string, subscription: string, id: string): Promise<WebhookDelivery | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.webhookDelivery(tenant, subscription, id), ConsistentRead: true }));
    return strip<WebhookDelivery>(r.Item);
  }

  async updateWebhookDelivery(d: WebhookDelivery, expectedRev: number): Promise<boolean> {
    return this.conditional(
      new PutCommand({ TableName: this.table, Item: this.deliveryItem(d), ConditionExpression: '#r = :r', ExpressionAttributeNames: { '#r': 'rev' }, ExpressionAttributeValues: { ':r': expectedRev } }),
    );
  }

  async listWebhookDeliveries(tenant: string, subscription: string, limit: number, cursor?: string): Promise<{ items: WebhookDelivery[]; cursor: string | null }> {
    const k = keys.webhookDeliveries(tenant, subscription);
    const page = await this.page<WebhookDelivery>(
      tenant,
      { KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)', ExpressionAttributeValues: { ':pk': k.pk, ':p': k.skPrefix }, ScanIndexForward: false, Limit: limit, ConsistentRead: true },
      cursor,
    );
    return { items: page.items, cursor: page.nextCursor ?? null };
  }

  // ---- git targets
  async getGitTarget(tenant: string, environment: string): Promise<GitTarget | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.gitTarget(tenant, environment), ConsistentRead: true }));
    return strip<GitTarget>(r.Item);
  }

  async putGitTarget(target: GitTarget, expectedVersion: number | null, audit: AuditEntry): Promise<void> {
    await this.transact([this.put({ ...keys.gitTarget(target.tenant, target.environment), entity: 'GitTarget', ...target }, expectedVersion), ...this.auditItems(audit)], [expectedVersion === null ? 'exists' : 'version', 'exists']);
  }

  async deleteGitTarget(target: GitTarget, audit: AuditEntry): Promise<void> {
    await this.transact(
      [
        { Delete: { TableName: this.table, Key: keys.gitTarget(target.tenant, target.environment), ConditionExpression: '#v = :v', ExpressionAttributeNames: { '#v': 'version' }, ExpressionAttributeValues: { ':v': target.version } } },
        ...this.auditItems(audit),
      ],
      ['version', 'exists'],
    );
  }
}

