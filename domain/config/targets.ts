import { assertMonitorsHere, type DeploymentPlace } from '../freeze/monitors.ts';
import { TargetInUse, TargetNotFound, ValidationFailed, type Issue } from '../kernel/errors.ts';
import type { Environment, Head, TargetHead } from '../kernel/model.ts';
import type { Promotion } from '../kernel/promotion-model.ts';
import { createHash } from 'node:crypto';
import { globMatch } from '../kernel/glob.ts';
import { resolveWavePlan } from './wave-plan.ts';
import { IMPLICIT_TARGET, LABEL_SELECTOR, type AnalysisRef, type CompareSpec, type Rollout, type Target, type TargetsQuery } from '../kernel/target-schemas.ts';
import { tenantUrlIssue } from '../kernel/url-policy.ts';
import type { Store } from '../kernel/deps.ts';

/**
 * Targets: where an environment runs (a region, a cell, an account, a cluster), ordered in waves.
 * An environment without declared targets has one implicit target (`default`) and behaves as it
 * always did. With targets, the environment's head is what every target has reached, and a target
 * that a rollout has changed (or put back) keeps its own head (TargetHead) until the environment's
 * head moves on: `targetVersion` resolves what a target runs.
 */

export { IMPLICIT_TARGET };

/** The declared targets ([] when the environment has one implicit target). */
/** A target with the wave it is in: the one it names, or the one a wave by share or selector took it into (wave-plan.ts). */
export type PlacedTarget = Target & { wave: number };

const placedCache = new WeakMap<readonly Target[], { rollout: unknown; placed: PlacedTarget[] }>();

/**
 * The environment's targets in declaration order, each with its wave: the one it names, or the one a wave of
 * `rollout.waves` by share or selector takes it into (resolveWavePlan, once per targets list and rollout). A read
 * of one target alone (getEnvironment with `target`) cannot resolve a share: a target that names no wave is placed in
 * the first wave by spec there (what such reads use, config and flags, does not depend on it).
 */
export function targetsOf(env: Pick<Environment, 'targets'> & { rollout?: Environment['rollout'] }): PlacedTarget[] {
  const list = env.targets ?? [];
  const hit = placedCache.get(list);
  if (hit && hit.rollout === env.rollout) return hit.placed;
  const specs = env.rollout?.waves ?? [];
  if (list.every((t) => t.wave !== undefined) && !specs.some((w) => w.share !== undefined || w.selector !== undefined)) {
    placedCache.set(list, { rollout: env.rollout, placed: list as PlacedTarget[] });
    return list as PlacedTarget[];
  }
  let at: Map<string, number>;
  try {
    at = new Map(resolveWavePlan(list, specs).flatMap((w) => w.names.map((n) => [n, w.wave] as const)));
  } catch {
    const first = specs.find((w) => w.share !== undefined || w.selector !== undefined)?.wave ?? 1;
    at = new Map(list.map((t) => [t.name, t.wave ?? first]));
  }
  const placed = list.map((t) => ({ ...t, wave: at.get(t.name)! }));
  placedCache.set(list, { rollout: env.rollout, placed });
  return placed;
}

export const hasTargets = (env: Pick<Environment, 'targets'>): boolean => targetsOf(env).length > 0;

/** One wave as a rollout runs it. */
export interface Wave {
  wave: number;
  targets: PlacedTarget[];
  /** the wave's bake: its own, else the environment's, never under the rollout's minimum */
  bakeSeconds: number;
  maxParallel: number;
  /** the rollout halts before this wave and waits for a resume */
  pause: boolean;
}

const DEFAULT_ROLLOUT: Rollout = { maxParallel: 10, minBakeSeconds: 0, waves: [], startWindows: [] };

export const rolloutOf = (env: Pick<Environment, 'rollout'>): Rollout => env.rollout ?? DEFAULT_ROLLOUT;

/** The waves in order, each with its targets (in declaration order), bake and parallelism. */
export function wavesOf(env: Pick<Environment, 'targets' | 'rollout' | 'bakeSeconds'>): Wave[] {
  const r = rolloutOf(env);
  const numbers = [...new Set(targetsOf(env).map((t) => t.wave))].sort((a, b) => a - b);
  return numbers.map((wave) => {
    const own = r.waves.find((w) => w.wave === wave);
    return {
      wave,
      targets: targetsOf(env).filter((t) => t.wave === wave),
      bakeSeconds: Math.max(r.minBakeSeconds, own?.bakeSeconds ?? env.bakeSeconds ?? 0),
      maxParallel: own?.maxParallel ?? r.maxParallel,
      pause: own?.pause === true,
    };
  });
}

