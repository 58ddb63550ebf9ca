import { createHash, randomUUID } from 'node:crypto';
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

/** The targets item of an environment that has targets, as written before pages (it held them itself): read still, written only by tests. */
export function targetsItem(tenant: string, environment: string, targets: readonly Target[]): Record<string, unknown> {
  return { ...keys.targets(tenant, environment), entity: 'EnvironmentTargets', environment, digest: targetsDigest(targets), targets };
}

/**
 * Pages of targets (`TargetsPage`, keys.ts). A target's page is the hash of its name modulo the number of pages, so one
 * target is read alone with one GetItem of its page, whatever the number of targets (effective config, OFREP, fleet
 * counts: `targetOf`). Pages aim at TARGET_PAGE_BYTES of JSON (one 4 KB read unit for most) and never exceed
 * MAX_PAGE_BYTES (the number of pages doubles until none does); each page keeps the declaration index of its
 * targets, so the whole list reads back in order. A change writes a new generation (a random id) of pages
 * before the transaction that names it on the targets item (with the environment's item, on its version): a
 * reader finds either the old generation or the new one whole, never half a set, and of two writers from the same
 * read one wins and the other is refused. The generation it replaced is deleted after (`previousGen`).
 */
export const TARGET_PAGE_BYTES = 2048;
export const MAX_PAGE_BYTES = 300 * 1024;

/** The page of a target, from its name alone. */
export const pageOf = (name: string, pages: number): number => createHash('sha256').update(name).digest().readUInt32BE(0) % pages;

/** Where a generation of targets is, as the targets item names it. */
export interface TargetsLayout {
  digest: string;
  gen: string;
  pages: number;
  count: number;
}

/** The targets item of a paged set: where it is (the generation it replaces becomes `previousGen`, set by the writer). */
export function layoutItem(tenant: string, environment: string, layout: TargetsLayout): Record<string, unknown> {
  return { ...keys.targets(tenant, environment), entity: 'EnvironmentTargets', environment, ...layout };
}

/** A new generation of pages for these targets (every page written, an empty one too: a missing page is a generation not yet whole or gone). */
export function targetPages(tenant: string, environment: string, targets: readonly Target[]): { layout: TargetsLayout; items: Record<string, unknown>[] } {
  const sizes = targets.map((t) => Buffer.byteLength(JSON.stringify(t)));
  const total = sizes.reduce((a, b) => a + b, 0);
  let pages = Math.max(1, Math.ceil(total / TARGET_PAGE_BYTES));
  for (;;) {
    const at: number[][] = Array.from({ length: pages }, () => []);
    const bytes = new Array<number>(pages).fill(0);
    targets.forEach((t, i) => {
      const p = pageOf(t.name, pages);
      at[p]!.push(i);
      bytes[p]! += sizes[i]!;
    });
    if (bytes.every((b) => b <= MAX_PAGE_BYTES)) {
      const layout: TargetsLayout = { digest: targetsDigest(targets)!, gen: randomUUID().replaceAll('-', '').slice(0, 16), pages, count: targets.length };
      const items = at.map((idx, page) => ({
        ...keys.targetsPage(tenant, environment, layout.gen, page),
        entity: 'TargetsPage',
        environment,
        gen: layout.gen,
        page,
        at: idx,
        targets: idx.map((i) => targets[i]),
      }));
      return { layout, items };
    }
    pages *= 2;
  }
}

/** The layout a targets item names (null: it is one written before pages, holding the targets itself, or none). */
export function layoutOf(item: Record<string, unknown> | undefined): (TargetsLayout & { previousGen?: string }) | null {
  if (!item || typeof item.gen !== 'string' || typeof item.pages !== 'number') return null;
  return {
    digest: item.digest as string,
    gen: item.gen,
    pages: item.pages,
    count: item.count as number,
    ...(typeof item.previousGen === 'string' ? { previousGen: item.previousGen } : {}),
  };
}

/** The targets in declaration order from every page of a generation (null: a page is missing, the generation is not whole). */
export function joinPages(layout: TargetsLayout, pages: readonly Record<string, unknown>[]): Target[] | null {
  const mine = pages.filter((p) => p.gen === layout.gen);
  if (new Set(mine.map((p) => p.page)).size !== layout.pages) return null;
  const out = new Array<Target>(layout.count);
  let found = 0;
  for (const p of mine) {
    const at = p.at as number[];
    (p.targets as Target[]).forEach((t, j) => {
      out[at[j]!] = t;
      found++;
    });
  }
  return found === layout.count ? out : null;
}

/** One target from its page (null: not there). */
export function targetInPage(page: Record<string, unknown> | undefined, name: string): Target | null {
  return ((page?.targets as Target[] | undefined) ?? []).find((t) => t.name === name) ?? null;
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
