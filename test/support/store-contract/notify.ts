import { WriteConflict } from '../../../domain/kernel/retry.ts';
import { describe, expect, it } from 'vitest';
import type { SlackLink, SlackLinkCode } from '../../../domain/notify/model.ts';
import type { Delivery, ReviewLink } from '../../../domain/notify/ports.ts';
import { audit, conflict, settings, uid, type Contract } from './fixtures.ts';

const reviewLink = (tenant: string, hash: string): ReviewLink => ({
  tenant,
  hash,
  promotionId: 'prm_1',
  approver: { id: 'carol', email: 'carol@x.test' },
  actions: ['approve', 'reject'],
  releaseDigest: 'sha256:web-v1',
  validUntil: '2030-01-02T00:00:00.000Z',
  createdAt: '2030-01-01T00:00:00.000Z',
});

const code = (tenant: string, hash: string): SlackLinkCode => ({
  tenant,
  hash,
  account: { id: 'bob', email: 'bob@x.test' },
  createdAt: '2030-01-01T00:00:00.000Z',
  validUntil: '2030-01-01T00:10:00.000Z',
});

const slackLink = (tenant: string, userId: string, account = 'bob'): SlackLink => ({
  tenant,
  teamId: 'T1',
  userId,
  account: { id: account, email: `${account}@x.test` },
  id: uid('slk_'),
  linkedAt: '2030-01-01T00:01:00.000Z',
  codeIssuedAt: '2030-01-01T00:00:00.000Z',
});

/** Notification settings, review links, Slack identities, deliveries to people. */
export function notifyContract(c: Contract) {
  describe('notifications', () => {
    it('creates settings per scope once (exists), changes them on their version (version), by method or commit', async () => {
      const t = c.tenant();
      await c.store().putNotificationSettings(settings(t, 'tenant', 1), null, audit(t));
      expect(await conflict(c.store().putNotificationSettings(settings(t, 'tenant', 1), null, audit(t)))).toBe('exists');
      await c.store().putNotificationSettings(settings(t, 'tenant', 2, ['#ops']), 1, audit(t));
      expect(await conflict(c.store().putNotificationSettings(settings(t, 'tenant', 2, ['#late']), 1, audit(t)))).toBe('version');
      await c.store().commit(t, [
        { kind: 'notifySettings', settings: settings(t, 'prod', 1), expectedVersion: null },
        { kind: 'audit', entry: audit(t) },
      ]);
      expect(await conflict(c.store().commit(t, [{ kind: 'notifySettings', settings: settings(t, 'prod', 2), expectedVersion: 5 }]))).toBe('version');
      expect(await c.store().getNotificationSettings(t, 'tenant')).toEqual(settings(t, 'tenant', 2, ['#ops']));
      expect((await c.store().listNotificationSettings(t)).map((s) => s.scope)).toEqual(['prod', 'tenant']);
      expect(await c.store().getNotificationSettings(t, 'dev')).toBeNull();
    });

    it('uses a review link once; refuses to store one under a hash taken', async () => {
      const t = c.tenant();
      await c.store().putReviewLink(reviewLink(t, 'h1'));
      await expect(c.store().putReviewLink(reviewLink(t, 'h1'))).rejects.toThrow(WriteConflict);
      expect(await c.store().getReviewLink(t, 'h1')).toEqual(reviewLink(t, 'h1'));
      expect(await c.store().useReviewLink(t, 'h1', '2030-01-01T01:00:00.000Z', 'approve')).toBe(true);
      expect(await c.store().useReviewLink(t, 'h1', '2030-01-01T01:00:01.000Z', 'reject')).toBe(false);
      expect(await c.store().getReviewLink(t, 'h1')).toEqual({ ...reviewLink(t, 'h1'), usedAt: '2030-01-01T01:00:00.000Z', usedFor: 'approve' });
      expect(await c.store().useReviewLink(t, 'h2', '2030-01-01T01:00:00.000Z', 'approve')).toBe(false);
      expect(await c.store().getReviewLink(t, 'h2')).toBeNull();
    });

    it('links a Slack user with a code spent once (version), over no link or the one read (exists otherwise); unlinks the link read (version)', async () => {
      const t = c.tenant();
      await c.store().putSlackLinkCode(code(t, 'c1'));
      await expect(c.store().putSlackLinkCode(code(t, 'c1'))).rejects.toThrow(WriteConflict);
      expect(await c.store().getSlackLinkCode(t, 'c1')).toEqual(code(t, 'c1'));
      const first = slackLink(t, 'U1');
      await c.store().linkSlack({ tenant: t, hash: 'c1', usedAt: '2030-01-01T00:01:00.000Z' }, first, null, audit(t));
      expect(await c.store().getSlackLinkCode(t, 'c1')).toEqual({ ...code(t, 'c1'), usedAt: '2030-01-01T00:01:00.000Z', usedBy: 'T1/U1' });
      expect(await c.store().getSlackLink(t, 'T1', 'U1')).toEqual(first);
      // The code is spent; a fresh code cannot overwrite a link it did not read.
      expect(await conflict(c.store().linkSlack({ tenant: t, hash: 'c1', usedAt: 'x' }, slackLink(t, 'U2'), null, audit(t)))).toBe('version');
      await c.store().putSlackLinkCode(code(t, 'c2'));
      expect(await conflict(c.store().linkSlack({ tenant: t, hash: 'c2', usedAt: 'x' }, slackLink(t, 'U1', 'eve'), null, audit(t)))).toBe('exists');
      expect(await c.store().getSlackLinkCode(t, 'c2')).toEqual(code(t, 'c2'));
      const relinked = slackLink(t, 'U1', 'dave');
      await c.store().linkSlack({ tenant: t, hash: 'c2', usedAt: 'x' }, relinked, first, audit(t));
      await c.store().putSlackLinkCode(code(t, 'c3'));
      await c.store().linkSlack({ tenant: t, hash: 'c3', usedAt: 'x' }, slackLink(t, 'U0'), null, audit(t));
      expect((await c.store().listSlackLinks(t)).map((l) => `${l.userId} ${l.account.id}`)).toEqual(['U0 bob', 'U1 dave']);
      expect(await conflict(c.store().unlinkSlack(first, audit(t)))).toBe('version');
      await c.store().unlinkSlack(relinked, audit(t));
      expect(await c.store().getSlackLink(t, 'T1', 'U1')).toBeNull();
    });

    it('records each delivery attempt of a promotion, in time order', async () => {
      const t = c.tenant();
      const d = (at: string, target: string, status: Delivery['status']): Delivery => ({
        channel: 'email',
        target,
        kind: 'approval-required',
        status,
        at,
        eventId: 'e1',
      });
      await c.store().recordDelivery(t, 'prm_1', d('2030-01-01T00:00:02.000Z', 'b@x.test', 'failed'));
      await c.store().recordDelivery(t, 'prm_1', d('2030-01-01T00:00:01.000Z', 'a@x.test', 'sent'));
      await c.store().recordDelivery(t, 'prm_1', d('2030-01-01T00:00:01.000Z', 'a@x.test', 'sent'));
      await c.store().recordDelivery(t, 'prm_2', d('2030-01-01T00:00:03.000Z', 'a@x.test', 'sent'));
      expect((await c.store().listDeliveries(t, 'prm_1')).map((x) => `${x.at} ${x.target} ${x.status}`)).toEqual([
        '2030-01-01T00:00:01.000Z a@x.test sent',
        '2030-01-01T00:00:02.000Z b@x.test failed',
      ]);
    });
  });
}
