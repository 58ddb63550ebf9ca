import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEntry, Environment, ItemKind, Snapshot, TargetHead } from '#domain/kernel/model';
import type { Target } from '#domain/kernel/target-schemas';
import { watchedMonitors } from '#domain/config/targets';
import type { EnvironmentOp, EnvironmentStorePort } from '#domain/config/ports';
import { GSI_MONITOR, indexAttributes, keys, type Key } from '../keys.ts';
import { kindsOf, none, one, type Area, type CommitContext, type OpItems } from './area.ts';
import { strip, type ConflictReason, type StoreBase, type TxItem } from './base.ts';
import { auditItems } from './audit.ts';
import { snapshotItem } from './snapshots.ts';
import {
  environmentAttributes,
  joinPages,
  joinTargets,
  layoutOf,
  pageOf,
  repairedItem,
  storedTargets,
  TARGETS_DIGEST,
  targetInPage,
  targetPages,
  targetsChange,
  targetsDigest,
  targetsItem,
  type TargetsLayout,
} from './targets.ts';
import { created, nameChange, namesRead, OWN_HEADS, storedNames } from './own-heads.ts';

/** A condition that the item holds the names of its targets' own heads as read (`read` null: none). */
function namesCondition(read: string[] | null): { expr: string; names: Record<string, string>; values: Record<string, unknown> } {
  if (read === null) return { expr: '', names: {}, values: {} };
  return read.length
    ? { expr: ' AND #oh = :oh', names: { '#oh': OWN_HEADS }, values: { ':oh': new Set(read) } }
    : { expr: ' AND attribute_not_exists(#oh)', names: { '#oh': OWN_HEADS }, values: {} };
}

/** How many times a read of an environment and its targets item is made again when a targets change raced it. */
const READ_ATTEMPTS = 5;

/**
 * An environment from its stored item (keys included), with its targets (store/targets.ts): none, read
 * from their item, or held by an item written before they had one (moved out as it is read). `null`:
 * the targets item is not the one the environment's item names (a change raced the read: read again).
 */
export async function withTargets(base: StoreBase, raw: Record<string, unknown>, consistent: boolean): Promise<Environment | null> {
  const item = strip<Record<string, unknown>>(raw)!;
  const stored = storedTargets(item);
  if (stored.kind === 'none') return joinTargets(item, undefined);
  if (stored.kind === 'legacy') {
    await repairLegacy(base, raw);
    return joinTargets(item, stored.targets);
  }
  // The targets item's digest is of its content: the content of a digest seen before is known (a copy: callers own what they get;
  // kept as JSON text, which parses back about three times faster than a structured clone copies a list of thousands).
  const id = `${item.tenant as string}\u0000${item.name as string}\u0000${stored.digest}`;
  const seen = targetsSeen.get(id);
  if (seen) return joinTargets(item, JSON.parse(seen) as Target[]);
  const r = await base.db.send(
    new GetCommand({ TableName: base.table, Key: keys.targets(item.tenant as string, item.name as string), ConsistentRead: consistent }),
  );
  if (r.Item?.digest !== stored.digest) return null;
  const targets = await targetsFrom(base, item.tenant as string, item.name as string, r.Item, consistent);
  if (!targets) return null;
  targetsSeen.set(id, JSON.stringify(targets));
  while (targetsSeen.size > TARGETS_SEEN_MAX) targetsSeen.delete(targetsSeen.keys().next().value!);
  return joinTargets(item, targets);
}

/** The targets a targets item leads to: its pages (one query; null when the generation is not whole: a change raced the read), or those it holds itself. */
async function targetsFrom(base: StoreBase, tenant: string, name: string, pointer: Record<string, unknown>, consistent: boolean): Promise<Target[] | null> {
  const layout = layoutOf(pointer);
  if (!layout) return (pointer.targets as Target[] | undefined) ?? null;
  const k = keys.targetsPages(tenant, name, layout.gen);
  return joinPages(layout, await base.queryAll<Record<string, unknown>>(k.pk, k.skPrefix, consistent));
}

/**
 * One target of an environment, read alone: the targets item, then the one page its name hashes to (two GetItems,
 * whatever the number of targets). Null: no such target (or the environment has none).
 */
