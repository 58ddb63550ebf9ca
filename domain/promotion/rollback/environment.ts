import { ownSnapshot } from '../../config/snapshots.ts';
import { predecessorsOf } from '../../config/graph.ts';
import coerce from 'semver/functions/coerce.js';
import major from 'semver/functions/major.js';
import { hasRole } from '../../access/auth.ts';
import { canonicalJson } from '../../kernel/canonical.ts';
import { EnvironmentNotFound, Forbidden, RuleViolation, SnapshotNotFound, ArtifactNotFound, ValidationFailed } from '../../kernel/errors.ts';
import type { Environment } from '../../kernel/model.ts';
import type { Ctx, Deps, With } from '../../kernel/deps.ts';
import { diffRoots } from '../../config/snapshots.ts';
import { memoSource } from '../../config/tree.ts';
import { consumersBroken } from '../../artifacts/consumers-broken.ts';
import { bundleConsumersBroken } from '../terms/release.ts';
import type { ArtifactVersion, RollbackImpact, Subject } from '../../kernel/promotion-model.ts';
import { lineOf, resolvePolicy } from '../terms/policy.ts';
import { actorOf, configReleaseDigest, newPromotion, newPromotionId } from '../aggregate.ts';
import { flowSweepAt, startFlow } from '../run/flow.ts';
import { armSweep } from '../terms/stuck.ts';
import { freezeGlassOps, hasFreezeWindows } from '../run/freeze-override.ts';
import { promotionEvent, writeNewPromotion } from '../write.ts';
import { requestedBreakGlass } from '../../freeze/break-glass.ts';

export interface EnvRollbackInput {
  artifact?: string;
  version?: string;
  snapshot?: number;
  dryRun: boolean;
  reason?: string;
  override: boolean;
  /** a freeze window over the environment when it is time to run: wait for its end (held, then resumed) or fail (cancelled FROZEN) */
  whenFrozen?: 'wait' | 'fail';
  /** what a config promotion changed, to be put back (`POST /promotions/{id}/rollback`: domain/promotion/rollback/promotion.ts) */
  restore?: ConfigRestore;
  /** what a bundle promotion changed, to be put back as one unit (its members' earlier versions, its keys) */
  bundle?: BundleRestore;
  /** the promotion this rollback undoes (recorded on the rollback; it is marked ROLLED_BACK when the rollback completes) */
  of?: string;
}

/**
 * The keys a config promotion changed, as they were before it: the environment's own earlier snapshot
 * and the ids of the items to take from it (a SELECTIVE promotion of the environment onto itself), with
 * what that reverts and what of it could break.
 */
export interface ConfigRestore {
  snapshot: { seq: number; digest: string };
  configIds: string[];
  flagIds: string[];
  reverts: Record<string, unknown>[];
  breakingChanges: string[];
}

/** A bundle promotion's rollback: a bundle of the environment's own earlier release, with what that reverts. */
export interface BundleRestore {
  subject: Subject & { type: 'bundle' };
  reverts: Record<string, unknown>[];
  breakingChanges: string[];
}

const DEFAULT_SECONDS = 120;

/** Rough time to roll back: the environment's mean deployment duration over 30 days, or 2 minutes. */
async function estimate(deps: Deps, tenant: string, env: string): Promise<number> {
  const to = deps.clock().toISOString().slice(0, 10);
  const from = new Date(deps.clock().getTime() - 30 * 86_400_000).toISOString().slice(0, 10);
  const days = await deps.store.getMetrics(tenant, env, from, to);
  const ms = days.reduce((a, d) => a + (d.counters.durationMs ?? 0), 0);
  const n = days.reduce((a, d) => a + (d.counters.durationCount ?? 0), 0);
  return n ? Math.max(1, Math.round(ms / n / 1000)) : DEFAULT_SECONDS;
}

function policies(a: ArtifactVersion): Record<string, number> {
  const p = a.metadata?.policies;
  return p && typeof p === 'object'
    ? (Object.fromEntries(Object.entries(p as Record<string, unknown>).filter(([, v]) => typeof v === 'number')) as Record<string, number>)
    : {};
}

function recommend(impact: Omit<RollbackImpact, 'recommendation' | 'reasons'>, blockers: string[]): RollbackImpact {
  const reasons = [...blockers, ...impact.affectedConsumers.map((c) => `${c.name} pins ${c.constraint}: ${c.reason}`), ...impact.breakingChanges];
  const recommendation = blockers.length || impact.affectedConsumers.length ? 'BLOCKED' : impact.breakingChanges.length ? 'RISKY' : 'SAFE';
  return { ...impact, recommendation, reasons };
}

/**
 * What rolling an environment back would do: what reverts, what breaks
 * (major version downgrade, policies that get tighter, removed keys, changed
 * value types), which pinned consumers' constraints it would violate, how long
 * it should take, and a recommendation SAFE | RISKY | BLOCKED with reasons.
 */
