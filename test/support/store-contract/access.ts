import { describe, expect, it } from 'vitest';
import { allPages, appKey, audit, conflict, environment, gitTarget, member, snapshot, uid, webhook, webhookDelivery, type Contract } from './fixtures.ts';

/** What a tenant sets up around its line: app keys, the tenant itself, outbound webhooks, git targets. */
export function accessContract(c: Contract) {
  describe('app keys', () => {
    it('creates a key once (exists), changes it on its version (version); reads it with its environment in one call', async () => {
      const t = c.tenant();
      await c.store().putAppKey(appKey(t, 'k2', 1), null, audit(t, { entityType: 'app-key' }));
      await c.store().putAppKey(appKey(t, 'k1', 1), null, audit(t));
      expect(await conflict(c.store().putAppKey(appKey(t, 'k1', 1), null, audit(t)))).toBe('exists');
      const revoked = { ...appKey(t, 'k1', 2), revokedAt: '2030-01-02T00:00:00.000Z', revokedBy: 'u1' };
      await c.store().putAppKey(revoked, 1, audit(t));
      expect(await conflict(c.store().putAppKey({ ...appKey(t, 'k1', 2), name: 'late' }, 1, audit(t)))).toBe('version');
      expect(await c.store().getAppKey(t, 'k1')).toEqual(revoked);
      expect((await c.store().listAppKeys(t)).map((k) => k.id)).toEqual(['k1', 'k2']);
      const dev = environment(t, 'dev', 0);
      await c.store().createEnvironment(dev, snapshot('dev', 1), audit(t));
      expect(await c.store().appKeyAndEnvironment(t, 'k1', 'dev')).toEqual({ key: revoked, env: dev });
      expect(await c.store().appKeyAndEnvironment(t, null, 'dev')).toEqual({ key: null, env: dev });
      expect(await c.store().appKeyAndEnvironment(t, 'k9', 'qa')).toEqual({ key: null, env: null });
    });

    it('records when a key was last used, never moving it back; a key that is not there stays so', async () => {
      const t = c.tenant();
      await c.store().putAppKey(appKey(t, 'k1', 1), null, audit(t));
      await c.store().touchAppKey(t, 'k1', '2030-01-02T00:00:00.000Z');
      await c.store().touchAppKey(t, 'k1', '2030-01-01T00:00:00.000Z');
      expect((await c.store().getAppKey(t, 'k1'))?.lastUsedAt).toBe('2030-01-02T00:00:00.000Z');
      expect((await c.store().getAppKey(t, 'k1'))?.version).toBe(1);
      await c.store().touchAppKey(t, 'k9', '2030-01-02T00:00:00.000Z');
      expect(await c.store().getAppKey(t, 'k9')).toBeNull();
    });
  });

  describe('tenants', () => {
    it('creates a tenant once (exists)', async () => {
      const id = c.tenant();
      const tenant = { id, displayName: 'Acme', createdAt: '2030-01-01T00:00:00.000Z', createdBy: 'pat' };
      await c.store().createTenant(tenant, audit(id, { entityType: 'tenant', entityId: id }));
      expect(await conflict(c.store().createTenant({ ...tenant, displayName: 'Other' }, audit(id)))).toBe('exists');
      expect(await c.store().getTenant(id)).toEqual(tenant);
      expect(await c.store().getTenant(c.tenant())).toBeNull();
    });

    it('sets the email domains of a tenant that exists (unknown otherwise)', async () => {
      const id = c.tenant();
      const tenant = { id, displayName: 'Acme', createdAt: '2030-01-01T00:00:00.000Z', createdBy: 'pat' };
      expect(await conflict(c.store().setEmailDomains(id, ['acme.test'], audit(id)))).toBe('unknown');
      await c.store().createTenant(tenant, audit(id));
      await c.store().setEmailDomains(id, ['acme.test', 'acme.example'], audit(id));
      expect(await c.store().getTenant(id)).toEqual({ ...tenant, emailDomains: ['acme.test', 'acme.example'] });
    });

    it('says an id is in use when it has a record, a person in its index, or any audit entry', async () => {
      const [bare, recorded, peopled, used] = [c.tenant(), c.tenant(), c.tenant(), c.tenant()];
      await c.store().createTenant({ id: recorded, displayName: 'R', createdAt: '2030-01-01T00:00:00.000Z', createdBy: 'pat' }, audit(recorded));
      await c.store().putMember(member(peopled, 'u1', ['admin']), null);
      await c.store().commit(used, [{ kind: 'audit', entry: audit(used) }]);
      expect(await c.store().tenantInUse(bare)).toBe(false);
      for (const id of [recorded, peopled, used]) expect(await c.store().tenantInUse(id), id).toBe(true);
    });
  });

  describe('people (the per-tenant index of who is who)', () => {
    it("writes a person with their audit entry, lists one tenant's people only, and removes them", async () => {
      const [t, other] = [c.tenant(), c.tenant()];
      await c.store().putMember(member(t, 'u2', ['viewer']), audit(t, { entityType: 'user', entityId: 'u2@x.test' }));
      await c.store().putMember(member(t, 'u1', ['admin']), audit(t));
      await c.store().putMember(member(other, 'u3', ['admin']), audit(other));
      await c.store().putMember({ ...member(t, 'u2', ['deployer', 'approver']), username: 'name-2' }, audit(t));
      expect(await c.store().getMember(t, 'u2')).toEqual({ ...member(t, 'u2', ['deployer', 'approver']), username: 'name-2' });
      expect((await c.store().listMembers(t)).map((m) => `${m.id}:${m.roles.join(',')}`)).toEqual(['u1:admin', 'u2:deployer,approver']);
      expect((await c.store().queryAudit(t, { limit: 10 })).items).toHaveLength(3);
      await c.store().removeMember(t, 'u2', audit(t), 1_900_000_000);
      expect(await c.store().getMember(t, 'u2')).toBeNull();
      expect((await c.store().listMembers(t)).map((m) => m.id)).toEqual(['u1']);
      expect(await c.store().getMember(other, 'u1')).toBeNull();
    });

    it("keeps the second before which a person's tokens stop counting: the later one wins, per tenant and person", async () => {
      const [t, other] = [c.tenant(), c.tenant()];
      expect(await c.store().notBefore(t, 'u1')).toBeNull();
      await c.store().putMember(member(t, 'u1', ['viewer']), audit(t), 1_900_000_100);
      expect(await c.store().notBefore(t, 'u1')).toBe(1_900_000_100);
      await c.store().putMember(member(t, 'u1', ['viewer']), audit(t), 1_900_000_050);
      expect(await c.store().notBefore(t, 'u1')).toBe(1_900_000_100);
      await c.store().removeMember(t, 'u1', audit(t), 1_900_000_200);
      expect(await c.store().notBefore(t, 'u1')).toBe(1_900_000_200);
      expect(await c.store().notBefore(other, 'u1')).toBeNull();
      expect(await c.store().listMembers(t)).toEqual([]);
    });

    it('indexes a person the index lacks, leaves one it has as it is, and never puts back a person a removal took out', async () => {
      const t = c.tenant();
      expect(await c.store().indexMember(member(t, 'u1', ['admin']))).toBe(true);
      expect(await c.store().indexMember(member(t, 'u1', ['viewer']))).toBe(true);
      expect((await c.store().getMember(t, 'u1'))?.roles).toEqual(['admin']);
      await c.store().removeMember(t, 'u1', audit(t), 1_900_000_000);
      expect(await c.store().indexMember(member(t, 'u1', ['admin']))).toBe(false);
      expect(await c.store().getMember(t, 'u1')).toBeNull();
    });
  });

  describe('webhooks', () => {
    it('creates a subscription once (exists), changes and deletes it on its version (version), by method or commit', async () => {
      const t = c.tenant();
      await c.store().putWebhook(webhook(t, 'w2', 1), null, audit(t));
      await c.store().putWebhook(webhook(t, 'w1', 1), null, audit(t));
      expect(await conflict(c.store().putWebhook(webhook(t, 'w1', 1), null, audit(t)))).toBe('exists');
      await c.store().putWebhook({ ...webhook(t, 'w1', 2), enabled: false }, 1, audit(t));
      expect(await conflict(c.store().putWebhook(webhook(t, 'w1', 2), 1, audit(t)))).toBe('version');
      expect(await c.store().getWebhook(t, 'w1')).toEqual({ ...webhook(t, 'w1', 2), enabled: false });
      expect((await c.store().listWebhooks(t)).map((w) => w.id)).toEqual(['w1', 'w2']);
      expect(await conflict(c.store().deleteWebhook(webhook(t, 'w1', 1), audit(t)))).toBe('version');
      await c.store().deleteWebhook(webhook(t, 'w1', 2), audit(t));
      expect(await c.store().getWebhook(t, 'w1')).toBeNull();
      await c.store().commit(t, [{ kind: 'webhook', sub: webhook(t, 'w3', 1), expectedVersion: null }]);
      expect(await conflict(c.store().commit(t, [{ kind: 'webhook', sub: webhook(t, 'w3', 1), expectedVersion: null }]))).toBe('exists');
      expect(await conflict(c.store().commit(t, [{ kind: 'deleteWebhook', sub: webhook(t, 'w3', 7) }]))).toBe('version');
      await c.store().commit(t, [
        { kind: 'deleteWebhook', sub: webhook(t, 'w3', 1) },
        { kind: 'audit', entry: audit(t) },
      ]);
      expect((await c.store().listWebhooks(t)).map((w) => w.id)).toEqual(['w2']);
    });

    it('sets a subscription’s health without a new version; nothing for one that is not there', async () => {
      const t = c.tenant();
      await c.store().putWebhook(webhook(t, 'w1', 1), null, audit(t));
      const failing = { status: 'failing' as const, consecutiveFailures: 3, lastFailureAt: '2030-01-01T00:00:00.000Z', reason: '503' };
      await c.store().setWebhookHealth(t, 'w1', failing);
      expect(await c.store().getWebhook(t, 'w1')).toEqual({ ...webhook(t, 'w1', 1), health: failing });
      await c.store().setWebhookHealth(t, 'w9', failing);
      expect(await c.store().getWebhook(t, 'w9')).toBeNull();
    });

    it('creates a delivery once, updates it on its rev, lists a subscription’s deliveries newest first a page at a time', async () => {
      const t = c.tenant();
      const ids = ['d1', 'd2', 'd3'].map((d) => `${d}-${uid()}`);
      for (const id of ids) expect(await c.store().createWebhookDelivery(webhookDelivery(t, 'w1', id, 1))).toBe(true);
      expect(await c.store().createWebhookDelivery(webhookDelivery(t, 'w1', ids[0]!, 1))).toBe(false);
      await c.store().createWebhookDelivery(webhookDelivery(t, 'w2', ids[0]!, 1));
      const delivered = { ...webhookDelivery(t, 'w1', ids[0]!, 2), status: 'delivered' as const };
      expect(await c.store().updateWebhookDelivery(delivered, 1)).toBe(true);
      expect(await c.store().updateWebhookDelivery({ ...delivered, status: 'failed' }, 1)).toBe(false);
      expect(await c.store().getWebhookDelivery(t, 'w1', ids[0]!)).toEqual(delivered);
      expect(await c.store().updateWebhookDelivery(webhookDelivery(t, 'w1', 'nope', 2), 1)).toBe(false);
      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await c.store().listWebhookDeliveries(t, 'w1', 2, cursor);
        pages.push(page.items.map((d) => d.id));
        cursor = page.cursor ?? undefined;
      } while (cursor);
      expect(pages.flat()).toEqual([...ids].reverse());
      expect(pages[0]).toHaveLength(2);
    });
  });

  describe('git targets', () => {
    it('creates an environment’s target once (exists), changes and deletes it on its version (version), by method or commit', async () => {
      const t = c.tenant();
      await c.store().putGitTarget(gitTarget(t, 'prod', 1), null, audit(t));
      expect(await conflict(c.store().putGitTarget(gitTarget(t, 'prod', 1), null, audit(t)))).toBe('exists');
      await c.store().putGitTarget({ ...gitTarget(t, 'prod', 2), branch: 'release' }, 1, audit(t));
      expect(await conflict(c.store().putGitTarget(gitTarget(t, 'prod', 2), 1, audit(t)))).toBe('version');
      expect(await c.store().getGitTarget(t, 'prod')).toEqual({ ...gitTarget(t, 'prod', 2), branch: 'release' });
      expect(await conflict(c.store().deleteGitTarget(gitTarget(t, 'prod', 1), audit(t)))).toBe('version');
      await c.store().deleteGitTarget(gitTarget(t, 'prod', 2), audit(t));
      expect(await c.store().getGitTarget(t, 'prod')).toBeNull();
      await c.store().commit(t, [
        { kind: 'gitTarget', target: gitTarget(t, 'dev', 1), expectedVersion: null },
        { kind: 'audit', entry: audit(t) },
      ]);
      expect(await conflict(c.store().commit(t, [{ kind: 'gitTarget', target: gitTarget(t, 'dev', 2), expectedVersion: 3 }]))).toBe('version');
      expect(await conflict(c.store().commit(t, [{ kind: 'deleteGitTarget', target: gitTarget(t, 'dev', 2) }]))).toBe('version');
      await c.store().commit(t, [{ kind: 'deleteGitTarget', target: gitTarget(t, 'dev', 1) }]);
      expect(await c.store().getGitTarget(t, 'dev')).toBeNull();
    });
  });
}
