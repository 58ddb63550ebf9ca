import { pinnedIn, pinsOf } from '../../artifacts/consumers-broken.ts';
import { brokenBy } from '../../artifacts/artifacts.ts';
import type { Consumer } from '../../artifacts/model.ts';
import type { Ctx, Deps } from '../../kernel/deps.ts';
import { EnvironmentNotFound, PromotionNotFound, RuleViolation, TransitionNotAllowed } from '../../kernel/errors.ts';
import type { Promotion } from '../../kernel/promotion-model.ts';

/**
 * The safe order of pending promotions: an order in which each runs without breaking a pinned
 * consumer. An artifact version may declare what it pins itself (`metadata.pins`, artifact →
 * constraint, as it would PUT /artifacts/{artifact}/consumers/{itself}); once a promotion of such a
 * version has run into an environment, its pins stand there for the consumer it is. So when
 * promoting X breaks consumer C's pin (brokenBy, the rule consumersBroken decides by), and a
 * pending promotion brings C's new version whose pin accepts the new X, C's promotion goes first.
 * A promotion breaks its own pins too when what its environment runs of a pinned artifact does not
 * satisfy them. Pure: `planPromotions` reads what it decides on.
 */

/** A promotion as the plan sees it: what it brings where, and what that version pins. */
export interface PlanItem {
  id: string;
  targetEnvironment: string;
  status: string;
  /** absent for a config promotion (no pins: it never breaks a consumer) */
  artifact?: string;
  version?: string;
  /** what the promoted version pins (`metadata.pins`): artifact → constraint */
  pins: Record<string, string>;
  /** how a bundle's promotion is named (its members' pins are checked when it is requested and by its gate) */
  label?: string;
}

export interface PlanBreak {
  /** the consumer that would break (an artifact name, or a consumer registered under any name) */
  consumer: string;
  /** the artifact it pins */
  artifact: string;
  constraint: string;
  reason: string;
}

export interface PlanStep {
  id: string;
  targetEnvironment: string;
  subject: string;
  /** the promotions before it in this order that it needs to have run (a consumer re-pinned, a pinned provider moved) */
  after: string[];
}

export interface PlanBlocked {
  id: string;
  targetEnvironment: string;
  subject: string;
  /** break: nothing pending resolves it; cycle: what resolves it waits on it in turn */
  kind: 'break' | 'cycle';
  breaks: PlanBreak[];
  /** the pending promotions that would resolve its breaks (they are blocked too) */
  waitsOn: string[];
  /**
   * a cycle: the versions that must move together, as one bundle (this one and every promotion its cycle reaches
   * through waitsOn), in the order requested; a bundle lets a consumer move with what it consumes, re-pinned
   */
  together?: { id: string; artifact: string; version: string }[];
  message: string;
}

export interface SafeOrder {
  order: PlanStep[];
  blocked: PlanBlocked[];
}

export interface PlanState {
  /** the stored pins, by artifact */
  consumers: Record<string, readonly Pick<Consumer, 'name' | 'constraint' | 'environment'>[]>;
  /** what each environment runs now: `${environment}/${artifact}` → version */
  running: Record<string, string>;
  /**
   * the pins the versions the environments run brought there (pinnedIn, domain/artifacts/consumers-broken.ts), where
   * they differ from the stored ones: `${environment}/${artifact}` → consumer → constraint
   */
  pinned?: Record<string, Record<string, string>>;
}

const at = (env: string, artifact: string) => `${env}/${artifact}`;
const subjectOf = (i: PlanItem) => (i.artifact ? `${i.artifact}@${i.version}` : (i.label ?? 'config'));

/** brokenBy, with a constraint that is no constraint reported as a break rather than thrown. */
function broken(consumers: readonly Pick<Consumer, 'name' | 'constraint' | 'environment'>[], version: string, env: string) {
  try {
    return brokenBy(consumers, version, env);
  } catch {
    return consumers.map((c) => ({ name: c.name, constraint: c.constraint, reason: `'${c.constraint}' is not a version constraint` }));
  }
}

