import type { Principal } from '../../access/auth.ts';
import { sha256Hex } from '../../kernel/canonical.ts';
import type { Condition, Rule } from '../../kernel/promotion-model.ts';
import type { Environment } from '../../kernel/model.ts';
import { successorsOf } from '../../config/graph.ts';
import { orderReleases } from './safe-order.ts';
import { AlreadyExists, EnvironmentNotFound } from '../../kernel/errors.ts';
import type { Ctx, Deps, With } from '../../kernel/deps.ts';
import { isJoin } from './join.ts';
import { evaluate } from './conditions.ts';
import { factsFrom } from './gate-verdicts.ts';
import { lineOf } from './policy.ts';
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
export async function checkAutoPromotion(
  deps: With<'scheduler' | 'workflow'>,
  ctx: Ctx,
  input: { sourceEnvironment: string; artifact?: string; version?: string },
): Promise<AutoCheck[]> {
  const { tenant } = ctx.principal;
  const [envs, rules] = await Promise.all([deps.store.listEnvironments(tenant), deps.store.listRules(tenant)]);
  const line = lineOf(envs);
  const source = line.find((e) => e.name === input.sourceEnvironment);
  if (!source) throw new EnvironmentNotFound(input.sourceEnvironment);
  const now = deps.clock();
  let owner: string;
  let since: string;
  if (input.artifact && input.version) {
    const ptr = await deps.store.getPointer(tenant, source.name, input.artifact);
    owner = `artifact:${input.artifact}@${input.version}`;
    since = ptr?.version === input.version ? ptr.promotedAt : now.toISOString();
  } else {
    const snap = await deps.store.getSnapshot(tenant, source.name, source.head.seq);
    owner = `snapshot:${source.name}@${source.head.seq}`;
    since = snap?.createdAt ?? now.toISOString();
  }
  const facts = {
    ...factsFrom(await deps.store.listEvidence(tenant, [owner])),
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
    if (!reasons.length && target && rule.ruleId === null && input.artifact && input.version) {
      const other = await fannedInElsewhere(deps, tenant, source, target, input.artifact, input.version);
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
      const name = `stageline-auto-${sha256Hex(`${tenant}|${rule.ruleId}|${source.name}|${input.artifact ?? ''}@${input.version ?? ''}`).slice(0, 40)}`;
      await deps.scheduler.scheduleOnce(name, due, {
        tenant,
        autoCheck: { sourceEnvironment: source.name, ...(input.artifact ? { artifact: input.artifact, version: input.version } : {}) },
      });
      check.reasons.push(`checked again at ${due.toISOString()} (time-based condition)`);
    }
    if (check.eligible) {
      // Auto-promotions wait out a freeze window (whenFrozen: wait) rather than being cancelled by it.
      // A person who triggers the check is the requester (audit, separation of duties): they cannot
      // approve what they set off. Only the system's own trigger runs as the auto-promoter.
      const auto: Principal = ctx.principal.id === AUTO_PROMOTER.id || ctx.principal.kind === 'machine' ? autoPrincipal(tenant) : ctx.principal;
      try {
        const body =
          input.artifact && input.version
            ? {
                sourceEnvironment: source.name,
                targetEnvironment: rule.target,
                artifact: input.artifact,
                version: input.version,
                notes: `auto-promoted by ${rule.by}`,
                dryRun: false,
                autoStart: true,
                trigger: 'on_approval' as const,
                whenFrozen: 'wait' as const,
              }
            : {
                sourceEnvironment: source.name,
                targetEnvironment: rule.target,
                promotionType: 'FULL' as const,
                configIds: [],
                flagIds: [],
                keyPatterns: [],
                notes: `auto-promoted by ${rule.by}`,
                dryRun: false,
                autoStart: true,
                trigger: 'on_approval' as const,
                whenFrozen: 'wait' as const,
              };
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
 * the target (from another predecessor), or, for a join every predecessor of which runs it, another
 * predecessor is the one it is taken from (the last to get it, by when it got there and then by name),
 * so checks fired by two completions at once agree on one request.
 */
async function fannedInElsewhere(
  deps: Deps,
  tenant: string,
  source: Environment,
  target: Environment,
  artifact: string,
  version: string,
): Promise<string | null> {
  const twin = (await deps.store.activePromotions(tenant, target.name)).find(
    (a) => a.subject.type === 'artifact' && a.subject.name === artifact && a.subject.version === version,
  );
  if (twin) return `${artifact}@${version} is already on its way into '${target.name}' as ${twin.id} (from '${twin.sourceEnvironment}')`;
  if (!isJoin(target)) return null;
  const at = await Promise.all(target.after!.map(async (name) => ({ name, ptr: await deps.store.getPointer(tenant, name, artifact) })));
  if (at.some((a) => a.ptr?.version !== version)) return null; // the request's join check says what is missing
  const last = at.reduce((a, b) => (b.ptr!.promotedAt > a.ptr!.promotedAt || (b.ptr!.promotedAt === a.ptr!.promotedAt && b.name > a.name) ? b : a));
  return last.name === source.name
    ? null
    : `'${target.name}' takes ${artifact}@${version} from '${last.name}', the last of the environments it comes after to get it`;
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
export async function autoCheckDue(
  deps: With<'scheduler' | 'workflow'>,
  tenant: string,
  input: { sourceEnvironment: string; artifact?: string; version?: string },
): Promise<AutoCheck[]> {
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
  const checks: { sourceEnvironment: string; artifact?: string; version?: string }[] = [];
  if (type === 'Promotion Completed') {
    const subject = String(detail.subject ?? '');
    // A bundle moves on when someone promotes it (`bundle:<name>@<digest>`): its completion is not a config release to pass on.
    if (subject.startsWith('bundle:')) return [];
    const m = /^([^@:]+)@(.+)$/.exec(subject);
    // Artifact subjects read `name@version`; config subjects `config:<type>@<seq>`.
    checks.push(
      m && !subject.startsWith('config:')
        ? { sourceEnvironment: String(detail.targetEnvironment), artifact: m[1], version: m[2] }
        : { sourceEnvironment: String(detail.targetEnvironment) },
    );
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