export async function readTarget(base: StoreBase, tenant: string, name: string, target: string, consistent: boolean, attempt = 0): Promise<Target | null> {
  const r = await base.db.send(new GetCommand({ TableName: base.table, Key: keys.targets(tenant, name), ConsistentRead: consistent }));
  const layout = layoutOf(r.Item);
  if (!layout) return ((r.Item?.targets as Target[] | undefined) ?? []).find((t) => t.name === target) ?? null;
  if (!layout.pages) return null;
  const page = await base.db.send(
    new GetCommand({ TableName: base.table, Key: keys.targetsPage(tenant, name, layout.gen, pageOf(target, layout.pages)), ConsistentRead: consistent }),
  );
  // Every page of a generation is written before it is named: a page missing is a generation replaced since (read again).
  if (!page.Item) {
    if (attempt + 1 >= READ_ATTEMPTS) throw new Error(`store: the targets of environment '${name}' kept changing while one was read`);
    return readTarget(base, tenant, name, target, true, attempt + 1);
  }
  return targetInPage(page.Item, target);
}

/**
 * Deletes the pages of the generation a targets change replaced (the targets item names it `previousGen`), then
 * forgets it; the targets item of an environment left without targets goes with them. Run after the change's
 * transaction; one that fails leaves pages no reader reaches, and the next change's cleanup does not see them.
 */
export async function cleanupTargets(base: StoreBase, tenant: string, name: string): Promise<void> {
  const r = await base.db.send(new GetCommand({ TableName: base.table, Key: keys.targets(tenant, name), ConsistentRead: true }));
  const layout = layoutOf(r.Item);
  if (!layout?.previousGen || layout.previousGen === layout.gen) return;
  const k = keys.targetsPages(tenant, name, layout.previousGen);
  const old = await base.queryAll<{ page: number }>(k.pk, k.skPrefix, true);
  if (old.length) await base.batchDelete(old.map((p) => keys.targetsPage(tenant, name, layout.previousGen!, p.page)));
  try {
    await base.db.send(
      new UpdateCommand({
        TableName: base.table,
        Key: keys.targets(tenant, name),
        UpdateExpression: 'REMOVE previousGen',
        ConditionExpression: 'previousGen = :p',
        ExpressionAttributeValues: { ':p': layout.previousGen },
      }),
    );
  } catch {
    // Another change named its own previous generation meanwhile: its cleanup deletes that one.
  }
}

/**
 * Targets read before, by tenant, environment and the digest of their content (the environment's item
 * names the digest of the targets it has): a read of an environment whose targets did not change since
 * this function instance last read them reads one item, never a stale list (another list is another digest).
 */
const targetsSeen = new Map<string, string>();
const TARGETS_SEEN_MAX = 500;

/**
 * An environment with the one target a read names (`target`), read alone: its targets item and that target's page
 * (functions/adapters/store/targets.ts), each known again by its digest or generation (cached as the list is), so a
 * read of one target costs the same at 10,000 targets as at 1 and never reads the list. The environment comes with
 * that target as its only one (a write of it is refused: its targets' digest is not the stored one). A target the
 * page does not hold (a name the environment lacks): the whole list, as without `target` (the reader then answers 404).
 */
export async function withTarget(base: StoreBase, raw: Record<string, unknown>, consistent: boolean, target: string): Promise<Environment | null> {
  const item = strip<Record<string, unknown>>(raw)!;
  const stored = storedTargets(item);
  if (stored.kind !== 'item') return withTargets(base, raw, consistent);
  const tenant = item.tenant as string;
  const name = item.name as string;
  const id = `${tenant}\u0000${name}\u0000${stored.digest}`;
  const list = targetsSeen.get(id);
  if (list) return joinTargets(item, JSON.parse(list) as Target[]);
  let layout = layoutsSeen.get(id);
  if (!layout) {
    const r = await base.db.send(new GetCommand({ TableName: base.table, Key: keys.targets(tenant, name), ConsistentRead: consistent }));
    if (r.Item?.digest !== stored.digest) return null;
    const found = layoutOf(r.Item);
    if (!found) return withTargets(base, raw, consistent);
    layout = found;
    remember(layoutsSeen, id, layout);
  }
  const pageId = `${tenant}\u0000${name}\u0000${layout.gen}\u0000${pageOf(target, layout.pages)}`;
  let page = pagesSeen.get(pageId);
  if (!page) {
    const r = await base.db.send(
      new GetCommand({ TableName: base.table, Key: keys.targetsPage(tenant, name, layout.gen, pageOf(target, layout.pages)), ConsistentRead: consistent }),
    );
    // A generation replaced since the targets item was read: read again.
    if (!r.Item) return null;
    page = r.Item;
    remember(pagesSeen, pageId, page);
  }
  const one = targetInPage(page, target);
  return one ? joinTargets(item, [structuredClone(one)]) : withTargets(base, raw, consistent);
}

