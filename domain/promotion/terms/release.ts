import { compileGlobs } from '../../kernel/glob.ts';
import type { ItemKind, Roots } from '../../kernel/model.ts';
import { diffTrees, memoSource, type NodeSource, type StoredEntry } from '../../config/tree.ts';
import type { BundleConfig, BundleMember, BundleSubject, ConfigSubject } from '../../kernel/promotion-model.ts';
import type { Deps } from '../../kernel/deps.ts';
import { RuleViolation } from '../../kernel/errors.ts';
import { consumersBroken, pinsOf } from '../../artifacts/consumers-broken.ts';

export interface ConfigChange {
  kind: ItemKind;
  key: string;
  /** the entry to write (from the source snapshot), or null to remove the key */
  entry: StoredEntry | null;
  from: unknown;
}

/**
 * What promoting a config subject onto a target changes: the diff from the
 * target's current set to the pinned source snapshot, narrowed by the
 * promotion type. FULL makes the target equal to the source; SELECTIVE takes
 * the chosen ids plus the keys matching its patterns, if any (the union: a request may send both);
 * PATTERN the keys matching a glob (removals
 * included).
 */
export async function configChanges(
  source: NodeSource,
  target: Roots,
  sourceRoots: Roots,
  subject: ConfigSubject,
): Promise<{ changes: ConfigChange[]; unchanged: number }> {
  const ids = new Set([...subject.configIds, ...subject.flagIds]);
  const match = compileGlobs(subject.keyPatterns);
  const selected = (kind: ItemKind, e: StoredEntry) =>
    subject.promotionType === 'FULL' ||
    (subject.promotionType === 'SELECTIVE' && ((ids.has(e.i) && (kind === 'config' ? subject.configIds : subject.flagIds).includes(e.i)) || match(e.k))) ||
    (subject.promotionType === 'PATTERN' && match(e.k));
  const changes: ConfigChange[] = [];
  let unchanged = 0;
  for (const kind of ['config', 'flag'] as const) {
    const d = await diffTrees(source, target[kind], sourceRoots[kind]);
    unchanged += d.unchanged;
    for (const e of d.added) if (selected(kind, e)) changes.push({ kind, key: e.k, entry: e, from: undefined });
    for (const m of d.modified) if (selected(kind, m.to)) changes.push({ kind, key: m.to.k, entry: m.to, from: m.from.v });
    for (const e of d.removed) if (selected(kind, e)) changes.push({ kind, key: e.k, entry: null, from: e.v });
  }
  changes.sort((a, b) => (a.kind === b.kind ? (a.key < b.key ? -1 : 1) : a.kind < b.kind ? -1 : 1));
  return { changes, unchanged };
}

export function changeView(c: ConfigChange) {
  return c.entry === null
    ? { kind: c.kind, key: c.key, action: 'remove' as const, from: c.from }
    : { kind: c.kind, key: c.key, action: c.from === undefined ? ('add' as const) : ('modify' as const), from: c.from, to: c.entry.v };
}

/** What a config promotion selected, for people: counts, the first keys, and ids that change nothing. */
export function changeSummary(changes: ConfigChange[], subject: ConfigSubject) {
  const views = changes.map(changeView);
  const touched = new Set(changes.map((c) => c.entry?.i).filter(Boolean));
  return {
    added: views.filter((v) => v.action === 'add').length,
    modified: views.filter((v) => v.action === 'modify').length,
    removed: views.filter((v) => v.action === 'remove').length,
    keys: views.slice(0, 20).map((v) => `${v.kind}:${v.key}`),
    /** requested ids that select no change (unknown, or already equal in the target) */
    unmatchedIds: [...subject.configIds, ...subject.flagIds].filter((id) => !touched.has(id)),
  };
}

/** A bundle's configuration part as the selection it applies: all of its snapshot, or the keys matching its patterns. */
export const bundleConfigSubject = (c: BundleConfig): ConfigSubject => ({
  type: 'config',
  sourceSnapshot: { seq: c.seq, digest: c.digest },
  promotionType: c.keyPatterns.length ? 'PATTERN' : 'FULL',
  configIds: [],
  flagIds: [],
  keyPatterns: c.keyPatterns,
});

/** One member of a bundle in one environment: what it runs there now, and whether the bundle moves it. */
export interface MemberMove {
  member: BundleMember;
  from: { version: string; digest: string } | null;
  moves: boolean;
}

/**
 * What a bundle changes in an environment (its head `roots`): each member against the environment's pointer,
 * and its configuration part's changes (read from the bundle's own snapshot, wherever it was taken).
 */
export async function bundleChanges(
  deps: Deps,
  tenant: string,
  b: Pick<BundleSubject, 'members' | 'config'>,
  env: string,
  roots: Roots,
): Promise<{ members: MemberMove[]; config: { changes: ConfigChange[]; unchanged: number } | null }> {
  const pointers = await Promise.all(b.members.map((m) => deps.store.getPointer(tenant, env, m.name)));
  const members = b.members.map((member, i) => {
    const p = pointers[i];
    return { member, from: p ? { version: p.version, digest: p.digest } : null, moves: p?.digest !== member.digest };
  });
  if (!b.config) return { members, config: null };
  const snap = await deps.store.getSnapshot(tenant, b.config.environment, b.config.seq);
  if (!snap) throw new RuleViolation(`the bundle's configuration snapshot (${b.config.environment}@${b.config.seq}) no longer exists`);
  return { members, config: await configChanges(memoSource(deps.store.nodes(tenant)), roots, snap.roots, bundleConfigSubject(b.config)) };
}

/**
 * The consumers a bundle would break in `environment`: for each member it moves, the consumers pinned to it that
 * its version does not satisfy, unless the consumer is itself a member whose version pins (`metadata.pins`) a
 * range the member's version satisfies: a consumer and what it consumes move together, re-pinned.
 */
export async function bundleConsumersBroken(
  deps: Deps,
  tenant: string,
  b: Pick<BundleSubject, 'members'>,
  moving: readonly BundleMember[],
  environment: string,
): Promise<{ artifact: string; name: string; constraint: string; reason: string }[]> {
  const out: { artifact: string; name: string; constraint: string; reason: string }[] = [];
  let pins: Map<string, Record<string, string>> | null = null;
  for (const m of moving) {
    const broken = await consumersBroken(deps, tenant, m.name, m.version, environment);
    if (!broken.length) continue;
    pins ??= new Map(
      await Promise.all(b.members.map(async (x) => [x.name, pinsOf((await deps.store.getArtifactVersion(tenant, x.name, x.version))?.metadata)] as const)),
    );
    for (const c of broken) {
      const own = pins.get(c.name)?.[m.name];
      if (
        own !== undefined &&
        (await import('../../artifacts/versions.ts')).brokenBy([{ name: c.name, constraint: own, environment: null }], m.version).length === 0
      )
        continue;
      out.push({ artifact: m.name, ...c });
    }
  }
  return out;
}

/** How a bundle names the consumers it would break. */
export const bundleBrokenText = (environment: string, broken: { artifact: string; name: string; constraint: string }[]) =>
  `in '${environment}', ${broken.map((c) => `consumer '${c.name}' pins ${c.artifact} ${c.constraint}`).join(', ')}: add the consumer's version that accepts it to the bundle, or re-pin the consumer first`;
