import { WriteConflict } from '../../../domain/kernel/retry.ts';
import type { AuditEntry } from '../../../domain/kernel/model.ts';
import type { NotificationSettings, SlackLink, SlackLinkCode } from '../../../domain/notify/model.ts';
import type { Delivery, NotificationOp, NotificationStorePort, ReviewLink } from '../../../domain/notify/ports.ts';
import { keys, TABLE } from '../../../functions/adapters/keys.ts';
import { strip } from '../../../functions/adapters/store/base.ts';
import type { MemoryState, Writers } from './area.ts';
import { auditWrite } from './audit.ts';
import { createOrVersion, versioned, type Item } from './table.ts';

/** Notification settings, signed review links, Slack links and their codes, deliveries to people. */
export function notificationArea({ table }: MemoryState) {
  const settingsItem = (s: NotificationSettings): Item => ({ ...keys.notifySettings(s.tenant, s.scope), entity: 'NotifySettings', ...s });
  /** A put of a key taken once: a second put of it is refused (WriteConflict 'exists'). */
  const createOrFail = (item: Item) => {
    if (!table.write({ key: { pk: String(item.pk), sk: String(item.sk) }, when: (cur) => cur === undefined, to: item, reason: 'exists' }))
      throw new WriteConflict('exists');
  };

  const port: NotificationStorePort = {
    async getNotificationSettings(tenant: string, scope: string): Promise<NotificationSettings | null> {
      return strip<NotificationSettings>(table.get(keys.notifySettings(tenant, scope)));
    },
    async putNotificationSettings(settings: NotificationSettings, expectedVersion: number | null, audit: AuditEntry): Promise<void> {
      table.transact([versioned(settingsItem(settings), expectedVersion, 'version', createOrVersion(expectedVersion)), auditWrite(audit)]);
    },
    async listNotificationSettings(tenant: string): Promise<NotificationSettings[]> {
      const k = keys.notifySettingsAll(tenant);
      return table.query(k.pk, { prefix: k.skPrefix }).map((i) => strip<NotificationSettings>(i)!);
    },

    async putReviewLink(link: ReviewLink): Promise<void> {
      const expires = Math.floor(new Date(link.validUntil).getTime() / 1000) + 7 * 86400;
      createOrFail({ ...keys.reviewLink(link.tenant, link.hash), entity: 'ReviewLink', ...link, [TABLE.ttlAttribute]: expires });
    },
    async getReviewLink(tenant: string, hash: string): Promise<ReviewLink | null> {
      return strip<ReviewLink>(table.get(keys.reviewLink(tenant, hash)));
    },
    async useReviewLink(tenant: string, hash: string, at: string, action: string): Promise<boolean> {
      return table.write({
        key: keys.reviewLink(tenant, hash),
        when: (cur) => cur !== undefined && cur.usedAt === undefined,
        to: (cur) => ({ ...cur!, usedAt: at, usedFor: action }),
        reason: 'unknown',
      });
    },
    async recordDelivery(tenant: string, promotionId: string, d: Delivery): Promise<void> {
      table.put({ ...keys.delivery(tenant, promotionId, d.at, `${d.channel}#${d.target}#${d.eventId}`), entity: 'Delivery', ...d });
    },
    async listDeliveries(tenant: string, promotionId: string): Promise<Delivery[]> {
      const k = keys.deliveries(tenant, promotionId);
      return table.query(k.pk, { prefix: k.skPrefix }).map((i) => strip<Delivery>(i)!);
    },

    async putSlackLinkCode(code: SlackLinkCode): Promise<void> {
      const expires = Math.floor(new Date(code.validUntil).getTime() / 1000) + 86400;
      createOrFail({ ...keys.slackLinkCode(code.tenant, code.hash), entity: 'SlackLinkCode', ...code, [TABLE.ttlAttribute]: expires });
    },
    async getSlackLinkCode(tenant: string, hash: string): Promise<SlackLinkCode | null> {
      return strip<SlackLinkCode>(table.get(keys.slackLinkCode(tenant, hash)));
    },
    async getSlackLink(tenant: string, teamId: string, userId: string): Promise<SlackLink | null> {
      return strip<SlackLink>(table.get(keys.slackLink(tenant, teamId, userId)));
    },
    async listSlackLinks(tenant: string): Promise<SlackLink[]> {
      const k = keys.slackLinks(tenant);
      return table.query(k.pk, { prefix: k.skPrefix }).map((i) => strip<SlackLink>(i)!);
    },
    async linkSlack(code: { tenant: string; hash: string; usedAt: string }, link: SlackLink, previous: SlackLink | null, audit: AuditEntry): Promise<void> {
      table.transact([
        {
          key: keys.slackLinkCode(code.tenant, code.hash),
          when: (cur) => cur !== undefined && cur.usedAt === undefined,
          to: (cur) => ({ ...cur!, usedAt: code.usedAt, usedBy: `${link.teamId}/${link.userId}` }),
          reason: 'version',
        },
        {
          key: keys.slackLink(link.tenant, link.teamId, link.userId),
          when: (cur) => (previous ? cur?.id === previous.id : cur === undefined),
          to: { ...keys.slackLink(link.tenant, link.teamId, link.userId), entity: 'SlackLink', ...link },
          reason: 'exists',
        },
        auditWrite(audit),
      ]);
    },
    async unlinkSlack(link: SlackLink, audit: AuditEntry): Promise<void> {
      table.transact([
        { key: keys.slackLink(link.tenant, link.teamId, link.userId), when: (cur) => cur?.id === link.id, to: null, reason: 'version' },
        auditWrite(audit),
      ]);
    },
  };

  const writes: Writers<NotificationOp> = {
    notifySettings: (op) => [versioned(settingsItem(op.settings), op.expectedVersion, 'version', createOrVersion(op.expectedVersion))],
  };
  return { port, writes };
}