/**
 * Orders `items` (taken in the order given, the earliest requested first): at each step the first
 * promotion that breaks nothing in the state the earlier ones left runs next. What never can is
 * blocked, with the consumers it would break and why; a cycle when the promotions that would
 * resolve its breaks are themselves blocked by it.
 */
export function safeOrder(items: readonly PlanItem[], state: PlanState): SafeOrder {
  const running = new Map(Object.entries(state.running));
  /** pins the planned promotions brought: `${env}/${artifact}` → consumer → constraint */
  const repinned = new Map<string, Map<string, string>>(Object.entries(state.pinned ?? {}).map(([k, v]) => [k, new Map(Object.entries(v))]));

  const consumersAt = (env: string, artifact: string) => {
    const over = repinned.get(at(env, artifact)) ?? new Map<string, string>();
    const stored = (state.consumers[artifact] ?? []).map((c) =>
      over.has(c.name) && (!c.environment || c.environment === env) ? { name: c.name, constraint: over.get(c.name)!, environment: env } : c,
    );
    const added = [...over]
      .filter(([name]) => !stored.some((c) => c.name === name && (!c.environment || c.environment === env)))
      .map(([name, constraint]) => ({ name, constraint, environment: env }));
    return [...stored, ...added];
  };

  const breaksOf = (i: PlanItem): PlanBreak[] => {
    if (!i.artifact || !i.version) return [];
    const env = i.targetEnvironment;
    const theirs = broken(consumersAt(env, i.artifact), i.version, env).map((b) => ({
      consumer: b.name,
      artifact: i.artifact!,
      constraint: b.constraint,
      reason: b.reason,
    }));
    const own = Object.entries(i.pins).flatMap(([x, constraint]) => {
      const runs = running.get(at(env, x));
      if (!runs) return [];
      return broken([{ name: i.artifact!, constraint, environment: null }], runs, env).map((b) => ({
        consumer: i.artifact!,
        artifact: x,
        constraint,
        reason: b.reason.endsWith('does not satisfy it') ? `'${env}' runs ${x}@${runs}, which does not satisfy it` : b.reason,
      }));
    });
    return [...theirs, ...own];
  };

  /** Would `q` having run resolve `b`, a break of `i`? */
  const resolves = (q: PlanItem, i: PlanItem, b: PlanBreak) => {
    if (q.id === i.id || !q.artifact || !q.version || q.targetEnvironment !== i.targetEnvironment) return false;
    // A consumer's new version whose pin accepts the new version of what it consumes.
    if (b.artifact === i.artifact && q.artifact === b.consumer && q.pins[i.artifact] !== undefined)
      return broken([{ name: q.artifact, constraint: q.pins[i.artifact]!, environment: null }], i.version!, i.targetEnvironment).length === 0;
    // The provider's new version that satisfies what this one pins.
    if (b.consumer === i.artifact && q.artifact === b.artifact)
      return broken([{ name: i.artifact!, constraint: b.constraint, environment: null }], q.version, i.targetEnvironment).length === 0;
    return false;
  };

  // Each one's breaks before any of them ran: what an earlier one in the order resolved for it.
  const initial = new Map(items.map((i) => [i.id, breaksOf(i)]));
  const order: PlanStep[] = [];
  const ran: PlanItem[] = [];
  const left = [...items];
  for (;;) {
    const next = left.findIndex((i) => breaksOf(i).length === 0);
    if (next < 0) break;
    const [i] = left.splice(next, 1) as [PlanItem];
    // What it needed: each earlier promotion that would have resolved a break it had before any ran.
    const before = initial.get(i.id) ?? [];
    order.push({
      id: i.id,
      targetEnvironment: i.targetEnvironment,
      subject: subjectOf(i),
      after: ran.filter((q) => before.some((b) => resolves(q, i, b))).map((q) => q.id),
    });
    ran.push(i);
    if (i.artifact && i.version) {
      running.set(at(i.targetEnvironment, i.artifact), i.version);
      for (const [x, constraint] of Object.entries(i.pins)) {
        const key = at(i.targetEnvironment, x);
        if (!repinned.has(key)) repinned.set(key, new Map());
        repinned.get(key)!.set(i.artifact, constraint);
      }
    }
  }

  const judged = left.map((i) => {
    const breaks = breaksOf(i);
    const resolvers = breaks.map((b) => left.filter((q) => resolves(q, i, b)).map((q) => q.id));
    return { i, breaks, waitsOn: [...new Set(resolvers.flat())], kind: resolvers.every((r) => r.length > 0) ? ('cycle' as const) : ('break' as const) };
  });
  const waits = new Map(judged.map((j) => [j.i.id, j.waitsOn]));
  /** A cycle's versions: every promotion reached from `id` through waitsOn (itself included), in the order requested. */
  const cycleOf = (id: string) => {
    const seen = new Set([id]);
    const stack = [id];
    while (stack.length)
      for (const r of waits.get(stack.pop()!) ?? [])
        if (!seen.has(r)) {
          seen.add(r);
          stack.push(r);
        }
    return left.filter((q) => seen.has(q.id) && q.artifact && q.version).map((q) => ({ id: q.id, artifact: q.artifact!, version: q.version! }));
  };
  const blocked = judged.map(({ i, breaks, waitsOn, kind }): PlanBlocked => {
    const what = breaks.map((b) => `consumer '${b.consumer}' pins ${b.artifact} ${b.constraint} (${b.reason})`).join('; ');
    const together = kind === 'cycle' ? cycleOf(i.id) : [];
    const names = together.map((q) => `${q.artifact}@${q.version}`);
    const bundle =
      names.length > 1 ? `promote ${names.slice(0, -1).join(', ')} and ${names.at(-1)} together, as one bundle (POST /bundles with these members), or ` : '';
    const message =
      kind === 'cycle'
        ? `${subjectOf(i)} into '${i.targetEnvironment}' would break ${what}; the promotions that would resolve it (${waitsOn.join(', ')}) wait on it in turn: a cycle, ${bundle}re-pin a consumer to a range both versions satisfy`
        : `${subjectOf(i)} into '${i.targetEnvironment}' would break ${what}, and nothing pending resolves it: promote a version it accepts, or re-pin the consumer first`;
    return {
      id: i.id,
      targetEnvironment: i.targetEnvironment,
      subject: subjectOf(i),
      kind,
      breaks,
      waitsOn,
      ...(names.length > 1 ? { together } : {}),
      message,
    };
  });
  return { order, blocked };
}

