import { RuleViolation, VersionConflict } from '../../kernel/errors.ts';
import type { Ctx, Deps, With } from '../../kernel/deps.ts';
import { diffTrees, lookup, memoSource, type StoredEntry } from '../../config/tree.ts';
import { rollbackEnvironment, type BundleRestore, type ConfigRestore } from './environment.ts';
import { bundleDigest } from '../../artifacts/bundles.ts';
import type { Promotion } from '../../kernel/promotion-model.ts';
import { guard } from '../aggregate.ts';
import { loadPromotion } from '../write.ts';
import { canonicalJson } from '../../kernel/canonical.ts';
import { requestedBreakGlass } from '../../freeze/break-glass.ts';

/**
 * Rolls a completed promotion back: only what that promotion changed is put back (keys to their
 * previous values, the artifact to its previous version). Like every rollback it is a promotion
 * record with `rollback` set (`of` names this promotion), run by the promotion flow: the impact
 * analysis is its gate, the approval policy for promoting into the environment applies, and freeze
 * windows hold it unless an admin breaks glass (domain/promotion/rollback/environment.ts). If
 * something changed those keys since, the rollback refuses (409) and names them, rather than
 * overwrite newer work. The promotion is marked ROLLED_BACK when its rollback completes.
 */
export async function rollbackPromotion(
  deps: With<'scheduler' | 'workflow'>,
  ctx: Ctx,
  id: string,
  opts: { reason: string; dryRun: boolean; override?: boolean; whenFrozen?: 'wait' | 'fail' },
) {
  // Asked to break glass: admins only, before anything (the rollback runs through the freeze-guarded flow).
  requestedBreakGlass(ctx, 'freeze-window', 'rollback.request', deps.clock());
  const { tenant } = ctx.principal;
  const first = await loadPromotion(deps, tenant, id);
  guard('rollback', first);
  const common = { dryRun: opts.dryRun, reason: opts.reason, override: opts.override ?? false, whenFrozen: opts.whenFrozen, of: id };
  let input;
  if (first.subject.type === 'artifact') {
    // An artifact goes back to the version it replaced.
    const prev = first.result?.previous;
    if (!prev?.version)
      throw new RuleViolation(`'${first.targetEnvironment}' ran no earlier version of ${first.subject.name}; there is nothing to roll back to`);
    const cur = await deps.store.getPointer(tenant, first.targetEnvironment, first.subject.name);
    if (!cur || cur.version !== first.subject.version) {
      throw new VersionConflict(
        `'${first.targetEnvironment}' now runs ${first.subject.name}@${cur?.version ?? 'nothing'}, not ${first.subject.version}; roll back the newer change instead`,
      );
    }
    input = { ...common, artifact: first.subject.name, version: prev.version };
  } else if (first.subject.type === 'bundle') {
    // A bundle goes back as one unit: every member it moved to the version before, and the keys it changed.
    input = { ...common, bundle: await bundleRestore(deps, first as Promotion & { subject: { type: 'bundle' } }) };
  } else {
    // Configs: the keys it changed go back to the environment's snapshot from before it.
    input = { ...common, restore: await configRestore(deps, first) };
  }
  const r = await rollbackEnvironment(deps, ctx, first.targetEnvironment, input);
  return r.dryRun
    ? { dryRun: true as const, promotionId: id, targetEnvironment: first.targetEnvironment, reverts: r.impact.reverts, impact: r.impact }
    : { dryRun: false as const, promotion: r.promotion, reverts: r.impact.reverts, impact: r.impact };
}

/**
 * What rolling back a config promotion puts back: the diff its execution made (before → after),
 * checked against the environment now; a key that changed since is a conflict (409, named).
 */
