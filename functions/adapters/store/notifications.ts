import { PutCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEntry } from '#domain/model';
import { type Delivery, type ReviewLink } from '#domain/ports';
import type { NotificationSettings } from '#domain/notify/settings';
import { keys, TABLE } from '../keys.ts';
import { strip } from './base.ts';
import { PromotionStore } from './promotions.ts';

/** Notification settings, signed review links, deliveries; the manifest head. */
export class NotificationStore extends PromotionStore {
  // ---- notifications
  async getNotificationSettings(tenant: string, scope: string): Promise<NotificationSettings | null> {
    await this.ready();
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.notifySettings(tenant, scope), ConsistentRead: true }));
    const s = strip<NotificationSettings>(r.Item);
    const box = this.box;
    if (!s?.slack || !box) return s;
    return { ...s, slack: { ...s.slack, webhook: box.open(s.slack.webhook), ...(s.slack.signingSecret ? { signingSecret: box.open(s.slack.signingSecret) } : {}) } };
  }

  async putNotificationSettings(settings: NotificationSettings, expectedVersion: number | null, audit: AuditEntry): Promise<void> {
    await this.ready();
    await this.transact([this.put(this.notifyItem(settings), expectedVersion), ...this.auditItems(audit)], [expectedVersion === null ? 'exists' : 'version', 'exists']);
  }

  async manifestHead(tenant: string): Promise<string | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.manifestHead(tenant), ConsistentRead: true }));
    return (r.Item?.digest as string | undefined) ?? null;
  }

  async putReviewLink(link: ReviewLink): Promise<void> {
    const expires = Math.floor(new Date(link.validUntil).getTime() / 1000) + 7 * 86400;
    await this.db.send(new PutCommand({ TableName: this.table, Item: { ...keys.reviewLink(link.tenant, link.hash), entity: 'ReviewLink', ...link, [TABLE.ttlAttribute]: expires }, ConditionExpression: 'attribute_not_exists(pk)' }));
  }

  async getReviewLink(tenant: string, hash: string): Promise<ReviewLink | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.reviewLink(tenant, hash), ConsistentRead: true }));
    return strip<ReviewLink>(r.Item);
  }

  async useReviewLink(tenant: string, hash: string, at: string, action: string): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.reviewLink(tenant, hash),
        UpdateExpression: 'SET usedAt = :at, usedFor = :a',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(usedAt)',
        ExpressionAttributeValues: { ':at': at, ':a': action },
      }),
    );
  }

  async recordDelivery(tenant: string, promotionId: string, d: Delivery): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: { ...keys.delivery(tenant, promotionId, d.at, `${d.channel}#${d.target}#${d.eventId}`), entity: 'Delivery', ...d } }));
  }

  async listDeliveries(tenant: string, promotionId: string): Promise<Delivery[]> {
    const k = keys.deliveries(tenant, promotionId);
    return this.queryAll<Delivery>(k.pk, k.skPrefix, true);
  }
}