/**
 * THE analyses one target's bake runs: the environment's, its wave's and its own, one per template (by
 * template name, the more specific wins: the target's over the wave's over the environment's), in that order.
 */
export function targetAnalyses(env: Pick<Environment, 'analysis' | 'targets' | 'rollout'>, targetName: string): AnalysisRef[] {
  const t = targetsOf(env).find((x) => x.name === targetName);
  return analysesOf(env, t, t ? rolloutOf(env).waves.find((w) => w.wave === t.wave) : undefined);
}

/** A target's analyses, from the target and its wave as found (targetAnalyses; analysisNames walks every target with them). */
export function analysesOf(env: Pick<Environment, 'analysis'>, t: Target | undefined, wave: Rollout['waves'][number] | undefined): AnalysisRef[] {
  const byTemplate = new Map<string, AnalysisRef>();
  for (const ref of [...(env.analysis ?? []), ...(wave?.analysis ?? []), ...(t?.analysis ?? [])]) {
    byTemplate.delete(ref.template);
    byTemplate.set(ref.template, ref);
  }
  return [...byTemplate.values()];
}

/** Each wave number's first wave of the rollout (what targetAnalyses and waveCompare find), for walks over every target. */
export function wavesByNumber(env: Pick<Environment, 'rollout'>): Map<number, Rollout['waves'][number]> {
  const byNumber = new Map<number, Rollout['waves'][number]>();
  for (const w of rolloutOf(env).waves) if (!byNumber.has(w.wave)) byNumber.set(w.wave, w);
  return byNumber;
}

/** The comparison a guarded wave runs (its changed targets against those not yet changed), or null. */
export function waveCompare(env: Pick<Environment, 'rollout'>, wave: number | Pick<Wave, 'wave'>): CompareSpec | null {
  const n = typeof wave === 'number' ? wave : wave.wave;
  return rolloutOf(env).waves.find((w) => w.wave === n)?.compare ?? null;
}

/**
 * Every place an environment names an analysis template, with the field that names it and the bake it runs in
 * (seconds; null for a check of the source environment, which is not bounded by a bake): the environment's
 * analyses run in every wave's bake (the shortest counts), a wave's in its own, a target's in its wave's.
 */
export function analysisAttachments(
  env: Pick<Environment, 'analysis' | 'preAnalysis' | 'targets' | 'rollout' | 'bakeSeconds'>,
  field = 'body',
): { template: string; path: string; bakeSeconds: number | null }[] {
  const waves = wavesOf(env);
  const bakeOf = (wave: number) => waves.find((w) => w.wave === wave)?.bakeSeconds ?? env.bakeSeconds ?? 0;
  const shortest = waves.length ? Math.min(...waves.map((w) => w.bakeSeconds)) : Math.max(rolloutOf(env).minBakeSeconds, env.bakeSeconds ?? 0);
  const out: { template: string; path: string; bakeSeconds: number | null }[] = [];
  (env.analysis ?? []).forEach((a, i) => out.push({ template: a.template, path: `${field}.analysis.${i}.template`, bakeSeconds: shortest }));
  (env.preAnalysis ?? []).forEach((a, i) => out.push({ template: a.template, path: `${field}.preAnalysis.${i}.template`, bakeSeconds: null }));
  (env.rollout?.waves ?? []).forEach((w, i) => {
    (w.analysis ?? []).forEach((a, j) =>
      out.push({ template: a.template, path: `${field}.rollout.waves.${i}.analysis.${j}.template`, bakeSeconds: bakeOf(w.wave) }),
    );
    if (w.compare) out.push({ template: w.compare.template, path: `${field}.rollout.waves.${i}.compare.template`, bakeSeconds: bakeOf(w.wave) });
  });
  targetsOf(env).forEach((t, i) =>
    (t.analysis ?? []).forEach((a, j) => out.push({ template: a.template, path: `${field}.targets.${i}.analysis.${j}.template`, bakeSeconds: bakeOf(t.wave) })),
  );
  return out;
}

