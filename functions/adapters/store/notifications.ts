import { PutCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEntry } from '#domain/kernel/model';
import type { Delivery, NotificationOp, NotificationStorePort, ReviewLink } from '#domain/notify/ports';
import type { NotificationSettings } from '#domain/notify/model';
import type { SlackLink, SlackLinkCode } from '#domain/notify/model';
import { WriteConflict } from '#domain/kernel/retry';
import { keys, TABLE } from '../keys.ts';
import { createOrVersion, kindsOf, one, type Area } from './area.ts';
import { strip, type StoreBase } from './base.ts';
import { auditItems } from './audit.ts';

/** Notification settings, signed review links, Slack links and their codes, deliveries to people. */
export function notificationArea(base: StoreBase): Area<NotificationStorePort, NotificationOp> {
  const { db, table } = base;

  /** The stored item: the webhook URLs (Slack's path, Teams' `sig` are the secret) sealed already by the writer (domain/kernel/sealed.ts). */
  const notifyItem = (settings: NotificationSettings): Record<string, unknown> => ({
    ...keys.notifySettings(settings.tenant, settings.scope),
    entity: 'NotifySettings',
    ...settings,
  });

  const port: NotificationStorePort = {
    async getNotificationSettings(tenant: string, scope: string): Promise<NotificationSettings | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.notifySettings(tenant, scope), ConsistentRead: true }));
      return strip<NotificationSettings>(r.Item);
    },

    async listNotificationSettings(tenant: string): Promise<NotificationSettings[]> {
      const k = keys.notifySettingsAll(tenant);
      return await base.queryAll<NotificationSettings>(k.pk, k.skPrefix, true);
    },

    async putNotificationSettings(settings: NotificationSettings, expectedVersion: number | null, audit: AuditEntry): Promise<void> {
      await base.transact([base.put(notifyItem(settings), expectedVersion), ...auditItems(table, audit)], [createOrVersion(expectedVersion), 'exists']);
    },

    async putReviewLink(link: ReviewLink): Promise<void> {
      const expires = Math.floor(new Date(link.validUntil).getTime() / 1000) + 7 * 86400;
      // A hash is taken once: a second put of it (a collision, a replay) is refused, not overwritten.
      if (
        !(await base.conditional(
          new PutCommand({
            TableName: table,
            Item: { ...keys.reviewLink(link.tenant, link.hash), entity: 'ReviewLink', ...link, [TABLE.ttlAttribute]: expires },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ))
      )
        throw new WriteConflict('exists');
    },

    async getReviewLink(tenant: string, hash: string): Promise<ReviewLink | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.reviewLink(tenant, hash), ConsistentRead: true }));
      return strip<ReviewLink>(r.Item);
    },

    async useReviewLink(tenant: string, hash: string, at: string, action: string): Promise<boolean> {
      return base.conditional(
        new UpdateCommand({
          TableName: table,
          Key: keys.reviewLink(tenant, hash),
          UpdateExpression: 'SET usedAt = :at, usedFor = :a',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(usedAt)',
          ExpressionAttributeValues: { ':at': at, ':a': action },
        }),
      );
    },

    // ---- Slack identities
    async putSlackLinkCode(code: SlackLinkCode): Promise<void> {
      const expires = Math.floor(new Date(code.validUntil).getTime() / 1000) + 86400;
      // A hash is taken once: a second put of it (a collision, a replay) is refused, not overwritten.
      if (
        !(await base.conditional(
          new PutCommand({
            TableName: table,
            Item: { ...keys.slackLinkCode(code.tenant, code.hash), entity: 'SlackLinkCode', ...code, [TABLE.ttlAttribute]: expires },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ))
      )
        throw new WriteConflict('exists');
    },

    async getSlackLinkCode(tenant: string, hash: string): Promise<SlackLinkCode | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.slackLinkCode(tenant, hash), ConsistentRead: true }));
      return strip<SlackLinkCode>(r.Item);
    },

    async getSlackLink(tenant: string, teamId: string, userId: string): Promise<SlackLink | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.slackLink(tenant, teamId, userId), ConsistentRead: true }));
      return strip<SlackLink>(r.Item);
    },

    async listSlackLinks(tenant: string): Promise<SlackLink[]> {
      const k = keys.slackLinks(tenant);
      return base.queryAll<SlackLink>(k.pk, k.skPrefix, true);
    },

    async linkSlack(code: { tenant: string; hash: string; usedAt: string }, link: SlackLink, previous: SlackLink | null, audit: AuditEntry): Promise<void> {
      await base.transact(
        [
          {
            Update: {
              TableName: table,
              Key: keys.slackLinkCode(code.tenant, code.hash),
              UpdateExpression: 'SET usedAt = :at, usedBy = :by',
              ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(usedAt)',
              ExpressionAttributeValues: { ':at': code.usedAt, ':by': `${link.teamId}/${link.userId}` },
            },
          },
          {
            Put: {
              TableName: table,
              Item: { ...keys.slackLink(link.tenant, link.teamId, link.userId), entity: 'SlackLink', ...link },
              ...(previous
                ? { ConditionExpression: 'id = :prev', ExpressionAttributeValues: { ':prev': previous.id } }
                : { ConditionExpression: 'attribute_not_exists(pk)' }),
            },
          },
          ...auditItems(table, audit),
        ],
        ['version', 'exists', 'exists'],
      );
    },

    async unlinkSlack(link: SlackLink, audit: AuditEntry): Promise<void> {
      await base.transact(
        [
          {
            Delete: {
              TableName: table,
              Key: keys.slackLink(link.tenant, link.teamId, link.userId),
              ConditionExpression: 'id = :id',
              ExpressionAttributeValues: { ':id': link.id },
            },
          },
          ...auditItems(table, audit),
        ],
        ['version', 'exists'],
      );
    },

    async recordDelivery(tenant: string, promotionId: string, d: Delivery): Promise<void> {
      await db.send(
        new PutCommand({
          TableName: table,
          Item: { ...keys.delivery(tenant, promotionId, d.at, `${d.channel}#${d.target}#${d.eventId}`), entity: 'Delivery', ...d },
        }),
      );
    },

    async listDeliveries(tenant: string, promotionId: string): Promise<Delivery[]> {
      const k = keys.deliveries(tenant, promotionId);
      return base.queryAll<Delivery>(k.pk, k.skPrefix, true);
    },
  };

  return {
    port,
    writes: {
      kinds: kindsOf<NotificationOp>({ notifySettings: true }),
      items: (op) => one(base.put(notifyItem(op.settings), op.expectedVersion), createOrVersion(op.expectedVersion)),
    },
  };
}
