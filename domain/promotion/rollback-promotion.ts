import { randomUUID } from 'node:crypto';
import { RuleViolation, VersionConflict } from '../kernel/errors.ts';
import { advanceHead } from '../config/commit.ts';
import type { Roots } from '../kernel/model.ts';
import type { Ctx, Deps, WriteOp, With } from '../ports.ts';
import type { Deployment } from '../kernel/promotion-model.ts';
import { applyChanges, diffTrees, lookup, memoSource, NodeSink, type StoredEntry } from '../config/tree.ts';
import { rollbackEnvironment } from './rollback-environment.ts';
import type { Promotion } from '../kernel/promotion-model.ts';
import { actorOf, guard, moved } from './aggregate.ts';
import { loadPromotion, promotionEvent, writePromotion } from './write.ts';
import { canonicalJson } from '../kernel/canonical.ts';
import { deploymentOp } from '../artifacts/deployments.ts';
import { assertTagsFree, tagOps } from '../artifacts/tags.ts';
import { requestedBreakGlass } from '../freeze/break-glass.ts';

/**
 * Rolls a completed promotion back: only what that promotion changed is put
 * back (keys to their previous values, the artifact to its previous
 * version), as a new snapshot/pointer move in one transaction with the
 * deployment records and the audit entry. If something changed those keys
 * since, the rollback refuses (409) and names them, rather than overwrite
 * newer work.
 */
export async function rollbackPromotion(
  deps: With<'scheduler' | 'workflow'>,
  ctx: Ctx,
  id: string,
  opts: { reason: string; dryRun: boolean; override?: boolean },
) {
  // Asked to break glass: admins only, before anything (an artifact rollback runs through the freeze-guarded flow).
  requestedBreakGlass(ctx, 'freeze-window', 'rollback.request', deps.clock());
  const { tenant } = ctx.principal;
  const me = actorOf(ctx.principal);
  const first = await loadPromotion(deps, tenant, id);
  guard('rollback', first);
  if (first.subject.type === 'artifact') {
    // An artifact goes back to the version it replaced through the environment rollback:
    // impact analysis, the approval policy and the promotion flow (a rollback record). The promotion is
    // marked ROLLED_BACK when that run completes.
    const prev = first.result?.previous;
    if (!prev?.version)
      throw new RuleViolation(`'${first.targetEnvironment}' ran no earlier version of ${first.subject.name}; there is nothing to roll back to`);
    const cur = await deps.store.getPointer(tenant, first.targetEnvironment, first.subject.name);
    if (!cur || cur.version !== first.subject.version) {
      throw new VersionConflict(
        `'${first.targetEnvironment}' now runs ${first.subject.name}@${cur?.version ?? 'nothing'}, not ${first.subject.version}; roll back the newer change instead`,
      );
    }
    const r = await rollbackEnvironment(deps, ctx, first.targetEnvironment, {
      artifact: first.subject.name,
      version: prev.version,
      dryRun: opts.dryRun,
      reason: opts.reason,
      override: opts.override ?? false,
    });
    return r.dryRun
      ? { dryRun: true as const, promotionId: id, targetEnvironment: first.targetEnvironment, reverts: r.impact.reverts, impact: r.impact }
      : { dryRun: false as const, promotion: r.promotion, reverts: r.impact.reverts, impact: r.impact };
  }
  if (opts.dryRun) {
    const plan = await configPlan(deps, first);
    return { dryRun: true as const, promotionId: id, targetEnvironment: first.targetEnvironment, reverts: plan.reverts };
  }
  // What the deciding attempt planned: its reverts, and the deployment it records as current.
  let done: { reverts: unknown[]; fresh: Deployment } | null = null;
  const { after } = await writePromotion(
    deps,
    tenant,
    id,
    async (p) => {
      guard('rollback', p);
      const plan = p.subject.type === 'artifact' ? await artifactPlan(deps, p) : await configPlan(deps, p);
      const now = deps.clock().toISOString();
      const ops: WriteOp[] = [...plan.ops];
      const old = p.result ? await deps.store.getDeployment(tenant, p.targetEnvironment, p.result.deployedAt, p.result.deploymentId) : null;
      if (old) ops.push(deploymentOp({ ...old, status: 'ROLLED_BACK', completedAt: old.completedAt ?? now }, old.status, now));
      const fresh: Deployment = {
        id: randomUUID(),
        environment: p.targetEnvironment,
        imageTag: plan.tag,
        gitCommit: '',
        gitBranch: '',
        status: 'DEPLOYED',
        deployedAt: now,
        completedAt: now,
        promotionId: p.id,
        digest: plan.digest,
        deployedBy: me.name,
      };
      ops.push(deploymentOp(fresh, null, now));
      const next = moved(p, 'ROLLED_BACK', me, deps.clock());
      ops.push(promotionEvent(deps, 'Promotion Rolled Back', next, { actor: me.name, reason: opts.reason }));
      done = { reverts: plan.reverts, fresh };
      return { next, action: 'promotion.rollback', by: me, ops, reason: opts.reason, requestId: ctx.requestId };
    },
    { read: first },
  );
  const { reverts, fresh } = done!;
  await deps.store.putCurrent(tenant, fresh);
  return { dryRun: false as const, promotion: after!, reverts };
}

