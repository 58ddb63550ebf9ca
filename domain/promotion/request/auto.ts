import type { Principal } from '../../access/auth.ts';
import { sha256Hex } from '../../kernel/canonical.ts';
import type { Bundle, Condition, Rule } from '../../kernel/promotion-model.ts';
import type { AutoCheckInput } from '../../kernel/ports.ts';
import { findBundle } from '../../artifacts/bundles.ts';
import type { Environment } from '../../kernel/model.ts';
import { successorsOf } from '../../config/graph.ts';
import { orderReleases } from './safe-order.ts';
import { AlreadyExists, EnvironmentNotFound } from '../../kernel/errors.ts';
import type { Ctx, Deps, With } from '../../kernel/deps.ts';
import { evaluate } from './conditions.ts';
import { factsFrom } from '../terms/gate-verdicts.ts';
import { memberEvidenceOwner } from '../aggregate.ts';
import { lineOf } from '../terms/policy.ts';
import { createPromotion } from './request.ts';
import { validatePromotion } from './validate.ts';

/** The identity auto-promotions run as (shown in audit and history). */
export const AUTO_PROMOTER = { id: 'auto-promoter', name: 'auto-promoter' };

/** The system's own principal in a tenant (event-driven and scheduled checks). */
const autoPrincipal = (tenant: string): Principal => ({ tenant, id: AUTO_PROMOTER.id, name: AUTO_PROMOTER.name, roles: ['deployer'], kind: 'machine' });

export interface AutoCheck {
  /** the autoPromote rule that asked for it; null when the target takes releases from the environments it comes after (`autoPromote`) */
  ruleId: string | null;
  /** set when the target's own `autoPromote` asked for it: it comes after the source (domain/config/graph.ts) */
  via?: 'after';
  targetEnvironment: string;
  eligible: boolean;
  reasons: string[];
  promotionId?: string;
}

/** One way out of the source that auto-promotion tries: an autoPromote rule, or a next environment that takes releases from it. */
interface AutoRoute {
  ruleId: string | null;
  target: string;
  conditions: Condition | null;
  /** how the promotion's notes name what asked for it */
  by: string;
}

/**
 * Where auto-promotion goes from `source`: each active autoPromote rule out of it, and each environment
 * entered from it (successorsOf: `after` names it, or it comes next by position) that sets `autoPromote`
 * and has no such rule (the rule decides for its pair, with its conditions). One completion so fans out
 * into every next environment; a join's `all` refuses the request until every predecessor has the release.
 */
export function autoRoutes(source: Environment, line: Environment[], rules: Rule[]): AutoRoute[] {
  const ruled = rules.filter((r) => r.status === 'active' && r.autoPromote && r.sourceEnvironment === source.name);
  const taken = new Set(ruled.map((r) => r.targetEnvironment));
  const next = successorsOf(source, line)
    .map((n) => line.find((e) => e.name === n)!)
    .filter((e) => e.autoPromote && !taken.has(e.name));
  return [
    ...ruled.map((r) => ({ ruleId: r.id, target: r.targetEnvironment, conditions: r.conditions, by: `rule '${r.name}'` })),
    ...next.map((e) => ({ ruleId: null, target: e.name, conditions: null, by: `'${e.name}' (it comes after '${source.name}')` })),
  ];
}

/**
 * The auto-promotion check: for each way out of the source environment (autoRoutes), evaluate its
 * conditions over the release's facts (evidence, and how long it has run in the source); when they
 * hold and the target is not paused, create and run the promotion with no person. Several artifact
 * promotions at once start in their safe order (safe-order.ts); one no order lets run without
 * breaking a pinned consumer is not requested, and the check says why.
 */
