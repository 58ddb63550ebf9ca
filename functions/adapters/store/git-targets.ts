import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEntry } from '#domain/kernel/model';
import type { DeploymentGateRepo, GitTarget, GitTargetRepo } from '#domain/gitops/ports';
import { runKeyOf, type DeploymentGate, type DeploymentRun } from '#domain/gitops/deployment-gate';
import { keys } from '../keys.ts';
import type { GitTargetOp } from '#domain/gitops/ports';
import { createOrVersion, kindsOf, one, type Area, type OpItems } from './area.ts';
import type { TxItem } from './base.ts';
import { strip, type StoreBase } from './base.ts';
import { auditItems } from './audit.ts';

/** Environments' git targets (domain/gitops): where a promotion commits the promoted version. */
export function gitTargetArea(base: StoreBase): Area<GitTargetRepo & DeploymentGateRepo, GitTargetOp> {
  const { db, table } = base;
  const targetItem = (target: GitTarget, expectedVersion: number | null): TxItem =>
    base.put({ ...keys.gitTarget(target.tenant, target.environment), entity: 'GitTarget', ...target }, expectedVersion);
  const targetDelete = (target: GitTarget): TxItem => ({
    Delete: {
      TableName: table,
      Key: keys.gitTarget(target.tenant, target.environment),
      ConditionExpression: '#v = :v',
      ExpressionAttributeNames: { '#v': 'version' },
      ExpressionAttributeValues: { ':v': target.version },
    },
  });

  const port: GitTargetRepo = {
    async getGitTarget(tenant: string, environment: string): Promise<GitTarget | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.gitTarget(tenant, environment), ConsistentRead: true }));
      return strip<GitTarget>(r.Item);
    },

    async putGitTarget(target: GitTarget, expectedVersion: number | null, audit: AuditEntry): Promise<void> {
      await base.transact([targetItem(target, expectedVersion), ...auditItems(table, audit)], [createOrVersion(expectedVersion), 'exists']);
    },

    async deleteGitTarget(target: GitTarget, audit: AuditEntry): Promise<void> {
      await base.transact([targetDelete(target), ...auditItems(table, audit)], ['version', 'exists']);
    },
  };
  const gates: DeploymentGateRepo = {
    async getDeploymentGate(tenant, environment) {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.deploymentGate(tenant, environment), ConsistentRead: true }));
      return strip<DeploymentGate>(r.Item);
    },
    async listDeploymentGates(tenant) {
      const k = keys.deploymentGates(tenant);
      return (await base.queryAll<Record<string, unknown>>(k.pk, k.skPrefix, true)).map((i) => strip<DeploymentGate>(i)!);
    },
    async putDeploymentGate(gate, expectedVersion, audit) {
      const item = base.put({ ...keys.deploymentGate(gate.tenant, gate.environment), entity: 'DeploymentGate', ...gate }, expectedVersion);
      await base.transact([item, ...auditItems(table, audit)], [createOrVersion(expectedVersion), 'exists']);
    },
    async deleteDeploymentGate(gate, audit) {
      const del: TxItem = {
        Delete: {
          TableName: table,
          Key: keys.deploymentGate(gate.tenant, gate.environment),
          ConditionExpression: '#v = :v',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: { ':v': gate.version },
        },
      };
      await base.transact([del, ...auditItems(table, audit)], ['version', 'exists']);
    },
    async getDeploymentRun(tenant, key) {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.deploymentRun(tenant, key), ConsistentRead: true }));
      return strip<DeploymentRun>(r.Item);
    },
    async putDeploymentRun(run) {
      const key = runKeyOf(run);
      // The promotion's pointer first: a run recorded is always found from its promotion (a pointer left by a run that
      // lost the race below finds the first run, which is answered for its own promotion).
      if (run.promotionId)
        await db.send(
          new PutCommand({ TableName: table, Item: { ...keys.deploymentRunOf(run.tenant, run.promotionId, key), entity: 'DeploymentRunOf', run: key } }),
        );
      const first = await base.conditional(
        new PutCommand({
          TableName: table,
          Item: { ...keys.deploymentRun(run.tenant, key), entity: 'DeploymentRun', ...run },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return first ? run : (await gates.getDeploymentRun(run.tenant, key))!;
    },
    async deploymentRunsOf(tenant, promotionId) {
      const k = keys.deploymentRunsOf(tenant, promotionId);
      const refs = await base.queryAll<{ run: string }>(k.pk, k.skPrefix, true);
      if (!refs.length) return [];
      return (await base.batchGet(refs.map((r) => keys.deploymentRun(tenant, r.run)))).map((i) => strip<DeploymentRun>(i)!);
    },
    async answerDeploymentRun(run, answer) {
      return base.conditional(
        new UpdateCommand({
          TableName: table,
          Key: keys.deploymentRun(run.tenant, runKeyOf(run)),
          UpdateExpression: 'SET #a = :a',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(#a) OR #a = :null)',
          ExpressionAttributeNames: { '#a': 'answer' },
          ExpressionAttributeValues: { ':a': answer, ':null': null },
        }),
      );
    },
  };
  const items = (op: GitTargetOp): OpItems =>
    op.kind === 'gitTarget' ? one(targetItem(op.target, op.expectedVersion), createOrVersion(op.expectedVersion)) : one(targetDelete(op.target), 'version');
  return { port: { ...port, ...gates }, writes: { kinds: kindsOf<GitTargetOp>({ gitTarget: true, deleteGitTarget: true }), items } };
}
