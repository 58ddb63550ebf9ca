import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { FreezeWindow } from '#domain/freeze/model';
import type { RecurringPromotion, Rule } from '#domain/kernel/promotion-model';
import type { PolicyOp, PolicyStorePort } from '#domain/promotion/ports';
import { keys } from '../keys.ts';
import { createOrVersion, kindsOf, one, type Area, type OpItems } from './area.ts';
import { strip, type StoreBase } from './base.ts';

/** What promotions are decided by: promotion rules (one per source → target pair, a claim item keeps it so), freeze windows and recurring promotions. */
export function policyArea(base: StoreBase): Area<PolicyStorePort, PolicyOp> {
  const { db, table } = base;

  const port: PolicyStorePort = {
    async getRule(tenant: string, id: string): Promise<Rule | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.rule(tenant, id), ConsistentRead: true }));
      return strip<Rule>(r.Item);
    },

    async listFreezeWindows(tenant: string): Promise<FreezeWindow[]> {
      const k = keys.freezeWindows(tenant);
      return base.queryAll<FreezeWindow>(k.pk, k.skPrefix, true);
    },

    async listRules(tenant: string): Promise<Rule[]> {
      const k = keys.rules(tenant);
      return base.queryAll<Rule>(k.pk, k.skPrefix, true);
    },

    async getRecurringPromotion(tenant: string, name: string): Promise<RecurringPromotion | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.recurringPromotion(tenant, name), ConsistentRead: true }));
      return strip<RecurringPromotion>(r.Item);
    },

    async listRecurringPromotions(tenant: string): Promise<RecurringPromotion[]> {
      const k = keys.recurringPromotions(tenant);
      return base.queryAll<RecurringPromotion>(k.pk, k.skPrefix, true);
    },
  };

  const items = (op: PolicyOp, tenant: string): OpItems => {
    switch (op.kind) {
      case 'rule':
        return one(base.put({ ...keys.rule(tenant, op.rule.id), entity: 'Rule', ...op.rule }, op.expectedVersion), createOrVersion(op.expectedVersion));
      case 'rulePair':
        return op.claim
          ? one(
              {
                Put: {
                  TableName: table,
                  Item: { ...keys.rulePair(tenant, op.source, op.target), entity: 'RulePair', ruleId: op.ruleId },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
              'exists',
            )
          : one(
              {
                Delete: {
                  TableName: table,
                  Key: keys.rulePair(tenant, op.source, op.target),
                  ConditionExpression: 'attribute_not_exists(pk) OR ruleId = :r',
                  ExpressionAttributeValues: { ':r': op.ruleId },
                },
              },
              'version',
            );
      case 'deleteRule':
        return one(
          {
            Delete: {
              TableName: table,
              Key: keys.rule(tenant, op.id),
              ConditionExpression: '#v = :v',
              ExpressionAttributeNames: { '#v': 'version' },
              ExpressionAttributeValues: { ':v': op.expectedVersion },
            },
          },
          'version',
        );
      case 'freezeWindow':
        return one(
          {
            Put: {
              TableName: table,
              Item: { ...keys.freezeWindow(tenant, op.window.id), entity: 'FreezeWindow', ...op.window },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          'exists',
        );
      case 'recurringPromotion':
        return one(
          base.put({ ...keys.recurringPromotion(tenant, op.recurring.name), entity: 'Recurring', ...op.recurring }, op.expectedRev, 'rev'),
          createOrVersion(op.expectedRev),
        );
      case 'deleteRecurringPromotion':
        return one(
          {
            Delete: {
              TableName: table,
              Key: keys.recurringPromotion(tenant, op.name),
              ConditionExpression: '#r = :r',
              ExpressionAttributeNames: { '#r': 'rev' },
              ExpressionAttributeValues: { ':r': op.expectedRev },
            },
          },
          'version',
        );
      case 'deleteFreezeWindow':
        return one({ Delete: { TableName: table, Key: keys.freezeWindow(tenant, op.id), ConditionExpression: 'attribute_exists(pk)' } }, 'unknown');
    }
  };

  return {
    port,
    writes: {
      kinds: kindsOf<PolicyOp>({
        rule: true,
        deleteRule: true,
        rulePair: true,
        freezeWindow: true,
        deleteFreezeWindow: true,
        recurringPromotion: true,
        deleteRecurringPromotion: true,
      }),
      items: (op, ctx) => items(op, ctx.tenant),
    },
  };
}