/** Statuses a plan orders: requested, not yet executing. */
export const PLANNED_STATUSES = ['PENDING', 'VALIDATING', 'VALIDATION_FAILED', 'AWAITING_APPROVAL', 'APPROVED', 'SCHEDULED'] as const;
const planned = (p: Promotion) => (PLANNED_STATUSES as readonly string[]).includes(p.status);

export { pinsOf };

/** A release on its way (a promotion, or one auto-promotion is about to request): what it brings where. */
export interface Release {
  id: string;
  targetEnvironment: string;
  status?: string;
  artifact?: string;
  version?: string;
  /** a bundle's promotion: how the plan names it */
  label?: string;
}

/** Reads what the safe order of `releases` decides on (the versions' pins, the stored consumers, what the environments run) and orders them. */
export async function orderReleases(deps: Deps, tenant: string, releases: readonly Release[]): Promise<SafeOrder> {
  const versions = new Map<string, Promise<Record<string, string>>>();
  const pinsFor = (artifact: string, version: string) => {
    const key = `${artifact}@${version}`;
    if (!versions.has(key))
      versions.set(
        key,
        deps.store.getArtifactVersion(tenant, artifact, version).then((v) => pinsOf(v?.metadata)),
      );
    return versions.get(key)!;
  };
  const items: PlanItem[] = await Promise.all(
    releases.map(async (r): Promise<PlanItem> => {
      const base = { id: r.id, targetEnvironment: r.targetEnvironment, status: r.status ?? 'PENDING', ...(r.label ? { label: r.label } : {}) };
      if (!r.artifact || !r.version) return { ...base, pins: {} };
      return { ...base, artifact: r.artifact, version: r.version, pins: await pinsFor(r.artifact, r.version) };
    }),
  );
  const artifacts = [...new Set(items.flatMap((i) => (i.artifact ? [i.artifact] : [])))];
  const pointers = [...new Set(items.flatMap((i) => (i.artifact ? [i.artifact, ...Object.keys(i.pins)].map((a) => at(i.targetEnvironment, a)) : [])))];
  const inEnvs = [...new Set(items.flatMap((i) => (i.artifact ? [at(i.targetEnvironment, i.artifact)] : [])))];
  const [consumers, running, pinned] = await Promise.all([
    Promise.all(artifacts.map(async (a) => [a, await deps.store.listConsumers(tenant, a)] as const)),
    Promise.all(
      pointers.map(async (key) => {
        const [env, artifact] = key.split('/') as [string, string];
        return [key, (await deps.store.getPointer(tenant, env, artifact))?.version] as const;
      }),
    ),
    Promise.all(
      inEnvs.map(async (key) => {
        const [env, artifact] = key.split('/') as [string, string];
        const brought = (await pinnedIn(deps, tenant, artifact, env)).filter((c) => c.declaredBy);
        return [key, Object.fromEntries(brought.map((c) => [c.name, c.constraint]))] as const;
      }),
    ),
  ]);
  return safeOrder(items, {
    consumers: Object.fromEntries(consumers),
    running: Object.fromEntries(running.filter((r): r is readonly [string, string] => !!r[1])),
    pinned: Object.fromEntries(pinned.filter(([, v]) => Object.keys(v).length)),
  });
}

