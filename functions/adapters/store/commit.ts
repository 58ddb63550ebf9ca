import type { DomainEvent, MetricDelta, WriteOp } from '#domain/ports';
import type { Tag } from '#domain/artifacts';
import { indexAttributes, keys } from '../keys.ts';
import { artifactVersionItem, type ConflictReason, type TxItem } from './base.ts';
import { IdempotencyStore } from './idempotency.ts';

/** The generic atomic commit: the domain's write ops as one DynamoDB transaction. */
export class CommitStore extends IdempotencyStore {
  /** `events`: the commit's events when this op's item carries them (see commit). */
  protected opItems(tenant: string, op: WriteOp, events: DomainEvent[] = []): { items: TxItem[]; reasons: ConflictReason[] } {
    switch (op.kind) {
      case 'promotion':
        return op.gatesChanged
          ? {
              items: [
                this.put(this.promotionItem(op.promotion), op.expectedVersion),
                { Put: { TableName: this.table, Item: { ...keys.promotionGates(op.promotion.tenant, op.promotion.id), entity: 'PromotionGates', gates: op.promotion.gates } } },
              ],
              reasons: [op.expectedVersion === null ? 'exists' : 'version', 'unknown'],
            }
          : { items: [this.put(this.promotionItem(op.promotion), op.expectedVersion)], reasons: [op.expectedVersion === null ? 'exists' : 'version'] };
      case 'environment': {
        const monitors = op.previousMonitors ? this.monitorItems(op.env, op.previousMonitors) : [];
        return { items: [this.put(this.envItem(op.env), op.expectedVersion), ...monitors], reasons: ['version', ...monitors.map(() => 'unknown' as const)] };
      }
      case 'snapshot':
        return { items: [this.snapshotItem(tenant, op.snapshot)], reasons: ['version'] };
      case 'deployment': {
        const d = op.deployment;
        return {
          items: [
            { Put: { TableName: this.table, Item: { ...keys.deployment(tenant, d.environment, d.deployedAt, d.id), entity: 'Deployment', ...d } } },
            { Put: { TableName: this.table, Item: { ...keys.deploymentById(tenant, d.id), entity: 'DeploymentId', environment: d.environment, deployedAt: d.deployedAt } } },
          ],
          reasons: ['unknown', 'unknown'],
        };
      }
      case 'metrics':
        return { items: [], reasons: [] };
      case 'tag': {
        const tg = op.tag;
        const Item = { ...keys.tag(tenant, tg.artifact, tg.environment, tg.kind, tg.version), entity: 'Tag', ...tg };
        // An immutable tag is created once; writing it again is fine only with the same digest.
        return tg.mutable
          ? { items: [{ Put: { TableName: this.table, Item } }], reasons: ['unknown'] }
          : { items: [{ Put: { TableName: this.table, Item, ConditionExpression: 'attribute_not_exists(pk) OR digest = :d', ExpressionAttributeValues: { ':d': tg.digest } } }], reasons: ['exists'] };
      }
      case 'consumer':
        return { items: [{ Put: { TableName: this.table, Item: { ...keys.consumer(tenant, op.consumer.artifact, op.consumer.name), entity: 'Consumer', ...op.consumer } } }], reasons: ['unknown'] };
      case 'pointer':
        return {
          items: [this.put({ ...keys.pointer(tenant, op.pointer.environment, op.pointer.name), entity: 'ArtifactPointer', ...op.pointer }, op.expectedVersion, 'version_')],
          reasons: ['version'],
        };
      case 'artifactVersion': {
        const a = op.artifact;
        return { items: [this.put({ ...keys.artifactVersion(tenant, a.name, a.version), entity: 'ArtifactVersion', ...artifactVersionItem(a) }, null)], reasons: ['exists'] };
      }
      case 'rule':
        return { items: [this.put({ ...keys.rule(tenant, op.rule.id), entity: 'Rule', ...op.rule }, op.expectedVersion)], reasons: [op.expectedVersion === null ? 'exists' : 'version'] };
      case 'rulePair':
        return op.claim
          ? {
              items: [{ Put: { TableName: this.table, Item: { ...keys.rulePair(tenant, op.source, op.target), entity: 'RulePair', ruleId: op.ruleId }, ConditionExpression: 'attribute_not_exists(pk)' } }],
              reasons: ['exists'],
            }
          : {
              items: [{ Delete: { TableName: this.table, Key: keys.rulePair(tenant, op.source, op.target), ConditionExpression: 'attribute_not_exists(pk) OR ruleId = :r', ExpressionAttributeValues: { ':r': op.ruleId } } }],
              reasons: ['version'],
            };
      case 'deleteRule':
        return {
          items: [
            {
              Delete: {
                TableName: this.table,
                Key: keys.rule(tenant, op.id),
                ConditionExpression: '#v = :v',
                ExpressionAttributeNames: { '#v': 'version' },
                ExpressionAttributeValues: { ':v': op.expectedVersion },
              },
            },
          ],
          reasons: ['version'],
        };
      case 'notifySettings':
        return { items: [this.put(this.notifyItem(op.settings), op.expectedVersion)], reasons: [op.expectedVersion === null ? 'exists' : 'version'] };
      case 'manifestHead':
        return {
          items: [
            {
              Put: {
                TableName: this.table,
                Item: { ...keys.manifestHead(tenant), entity: 'ManifestHead', digest: op.digest },
                ...(op.previous === null ? { ConditionExpression: 'attribute_not_exists(pk)' } : { ConditionExpression: 'digest = :prev', ExpressionAttributeValues: { ':prev': op.previous } }),
              },
            },
          ],
          reasons: ['version'],
        };
      case 'freezeWindow':
        return {
          items: [{ Put: { TableName: this.table, Item: { ...keys.freezeWindow(tenant, op.window.id), entity: 'FreezeWindow', ...op.window }, ConditionExpression: 'attribute_not_exists(pk)' } }],
          reasons: ['exists'],
        };
      case 'deleteFreezeWindow':
        return { items: [{ Delete: { TableName: this.table, Key: keys.freezeWindow(tenant, op.id), ConditionExpression: 'attribute_exists(pk)' } }], reasons: ['unknown'] };
      case 'approval':
        // One approval per approver and release digest: a second one for the same digest is refused.
        return {
          items: [
            {
              Put: {
                TableName: this.table,
                Item: { ...keys.approval(tenant, op.promotionId, op.approval.by), entity: 'Approval', ...op.approval },
                ConditionExpression: 'attribute_not_exists(pk) OR digest <> :d',
                ExpressionAttributeValues: { ':d': op.approval.digest },
              },
            },
          ],
          reasons: ['exists'],
        };
      case 'audit':
        return { items: this.auditItems(op.entry, events), reasons: ['exists'] };
      case 'event':
        // Only when the commit has no fact item to carry it (commit).
        return { items: [this.eventItem(op.event)], reasons: ['exists'] };
      case 'webhook':
        return { items: [this.put({ ...keys.webhook(tenant, op.sub.id), entity: 'Webhook', ...op.sub }, op.expectedVersion)], reasons: [op.expectedVersion === null ? 'exists' : 'version'] };
      case 'deleteWebhook':
        return { items: [{ Delete: { TableName: this.table, Key: keys.webhook(tenant, op.sub.id), ConditionExpression: '#v = :v', ExpressionAttributeNames: { '#v': 'version' }, ExpressionAttributeValues: { ':v': op.sub.version } } }], reasons: ['version'] };
      case 'gitTarget':
        return { items: [this.put({ ...keys.gitTarget(tenant, op.target.environment), entity: 'GitTarget', ...op.target }, op.expectedVersion)], reasons: [op.expectedVersion === null ? 'exists' : 'version'] };
      case 'deleteGitTarget':
        return { items: [{ Delete: { TableName: this.table, Key: keys.gitTarget(tenant, op.target.environment), ConditionExpression: '#v = :v', ExpressionAttributeNames: { '#v': 'version' }, ExpressionAttributeValues: { ':v': op.target.version } } }], reasons: ['version'] };
      case 'repoLink':
        return {
          items: [{ Put: { TableName: this.table, Item: { ...keys.repoLink(tenant, op.link.artifact, op.link.id), ...indexAttributes.repoLink(op.link), entity: 'RepoLink', ...op.link }, ConditionExpression: op.replace ? 'attribute_exists(pk)' : 'attribute_not_exists(pk)' } }],
          reasons: [op.replace ? 'version' : 'exists'],
        };
      case 'deleteRepoLink':
        return { items: [{ Delete: { TableName: this.table, Key: keys.repoLink(tenant, op.link.artifact, op.link.id), ConditionExpression: 'attribute_exists(pk)' } }], reasons: ['version'] };
      case 'evidence': {
        const e = op.evidence;
        return {
          items: [{ Put: { TableName: this.table, Item: { ...keys.evidence(tenant, op.owner, e.submittedAt, e.id), entity: 'Evidence', owner: op.owner, ...e, ...this.outbox(events) }, ConditionExpression: 'attribute_not_exists(pk)' } }],
          reasons: ['exists'],
        };
      }
    }
  }