async function configRestore(deps: Deps, p: Promotion, emptyIsFine = false): Promise<ConfigRestore> {
  if (p.subject.type === 'artifact' || !p.result || p.result.snapshotSeq === undefined || p.result.previous.seq === undefined)
    throw new RuleViolation('nothing recorded to roll back');
  const [env, before, after] = await Promise.all([
    deps.store.getEnvironment(p.tenant, p.targetEnvironment),
    deps.store.getSnapshot(p.tenant, p.targetEnvironment, p.result.previous.seq),
    deps.store.getSnapshot(p.tenant, p.targetEnvironment, p.result.snapshotSeq),
  ]);
  if (!env || !before || !after) throw new RuleViolation('the snapshots of this promotion are gone');
  const source = memoSource(deps.store.nodes(p.tenant));
  const restore: ConfigRestore = { snapshot: { seq: before.seq, digest: before.digest }, configIds: [], flagIds: [], reverts: [], breakingChanges: [] };
  const conflicts: string[] = [];
  const same = (a: StoredEntry | null, b: StoredEntry | null) => (a === null ? b === null : b !== null && canonicalJson(a.v) === canonicalJson(b.v));
  for (const kind of ['config', 'flag'] as const) {
    // What the promotion changed = diff(before → after); those keys go back to how they were before.
    const d = await diffTrees(source, before.roots[kind], after.roots[kind]);
    const changed = [
      ...d.added.map((e) => ({ key: e.k, was: null as StoredEntry | null, promoted: e as StoredEntry | null })),
      ...d.modified.map((m) => ({ key: m.to.k, was: m.from as StoredEntry | null, promoted: m.to as StoredEntry | null })),
      ...d.removed.map((e) => ({ key: e.k, was: e as StoredEntry | null, promoted: null as StoredEntry | null })),
    ];
    if (!changed.length) continue;
    const now = await lookup(
      source,
      env.head.roots[kind],
      changed.map((c) => c.key),
    );
    for (const c of changed) {
      const current = now.get(c.key) ?? null;
      if (!same(current, c.promoted)) conflicts.push(`${kind}:${c.key}`);
      // The item the rollback takes: as it was before (it comes back), or as it is (it goes).
      const item = c.was ?? current;
      if (item) (kind === 'config' ? restore.configIds : restore.flagIds).push(item.i);
      restore.reverts.push({ kind, key: c.key, from: current?.v, to: c.was?.v, action: c.was ? (current ? 'modify' : 'add') : 'remove' });
      if (!c.was) restore.breakingChanges.push(`removes ${kind} '${c.key}'`);
      else if (current && (typeof current.v !== typeof c.was.v || Array.isArray(current.v) !== Array.isArray(c.was.v)))
        restore.breakingChanges.push(`changes the type of ${kind} '${c.key}' (${typeof current.v} → ${typeof c.was.v})`);
    }
  }
  if (conflicts.length) {
    throw new VersionConflict(
      `These keys changed after the promotion and would be overwritten: ${conflicts.slice(0, 20).join(', ')}; restore a snapshot explicitly instead`,
      { conflicts },
    );
  }
  if (!restore.reverts.length && !emptyIsFine) throw new RuleViolation(`${p.id} changed nothing in '${p.targetEnvironment}'; there is nothing to roll back`);
  return restore;
}

/**
 * What rolling back a bundle promotion puts back: each member it moved to the version the environment ran before
 * (a member it brought first has none: it stays, and the impact says so), and the configuration keys it changed,
 * as a bundle of the environment's own earlier release. A member or key changed since is a conflict (409).
 */
async function bundleRestore(deps: Deps, p: Promotion & { subject: { type: 'bundle' } }): Promise<BundleRestore> {
  const moved = p.result?.members ?? [];
  const now = await Promise.all(moved.map((m) => deps.store.getPointer(p.tenant, p.targetEnvironment, m.name)));
  const newer = moved.filter((m, i) => now[i]?.digest !== m.digest);
  if (newer.length)
    throw new VersionConflict(
      `'${p.targetEnvironment}' now runs ${newer.map((m) => `${m.name}@${now[moved.indexOf(m)]?.version ?? 'nothing'}`).join(', ')}, not what ${p.id} brought; roll back the newer change instead`,
    );
  const back = moved
    .filter((m) => m.previous.version && m.previous.digest)
    .map((m) => ({ name: m.name, version: m.previous.version!, digest: m.previous.digest! }));
  const stays = moved.filter((m) => !m.previous.version).map((m) => `${m.name} stays at ${m.version}: '${p.targetEnvironment}' ran no earlier version of it`);
  const config = p.result?.snapshotSeq !== undefined ? await configRestore(deps, p, true) : null;
  const keys = (config?.reverts ?? []).map((r) => String(r.key));
  if (!back.length && !keys.length) throw new RuleViolation(`${p.id} changed nothing in '${p.targetEnvironment}' that can be put back`);
  const bundleConfig =
    config && keys.length
      ? { environment: p.targetEnvironment, seq: config.snapshot.seq, digest: config.snapshot.digest, keyPatterns: [...new Set(keys)].sort() }
      : undefined;
  return {
    subject: {
      type: 'bundle',
      name: p.subject.name,
      digest: bundleDigest(back, bundleConfig),
      members: back,
      ...(bundleConfig ? { config: bundleConfig } : {}),
    },
    reverts: [
      ...moved.filter((m) => m.previous.version).map((m) => ({ artifact: m.name, from: m.version, to: m.previous.version })),
      ...(config?.reverts ?? []),
    ],
    breakingChanges: [...stays, ...(config?.breakingChanges ?? [])],
  };
}
