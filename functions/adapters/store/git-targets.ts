import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEntry } from '#domain/model';
import type { GitTarget, GitTargetRepo } from '#domain/gitops/ports';
import { keys } from '../keys.ts';
import { createOrVersion, type Area } from './area.ts';
import { strip, type StoreBase } from './base.ts';
import { auditItems } from './audit.ts';

/** Environments' git targets (domain/gitops): where a promotion commits the promoted version. */
export function gitTargetArea(base: StoreBase): Area<GitTargetRepo> {
  const { db, table } = base;

  const port: GitTargetRepo = {
    async getGitTarget(tenant: string, environment: string): Promise<GitTarget | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.gitTarget(tenant, environment), ConsistentRead: true }));
      return strip<GitTarget>(r.Item);
    },

    async putGitTarget(target: GitTarget, expectedVersion: number | null, audit: AuditEntry): Promise<void> {
      await base.transact([base.put({ ...keys.gitTarget(target.tenant, target.environment), entity: 'GitTarget', ...target }, expectedVersion), ...auditItems(table, audit)], [createOrVersion(expectedVersion), 'exists']);
    },

    async deleteGitTarget(target: GitTarget, audit: AuditEntry): Promise<void> {
      await base.transact(
        [
          { Delete: { TableName: table, Key: keys.gitTarget(target.tenant, target.environment), ConditionExpression: '#v = :v', ExpressionAttributeNames: { '#v': 'version' }, ExpressionAttributeValues: { ':v': target.version } } },
          ...auditItems(table, audit),
        ],
        ['version', 'exists'],
      );
    },
  };
  return { port };
}
