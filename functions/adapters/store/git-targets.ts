import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEntry } from '#domain/kernel/model';
import type { GitTarget, GitTargetRepo } from '#domain/gitops/ports';
import { keys } from '../keys.ts';
import type { GitTargetOp } from '#domain/gitops/ports';
import { createOrVersion, kindsOf, one, type Area, type OpItems } from './area.ts';
import type { TxItem } from './base.ts';
import { strip, type StoreBase } from './base.ts';
import { auditItems } from './audit.ts';

/** Environments' git targets (domain/gitops): where a promotion commits the promoted version. */
export function gitTargetArea(base: StoreBase): Area<GitTargetRepo, GitTargetOp> {
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
  const items = (op: GitTargetOp): OpItems =>
    op.kind === 'gitTarget' ? one(targetItem(op.target, op.expectedVersion), createOrVersion(op.expectedVersion)) : one(targetDelete(op.target), 'version');
  return { port, writes: { kinds: kindsOf<GitTargetOp>({ gitTarget: true, deleteGitTarget: true }), items } };
}