/** What of a template bounds where it may be attached: its measurements take initialDelay + interval × count seconds. */
export interface TemplateTiming {
  name: string;
  initialDelaySeconds: number;
  intervalSeconds: number;
  count: number;
}

/**
 * The attachments' problems, each naming its field: a template the tenant does not have (nor `also`, those a
 * manifest defines beside the environment), and one whose measurements take longer than the bake it runs in.
 */
export function attachmentIssues(
  attachments: readonly { template: string; path: string; bakeSeconds: number | null }[],
  templates: ReadonlyMap<string, TemplateTiming>,
): Issue[] {
  const issues: Issue[] = [];
  for (const a of attachments) {
    const t = templates.get(a.template);
    if (!t) {
      issues.push({
        path: a.path,
        message: `no analysis template '${a.template}' (templates: ${[...templates.keys()].sort().join(', ') || 'none'}): PUT /analysis-templates/${a.template} first`,
      });
      continue;
    }
    const takes = t.initialDelaySeconds + t.intervalSeconds * t.count;
    if (a.bakeSeconds !== null && takes > a.bakeSeconds)
      issues.push({
        path: a.path,
        message: `template '${a.template}' measures for ${takes} s (initialDelaySeconds ${t.initialDelaySeconds} + intervalSeconds ${t.intervalSeconds} × count ${t.count}), longer than the bake of ${a.bakeSeconds} s it runs in: lengthen the bake or shorten the template`,
      });
  }
  return issues;
}

/** Every alarm the environment watches: its own monitors and its targets' (the monitor index holds all of them). */
export function watchedMonitors(env: Pick<Environment, 'monitors' | 'targets'>): string[] {
  return [...new Set([...(env.monitors ?? []), ...targetsOf(env).flatMap((t) => t.monitors ?? [])])];
}

/** The target's own monitors, or the environment's when it names none. */
export function targetMonitors(env: Pick<Environment, 'monitors' | 'targets'>, target: string): string[] {
  const t = targetsOf(env).find((x) => x.name === target);
  return t?.monitors?.length ? t.monitors : (env.monitors ?? []);
}

/**
 * The rules that span targets, each refused with the field to fix: a name used twice, a wave gap (waves
 * are 1, 2, 3… with a target in each), a wave in the rollout options no target is in, monitors outside
 * the target's place or the tenant's namespace, a health URL that is not a public one.
 */
export function assertTargets(
  tenant: string,
  targets: readonly Target[] | undefined,
  rollout: Rollout | undefined,
  place: DeploymentPlace | undefined,
  opts: { allowLoopback: boolean },
  field = 'body',
): void {
  const list = targets ?? [];
  const issues: Issue[] = [];
  const seen = new Map<string, number>();
  list.forEach((t, i) => {
    const first = seen.get(t.name);
    if (first !== undefined)
      issues.push({
        path: `${field}.targets.${i}.name`,
        message: `target '${t.name}' is already declared at targets.${first}: names are unique within an environment`,
      });
    else seen.set(t.name, i);
    // A URL the flow calls (a health URL, an Argo CD server, a Kubernetes API server) is a public one.
    const c = t.confirm;
    const called =
      c.mode === 'health'
        ? (['url', c.url] as const)
        : c.mode === 'argocd'
          ? (['server', c.server] as const)
          : c.mode === 'flux'
            ? (['apiServer', c.apiServer] as const)
            : null;
    const why = called && tenantUrlIssue(called[1], opts);
    if (why) issues.push({ path: `${field}.targets.${i}.confirm.${called[0]}`, message: why });
    try {
      assertMonitorsHere(tenant, t.monitors, place && { account: place.account, region: t.region ?? place.region }, `${field}.targets.${i}.monitors`);
    } catch (err) {
      if (err instanceof ValidationFailed) issues.push(...err.issues);
      else throw err;
    }
  });
  // The waves as planned: the targets' own and those a share or selector fills (an empty one, a target in no wave, a
  // first wave over the canary bound: refused naming the field).
  let plan: { wave: number; names: string[] }[] = [];
  try {
    plan = resolveWavePlan(list, rollout?.waves ?? [], field);
  } catch (err) {
    if (err instanceof ValidationFailed) issues.push(...err.issues);
    else throw err;
  }
  const waves = plan.map((w) => w.wave);
  waves.forEach((w, i) => {
    if (w !== i + 1)
      issues.push({
        path: `${field}.targets`,
        message: `wave ${i + 1} has no target (waves used: ${waves.join(', ')}): number waves 1, 2, 3… with at least one target in each`,
      });
  });
  (rollout?.waves ?? []).forEach((w, i) => {
    if (!waves.includes(w.wave) && w.share === undefined && w.selector === undefined && plan.length)
      issues.push({
        path: `${field}.rollout.waves.${i}.wave`,
        message: `wave ${w.wave} is empty: no target is in it (waves with targets: ${waves.join(', ') || 'none'})`,
      });
  });
  const numbered = new Map<number, number>();
  (rollout?.waves ?? []).forEach((w, i) => {
    if (numbered.has(w.wave))
      issues.push({ path: `${field}.rollout.waves.${i}.wave`, message: `wave ${w.wave} is set twice (rollout.waves.${numbered.get(w.wave)})` });
    else numbered.set(w.wave, i);
  });
  if (!list.length && rollout && (rollout.waves.length || rollout.startWindows.length)) {
    issues.push({ path: `${field}.rollout`, message: 'rollout options apply to targets: declare targets first' });
  }
  if (issues.length) throw new ValidationFailed(issues);
}

