import type { NodeSource, TreeNode } from '../../../domain/config/tree.ts';
import type { AuditEntry, Environment, ItemKind, Page, Snapshot, TargetHead } from '../../../domain/kernel/model.ts';
import { watchedMonitors } from '../../../domain/config/targets.ts';
import type { DomainEvent } from '../../../domain/kernel/ports.ts';
import type { EnvironmentOp, EnvironmentStorePort, SnapshotOp, SnapshotStorePort } from '../../../domain/config/ports.ts';
import { GSI_MONITOR, indexAttributes, keys } from '../../../functions/adapters/keys.ts';
import { strip } from '../../../functions/adapters/store/base.ts';
import {
  environmentAttributes,
  joinPages,
  joinTargets,
  layoutOf,
  pageOf,
  targetInPage,
  targetPages,
  repairedItem,
  storedTargets,
  TARGETS_DIGEST,
  targetsChange,
  targetsDigest,
  targetsItem,
} from '../../../functions/adapters/store/targets.ts';
import type { Target } from '../../../domain/kernel/target-schemas.ts';
import { created, holdsNames, nameChange, namesRead, OWN_HEADS, storedNames } from '../../../functions/adapters/store/own-heads.ts';
import type { MemoryState, Writers } from './area.ts';
import { auditWrite } from './audit.ts';
import { create, overwrite, versioned, type ConflictReason, type Item, type MemoryTable, type Write } from './table.ts';

/**
 * An environment from its stored item, with its targets, as the DynamoDB store reads it
 * (functions/adapters/store/targets.ts): none, from their own item, or held by an item written before
 * they had one, moved out as it is read (at the version read; a repair that fails changes nothing).
 */
export function readEnvironment(table: MemoryTable, item: Item | undefined): Environment | null {
  if (!item) return null;
  const env = strip<Record<string, unknown>>(item)!;
  const stored = storedTargets(env);
  if (stored.kind === 'none') return joinTargets(env, undefined);
  const { tenant, name } = env as { tenant: string; name: string };
  if (stored.kind === 'legacy') {
    try {
      table.transact([
        stored.targets.length ? overwrite(targetsItem(tenant, name, stored.targets)) : { key: keys.targets(tenant, name), to: null, reason: 'unknown' },
        {
          key: keys.environment(tenant, name),
          when: (cur) => cur !== undefined && cur.version === env.version && cur.targets !== undefined && holdsNames(cur, storedNames(item)),
          to: repairedItem(item),
          reason: 'version',
        },
      ]);
    } catch {
      // The read answers what it read (as the DynamoDB store's repair).
    }
    return joinTargets(env, stored.targets);
  }
  const targets = table.get(keys.targets(tenant, name));
  if (targets?.digest !== stored.digest) throw new Error(`store: the targets item of environment '${name}' is not the one its item names`);
  const layout = layoutOf(targets);
  if (!layout) return joinTargets(env, targets.targets as Target[]);
  const k = keys.targetsPages(tenant, name, layout.gen);
  const list = joinPages(layout, table.query(k.pk, { prefix: k.skPrefix }));
  if (!list) throw new Error(`store: the target pages of environment '${name}' are not whole`);
  return joinTargets(env, list);
}

/** One target read alone, as the DynamoDB store reads it (store/environments.ts readTarget): the targets item, then its page. */
export function readTarget(table: MemoryTable, tenant: string, name: string, target: string): Target | null {
  const item = table.get(keys.targets(tenant, name));
  const layout = layoutOf(item);
  if (!layout) return ((item?.targets as Target[] | undefined) ?? []).find((t) => t.name === target) ?? null;
  if (!layout.pages) return null;
  return targetInPage(table.get(keys.targetsPage(tenant, name, layout.gen, pageOf(target, layout.pages))), target);
}

/** As the DynamoDB store's cleanup: the generation of pages a change replaced is deleted after it, and forgotten. */
export function cleanupTargets(table: MemoryTable, tenant: string, name: string): void {
  const item = table.get(keys.targets(tenant, name));
  const layout = layoutOf(item);
  if (!layout?.previousGen || layout.previousGen === layout.gen) return;
  const k = keys.targetsPages(tenant, name, layout.previousGen);
  for (const p of table.query(k.pk, { prefix: k.skPrefix })) table.delete(keys.targetsPage(tenant, name, layout.previousGen, p.page as number));
  const { previousGen: _p, ...rest } = item!;
  table.put(rest);
}