interface Plan {
  ops: WriteOp[];
  reverts: unknown[];
  tag: string;
  digest: string;
}

async function artifactPlan(deps: Deps, p: (Promotion & { subject: { type: 'artifact' } }) | Promotion): Promise<Plan> {
  if (p.subject.type !== 'artifact' || !p.result) throw new RuleViolation('nothing recorded to roll back');
  const prev = p.result.previous;
  if (!prev.version || !prev.digest)
    throw new RuleViolation(`'${p.targetEnvironment}' ran no earlier version of ${p.subject.name}; there is nothing to roll back to`);
  const cur = await deps.store.getPointer(p.tenant, p.targetEnvironment, p.subject.name);
  if (!cur || cur.version !== p.subject.version) {
    throw new VersionConflict(
      `'${p.targetEnvironment}' now runs ${p.subject.name}@${cur?.version ?? 'nothing'}, not ${p.subject.version}; roll back the newer change instead`,
    );
  }
  const now = deps.clock().toISOString();
  const tags = tagOps({ name: p.subject.name, version: prev.version, digest: prev.digest }, p.targetEnvironment, 'rollback', 'rollback', now);
  await assertTagsFree(deps, p.tenant, tags);
  return {
    ops: [
      {
        kind: 'pointer',
        pointer: { ...cur, version: prev.version, digest: prev.digest, promotedAt: now, promotedBy: 'rollback', promotionId: p.id, version_: cur.version_ + 1 },
        expectedVersion: cur.version_,
      },
      ...tags,
    ],
    reverts: [{ artifact: p.subject.name, from: p.subject.version, to: prev.version }],
    tag: tags[0]!.kind === 'tag' ? tags[0]!.tag.name : `${prev.version}-${p.targetEnvironment}-rollback`,
    digest: prev.digest,
  };
}

async function configPlan(deps: Deps, p: Promotion): Promise<Plan> {
  if (p.subject.type !== 'config' || !p.result || p.result.snapshotSeq === undefined || p.result.previous.seq === undefined)
    throw new RuleViolation('nothing recorded to roll back');
  const [env, before, after] = await Promise.all([
    deps.store.getEnvironment(p.tenant, p.targetEnvironment),
    deps.store.getSnapshot(p.tenant, p.targetEnvironment, p.result.previous.seq),
    deps.store.getSnapshot(p.tenant, p.targetEnvironment, p.result.snapshotSeq),
  ]);
  if (!env || !before || !after) throw new RuleViolation('the snapshots of this promotion are gone');
  const source = memoSource(deps.store.nodes(p.tenant));
  const sink = new NodeSink();
  const roots: Roots = { ...env.head.roots };
  const reverts: unknown[] = [];
  const conflicts: string[] = [];
  for (const kind of ['config', 'flag'] as const) {
    // What the promotion changed = diff(before → after); put those keys back as they were before.
    const d = await diffTrees(source, before.roots[kind], after.roots[kind]);
    const changed = [
      ...d.added.map((e) => ({ key: e.k, was: null as StoredEntry | null, promoted: e })),
      ...d.modified.map((m) => ({ key: m.to.k, was: m.from, promoted: m.to as StoredEntry | null })),
      ...d.removed.map((e) => ({ key: e.k, was: e, promoted: null as StoredEntry | null })),
    ];
    if (!changed.length) continue;
    const now = await lookup(
      source,
      env.head.roots[kind],
      changed.map((c) => c.key),
    );
    for (const c of changed) {
      const current = now.get(c.key) ?? null;
      const same = (a: StoredEntry | null, b: StoredEntry | null) => (a === null ? b === null : b !== null && canonicalJson(a.v) === canonicalJson(b.v));
      if (!same(current, c.promoted)) conflicts.push(`${kind}:${c.key}`);
      reverts.push({ kind, key: c.key, from: current?.v, to: c.was?.v, action: c.was ? (current ? 'modify' : 'add') : 'remove' });
    }
    roots[kind] = await applyChanges(source, roots[kind], new Map(changed.map((c) => [c.key, c.was])), sink);
  }
  if (conflicts.length) {
    throw new VersionConflict(
      `These keys changed after the promotion and would be overwritten: ${conflicts.slice(0, 20).join(', ')}; restore a snapshot explicitly instead`,
      { conflicts },
    );
  }
  await deps.store.putNodes(p.tenant, sink.nodes);
  const now = deps.clock().toISOString();
  const { snapshot, env: next } = advanceHead(
    env,
    roots,
    'rollback',
    now,
    {
      action: 'restore',
      keys: reverts.slice(0, 20).map((r) => `${(r as { kind: string }).kind}:${(r as { key: string }).key}`),
      count: reverts.length,
      restoredFrom: before.seq,
    },
    `rollback of ${p.id}`,
  );
  const { seq, digest } = snapshot;
  return {
    ops: [
      { kind: 'environment', env: next, expectedVersion: env.version },
      { kind: 'snapshot', snapshot },
    ],
    reverts,
    tag: `${env.name}@${seq}-rollback`,
    digest,
  };
}