/** The promotion still rolling out through a target, if any (EXECUTING with the target in its rollout, not yet settled back). */
export async function rollingThrough(
  store: Pick<Store, 'getPlanPages'>,
  active: readonly Promotion[],
  targets: readonly string[],
): Promise<{ promotion: Promotion; target: string } | undefined> {
  for (const p of active) {
    if (p.status !== 'EXECUTING' || !p.rollout) continue;
    // Its whole plan at most once: a small plan's names are on the item, a larger one's in its pages
    // (domain/promotion/terms/stored-plan.ts; read here through the store, config sits below promotion).
    const planned = new Set<string>();
    for (const w of p.rollout.waves)
      for (const n of w.targets ?? (await store.getPlanPages(p.tenant, p.id, p.rollout.plan ?? '', w.wave, w.pages ?? 0))) planned.add(n);
    const target = targets.find((t) => planned.has(t));
    if (target) return { promotion: p, target };
  }
  return undefined;
}

/**
 * Refuses (409) to remove a target a promotion is rolling out through: its rollback would have nowhere
 * to go, and the wave it is in could never complete. Other changes (labels, monitors, waves not yet
 * started) are the release manager's to make.
 */
export async function assertNotRollingOut(store: Store, current: Environment, next: readonly Target[]): Promise<void> {
  const kept = new Set(next.map((t) => t.name));
  const removed = targetsOf(current).filter((t) => !kept.has(t.name));
  if (!removed.length) return;
  const active = await store.activePromotions(current.tenant, current.name);
  const hit = await rollingThrough(
    store,
    active,
    removed.map((t) => t.name),
  );
  if (hit)
    throw new TargetInUse(
      `Target '${hit.target}' of '${current.name}' cannot be removed: promotion ${hit.promotion.id} is rolling out through it; halt or let it finish, then remove it`,
      { target: hit.target, promotionId: hit.promotion.id },
    );
}

/** The OCI distribution tag grammar (at most 128 characters). */
export const OCI_TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/**
 * THE per-target tag a rollout moves in a target's registry as it changes the target: `latest-<env>-<target>`
 * (the environment's own `latest-<env>` moves when every target has the release). Environment names (≤ 32) and
 * target names (≤ 40) keep it within the grammar (≤ 80 characters); `assertTargetRegistries` checks it anyway.
 */
export const targetTagName = (env: string, target: string) => `latest-${env}-${target}`;

/**
 * A target's registry must be one of the environment's (their URLs and credentials are checked there), and with
 * registries each target's tag (`targetTagName`) must be a valid OCI tag: 400 naming the field otherwise.
 */
