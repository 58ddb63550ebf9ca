import type { GitTarget } from '../../../domain/gitops/ports.ts';
import type { AuditEntry } from '../../../domain/kernel/model.ts';
import type { WebhookDelivery, WebhookSubscription } from '../../../domain/webhooks/model.ts';
import type { DeploymentGateRepo, GitTargetOp, GitTargetRepo } from '../../../domain/gitops/ports.ts';
import { runKeyOf, type DeploymentGate, type DeploymentRun } from '../../../domain/gitops/deployment-gate.ts';
import type { WebhookOp, WebhookRepo } from '../../../domain/webhooks/ports.ts';
import { keys, TABLE } from '../../../functions/adapters/keys.ts';
import { strip } from '../../../functions/adapters/store/base.ts';
import type { MemoryState, Writers } from './area.ts';
import { auditWrite } from './audit.ts';
import { create, createOrVersion, versioned, type Item, type Write } from './table.ts';

/** Kept a month: the delivery log of a subscription. */
const DELIVERY_TTL_SECONDS = 30 * 86400;

/** Where promotions are delivered beyond the table: outbound webhook subscriptions (and their deliveries), environments' git targets. */
export function webhookArea({ table }: MemoryState) {
  const subWrite = (sub: WebhookSubscription, expected: number | null): Write =>
    versioned({ ...keys.webhook(sub.tenant, sub.id), entity: 'Webhook', ...sub }, expected, 'version', createOrVersion(expected));
  const subDelete = (sub: WebhookSubscription): Write => ({
    key: keys.webhook(sub.tenant, sub.id),
    when: (cur) => cur?.version === sub.version,
    to: null,
    reason: 'version',
  });
  const targetWrite = (t: GitTarget, expected: number | null): Write =>
    versioned({ ...keys.gitTarget(t.tenant, t.environment), entity: 'GitTarget', ...t }, expected, 'version', createOrVersion(expected));
  const targetDelete = (t: GitTarget): Write => ({
    key: keys.gitTarget(t.tenant, t.environment),
    when: (cur) => cur?.version === t.version,
    to: null,
    reason: 'version',
  });
  const deliveryItem = (d: WebhookDelivery): Item => ({
    ...keys.webhookDelivery(d.tenant, d.subscription, d.id),
    entity: 'WebhookDelivery',
    ...d,
    [TABLE.ttlAttribute]: Math.floor(Date.parse(d.createdAt) / 1000) + DELIVERY_TTL_SECONDS,
  });

  const webhooks: WebhookRepo = {
    async getWebhook(tenant: string, id: string): Promise<WebhookSubscription | null> {
      return strip<WebhookSubscription>(table.get(keys.webhook(tenant, id)));
    },
    async listWebhooks(tenant: string): Promise<WebhookSubscription[]> {
      const k = keys.webhooks(tenant);
      return table.query(k.pk, { prefix: k.skPrefix }).map((i) => strip<WebhookSubscription>(i)!);
    },
    async putWebhook(sub: WebhookSubscription, expectedVersion: number | null, audit: AuditEntry): Promise<void> {
      table.transact([subWrite(sub, expectedVersion), auditWrite(audit)]);
    },
    async deleteWebhook(sub: WebhookSubscription, audit: AuditEntry): Promise<void> {
      table.transact([subDelete(sub), auditWrite(audit)]);
    },
    async setWebhookHealth(tenant: string, id: string, health: WebhookSubscription['health']): Promise<void> {
      table.write({ key: keys.webhook(tenant, id), when: (cur) => cur !== undefined, to: (cur) => ({ ...cur!, health }), reason: 'unknown' });
    },
    async createWebhookDelivery(d: WebhookDelivery): Promise<boolean> {
      return table.write(create(deliveryItem(d)));
    },
    async getWebhookDelivery(tenant: string, subscription: string, id: string): Promise<WebhookDelivery | null> {
      return strip<WebhookDelivery>(table.get(keys.webhookDelivery(tenant, subscription, id)));
    },
    async updateWebhookDelivery(d: WebhookDelivery, expectedRev: number): Promise<boolean> {
      return table.write({
        key: keys.webhookDelivery(d.tenant, d.subscription, d.id),
        when: (cur) => cur?.rev === expectedRev,
        to: deliveryItem(d),
        reason: 'unknown',
      });
    },
    async listWebhookDeliveries(
      tenant: string,
      subscription: string,
      limit: number,
      cursor?: string,
    ): Promise<{ items: WebhookDelivery[]; cursor: string | null }> {
      const k = keys.webhookDeliveries(tenant, subscription);
      const page = table.page(tenant, { partition: k.pk, range: { prefix: k.skPrefix }, forward: false, limit }, cursor);
      return { items: page.items.map((i) => strip<WebhookDelivery>(i)!), cursor: page.nextCursor ?? null };
    },
  };

  const gitTargets: GitTargetRepo = {
    async getGitTarget(tenant: string, environment: string): Promise<GitTarget | null> {
      return strip<GitTarget>(table.get(keys.gitTarget(tenant, environment)));
    },
    async putGitTarget(target: GitTarget, expectedVersion: number | null, audit: AuditEntry): Promise<void> {
      table.transact([targetWrite(target, expectedVersion), auditWrite(audit)]);
    },
    async deleteGitTarget(target: GitTarget, audit: AuditEntry): Promise<void> {
      table.transact([targetDelete(target), auditWrite(audit)]);
    },
  };

  const gateWrite = (g: DeploymentGate, expected: number | null): Write =>
    versioned({ ...keys.deploymentGate(g.tenant, g.environment), entity: 'DeploymentGate', ...g }, expected, 'version', createOrVersion(expected));
  const gates: DeploymentGateRepo = {
    async getDeploymentGate(tenant, environment) {
      return strip<DeploymentGate>(table.get(keys.deploymentGate(tenant, environment)));
    },
    async listDeploymentGates(tenant) {
      const k = keys.deploymentGates(tenant);
      return table.query(k.pk, { prefix: k.skPrefix }).map((i) => strip<DeploymentGate>(i)!);
    },
    async putDeploymentGate(gate, expectedVersion, audit) {
      table.transact([gateWrite(gate, expectedVersion), auditWrite(audit)]);
    },
    async deleteDeploymentGate(gate, audit) {
      const del: Write = { key: keys.deploymentGate(gate.tenant, gate.environment), when: (cur) => cur?.version === gate.version, to: null, reason: 'version' };
      table.transact([del, auditWrite(audit)]);
    },
    async getDeploymentRun(tenant, key) {
      return strip<DeploymentRun>(table.get(keys.deploymentRun(tenant, key)));
    },
    async putDeploymentRun(run) {
      const key = runKeyOf(run);
      if (run.promotionId) table.put({ ...keys.deploymentRunOf(run.tenant, run.promotionId, key), entity: 'DeploymentRunOf', run: key });
      if (table.write(create({ ...keys.deploymentRun(run.tenant, key), entity: 'DeploymentRun', ...run }))) return run;
      return strip<DeploymentRun>(table.get(keys.deploymentRun(run.tenant, key)))!;
    },
    async deploymentRunsOf(tenant, promotionId) {
      const k = keys.deploymentRunsOf(tenant, promotionId);
      return table
        .query(k.pk, { prefix: k.skPrefix })
        .map((i) => strip<DeploymentRun>(table.get(keys.deploymentRun(tenant, String(i.run))))!)
        .filter(Boolean);
    },
    async answerDeploymentRun(run, answer) {
      return table.write({
        key: keys.deploymentRun(run.tenant, runKeyOf(run)),
        when: (cur) => cur !== undefined && !cur.answer,
        to: (cur) => ({ ...cur!, answer }),
        reason: 'unknown',
      });
    },
  };

  const writes: Writers<WebhookOp | GitTargetOp> = {
    webhook: (op) => [subWrite(op.sub, op.expectedVersion)],
    deleteWebhook: (op) => [subDelete(op.sub)],
    gitTarget: (op) => [targetWrite(op.target, op.expectedVersion)],
    deleteGitTarget: (op) => [targetDelete(op.target)],
  };
  return { port: { ...webhooks, ...gitTargets, ...gates }, writes };
}