export async function analyzeRollback(
  deps: Deps,
  tenant: string,
  env: Environment,
  input: EnvRollbackInput,
): Promise<{ impact: RollbackImpact; subject: Subject; releaseDigest: string }> {
  const estimatedSeconds = await estimate(deps, tenant, env.name);
  if (input.restore) {
    const { snapshot, configIds, flagIds, reverts, breakingChanges } = input.restore;
    const subject: Subject = { type: 'config', sourceSnapshot: snapshot, promotionType: 'SELECTIVE', configIds, flagIds, keyPatterns: [] };
    return {
      impact: recommend({ environment: env.name, reverts, breakingChanges, affectedConsumers: [], estimatedSeconds }, []),
      subject,
      releaseDigest: configReleaseDigest(subject),
    };
  }
  if (input.bundle) {
    const { subject, reverts, breakingChanges } = input.bundle;
    // Consumers pinned to a member are checked against the version it goes back to (a consumer that moves back with it is the bundle's).
    const affected = await bundleConsumersBroken(deps, tenant, subject, subject.members, env.name);
    return {
      impact: recommend({ environment: env.name, reverts, breakingChanges, affectedConsumers: affected, estimatedSeconds }, []),
      subject,
      releaseDigest: subject.digest,
    };
  }
  if (input.snapshot !== undefined) {
    const snap = ownSnapshot(env, input.snapshot) ? await deps.store.getSnapshot(tenant, env.name, input.snapshot) : null;
    if (!snap) throw new SnapshotNotFound(env.name, input.snapshot);
    const d = await diffRoots(memoSource(deps.store.nodes(tenant)), env.head.roots, snap.roots);
    const breaking = [
      ...d.removed.map((r) => `removes ${r.kind} '${r.key}'`),
      ...d.modified
        .filter((m) => typeof m.fromValue !== typeof m.toValue || Array.isArray(m.fromValue) !== Array.isArray(m.toValue))
        .map((m) => `changes the type of ${m.kind} '${m.key}' (${typeof m.fromValue} → ${typeof m.toValue})`),
    ];
    const reverts = [
      ...d.added.map((a) => ({ kind: a.kind, key: a.key, action: 'add', to: a.value })),
      ...d.modified.map((m) => ({ kind: m.kind, key: m.key, action: 'modify', from: m.fromValue, to: m.toValue })),
      ...d.removed.map((r) => ({ kind: r.kind, key: r.key, action: 'remove', from: r.value })),
    ];
    const blockers = reverts.length ? [] : [`'${env.name}' already has the content of snapshot ${input.snapshot}`];
    const subject: Subject = {
      type: 'config',
      sourceSnapshot: { seq: snap.seq, digest: snap.digest },
      promotionType: 'FULL',
      configIds: [],
      flagIds: [],
      keyPatterns: [],
    };
    return {
      impact: recommend({ environment: env.name, reverts, breakingChanges: breaking, affectedConsumers: [], estimatedSeconds }, blockers),
      subject,
      releaseDigest: configReleaseDigest(subject),
    };
  }
  const name = input.artifact!;
  const version = input.version!;
  const target = await deps.store.getArtifactVersion(tenant, name, version);
  if (!target) throw new ArtifactNotFound(`${name}@${version} has not been published`);
  const ptr = await deps.store.getPointer(tenant, env.name, name);
  const current = ptr ? await deps.store.getArtifactVersion(tenant, name, ptr.version) : null;
  const blockers: string[] = [];
  if (!ptr) blockers.push(`'${env.name}' runs no version of ${name}`);
  else if (ptr.version === version) blockers.push(`'${env.name}' already runs ${name}@${version}`);
  if (!(await deps.store.getTag(tenant, name, env.name, 'release', version)))
    blockers.push(`${name}@${version} never ran in '${env.name}'; promote it instead of rolling back to it`);
  const breaking: string[] = [];
  const cv = current ? coerce(current.version) : null;
  const tv = coerce(version);
  if (cv && tv && major(cv) !== major(tv)) breaking.push(`major version changes ${current!.version} → ${version}`);
  if (current) {
    const now = policies(current);
    for (const [k, v] of Object.entries(policies(target)))
      if (now[k] !== undefined && v > now[k]!) breaking.push(`policy '${k}' gets tighter (${now[k]} → ${v})`);
    const schemaNow = current.metadata?.schemaVersion;
    const schemaThen = target.metadata?.schemaVersion;
    if (schemaNow !== undefined && schemaThen !== undefined && canonicalJson(schemaNow) !== canonicalJson(schemaThen))
      breaking.push(`schema version changes ${String(schemaNow)} → ${String(schemaThen)}`);
  }
  const affected: RollbackImpact['affectedConsumers'] = await consumersBroken(deps, tenant, name, version, env.name);
  const subject: Subject = { type: 'artifact', name, version, digest: target.digest };
  return {
    impact: recommend(
      {
        environment: env.name,
        reverts: [{ artifact: name, from: ptr?.version ?? null, to: version }],
        breakingChanges: breaking,
        affectedConsumers: affected,
        estimatedSeconds,
      },
      blockers,
    ),
    subject,
    releaseDigest: target.digest,
  };
}