export function assertTargetRegistries(
  targets: readonly Target[] | undefined,
  registries: readonly { name: string }[] | undefined,
  field = 'body',
  env?: string,
): void {
  const names = (registries ?? []).map((r) => r.name);
  const issues: Issue[] = [];
  (targets ?? []).forEach((t, i) => {
    if (env && names.length && !OCI_TAG.test(targetTagName(env, t.name)))
      issues.push({
        path: `${field}.targets.${i}.name`,
        message: `'${targetTagName(env, t.name)}' (the target's tag in its registry) is not a valid OCI tag (letters, digits, '.', '_', '-', at most 128 characters): choose a shorter name`,
      });
    if (t.registry !== undefined && !names.includes(t.registry))
      issues.push({
        path: `${field}.targets.${i}.registry`,
        message: `'${t.registry}' is none of the environment's registries (${names.join(', ') || 'it has none'}): add it to registries, or leave registry out`,
      });
  });
  if (issues.length) throw new ValidationFailed(issues);
}

/**
 * THE registry a target pulls its artifacts from (OCI promotion tags there per target): the one it
 * names, else the environment's first (where its artifacts are read from); null when the environment
 * has no registries. `target` null: the environment's.
 */
export function registryFor(env: Pick<Environment, 'name' | 'targets' | 'registries'>, target: string | null): { name: string; url: string } | null {
  const registries = env.registries ?? [];
  const named = target === null ? undefined : targetsOf(env).find((t) => t.name === target);
  if (target !== null && !named)
    throw new TargetNotFound(
      env.name,
      target,
      targetsOf(env).map((t) => t.name),
    );
  if (named?.registry) {
    const r = registries.find((x) => x.name === named.registry);
    if (!r) throw new ValidationFailed([{ path: `targets.${target}.registry`, message: `'${named.registry}' is no longer one of ${env.name}'s registries` }]);
    return r;
  }
  return registries[0] ?? null;
}

/** The target as the API shows it. */
export function targetView(t: Target) {
  return {
    name: t.name,
    labels: t.labels ?? {},
    ...(t.wave !== undefined ? { wave: t.wave } : {}),
    ...(t.region ? { region: t.region } : {}),
    ...(t.account ? { account: t.account } : {}),
    ...(t.registry ? { registry: t.registry } : {}),
    parameters: t.parameters ?? [],
    monitors: t.monitors ?? [],
    confirm: t.confirm ?? { mode: 'immediate' as const },
    // Only where the target measures its own analyses: a target without any reads as it did before there were any.
    ...(t.analysis?.length ? { analysis: t.analysis } : {}),
  };
}

/** The subject key of a target head: the environment's config, or one artifact. */
export const configSubject = 'config';
export const artifactSubject = (name: string) => `artifact:${name}`;

/** What a target runs of one subject, and whether that is its own head or the environment's. */
export type TargetVersion =
  | { kind: 'config'; target: string | null; own: boolean; snapshot: Head }
  | { kind: 'artifact'; target: string | null; own: boolean; artifact: { name: string; version: string; digest: string } | null };

/** Whether a target head still holds: it was written over the environment head that is still current. */
export function headHolds(head: TargetHead | null, envBase: number): head is TargetHead {
  return !!head && head.base === envBase;
}

/**
 * Whether a target may run a config head of its own, by the environment's item alone: it names every target whose
 * config head was written over its current head (the head's write and the name are one transaction; a rollout's end
 * unlists what it put back; a new head starts with none, as every older target head stops holding). Not known (an
 * item written before it named them, or one whose names are about another head): it may, and its head is read.
 */
export function mayRunOwnConfig(env: Pick<Environment, 'head' | 'ownHeads'>, target: string): boolean {
  const own = env.ownHeads;
  return !own || own.at !== env.head.seq || own.targets.includes(target);
}

/**
 * THE resolution of what one target of an environment runs (readers: effective config, OFREP, history
 * by target). `target` undefined (no target named), or `default` on an environment without targets: the
 * environment's head (`target: null`, what every target has reached).
 * An unknown target: TargetNotFound (404). A target with a head that still holds (written over the
 * environment head that is current): its own. Otherwise the environment's. Config: one read of the
 * target's head item besides the environment the caller already holds, only when the environment's item names
 * the target (mayRunOwnConfig; none in steady state); artifacts: the head and the pointer.
 */