/**
 * Environments (the item, the guard that keeps positions unique, the monitor index, config item ids,
 * the last applied manifest) and the snapshots their heads move to, with the trie nodes they share.
 */
export function environmentArea({ table, outbox }: MemoryState) {
  const envItem = (env: Environment): Item => ({ ...keys.environment(env.tenant, env.name), entity: 'Environment', ...environmentAttributes(env) });
  /** The targets item as the environment's targets are: put, or deleted when it has none (its environment's item holds the condition). */
  const targetsWrite = (tenant: string, name: string, targets: readonly Target[] | undefined): Write => {
    // The pages of the new generation are put before the transaction (as the DynamoDB store's), the old ones deleted after it.
    const paged = targets?.length ? targetPages(tenant, name, targets) : null;
    for (const item of paged?.items ?? []) table.put(item);
    const layout = paged?.layout ?? { digest: 'none', gen: 'none', pages: 0, count: 0 };
    return {
      key: keys.targets(tenant, name),
      to: (cur) => {
        const { targets: _t, ...rest } = cur ?? {};
        return {
          ...rest,
          ...keys.targets(tenant, name),
          entity: 'EnvironmentTargets',
          environment: name,
          ...layout,
          previousGen: typeof cur?.gen === 'string' ? cur.gen : 'none',
        };
      },
      reason: 'unknown',
    };
  };
  /** Runs a transaction that may change targets, then deletes the generation of pages it replaced. */
  const transactTargets = (tenant: string, name: string, writes: Write[]): void => {
    table.transact(writes);
    cleanupTargets(table, tenant, name);
  };
  /**
   * The environment's item on the version read, and its targets item when they change; written without
   * its targets item, the item of an environment with targets also holds only if the stored one names the
   * same targets' digest (as the DynamoDB store).
   */
  const envWrite = (env: Environment, expected: number, previousTargets: readonly Target[] | undefined | 'unchanged'): Write[] => {
    // As the DynamoDB store: the item holds only over the names of own heads read (none added or removed since).
    const read = namesRead(env);
    if (targetsChange(env, previousTargets))
      return [
        { key: keys.environment(env.tenant, env.name), when: (cur) => cur?.version === expected && holdsNames(cur, read), to: envItem(env), reason: 'version' },
        targetsWrite(env.tenant, env.name, env.targets),
      ];
    const digest = targetsDigest(env.targets);
    return [
      {
        key: keys.environment(env.tenant, env.name),
        when: (cur) => cur?.version === expected && (digest === null || cur[TARGETS_DIGEST] === digest) && holdsNames(cur, read),
        to: envItem(env),
        reason: 'version',
      },
    ];
  };
  /** The names of own heads a commit adds or removes: an update of the item as it is (its version does not move). */
  const namesWrite = (tenant: string, environment: string, add: string[], remove: string[]): Write => ({
    key: keys.environment(tenant, environment),
    when: (cur) => cur !== undefined,
    to: (cur) => {
      const { [OWN_HEADS]: _n, ...rest } = cur!;
      const names = [...new Set([...storedNames(cur), ...add])].filter((n) => !remove.includes(n)).sort();
      return names.length ? { ...rest, [OWN_HEADS]: names } : rest;
    },
    reason: 'unknown',
  });
  const guardItem = (tenant: string, position: number, environment: string): Item => ({
    ...keys.position(tenant, position),
    entity: 'PositionGuard',
    environment,
  });
  const snapshotWrite = (tenant: string, s: Snapshot, reason: ConflictReason): Write =>
    create({ ...keys.snapshot(tenant, s.environment, s.seq), entity: 'Snapshot', ...s }, reason);
  /** The environment's item, conditioned on the version read (its targets item with it when they change). */
  const moveEnv = (env: Environment, previous: Environment): Write[] => envWrite(env, previous.version, previous.targets);
  /** Frees a position only if it is still this environment's. */
  const freeGuard = (tenant: string, position: number, environment: string, reason: ConflictReason): Write => ({
    key: keys.position(tenant, position),
    when: (cur) => cur?.environment === environment,
    to: null,
    reason,
  });

  /** The monitor index items that move an environment from the monitors `before` to its own (no condition). */
  const monitorWrites = (env: Environment, before: string[], reason: ConflictReason): Write[] => {
    const now = new Set(watchedMonitors(env));
    const was = new Set(before);
    return [
      ...[...was].filter((a) => !now.has(a)).map((arn): Write => ({ key: keys.monitor(env.tenant, env.name, arn), to: null, reason })),
      ...[...now]
        .filter((a) => !was.has(a))
        .map((arn) =>
          overwrite({ ...keys.monitor(env.tenant, env.name, arn), ...indexAttributes.monitor(env.tenant, env.name, arn), entity: 'Monitor', arn }, reason),
        ),
    ];
  };

  const environments: EnvironmentStorePort = {
    async getEnvironment(tenant: string, name: string): Promise<Environment | null> {
      return readEnvironment(table, table.get(keys.environment(tenant, name)));
    },

    async listEnvironments(tenant: string): Promise<Environment[]> {
      const k = keys.environments(tenant);
      return table.query(k.pk, { prefix: k.skPrefix }).map((i) => readEnvironment(table, i)!);
    },

    async createEnvironment(env: Environment, snapshot: Snapshot, audit: AuditEntry): Promise<void> {
      transactTargets(env.tenant, env.name, [
        create(envItem(created(env)), 'exists'),
        create(guardItem(env.tenant, env.position, env.name), 'position'),
        snapshotWrite(env.tenant, snapshot, 'exists'),
        ...(env.targets?.length ? [targetsWrite(env.tenant, env.name, env.targets)] : []),
        ...monitorWrites(env, [], 'exists'),
        auditWrite(audit),
      ]);
    },

    async updateEnvironment(env: Environment, previous: Environment, audit: AuditEntry): Promise<void> {
      const moved =
        env.position !== previous.position
          ? [freeGuard(env.tenant, previous.position, env.name, 'position'), create(guardItem(env.tenant, env.position, env.name), 'position')]
          : [];
      transactTargets(env.tenant, env.name, [
        ...moveEnv(env, previous),
        ...moved,
        ...monitorWrites(env, watchedMonitors(previous), 'exists'),
        auditWrite(audit),
      ]);
    },

    async deleteEnvironment(previous: Environment, audit: AuditEntry): Promise<void> {
      transactTargets(previous.tenant, previous.name, [
        {
          key: keys.environment(previous.tenant, previous.name),
          when: (cur) => cur?.version === previous.version && cur.itemCount === 0,
          to: null,
          reason: 'version',
        },
        freeGuard(previous.tenant, previous.position, previous.name, 'position'),
        ...(targetsDigest(previous.targets) ? [targetsWrite(previous.tenant, previous.name, [])] : []),
        ...monitorWrites({ ...previous, monitors: [], targets: [] }, watchedMonitors(previous), 'exists'),
        auditWrite(audit),
      ]);
    },

    async monitorWatchers(arn: string): Promise<{ tenant: string; environment: string }[]> {
      const out: { tenant: string; environment: string }[] = [];
      for (const item of table.queryIndex(GSI_MONITOR, keys.monitorWatchers(arn))) {
        const pk = String(item.pk);
        const sk = String(item.sk);
        const prefix = 'MON#';
        if (!pk.startsWith('T#') || !pk.endsWith('#ENV') || !sk.startsWith(prefix) || !sk.endsWith(`#${arn}`)) continue;
        out.push({ tenant: pk.slice(2, -'#ENV'.length), environment: sk.slice(prefix.length, sk.length - arn.length - 1) });
      }
      return out;
    },

    async putItemIds(tenant: string, refs: { id: string; kind: ItemKind; key: string }[]): Promise<void> {
      for (const r of refs) table.put({ ...keys.itemId(tenant, r.id), entity: 'ItemId', kind: r.kind, key: r.key });
    },

    async getItemId(tenant: string, id: string): Promise<{ kind: ItemKind; key: string } | null> {
      const item = table.get(keys.itemId(tenant, id));
      return item ? { kind: item.kind as ItemKind, key: item.key as string } : null;
    },

    async manifestHead(tenant: string): Promise<string | null> {
      return (table.get(keys.manifestHead(tenant))?.digest as string | undefined) ?? null;
    },

    async getTargetHead(tenant: string, environment: string, target: string, subject: string): Promise<TargetHead | null> {
      return strip<TargetHead>(table.get(keys.targetHead(tenant, environment, target, subject)));
    },

    async getTarget(tenant: string, environment: string, target: string): Promise<Target | null> {
      return structuredClone(readTarget(table, tenant, environment, target));
    },

    async listTargetHeads(tenant: string, environment: string): Promise<TargetHead[]> {
      const k = keys.targetHeads(tenant, environment);
      return table.query(k.pk, { prefix: k.skPrefix }).map((i) => strip<TargetHead>(i)!);
    },
  };

  const snapshots: SnapshotStorePort = {
    async commitSnapshot(env: Environment, previous: Environment, snapshot: Snapshot, audit: AuditEntry, events: DomainEvent[] = []): Promise<void> {
      transactTargets(env.tenant, env.name, [...moveEnv(env, previous), snapshotWrite(env.tenant, snapshot, 'version'), auditWrite(audit, events)]);
      outbox.push(...events);
    },

    async getSnapshot(tenant: string, environment: string, seq: number): Promise<Snapshot | null> {
      return strip<Snapshot>(table.get(keys.snapshot(tenant, environment, seq)));
    },

    async listSnapshots(tenant: string, environment: string, limit: number, cursor?: string): Promise<Page<Snapshot>> {
      const k = keys.snapshots(tenant, environment);
      const page = table.page(tenant, { partition: k.pk, range: { prefix: k.skPrefix }, forward: false, limit }, cursor);
      return { items: page.items.map((i) => strip<Snapshot>(i)!), nextCursor: page.nextCursor };
    },

    nodes(tenant: string): NodeSource {
      return {
        getNodes: async (addresses) => {
          const out = new Map<string, TreeNode>();
          for (const a of new Set(addresses)) {
            const item = table.get(keys.node(tenant, a));
            if (item) out.set(a, JSON.parse(item.node as string) as TreeNode);
          }
          return out;
        },
      };
    },

    async putNodes(tenant: string, nodes: Map<string, TreeNode>): Promise<void> {
      for (const [a, n] of nodes) table.put({ ...keys.node(tenant, a), entity: 'TreeNode', node: JSON.stringify(n) });
    },
  };

  const writes: Writers<EnvironmentOp | SnapshotOp> = {
    environment: (op) => [
      ...envWrite(op.env, op.expectedVersion, op.previousTargets ?? 'unchanged'),
      ...(op.previousMonitors ? monitorWrites(op.env, op.previousMonitors, 'unknown') : []),
    ],
    manifestHead: (op, ctx) => [
      {
        key: keys.manifestHead(ctx.tenant),
        when: (cur) => (op.previous === null ? cur === undefined : cur?.digest === op.previous),
        to: { ...keys.manifestHead(ctx.tenant), entity: 'ManifestHead', digest: op.digest },
        reason: 'version',
      },
    ],
    snapshot: (op, ctx) => [snapshotWrite(ctx.tenant, op.snapshot, 'version')],
    ownHeadsBack: (op, ctx) => {
      const names = nameChange(op, ctx.ops);
      return names ? [namesWrite(ctx.tenant, names.environment, names.add, names.remove)] : [];
    },
    targetHead: (op, ctx) => [
      versioned(
        { ...keys.targetHead(ctx.tenant, op.head.environment, op.head.target, op.head.subject), entity: 'TargetHead', ...op.head },
        op.expectedVersion,
        'version',
        op.expectedVersion === null ? 'exists' : 'version',
      ),
      ...((names) => (names ? [namesWrite(ctx.tenant, names.environment, names.add, names.remove)] : []))(nameChange(op, ctx.ops)),
    ],
  };
  return { port: { ...environments, ...snapshots }, writes };
}