/** Where a digest's targets are, and pages read before (immutable: a generation is never rewritten), bounded. */
const layoutsSeen = new Map<string, TargetsLayout>();
const pagesSeen = new Map<string, Record<string, unknown>>();
const remember = <V>(m: Map<string, V>, id: string, v: V) => {
  m.set(id, v);
  while (m.size > TARGETS_SEEN_MAX) m.delete(m.keys().next().value!);
};

/**
 * An environment with its targets (its item as stored: webhook secrets sealed), read again while a targets change races the read;
 * `targets: false`: without them (their item is not read).
 */
export async function readEnvironment(
  base: StoreBase,
  tenant: string,
  name: string,
  consistent: boolean,
  targets = true,
  target?: string,
): Promise<Environment | null> {
  for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
    const r = await base.db.send(new GetCommand({ TableName: base.table, Key: keys.environment(tenant, name), ConsistentRead: consistent || attempt > 0 }));
    if (!r.Item) return null;
    if (!targets) return joinTargets(strip<Record<string, unknown>>(r.Item)!, undefined);
    const env =
      target === undefined ? await withTargets(base, r.Item, consistent || attempt > 0) : await withTarget(base, r.Item, consistent || attempt > 0, target);
    if (env) return env;
  }
  throw new Error(`store: the targets of environment '${name}' kept changing while it was read`);
}

/**
 * Moves the targets an environment item written before the targets item held out of it, at the
 * version read (unchanged): a repair that fails (a write raced it, a function without write access
 * there) changes nothing, and the next read tries again.
 */
async function repairLegacy(base: StoreBase, raw: Record<string, unknown>): Promise<void> {
  const { tenant, name, targets, version } = raw as { tenant: string; name: string; targets: Target[]; version: number };
  // The names of own heads as read (a rollout may add one meanwhile: the repair then changes nothing).
  const held = namesCondition(storedNames(raw));
  try {
    await base.transact(
      [
        targets.length
          ? { Put: { TableName: base.table, Item: targetsItem(tenant, name, targets) } }
          : { Delete: { TableName: base.table, Key: keys.targets(tenant, name) } },
        {
          Put: {
            TableName: base.table,
            Item: repairedItem(raw),
            ConditionExpression: `#v = :v AND attribute_exists(#tl)${held.expr}`,
            ExpressionAttributeNames: { '#v': 'version', '#tl': 'targets', ...held.names },
            ExpressionAttributeValues: { ':v': version, ...held.values },
          },
        },
      ],
      ['unknown', 'version'],
    );
  } catch {
    // The read answers what it read; the item keeps its targets until a later read moves them.
  }
}

/**
 * Environments: the item (its head, settings, webhook gates with their secrets sealed), the guard
 * that keeps positions unique, the monitor index, the config items' id index, the last applied
 * manifest's digest.
 */