export async function checkAutoPromotion(deps: With<'scheduler' | 'workflow'>, ctx: Ctx, input: AutoCheckInput): Promise<AutoCheck[]> {
  const { tenant } = ctx.principal;
  const [envs, rules] = await Promise.all([deps.store.listEnvironments(tenant), deps.store.listRules(tenant)]);
  const line = lineOf(envs);
  const source = line.find((e) => e.name === input.sourceEnvironment);
  if (!source) throw new EnvironmentNotFound(input.sourceEnvironment);
  const now = deps.clock();
  const release: AutoRelease = input.bundle
    ? { kind: 'bundle', bundle: await findBundle(deps, tenant, input.bundle, input.bundleDigest) }
    : input.artifact && input.version
      ? { kind: 'artifact', artifact: input.artifact, version: input.version }
      : { kind: 'config' };
  let owners: string[];
  let since: string;
  if (release.kind === 'config') {
    const snap = await deps.store.getSnapshot(tenant, source.name, source.head.seq);
    owners = [`snapshot:${source.name}@${source.head.seq}`];
    since = snap?.createdAt ?? now.toISOString();
  } else {
    // A bundle's evidence is its members'; it has been in the source since its last member got there.
    owners = release.kind === 'artifact' ? [`artifact:${release.artifact}@${release.version}`] : release.bundle.members.map(memberEvidenceOwner);
    since = (await arrivedAt(deps, tenant, source.name, release)) ?? now.toISOString();
  }
  const facts = {
    ...factsFrom(await deps.store.listEvidence(tenant, owners)),
    // Hours to the millisecond (a rounded value would keep a threshold from ever being reached on time).
    'deployment.duration_hours': (now.getTime() - new Date(since).getTime()) / 3_600_000,
    'deployment.environment': source.name,
  };
  const routes = autoRoutes(source, line, rules);
  const blocked = new Map<string, string>();
  if (input.artifact && input.version && routes.length > 1) {
    const plan = await orderReleases(
      deps,
      tenant,
      routes.map((r) => ({ id: r.target, targetEnvironment: r.target, artifact: input.artifact!, version: input.version! })),
    );
    const rank = new Map(plan.order.map((s, i) => [s.id, i]));
    for (const b of plan.blocked) blocked.set(b.id, b.message);
    routes.sort((a, b) => (rank.get(a.target) ?? routes.length) - (rank.get(b.target) ?? routes.length));
  }
  const out: AutoCheck[] = [];
  for (const rule of routes) {
    const target = line.find((e) => e.name === rule.target);
    const reasons: string[] = [];
    if (!target) reasons.push(`target '${rule.target}' does not exist`);
    else if (target.autoPromotionPaused) reasons.push(`auto-promotion into '${target.name}' is paused`);
    const trace = evaluate(rule.conditions, facts);
    reasons.push(...trace.failed);
    if (blocked.has(rule.target)) reasons.push(blocked.get(rule.target)!);
    if (!reasons.length && target && rule.ruleId === null && release.kind !== 'config') {
      const other = await fannedInElsewhere(deps, tenant, target, release);
      if (other) reasons.push(other);
    }
    const check: AutoCheck = {
      ruleId: rule.ruleId,
      ...(rule.ruleId ? {} : { via: 'after' as const }),
      targetEnvironment: rule.target,
      eligible: reasons.length === 0,
      reasons,
    };
    // A time-based condition (deployment.duration_hours) comes due without any event: the
    // scheduler fires a check at the time it will hold, so nobody has to poll.
    const due = reasons.length ? dueAt(rule.conditions, since) : null;
    if (due && due > now) {
      const what = release.kind === 'bundle' ? `bundle:${release.bundle.name}@${release.bundle.digest}` : `${input.artifact ?? ''}@${input.version ?? ''}`;
      const name = `stageline-auto-${sha256Hex(`${tenant}|${rule.ruleId}|${source.name}|${what}`).slice(0, 40)}`;
      await deps.scheduler.scheduleOnce(name, due, {
        tenant,
        autoCheck: {
          sourceEnvironment: source.name,
          ...(release.kind === 'artifact' ? { artifact: release.artifact, version: release.version } : {}),
          ...(release.kind === 'bundle' ? { bundle: release.bundle.name, bundleDigest: release.bundle.digest } : {}),
        },
      });
      check.reasons.push(`checked again at ${due.toISOString()} (time-based condition)`);
    }
    if (check.eligible) {
      // Auto-promotions wait out a freeze window (whenFrozen: wait) rather than being cancelled by it.
      // A person who triggers the check is the requester (audit, separation of duties): they cannot
      // approve what they set off. Only the system's own trigger runs as the auto-promoter.
      const auto: Principal = ctx.principal.id === AUTO_PROMOTER.id || ctx.principal.kind === 'machine' ? autoPrincipal(tenant) : ctx.principal;
      try {
        const asked = {
          sourceEnvironment: source.name,
          targetEnvironment: rule.target,
          notes: `auto-promoted by ${rule.by}`,
          dryRun: false,
          autoStart: true,
          trigger: 'on_approval' as const,
          whenFrozen: 'wait' as const,
        };
        const body =
          release.kind === 'bundle'
            ? { ...asked, bundle: release.bundle.name, bundleDigest: release.bundle.digest }
            : release.kind === 'artifact'
              ? { ...asked, artifact: release.artifact, version: release.version }
              : { ...asked, promotionType: 'FULL' as const, configIds: [], flagIds: [], keyPatterns: [] };
        const p = await createPromotion(deps, { principal: auto, requestId: ctx.requestId }, body, { autoPromoted: true });
        if ('id' in p) check.promotionId = p.id;
      } catch (err) {
        // The same release is already on its way: if its gates failed earlier, the new inputs may
        // now pass them, so an auto-promotion whose gates failed is validated again (not duplicated).
        const twin = err instanceof AlreadyExists ? String(err.details?.promotionId ?? '') : '';
        const prior = twin ? await deps.store.getPromotion(tenant, twin) : null;
        if (prior?.autoPromoted && prior.status === 'VALIDATION_FAILED') {
          await validatePromotion(deps, { principal: autoPrincipal(tenant) }, prior.id);
          check.promotionId = prior.id;
          check.reasons.push(`validating ${prior.id} again with the new inputs`);
        } else {
          check.eligible = false;
          check.reasons.push((err as Error).message);
        }
      }
    }
    out.push(check);
  }
  return out;
}