/** The safe order of promotions, the earliest requested first where nothing decides otherwise. */
export function orderPromotions(deps: Deps, tenant: string, promotions: readonly Promotion[]): Promise<SafeOrder> {
  const sorted = [...promotions].sort((a, b) => a.requestedAt.localeCompare(b.requestedAt) || a.id.localeCompare(b.id));
  return orderReleases(
    deps,
    tenant,
    sorted.map((p) => ({
      id: p.id,
      targetEnvironment: p.targetEnvironment,
      status: p.status,
      ...(p.subject.type === 'artifact'
        ? { artifact: p.subject.name, version: p.subject.version }
        : p.subject.type === 'bundle'
          ? { label: `bundle:${p.subject.name}@${p.subject.digest.slice(7, 19)}` }
          : {}),
    })),
  );
}

/**
 * GET /promotions/plan: the safe order of the named promotions (`ids`), or of every promotion into
 * `environment` that has not started executing. A named one that is unknown is a 404; one already
 * executing or ended a 409 (there is nothing left to order).
 */
export async function planPromotions(deps: Deps, ctx: Ctx, query: { ids?: string; environment?: string }) {
  const { tenant } = ctx.principal;
  // Query parameters cannot say "one of them" in the document: both or neither is refused here.
  if (!query.ids === !query.environment) throw new RuleViolation('give ids or environment (one of them), not both and not neither');
  let promotions: Promotion[];
  if (query.ids) {
    const ids = [...new Set(query.ids.split(','))];
    promotions = await Promise.all(
      ids.map(async (id) => {
        const p = await deps.store.getPromotion(tenant, id);
        if (!p) throw new PromotionNotFound(id);
        if (!planned(p))
          throw new TransitionNotAllowed(`Promotion '${id}' is ${p.status}: a plan orders promotions that have not started executing`, { promotionId: id });
        return p;
      }),
    );
  } else {
    const env = query.environment!;
    if (!(await deps.store.getEnvironment(tenant, env))) throw new EnvironmentNotFound(env);
    promotions = (await deps.store.activePromotions(tenant, env)).filter(planned);
  }
  return orderPromotions(deps, tenant, promotions);
}
