import { PutCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEntry } from '#domain/model';
import { type Delivery, type ReviewLink } from '#domain/ports';
import type { NotificationSettings } from '#domain/notify/settings';
import type { SlackLink, SlackLinkCode } from '#domain/notify/slack-identity';
import { keys, TABLE } from '../keys.ts';
import { strip } from './base.ts';
import { PromotionStore } from './promotions.ts';

/** Notification settings, signed review links, Slack links and their codes, deliveries; the manifest head. */
export class NotificationStore extends PromotionStore {
  // ---- notifications
  async getNotificationSettings(tenant: string, scope: string): Promise<NotificationSettings | null> {
    await this.ready();
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.notifySettings(tenant, scope), ConsistentRead: true }));
    return this.openNotify(strip<NotificationSettings>(r.Item));
  }

  async listNotificationSettings(tenant: string): Promise<NotificationSettings[]> {
    await this.ready();
    const k = keys.notifySettingsAll(tenant);
    return (await this.queryAll<NotificationSettings>(k.pk, k.skPrefix, true)).map((s) => this.openNotify(s)!);
  }

  /**
   * Opens the sealed webhook. A Slack signing secret and user map stored by older versions (tenant
   * settings then) are dropped here: Slack requests are verified with the deployment's secret and
   * Slack users are linked by the people themselves, so neither is ever read again.
   */
  private openNotify(s: NotificationSettings | null): NotificationSettings | null {
    if (!s?.slack) return s;
    const { signingSecret: _secret, users: _users, ...slack } = s.slack as NotificationSettings['slack'] & { signingSecret?: unknown; users?: unknown };
    const box = this.box;
    return { ...s, slack: { ...slack, webhook: box ? box.open(slack.webhook) : slack.webhook } };
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

  // ---- Slack identities
  async putSlackLinkCode(code: SlackLinkCode): Promise<void> {
    const expires = Math.floor(new Date(code.validUntil).getTime() / 1000) + 86400;
    await this.db.send(new PutCommand({ TableName: this.table, Item: { ...keys.slackLinkCode(code.tenant, code.hash), entity: 'SlackLinkCode', ...code, [TABLE.ttlAttribute]: expires }, ConditionExpression: 'attribute_not_exists(pk)' }));
  }

  async getSlackLinkCode(tenant: string, hash: string): Promise<SlackLinkCode | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.slackLinkCode(tenant, hash), ConsistentRead: true }));
    return strip<SlackLinkCode>(r.Item);
  }

  async getSlackLink(tenant: string, teamId: string, userId: string): Promise<SlackLink | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.slackLink(tenant, teamId, userId), ConsistentRead: true }));
    return strip<SlackLink>(r.Item);
  }

  async listSlackLinks(tenant: string): Promise<SlackLink[]> {
    const k = keys.slackLinks(tenant);
    return this.queryAll<SlackLink>(k.pk, k.skPrefix, true);
  }

  async linkSlack(code: { tenant: string; hash: string; usedAt: string }, link: SlackLink, previous: SlackLink | null, audit: AuditEntry): Promise<void> {
    await this.transact(
      [
        {
          Update: {
            TableName: this.table,
            Key: keys.slackLinkCode(code.tenant, code.hash),
            UpdateExpression: 'SET usedAt = :at, usedBy = :by',
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(usedAt)',
            ExpressionAttributeValues: { ':at': code.usedAt, ':by': `${link.teamId}/${link.userId}` },
          },
        },
        {
          Put: {
            TableName: this.table,
            Item: { ...keys.slackLink(link.tenant, link.teamId, link.userId), entity: 'SlackLink', ...link },
            ...(previous
              ? { ConditionExpression: 'id = :prev', ExpressionAttributeValues: { ':prev': previous.id } }
              : { ConditionExpression: 'attribute_not_exists(pk)' }),
          },
        },
        ...this.auditItems(audit),
      ],
      ['version', 'exists', 'exists'],
    );
  }

  async unlinkSlack(link: SlackLink, audit: AuditEntry): Promise<void> {
    await this.transact(
      [
        { Delete: { TableName: this.table, Key: keys.slackLink(link.tenant, link.teamId, link.userId), ConditionExpression: 'id = :id', ExpressionAttributeValues: { ':id': link.id } } },
        ...this.auditItems(audit),
      ],
      ['version', 'exists'],
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