export async function targetVersion(
  store: Pick<Store, 'getTargetHead' | 'getPointer'>,
  env: Environment,
  target: string | undefined,
  subject: { kind: 'config' },
  opts?: { consistent?: boolean },
): Promise<Extract<TargetVersion, { kind: 'config' }>>;
export async function targetVersion(
  store: Pick<Store, 'getTargetHead' | 'getPointer'>,
  env: Environment,
  target: string | undefined,
  subject: { kind: 'artifact'; name: string },
  opts?: { consistent?: boolean },
): Promise<Extract<TargetVersion, { kind: 'artifact' }>>;
export async function targetVersion(
  store: Pick<Store, 'getTargetHead' | 'getPointer'>,
  env: Environment,
  target: string | undefined,
  subject: { kind: 'config' } | { kind: 'artifact'; name: string },
  opts: { consistent?: boolean } = {},
): Promise<TargetVersion> {
  const name = resolveTargetName(env, target);
  if (subject.kind === 'config') {
    const own = name === null || !mayRunOwnConfig(env, name) ? null : await store.getTargetHead(env.tenant, env.name, name, configSubject, opts);
    return headHolds(own, env.head.seq) && own.snapshot
      ? { kind: 'config', target: name, own: true, snapshot: own.snapshot }
      : { kind: 'config', target: name, own: false, snapshot: env.head };
  }
  const [own, pointer] = await Promise.all([
    name === null ? null : store.getTargetHead(env.tenant, env.name, name, artifactSubject(subject.name), opts),
    store.getPointer(env.tenant, env.name, subject.name),
  ]);
  if (headHolds(own, pointer?.version_ ?? 0) && own.artifact) return { kind: 'artifact', target: name, own: true, artifact: own.artifact };
  return { kind: 'artifact', target: name, own: false, artifact: pointer ? { name: pointer.name, version: pointer.version, digest: pointer.digest } : null };
}

/**
 * Where an environment is, target by target (the pipeline view, GET …/environments/{env}/targets): its
 * waves in order, each target with the config snapshot and the artifact versions it runs and whether
 * each is its own (a rollout changed it and the environment has not caught up) or the environment's.
 * An environment without targets answers its one implicit target. Cost: the environment's target
 * heads (one query) and its artifact pointers (one query), whatever the number of targets.
 */
export async function targetsView(store: Pick<Store, 'listTargetHeads' | 'listPointers'>, env: Environment, query?: TargetsQuery) {
  const [heads, pointers] = await Promise.all([store.listTargetHeads(env.tenant, env.name), store.listPointers(env.tenant, env.name)]);
  const artifactNames = [...new Set([...pointers.map((p) => p.name), ...heads.filter((h) => h.artifact).map((h) => h.artifact!.name)])].sort();
  const row = (name: string, wave: number) => {
    const own = (subject: string) => heads.find((h) => h.target === name && h.subject === subject);
    const config = own(configSubject);
    const configHolds = headHolds(config ?? null, env.head.seq) && !!config?.snapshot;
    const artifacts = artifactNames.flatMap((a) => {
      const pointer = pointers.find((p) => p.name === a);
      const head = own(artifactSubject(a));
      if (headHolds(head ?? null, pointer?.version_ ?? 0) && head?.artifact)
        return [{ ...head.artifact, own: true, promotionId: head.promotionId, ...(head.bundle ? { bundle: head.bundle } : {}) }];
      return pointer ? [{ name: pointer.name, version: pointer.version, digest: pointer.digest, own: false }] : [];
    });
    return {
      name,
      wave,
      config: configHolds
        ? {
            seq: config!.snapshot!.seq,
            digest: config!.snapshot!.digest,
            own: true,
            promotionId: config!.promotionId,
            ...(config!.bundle ? { bundle: config!.bundle } : {}),
          }
        : { seq: env.head.seq, digest: env.head.digest, own: false },
      artifacts,
    };
  };
  const paged = hasTargets(env) ? targetsPage(env, query) : null;
  if (paged) {
    const onPage = new Set(paged.names);
    return {
      environment: env.name,
      head: { seq: env.head.seq, digest: env.head.digest },
      total: paged.total,
      waves: wavesOf(env)
        .filter((w) => paged.counts.has(w.wave))
        .map((w) => ({
          wave: w.wave,
          count: paged.counts.get(w.wave)!,
          bakeSeconds: w.bakeSeconds,
          maxParallel: w.maxParallel,
          ...(w.pause ? { pause: true as const } : {}),
          targets: w.targets.filter((t) => onPage.has(t.name)).map((t) => ({ ...targetView(t), ...row(t.name, t.wave) })),
        })),
      ...(paged.nextCursor ? { nextCursor: paged.nextCursor } : {}),
    };
  }
  const waves = hasTargets(env)
    ? wavesOf(env).map((w) => ({
        wave: w.wave,
        bakeSeconds: w.bakeSeconds,
        maxParallel: w.maxParallel,
        ...(w.pause ? { pause: true as const } : {}),
        targets: w.targets.map((t) => ({ ...targetView(t), ...row(t.name, t.wave) })),
      }))
    : [{ wave: 1, bakeSeconds: env.bakeSeconds ?? 0, targets: [{ ...row(IMPLICIT_TARGET, 1), implicit: true }] }];
  return { environment: env.name, head: { seq: env.head.seq, digest: env.head.digest }, waves };
}

