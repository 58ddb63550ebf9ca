import { createHash } from 'node:crypto';
import { canonicalJson } from '#domain/kernel/canonical';
import type { Environment } from '#domain/kernel/model';
import type { Target } from '#domain/kernel/target-schemas';
import { keys } from '../keys.ts';
import { OWN_HEADS, OWN_HEADS_AT, ownHeadsAttributes, readOwnHeads } from './own-heads.ts';

/**
 * An environment's targets live in an item of their own (`EnvironmentTargets`, keys.ts), not on the
 * environment's item: every config change moves the environment's head, that is rewrites its item, and
 * 100 targets (up to 64 KiB of JSON) would be paid at every such write. The environment's item names
 * the digest of its targets (`targetsDigest`, absent when it has none); the targets item holds them
 * with the same digest. Both stores (this one and the memory store) share what is here.
 *
 * - **Reading** an environment: its item, then — only when it names a digest — the targets item (a
 *   second GetItem; none for an environment without targets). A targets item whose digest is not the
 *   one the environment's item names was written by a change that raced the read: both are read again.
 * - **Writing** an environment whose targets did not change (a head move, a setting): its item alone.
 *   With targets, on the condition that the stored item names the same digest (the version read implies
 *   it; the condition refuses a write that changed targets without saying so, and one over an item that
 *   still holds its targets itself, which the read that retries then moves out).
 * - **Changing** targets (create, update, manifest apply): the targets item (put, or deleted when none
 *   are left) in the same transaction as the environment's item, which is conditioned on its version:
 *   a targets change and a config change that race are serialised by that version, neither is lost.
 * - **Items written before** targets had an item of their own hold them (`targets`) in the
 *   environment's item. They are read as they are, and the read moves them out (`legacyRepair`): the
 *   targets item and the environment's item without them, in one transaction conditioned on the version
 *   read (unchanged: the environment is the same), so the next write of the environment finds them in
 *   their item. A repair that fails (a write raced it, a function that may not write there) changes
 *   nothing, and the read still answers the targets it read.
 */

/** The environment item's attribute that names its targets' digest (absent: no targets). */
export const TARGETS_DIGEST = 'targetsDigest';

/** A digest of the targets (null: none), by canonical JSON: the same targets give the same digest however read back. */
export function targetsDigest(targets: readonly Target[] | undefined): string | null {
  return targets?.length ? createHash('sha256').update(canonicalJson(targets)).digest('hex').slice(0, 32) : null;
}

/** The environment's attributes as its item holds them: without its targets, with their digest; the names of its targets' own heads (store/own-heads.ts). */
export function environmentAttributes(env: Environment): Record<string, unknown> {
  const { targets, ownHeads: _o, ...rest } = env;
  const digest = targetsDigest(targets);
  return { ...rest, ...(digest ? { [TARGETS_DIGEST]: digest } : {}), ...ownHeadsAttributes(env) };
}

/** The targets item of an environment that has targets. */
export function targetsItem(tenant: string, environment: string, targets: readonly Target[]): Record<string, unknown> {
  return { ...keys.targets(tenant, environment), entity: 'EnvironmentTargets', environment, digest: targetsDigest(targets), targets };
}

/**
 * A stored environment item that holds its targets (`storedTargets` says `legacy`) as it is once they
 * are in their own item: the same attributes (its sealed secrets as they are, its version unchanged)
 * without them, naming their digest.
 */
export function repairedItem(item: Record<string, unknown>): Record<string, unknown> {
  const { targets, [TARGETS_DIGEST]: _d, ...rest } = item;
  const digest = targetsDigest(targets as Target[]);
  return { ...rest, ...(digest ? { [TARGETS_DIGEST]: digest } : {}) };
}

/** Whether a write of `env` over what was `previous` changes its targets (a write that says nothing of the previous ones does not). */
export function targetsChange(env: Environment, previous: readonly Target[] | undefined | 'unchanged'): boolean {
  return previous !== 'unchanged' && targetsDigest(env.targets) !== targetsDigest(previous);
}

/** What a stored environment item (stripped of its keys) says of its targets. */
export type StoredTargets =
  /** none: the environment has no targets */
  | { kind: 'none' }
  /** in their own item, with this digest */
  | { kind: 'item'; digest: string }
  /** on the environment's item itself (written before the targets item existed) */
  | { kind: 'legacy'; targets: Target[] };

export function storedTargets(item: Record<string, unknown>): StoredTargets {
  if (Array.isArray(item.targets)) return { kind: 'legacy', targets: item.targets as Target[] };
  const digest = item[TARGETS_DIGEST];
  return typeof digest === 'string' ? { kind: 'item', digest } : { kind: 'none' };
}

/** The domain's environment from its item (keys stripped) and its targets (absent: none), with the names of its targets' own heads when the item knows them. */
export function joinTargets(item: Record<string, unknown>, targets: Target[] | undefined): Environment {
  const { [TARGETS_DIGEST]: _d, targets: _t, [OWN_HEADS]: _n, [OWN_HEADS_AT]: _a, ...rest } = item;
  const ownHeads = readOwnHeads(item, !!targets?.length);
  return { ...rest, ...(ownHeads ? { ownHeads } : {}), ...(targets?.length ? { targets } : {}) } as unknown as Environment;
}