export function environmentArea(base: StoreBase) {
  const { db, table } = base;

  /** Every environment write goes through here; its webhook secrets are sealed already (domain/kernel/sealed.ts). */
  const envItem = (env: Environment): Record<string, unknown> => {
    const item: Record<string, unknown> = { ...keys.environment(env.tenant, env.name), entity: 'Environment', ...environmentAttributes(env) };
    // The names of its targets' own heads: a string set (ADD and DELETE change it in place).
    if (Array.isArray(item[OWN_HEADS])) item[OWN_HEADS] = new Set(item[OWN_HEADS] as string[]);
    return item;
  };

  /**
   * The environment's item, conditioned on the version read, and its targets item when they change
   * (`previousTargets`: what the environment had; 'unchanged': the write keeps them). Written without its
   * targets item, the item of an environment with targets also holds only if the stored one names the same
   * targets' digest (store/targets.ts).
   */
  const envWrite = (env: Environment, expectedVersion: number, previousTargets: readonly Target[] | undefined | 'unchanged'): OpItems => {
    const change = targetsChange(env, previousTargets);
    const digest = targetsDigest(env.targets);
    const same = !change && digest !== null;
    // A name a target head's write added since the read is never lost: the item holds only over the names read.
    const held = namesCondition(namesRead(env));
    const put: TxItem = {
      Put: {
        TableName: table,
        Item: envItem(env),
        ConditionExpression: `${same ? '#v = :v AND #td = :td' : '#v = :v'}${held.expr}`,
        ExpressionAttributeNames: { '#v': 'version', ...(same ? { '#td': TARGETS_DIGEST } : {}), ...held.names },
        ExpressionAttributeValues: { ':v': expectedVersion, ...(same ? { ':td': digest } : {}), ...held.values },
      },
    };
    if (!change) return { items: [put], reasons: ['version'] };
    const w = targetsWrite(env.tenant, env.name, env.targets);
    return { items: [put, w.item], reasons: ['version', 'unknown'], before: w.before, cleanup: w.cleanup };
  };

  /**
   * The targets item as the environment's targets are (unconditional: its environment's item holds the condition): it
   * names the new generation of pages (`before`: written ahead of the transaction) and the one it replaces, which
   * `cleanup` deletes after it; with no targets left it names none (generation `none`) and goes in the cleanup.
   */
  const targetsWrite = (
    tenant: string,
    name: string,
    targets: readonly Target[] | undefined,
  ): { item: TxItem; before: Record<string, unknown>[]; cleanup: () => Promise<void> } => {
    const paged = targets?.length ? targetPages(tenant, name, targets) : null;
    const layout = paged?.layout ?? { digest: 'none', gen: 'none', pages: 0, count: 0 };
    return {
      item: {
        Update: {
          TableName: table,
          Key: keys.targets(tenant, name),
          UpdateExpression:
            'SET entity = :en, environment = :e, digest = :d, #c = :c, pages = :p, previousGen = if_not_exists(gen, :none), gen = :g REMOVE targets',
          ExpressionAttributeNames: { '#c': 'count' },
          ExpressionAttributeValues: {
            ':en': 'EnvironmentTargets',
            ':e': name,
            ':d': layout.digest,
            ':c': layout.count,
            ':p': layout.pages,
            ':g': layout.gen,
            ':none': 'none',
          },
        },
      },
      before: paged?.items ?? [],
      cleanup: () => cleanupTargets(base, tenant, name),
    };
  };

  /** The environment's item on the version read, with its targets item when they changed (the snapshots area moves the head with it). */
  const versioned = (env: Environment, previous: Environment): OpItems => envWrite(env, previous.version, previous.targets);

  /**
   * The monitor index entries that move an environment from the monitors `before` to its own
   * (domain/freeze/monitors.ts): put before the environment's transaction, deleted after it, outside its
   * 100 items (100 targets may watch an alarm each). The alarm handler reads the environment again and
   * acts only on alarms it still lists, so an entry left by a crash between the writes changes nothing.
   */
  const monitorIndex = (env: Environment, before: string[]): { before: Record<string, unknown>[]; after: Key[] } => {
    const now = new Set(watchedMonitors(env));
    const was = new Set(before);
    return {
      before: [...now]
        .filter((a) => !was.has(a))
        .map((arn) => ({ ...keys.monitor(env.tenant, env.name, arn), ...indexAttributes.monitor(env.tenant, env.name, arn), entity: 'Monitor', arn })),
      after: [...was].filter((a) => !now.has(a)).map((arn) => keys.monitor(env.tenant, env.name, arn)),
    };
  };

  /** The environment's transaction, with its monitor index entries written around it. */
  const withMonitors = async (index: { before: Record<string, unknown>[]; after: Key[] }, write: () => Promise<void>) => {
    if (index.before.length) await base.batchPut(index.before);
    await write();
    if (index.after.length) await base.batchDelete(index.after);
  };

  /** The names of own heads an environment's item gains or loses (one UpdateItem: its version does not move). */
  const namesWrite = (tenant: string, environment: string, add: string[], remove: string[]): OpItems =>
    one(
      {
        Update: {
          TableName: table,
          Key: keys.environment(tenant, environment),
          UpdateExpression: add.length ? 'ADD #oh :n' : 'DELETE #oh :n',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#oh': OWN_HEADS },
          ExpressionAttributeValues: { ':n': new Set(add.length ? add : remove) },
        },
      },
      'unknown',
    );

  const port: EnvironmentStorePort = {
    async getEnvironment(tenant: string, name: string, opts: { consistent?: boolean; targets?: boolean; target?: string } = {}): Promise<Environment | null> {
      return readEnvironment(base, tenant, name, opts.consistent !== false, opts.targets !== false, opts.target);
    },

    /** One query of the environments, and one BatchGetItem of the targets items of those that have targets. */
    async listEnvironments(tenant: string): Promise<Environment[]> {
      const k = keys.environments(tenant);
      const items = (await base.queryAll<Record<string, unknown>>(k.pk, k.skPrefix, true)).map((e): Record<string, unknown> => ({
        ...keys.environment(tenant, e.name as string),
        entity: 'Environment',
        ...e,
      }));
      const out: Environment[] = [];
      for (const item of items) {
        const env = (await withTargets(base, item, true)) ?? (await readEnvironment(base, tenant, item.name as string, true));
        if (env) out.push(env);
      }
      return out;
    },

    async createEnvironment(env: Environment, snapshot: Snapshot, audit: AuditEntry): Promise<void> {
      const written = env.targets?.length ? targetsWrite(env.tenant, env.name, env.targets) : null;
      const targets = written ? [written.item] : [];
      if (written?.before.length) await base.batchPut(written.before);
      await withMonitors(monitorIndex(env, []), () =>
        base.transact(
          [
            { Put: { TableName: table, Item: envItem(created(env)), ConditionExpression: 'attribute_not_exists(pk)' } },
            {
              Put: {
                TableName: table,
                Item: { ...keys.position(env.tenant, env.position), entity: 'PositionGuard', environment: env.name },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            snapshotItem(table, env.tenant, snapshot),
            ...targets,
            ...auditItems(table, audit),
          ],
          ['exists', 'position', 'exists', ...targets.map((): ConflictReason => 'exists'), 'exists'],
        ),
      );
      await written?.cleanup();
    },

    async updateEnvironment(env: Environment, previous: Environment, audit: AuditEntry): Promise<void> {
      const own = versioned(env, previous);
      const items: TxItem[] = [...own.items];
      const reasons: ConflictReason[] = [...own.reasons];
      if (env.position !== previous.position) {
        items.push(
          {
            Delete: {
              TableName: table,
              Key: keys.position(env.tenant, previous.position),
              ConditionExpression: 'environment = :e',
              ExpressionAttributeValues: { ':e': env.name },
            },
          },
          {
            Put: {
              TableName: table,
              Item: { ...keys.position(env.tenant, env.position), entity: 'PositionGuard', environment: env.name },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        );
        reasons.push('position', 'position');
      }
      if (own.before?.length) await base.batchPut(own.before);
      await withMonitors(monitorIndex(env, watchedMonitors(previous)), () => base.transact([...items, ...auditItems(table, audit)], [...reasons, 'exists']));
      await own.cleanup?.();
    },

    async deleteEnvironment(previous: Environment, audit: AuditEntry): Promise<void> {
      await withMonitors(monitorIndex({ ...previous, monitors: [], targets: [] }, watchedMonitors(previous)), () =>
        base.transact(
          [
            {
              Delete: {
                TableName: table,
                Key: keys.environment(previous.tenant, previous.name),
                ConditionExpression: '#v = :v AND itemCount = :zero',
                ExpressionAttributeNames: { '#v': 'version' },
                ExpressionAttributeValues: { ':v': previous.version, ':zero': 0 },
              },
            },
            {
              Delete: {
                TableName: table,
                Key: keys.position(previous.tenant, previous.position),
                ConditionExpression: 'environment = :e',
                ExpressionAttributeValues: { ':e': previous.name },
              },
            },
            // Its targets item, when it has one (an item written before targets had their own holds them itself).
            ...(targetsDigest(previous.targets) ? [targetsWrite(previous.tenant, previous.name, []).item] : []),
            ...auditItems(table, audit),
          ],
          ['version', 'position', ...(targetsDigest(previous.targets) ? (['unknown'] as ConflictReason[]) : []), 'exists'],
        ),
      );
      if (targetsDigest(previous.targets)) await cleanupTargets(base, previous.tenant, previous.name);
    },

    async getTarget(tenant: string, environment: string, target: string, opts: { consistent?: boolean } = {}): Promise<Target | null> {
      return readTarget(base, tenant, environment, target, opts.consistent ?? true);
    },

    /** Who watches an alarm: read from the monitor index, across tenants (the alarm-event handler only). */
    async monitorWatchers(arn: string): Promise<{ tenant: string; environment: string }[]> {
      const out: { tenant: string; environment: string }[] = [];
      for (const item of await base.queryIndexAll(GSI_MONITOR, keys.monitorWatchers(arn))) {
        const pk = String(item.pk);
        const sk = String(item.sk);
        const prefix = `MON#`;
        if (!pk.startsWith('T#') || !pk.endsWith('#ENV') || !sk.startsWith(prefix) || !sk.endsWith(`#${arn}`)) continue;
        out.push({ tenant: pk.slice(2, -'#ENV'.length), environment: sk.slice(prefix.length, sk.length - arn.length - 1) });
      }
      return out;
    },

    async putItemIds(tenant: string, refs: { id: string; kind: ItemKind; key: string }[]): Promise<void> {
      await base.batchPut(refs.map((r) => ({ ...keys.itemId(tenant, r.id), entity: 'ItemId', kind: r.kind, key: r.key })));
    },

    async getItemId(tenant: string, id: string): Promise<{ kind: ItemKind; key: string } | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.itemId(tenant, id) }));
      return r.Item ? { kind: r.Item.kind as ItemKind, key: r.Item.key as string } : null;
    },

    async manifestHead(tenant: string): Promise<string | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.manifestHead(tenant), ConsistentRead: true }));
      return (r.Item?.digest as string | undefined) ?? null;
    },

    async getTargetHead(tenant: string, environment: string, target: string, subject: string, opts: { consistent?: boolean } = {}): Promise<TargetHead | null> {
      const r = await db.send(
        new GetCommand({ TableName: table, Key: keys.targetHead(tenant, environment, target, subject), ConsistentRead: opts.consistent ?? true }),
      );
      return strip<TargetHead>(r.Item);
    },

    async listTargetHeads(tenant: string, environment: string): Promise<TargetHead[]> {
      const k = keys.targetHeads(tenant, environment);
      return base.queryAll<TargetHead>(k.pk, k.skPrefix, true);
    },
  };

  const area = {
    port,
    writes: {
      kinds: kindsOf<EnvironmentOp>({ environment: true, manifestHead: true, targetHead: true, ownHeadsBack: true }),
      items(op: EnvironmentOp, ctx: CommitContext) {
        const names = nameChange(op, ctx.ops);
        const named: OpItems = names ? namesWrite(ctx.tenant, names.environment, names.add, names.remove) : none();
        if (op.kind === 'targetHead') {
          const h = op.head;
          return {
            items: [
              base.put({ ...keys.targetHead(ctx.tenant, h.environment, h.target, h.subject), entity: 'TargetHead', ...h }, op.expectedVersion),
              ...named.items,
            ],
            reasons: [op.expectedVersion === null ? 'exists' : 'version', ...named.reasons],
          };
        }
        if (op.kind === 'ownHeadsBack') return named;
        if (op.kind === 'environment') {
          const index = op.previousMonitors ? monitorIndex(op.env, op.previousMonitors) : { before: [], after: [] };
          const own = envWrite(op.env, op.expectedVersion, op.previousTargets ?? 'unchanged');
          return { ...own, before: [...(own.before ?? []), ...index.before], after: index.after };
        }
        return one(
          {
            Put: {
              TableName: table,
              Item: { ...keys.manifestHead(ctx.tenant), entity: 'ManifestHead', digest: op.digest },
              ...(op.previous === null
                ? { ConditionExpression: 'attribute_not_exists(pk)' }
                : { ConditionExpression: 'digest = :prev', ExpressionAttributeValues: { ':prev': op.previous } }),
            },
          },
          'version',
        );
      },
    },
    versioned,
  } satisfies Area<EnvironmentStorePort, EnvironmentOp> & { versioned: unknown };
  return area;
}

export type EnvironmentArea = ReturnType<typeof environmentArea>;