/**
 * A page of an environment's targets as GET …/targets answers it once it is asked for one (any of limit, cursor, label,
 * name, wave) or the environment has more targets than one page holds: the targets that match, in wave then
 * declaration order, counted per wave; the cursor names the digest of the targets it paged through and the position
 * after its last, so a page after a change of the targets is refused (400) rather than skipping or repeating targets.
 * Null: the answer is the whole list, as before pages (≤ one page, nothing asked).
 */
export function targetsPage(
  env: Environment,
  query: TargetsQuery | undefined,
): { names: string[]; total: number; counts: Map<number, number>; nextCursor: string | null } | null {
  const limit = query?.limit ?? 1000;
  const asked = !!query && (query.cursor !== undefined || query.label !== undefined || query.name !== undefined || query.wave !== undefined);
  const all = wavesOf(env).flatMap((w) => w.targets);
  if (!asked && all.length <= limit && !(query && query.limit !== 1000)) return null;
  const selector = query?.label ? LABEL_SELECTOR.exec(query.label) : null;
  const matches = all.filter(
    (t) =>
      (query?.wave === undefined || t.wave === query.wave) &&
      (!query?.name || globMatch(t.name, query.name)) &&
      (!selector || (t.labels?.[selector[1]!] !== undefined && globMatch(t.labels[selector[1]!]!, selector[2]!))),
  );
  const version = digestOfNames(all);
  let from = 0;
  if (query?.cursor !== undefined) {
    const m = /^([0-9a-f]{16})\.([0-9]{1,5})$/.exec(Buffer.from(query.cursor, 'base64url').toString('utf8'));
    if (!m || Number(m[2]) > matches.length)
      throw new ValidationFailed([{ path: 'query.cursor', message: 'is not a cursor this listing returned: start again without it' }]);
    if (m[1] !== version)
      throw new ValidationFailed([
        { path: 'query.cursor', message: "the environment's targets changed since this cursor was returned: start again without it" },
      ]);
    from = Number(m[2]);
  }
  const counts = new Map<number, number>();
  for (const t of matches) counts.set(t.wave, (counts.get(t.wave) ?? 0) + 1);
  const page = matches.slice(from, from + limit);
  const next = from + page.length;
  return {
    names: page.map((t) => t.name),
    total: matches.length,
    counts,
    nextCursor: next < matches.length ? Buffer.from(`${version}.${next}`).toString('base64url') : null,
  };
}

/** A short digest of the targets' names in order (what a cursor pages through). */
const digestOfNames = (targets: readonly Target[]): string =>
  createHash('sha256')
    .update(targets.map((t) => t.name).join('\n'))
    .digest('hex')
    .slice(0, 16);

/** The target a reader names, checked against the environment: `default` is the implicit one (no targets declared). */
export function resolveTargetName(env: Environment, target: string | undefined): string | null {
  if (target === undefined) return null;
  if (!hasTargets(env)) {
    if (target === IMPLICIT_TARGET) return null;
    throw new TargetNotFound(env.name, target);
  }
  if (!targetsOf(env).some((t) => t.name === target))
    throw new TargetNotFound(
      env.name,
      target,
      targetsOf(env).map((t) => t.name),
    );
  return target;
}