/**
 * Fan-in from the environments a target comes after: the release goes in once, not once per predecessor.
 * Why this source does not request it (null when it does): the same release is already on its way into
 * the target (from another predecessor). Two checks at once that both get past this are settled by the
 * release's claim: one request goes on its way, the other is told which.
 */
async function fannedInElsewhere(deps: Deps, tenant: string, target: Environment, release: Exclude<AutoRelease, { kind: 'config' }>): Promise<string | null> {
  const label = releaseLabel(release);
  const twin = (await deps.store.activePromotions(tenant, target.name)).find((a) =>
    release.kind === 'bundle'
      ? a.subject.type === 'bundle' && a.subject.digest === release.bundle.digest
      : a.subject.type === 'artifact' && a.subject.name === release.artifact && a.subject.version === release.version,
  );
  if (twin) return `${label} is already on its way into '${target.name}' as ${twin.id} (from '${twin.sourceEnvironment}')`;
  // Into an environment that comes after several, the first request of the release takes it (its claim is
  // one for every branch: request.ts claimRelease); a join's `all` refuses it until each branch has it, so
  // the check of the last branch to complete is the one that gets through.
  return null;
}

/** What auto-promotion moves on: the source's config set, an artifact's version, or a bundle. */
type AutoRelease = { kind: 'config' } | { kind: 'artifact'; artifact: string; version: string } | { kind: 'bundle'; bundle: Bundle };

const releaseLabel = (r: Exclude<AutoRelease, { kind: 'config' }>) =>
  r.kind === 'bundle' ? `bundle ${r.bundle.name}@${r.bundle.digest.slice(7, 19)}` : `${r.artifact}@${r.version}`;

/**
 * When the release was all there in the environment: the artifact's pointer at that version, or, for a
 * bundle, the last of its members to get there (null: not all there). A bundle of configuration only has
 * no pointer to tell: null.
 */
async function arrivedAt(deps: Deps, tenant: string, env: string, release: Exclude<AutoRelease, { kind: 'config' }>): Promise<string | null> {
  const members = release.kind === 'bundle' ? release.bundle.members : [{ name: release.artifact, version: release.version }];
  if (!members.length) return null;
  const ptrs = await Promise.all(members.map((m) => deps.store.getPointer(tenant, env, m.name)));
  if (ptrs.some((p, i) => p?.version !== members[i]!.version)) return null;
  return ptrs.map((p) => p!.promotedAt).reduce((a, b) => (b > a ? b : a));
}