/**
 * POST /api/v1/environments/{env}/rollback. A dry run returns the analysis.
 * Otherwise the rollback runs as a promotion of the environment onto an
 * earlier release of itself — the same state machine, gates replaced by the
 * impact analysis, approvals by the policy for promoting into this
 * environment. BLOCKED refuses unless an admin overrides with a reason.
 */
export async function rollbackEnvironment(deps: With<'scheduler' | 'workflow'>, ctx: Ctx, envName: string, input: EnvRollbackInput) {
  // Asked to break glass: admins only, answered before anything is analysed or started (domain/freeze/break-glass.ts).
  const asked = requestedBreakGlass(ctx, 'freeze-window', 'rollback.request', deps.clock());
  if ([input.snapshot !== undefined, Boolean(input.artifact && input.version), Boolean(input.restore), Boolean(input.bundle)].filter(Boolean).length !== 1) {
    throw new ValidationFailed([{ path: 'body', message: 'give either snapshot (configs) or artifact and version' }]);
  }
  const { tenant } = ctx.principal;
  const [envs, rules] = await Promise.all([deps.store.listEnvironments(tenant), deps.store.listRules(tenant)]);
  const line = lineOf(envs);
  const env = line.find((e) => e.name === envName);
  if (!env) throw new EnvironmentNotFound(envName);
  const { impact, subject, releaseDigest } = await analyzeRollback(deps, tenant, env, input);
  if (input.dryRun) return { dryRun: true as const, impact };
  if (!input.reason) throw new ValidationFailed([{ path: 'body.reason', message: 'say why you roll back' }]);
  let override: { by: string; reason: string } | null = null;
  if (impact.recommendation === 'BLOCKED') {
    if (!input.override)
      throw new RuleViolation(`Rollback is BLOCKED: ${impact.reasons.join('; ')}. An admin can override with "override": true and a reason`, { impact });
    if (!hasRole(ctx.principal, 'admin')) throw new Forbidden('Only an admin can override a BLOCKED rollback');
    if (impact.reasons.some((r) => r.startsWith(`'${env.name}' already`) || r.includes('runs no version'))) {
      throw new RuleViolation(`Nothing to roll back: ${impact.reasons[0]}`, { impact });
    }
    override = { by: ctx.principal.name, reason: input.reason };
  }
  // The policy of a promotion into it, from the environments it comes after (its edges, or the one before it):
  // with several (a join), the one that asks most of the approvers.
  const from = predecessorsOf(env, line)
    .map((n) => line.find((e) => e.name === n))
    .filter((e): e is Environment => !!e);
  const policy = (from.length ? from : [env])
    .map((source) => resolvePolicy(rules, line, source, env))
    .reduce((a, b) => ((Number(b.requiresApproval) - Number(a.requiresApproval) || b.requiredApprovers - a.requiredApprovers) > 0 ? b : a));
  const now = deps.clock();
  const at = now.toISOString();
  const me = actorOf(ctx.principal);
  const promotion = newPromotion({
    tenant,
    id: newPromotionId(now),
    subject,
    sourceEnvironment: env.name,
    targetEnvironment: env.name,
    releaseDigest,
    notes: `rollback: ${input.reason}`,
    requestedBy: me,
    at,
    policy,
    trigger: 'on_approval',
    rollback: { impact, override, reason: input.reason, ...(input.of ? { of: input.of } : {}) },
  });
  promotion.flowStartedAt = at;
  promotion.whenFrozen = input.whenFrozen ?? 'fail';
  // An admin's break-glass past freeze windows over the environment, bound to this rollback's release.
  const glass = asked && (await hasFreezeWindows(deps, tenant, env.name)) ? { ...asked, releaseDigest } : null;
  if (glass) promotion.freezeOverride = glass;
  const action = override ? 'rollback.override' : 'rollback.request';
  // Its deadline schedule before it is written, as every promotion's (request.ts): a request cut off before the
  // flow's start leaves a schedule that starts it.
  await armSweep(deps, promotion, flowSweepAt(deps));
  await writeNewPromotion(deps, promotion, async () => ({
    action: glass ? `breakglass.${action}` : action,
    by: me,
    ops: [
      promotionEvent(deps, 'Promotion Requested', promotion, { actor: me.name, reason: input.reason }),
      ...(glass ? await freezeGlassOps(deps, tenant, env.name, glass, promotion.id) : []),
    ],
    reason: [override ? `override: ${input.reason}` : input.reason, glass ? `break-glass (freeze-window): ${glass.reason}` : ''].filter(Boolean).join('; '),
    requestId: ctx.requestId,
  }));
  await startFlow(deps, promotion, true);
  return { dryRun: false as const, impact, promotion: (await deps.store.getPromotion(tenant, promotion.id))! };
}
