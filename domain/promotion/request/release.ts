import { compileGlobs } from '../../kernel/glob.ts';
import type { ItemKind, Roots } from '../../kernel/model.ts';
import { diffTrees, type NodeSource, type StoredEntry } from '../../config/tree.ts';
import type { ConfigSubject } from '../../kernel/promotion-model.ts';

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