  async commit(tenant: string, ops: WriteOp[]): Promise<void> {
    await this.ready();
    // The events ride on the commit's first fact item (its audit entry, else evidence): no item of their own.
    const events = ops.flatMap((op) => (op.kind === 'event' ? [op.event] : []));
    const carrier = events.length ? ops.findIndex((op) => op.kind === 'audit' || op.kind === 'evidence') : -1;
    // `latest-<env>` moves with the environment's pointer and is read from it (ArtifactStore.getTag): no item of its own.
    const movesWithPointer = (tag: Tag) =>
      tag.kind === 'latest' && ops.some((o) => o.kind === 'pointer' && o.pointer.environment === tag.environment && o.pointer.name === tag.artifact && o.pointer.digest === tag.digest && o.pointer.version === tag.version);
    const written = ops.filter((op) => !(carrier >= 0 && op.kind === 'event') && !(op.kind === 'tag' && movesWithPointer(op.tag)));
    const parts = written.map((op) => this.opItems(tenant, op, op === ops[carrier] ? events : []));
    // A transaction may touch an item once: metric deltas are merged per environment and day.
    const merged = new Map<string, MetricDelta>();
    for (const op of ops) {
      const delta = op.kind === 'metrics' ? op.delta : op.kind === 'deployment' ? op.metrics : null;
      if (!delta) continue;
      const k = `${delta.environment}|${delta.day}`;
      const cur = merged.get(k) ?? { ...delta, add: {} };
      for (const [name, v] of Object.entries(delta.add)) cur.add[name] = (cur.add[name] ?? 0) + v;
      merged.set(k, cur);
    }
    const metricItems: TxItem[] = [...merged.values()].map((d) => {
      const names = Object.keys(d.add);
      return {
        Update: {
          TableName: this.table,
          Key: keys.metrics(tenant, d.environment, d.day),
          UpdateExpression: `SET entity = :e ADD ${names.map((_, i) => `#m${i} :m${i}`).join(', ')}`,
          ExpressionAttributeNames: Object.fromEntries(names.map((n, i) => [`#m${i}`, n])),
          ExpressionAttributeValues: { ':e': 'Metrics', ...Object.fromEntries(names.map((n, i) => [`:m${i}`, d.add[n]])) },
        },
      };
    });
    await this.transact([...parts.flatMap((p) => p.items), ...metricItems], [...parts.flatMap((p) => p.reasons), ...metricItems.map(() => 'unknown' as const)]);
  }
}
