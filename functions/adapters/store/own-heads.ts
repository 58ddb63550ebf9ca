import type { Environment, OwnHeads } from '#domain/kernel/model';
import type { WriteOp } from '#domain/ports';
import { configSubject } from '#domain/config/targets';

/**
 * The targets that run a config head of their own, named on the environment's item (Environment.ownHeads), so a
 * target's read of its config costs the environment's item alone unless it is named (domain/config/targets.ts
 * mayRunOwnConfig). Both stores (this one and the memory store) share what is here.
 *
 * - `ownHeadsAt` (a number): the environment head the names are about. Every target head holds only over the head
 *   it was written over, so once the head moves on, the names are of no target that still diverges: a write of the
 *   item that moves its head starts with none (`at` the new head).
 * - `ownHeads` (a string set, absent when empty): the names. A config head's write adds its target's name in its own
 *   transaction (ADD: two targets changed at once never conflict); the end of a rollout that put targets back removes
 *   theirs (DELETE). Neither moves the item's version, so no writer of the environment (a setting, a config write)
 *   conflicts with a rollout through its targets; a whole-item write instead holds only over the names it read (the
 *   set as read, or none), so a name added meanwhile is never lost.
 * - An environment **without targets** has none (no target of it reads a head of its own), nor `ownHeadsAt`; given
 *   targets, its first write names none about the next head (as an item written before).
 * - **Items written before** the names were kept have no `ownHeadsAt`: not known, a target read reads its head. Their
 *   next write names none about the head AFTER theirs (`at` = head + 1: a head written over theirs by older code may
 *   hold, so theirs stays not known), and from the next head on the names are known.
 */

/** The environment item's attributes: the head the names are about, and the names. */
export const OWN_HEADS_AT = 'ownHeadsAt';
export const OWN_HEADS = 'ownHeads';

/** The names an item holds (a string set from DynamoDB, a list from the memory store), sorted. */
export function storedNames(item: Record<string, unknown> | undefined): string[] {
  const raw = item?.[OWN_HEADS];
  return (raw instanceof Set ? [...(raw as Set<string>)] : Array.isArray(raw) ? (raw as string[]) : []).sort();
}

/** The domain's view of a stored item's names (keys stripped): undefined when the item does not know them (or the environment has no targets). */
export function readOwnHeads(item: Record<string, unknown>, targets: boolean): OwnHeads | undefined {
  if (!targets) return undefined;
  const at = item[OWN_HEADS_AT];
  return typeof at === 'number' ? { at, targets: storedNames(item) } : undefined;
}

/**
 * What a write of the whole item holds of them: the names read while they are about the head written (or a later
 * one: not known yet); none, about the head written, once it moved past them; for an environment read without them
 * (an older item), none about the next head.
 */
export function ownHeadsAttributes(env: Environment): Record<string, unknown> {
  // No target of an environment without targets reads a head of its own: nothing to name.
  if (!env.targets?.length) return {};
  const read = env.ownHeads;
  if (!read) return { [OWN_HEADS_AT]: env.head.seq + 1 };
  const keep = read.at >= env.head.seq;
  const targets = keep ? [...read.targets].sort() : [];
  return { [OWN_HEADS_AT]: Math.max(read.at, env.head.seq), ...(targets.length ? { [OWN_HEADS]: targets } : {}) };
}

/** A new environment: no target head can hold over its first head (a name used again starts after its old snapshots, which the old heads were written over). */
export const created = (env: Environment): Environment => ({ ...env, ownHeads: { at: env.head.seq, targets: [] } });

/** The names a whole-item write must find (those read: none added or removed since); null: no condition (it names none it could lose). */
export const namesRead = (env: Environment): string[] | null => (env.ownHeads ? [...env.ownHeads.targets].sort() : null);

/** Whether the item holds the names `read` (the condition of namesRead). */
export const holdsNames = (item: Record<string, unknown> | undefined, read: string[] | null): boolean =>
  read === null || storedNames(item).join('\n') === read.join('\n');

/** What one commit changes of one environment's names: added (config heads written) or removed (put back). */
export interface NameChange {
  environment: string;
  add: string[];
  remove: string[];
}

/**
 * The commit's changes of the names, one per environment (a transaction touches an item once): the first op that
 * changes an environment's names writes them all (`first`), the others none. A commit that also writes the
 * environment's whole item, or adds and removes names of one environment, is refused: no flow does either.
 */
export function nameChange(op: WriteOp, ops: readonly WriteOp[]): NameChange | null {
  const of = (o: WriteOp): { environment: string; add?: string; remove?: string[] } | null =>
    o.kind === 'targetHead' && o.head.subject === configSubject && !o.putBack
      ? { environment: o.head.environment, add: o.head.target }
      : o.kind === 'ownHeadsBack' && o.targets.length
        ? { environment: o.environment, remove: o.targets }
        : null;
  const mine = of(op);
  if (!mine) return null;
  const all = ops.map((o) => ({ o, c: of(o) })).filter((x) => x.c?.environment === mine.environment);
  if (all[0]!.o !== op) return null;
  const add = [...new Set(all.flatMap((x) => (x.c!.add ? [x.c!.add] : [])))].sort();
  const remove = [...new Set(all.flatMap((x) => x.c!.remove ?? []))].sort();
  if (add.length && remove.length) throw new Error(`store: a commit both names and unlists target heads of '${mine.environment}'`);
  if (ops.some((o) => o.kind === 'environment' && o.env.name === mine.environment))
    throw new Error(`store: a commit writes environment '${mine.environment}' and names its target heads (one item, twice)`);
  return { environment: mine.environment, add, remove };
}