/** When the rule's `deployment.duration_hours` threshold (gt/gte/eq) will be reached, if it has one. */
export function dueAt(condition: Condition | null, since: string): Date | null {
  const hours: number[] = [];
  const walk = (c: Condition | null): void => {
    if (!c) return;
    if ('all' in c) c.all.forEach(walk);
    else if ('any' in c) c.any.forEach(walk);
    else if (c.field === 'deployment.duration_hours' && ['gt', 'gte', 'eq'].includes(c.op) && typeof c.value === 'number') hours.push(c.value);
  };
  walk(condition);
  if (!hours.length) return null;
  // A second past the latest threshold, so the check sees it as met.
  return new Date(new Date(since).getTime() + Math.max(...hours) * 3_600_000 + 1_000);
}

/** A scheduled auto-promotion check came due (schedule-fire): runs as the system. */
export async function autoCheckDue(deps: With<'scheduler' | 'workflow'>, tenant: string, input: AutoCheckInput): Promise<AutoCheck[]> {
  const ctx: Ctx = { principal: autoPrincipal(tenant) };
  return checkAutoPromotion(deps, ctx, input);
}

/**
 * The system's own auto-promotion trigger: called for every event that changes auto-promotion's
 * inputs (AUTO_PROMOTION_TRIGGERS) — new evidence, a recorded deployment, a promotion completed
 * into an environment — and checks the rules out of the environment(s) the event concerns. Runs as
 * the auto-promoter; at-least-once delivery is harmless (a release already on its way or already
 * there is not promoted twice).
 */
export async function autoPromoteOn(deps: With<'scheduler' | 'workflow'>, type: string, detail: Record<string, unknown>): Promise<AutoCheck[]> {
  const tenant = String(detail.tenant);
  const ctx: Ctx = { principal: autoPrincipal(tenant) };
  const checks: AutoCheckInput[] = [];
  if (type === 'Promotion Completed') {
    const subject = String(detail.subject ?? '');
    const sourceEnvironment = String(detail.targetEnvironment);
    if (subject.startsWith('bundle:')) {
      // A bundle (`bundle:<name>@<short digest>`) moves on as one unit: its digest is the promotion's.
      const done = await deps.store.getPromotion(tenant, String(detail.promotionId ?? ''));
      if (done?.subject.type !== 'bundle') return [];
      checks.push({ sourceEnvironment, bundle: done.subject.name, bundleDigest: done.subject.digest });
    } else {
      const m = /^([^@:]+)@(.+)$/.exec(subject);
      // Artifact subjects read `name@version`; config subjects `config:<type>@<seq>`.
      checks.push(m && !subject.startsWith('config:') ? { sourceEnvironment, artifact: m[1], version: m[2] } : { sourceEnvironment });
    }
  } else if (type === 'Deployment Recorded') {
    if (detail.status !== 'DEPLOYED') return [];
    checks.push(
      detail.artifact
        ? { sourceEnvironment: String(detail.environment), artifact: String(detail.artifact), version: String(detail.imageTag) }
        : { sourceEnvironment: String(detail.environment) },
    );
  } else if (type === 'Evidence Added') {
    const owner = String(detail.owner);
    const snap = /^snapshot:(.+)@(\d+)$/.exec(owner);
    const art = /^artifact:(.+)@(.+)$/.exec(owner);
    if (snap) {
      const env = await deps.store.getEnvironment(tenant, snap[1]!);
      if (env && env.head.seq === Number(snap[2])) checks.push({ sourceEnvironment: env.name });
    } else if (art) {
      // Every environment that runs this version is a source it may leave from.
      for (const env of lineOf(await deps.store.listEnvironments(tenant))) {
        const ptr = await deps.store.getPointer(tenant, env.name, art[1]!);
        if (ptr?.version === art[2]) checks.push({ sourceEnvironment: env.name, artifact: art[1], version: art[2] });
      }
    }
  }
  const out: AutoCheck[] = [];
  if (!checks.length) return out;
  const [rules, envs] = await Promise.all([deps.store.listRules(tenant), deps.store.listEnvironments(tenant)]);
  const line = lineOf(envs);
  for (const c of checks) {
    const source = line.find((e) => e.name === c.sourceEnvironment);
    if (!source || !autoRoutes(source, line, rules).length) continue;
    out.push(...(await checkAutoPromotion(deps, ctx, c).catch(() => [])));
  }
  return out;
}
