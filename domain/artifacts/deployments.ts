import { eventOp } from '../kernel/events.ts';
import { v5 as uuidv5 } from 'uuid';
import { randomUUID } from 'node:crypto';
import { auditEntry } from '../audit/audit.ts';
import { EnvironmentNotFound, TransitionNotAllowed, ValidationFailed } from '../kernel/errors.ts';
import type { Page } from '../kernel/model.ts';
import type { Ctx, Deps, WriteOp } from '../kernel/deps.ts';
import type { MetricDelta } from './ports.ts';
import { lineOf } from '../kernel/line.ts';
import type { Deployment } from '../kernel/promotion-model.ts';
import { retryOnConflict } from '../kernel/retry.ts';
import type { DeploymentBody, MetricsQuery } from '../kernel/schemas.ts';
import { resolveTargetName, targetsOf } from '../config/targets.ts';
import { addDora, daysBetween, doraFigures, emptyDora, type DoraSums } from './dora.ts';

/**
 * Deployment records (posted by CD pipelines) and the metrics read from them. Metrics are
 * kept as counters per environment and day, updated in the same transaction
 * as the record that changes them, so reading them never scans history. A record naming a target
 * of its environment counts in that target's counters (and history) instead: the environment's
 * figures are the releases into it as a whole, each target's the rollouts through it.
 * Durations go into power-of-two buckets (seconds), which gives median and
 * p90 to within a factor of two without storing every value.
 */
export const DURATION_BUCKETS = 24;

export function bucketOf(ms: number): number {
  return Math.max(0, Math.min(DURATION_BUCKETS - 1, Math.floor(Math.log2(Math.max(1, ms / 1000)))));
}

const FINAL = new Set(['DEPLOYED', 'FAILED', 'ROLLED_BACK']);

/** What a status change of a record adds to its environment's daily counters. */
export function metricDelta(dep: Deployment, previous: Deployment['status'] | null, now: string): MetricDelta | null {
  if ((dep.status === 'DEPLOYED' || dep.status === 'FAILED') && (previous === null || previous === 'PENDING')) {
    const end = dep.completedAt ?? now;
    const ms = Math.max(0, new Date(end).getTime() - new Date(dep.deployedAt).getTime());
    return {
      environment: dep.environment,
      ...(dep.target ? { target: dep.target } : {}),
      day: end.slice(0, 10),
      // A record with no measurable rollout (a publish, a rollback done in one step) counts, but adds no duration.
      add: {
        deployments: 1,
        // A deployment that failed counts once as a change failure (DORA's change fail rate: domain/artifacts/dora.ts).
        ...(dep.status === 'FAILED' ? { failed: 1, changeFailed: 1 } : {}),
        ...(ms > 0 ? { durationMs: ms, [`b${bucketOf(ms)}`]: 1, durationCount: 1 } : {}),
      },
    };
  }
  if (dep.status === 'ROLLED_BACK' && previous !== 'ROLLED_BACK') {
    // A record that arrives already rolled back counts on its own day; a later rollback counts today.
    const fresh = previous === null || previous === 'PENDING';
    return {
      environment: dep.environment,
      ...(dep.target ? { target: dep.target } : {}),
      day: (fresh ? (dep.completedAt ?? now) : now).slice(0, 10),
      // Rolled back (by its promotion's failure, an alarm, or a later rollback): a change failure, once.
      add: { rolledBack: 1, changeFailed: 1, ...(fresh ? { deployments: 1 } : {}) },
    };
  }
  return null;
}

/** The one way to write a deployment record: it carries its metric change along. */
export function deploymentOp(dep: Deployment, previous: Deployment['status'] | null, now: string): WriteOp {
  return { kind: 'deployment', deployment: dep, metrics: metricDelta(dep, previous, now) };
}

const ALLOWED: Record<Deployment['status'], Deployment['status'][]> = {
  PENDING: ['DEPLOYED', 'FAILED', 'ROLLED_BACK'],
  DEPLOYED: ['ROLLED_BACK'],
  FAILED: [],
  ROLLED_BACK: [],
};

const DEPLOYMENT_NAMESPACE = '2f9c6c1e-52a4-4bde-9d43-0c3b8e7f1a20';

/** POST /api/v1/platform/deployments: the CD pipeline records a rollout (idempotent by id, or by its natural key). */
export async function recordDeployment(deps: Deps, ctx: Ctx, body: DeploymentBody): Promise<{ record: Deployment; created: boolean }> {
  const { tenant } = ctx.principal;
  const env = await deps.store.getEnvironment(tenant, body.environment);
  if (!env) throw new EnvironmentNotFound(body.environment);
  // A target the environment declares (404 otherwise); `default` of an environment without targets is the environment itself.
  const target = resolveTargetName(env, body.target) ?? undefined;
  // Without an id the record's natural key names it (environment, image, commit, start time, target), so a
  // replayed request (a pipeline retry, a re-sent signed request) updates the same record, never a duplicate.
  const natural = `${body.environment}\u0000${body.imageTag}\u0000${body.gitCommit}\u0000${body.deployedAt}${target ? `\u0000${target}` : ''}`;
  const id = body.id ?? uuidv5(natural, DEPLOYMENT_NAMESPACE);
  return retryOnConflict(deps.tunables, async () => {
    const existing = await deps.store.getDeployment(tenant, body.environment, body.deployedAt, id);
    const now = deps.clock().toISOString();
    const completedAt = body.completedAt ?? (FINAL.has(body.status) ? now : null);
    const record: Deployment = {
      id,
      environment: body.environment,
      imageTag: body.imageTag,
      gitCommit: body.gitCommit,
      gitBranch: body.gitBranch,
      status: body.status,
      deployedAt: body.deployedAt,
      completedAt,
      promotionId: existing?.promotionId ?? null,
      digest: body.digest ?? existing?.digest ?? '',
      deployedBy: existing?.deployedBy ?? ctx.principal.name,
      ...(target ? { target } : {}),
    };
    if (existing && (existing.target ?? null) !== (target ?? null)) {
      throw new ValidationFailed([
        {
          path: 'body.target',
          message: `deployment ${id} is about ${existing.target ? `target '${existing.target}'` : 'the environment as a whole'}: send the same target`,
        },
      ]);
    }
    if (existing) {
      if (existing.status === record.status) return { record: existing, created: false };
      if (!ALLOWED[existing.status].includes(record.status)) {
        throw new TransitionNotAllowed(`Deployment ${id} is ${existing.status}; it cannot become ${record.status}`, { status: existing.status });
      }
    }
    const audit = auditEntry(
      tenant,
      {
        actor: ctx.principal.id,
        actorName: ctx.principal.name,
        action: existing ? 'deployment.update' : 'deployment.record',
        entityType: 'deployment',
        entityId: `${record.environment}/${id}`,
        before: existing ? `${existing.status}:${existing.imageTag}` : null,
        after: `${record.status}:${record.imageTag}`,
        requestId: ctx.requestId,
      },
      deps.clock(),
    );
    // Its first appearance in the line, or this record is it (lead time 0).
    const lead = await leadTimeDelta(deps, tenant, record, (await deps.store.firstSeen(tenant, record.imageTag)) ?? record.deployedAt);
    const event = eventOp('Deployment Recorded', tenant, {
      tenant,
      environment: record.environment,
      imageTag: record.imageTag,
      status: record.status,
      ...(record.artifact ? { artifact: record.artifact } : {}),
      ...(record.target ? { target: record.target } : {}),
      at: now,
    });
    await deps.store.commit(tenant, [
      deploymentOp(record, existing?.status ?? null, now),
      ...(lead ? [{ kind: 'metrics' as const, delta: lead }] : []),
      { kind: 'audit', entry: audit },
      event,
    ]);
    await deps.store.markFirstSeen(tenant, record.imageTag, record.deployedAt);
    // What the environment runs moves with the environment's records; a target's is its own (its history).
    if (record.status === 'DEPLOYED' && !record.target) await deps.store.putCurrent(tenant, record);
    return { record, created: !existing };
  });
}

/** An environment's records newest first, or (`target`) one target's: 404 for a target the environment does not declare. */
export async function deploymentHistory(deps: Deps, ctx: Ctx, environment: string, limit: number, cursor?: string, target?: string): Promise<Page<Deployment>> {
  const env = await deps.store.getEnvironment(ctx.principal.tenant, environment);
  if (!env) throw new EnvironmentNotFound(environment);
  const name = resolveTargetName(env, target);
  return deps.store.listDeployments(ctx.principal.tenant, environment, limit, cursor, name ?? undefined);
}

function percentile(buckets: number[], q: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i]!;
    // Upper bound of the bucket, in seconds.
    if (seen >= q * total) return 2 ** (i + 1);
  }
  return 2 ** buckets.length;
}

function periodKey(day: string, period: MetricsQuery['period']): string {
  if (period === 'day') return day;
  if (period === 'month') return day.slice(0, 7);
  const d = new Date(`${day}T00:00:00Z`);
  const monday = new Date(d.getTime() - ((d.getUTCDay() + 6) % 7) * 86_400_000);
  return `${monday.toISOString().slice(0, 10)}/week`;
}

interface PeriodSums {
  deployments: number;
  failed: number;
  rolledBack: number;
  durationMs: number;
  durationCount: number;
  buckets: number[];
  leadMs: number;
  leadCount: number;
  dora: DoraSums;
}

const emptySums = (): PeriodSums => ({
  deployments: 0,
  failed: 0,
  rolledBack: 0,
  durationMs: 0,
  durationCount: 0,
  buckets: Array(DURATION_BUCKETS).fill(0) as number[],
  leadMs: 0,
  leadCount: 0,
  dora: emptyDora(),
});

function addSums(a: PeriodSums, c: Record<string, number>): void {
  a.deployments += c.deployments ?? 0;
  a.failed += c.failed ?? 0;
  a.rolledBack += c.rolledBack ?? 0;
  a.durationMs += c.durationMs ?? 0;
  a.durationCount += c.durationCount ?? 0;
  a.leadMs += c.leadMs ?? 0;
  a.leadCount += c.leadCount ?? 0;
  for (let i = 0; i < DURATION_BUCKETS; i++) a.buckets[i]! += c[`b${i}`] ?? 0;
  addDora(a.dora, c);
}

/** `days`: how many days of the range the figures cover (DORA's deployment frequency is per day). */
function summarize(p: PeriodSums, days: number) {
  return {
    deployments: p.deployments,
    failed: p.failed,
    rolledBack: p.rolledBack,
    rollbackRate: p.deployments ? Math.round((p.rolledBack / p.deployments) * 10_000) / 10_000 : 0,
    durationSeconds: {
      mean: p.durationCount ? Math.round(p.durationMs / p.durationCount / 100) / 10 : null,
      medianAtMost: percentile(p.buckets, 0.5),
      p90AtMost: percentile(p.buckets, 0.9),
    },
    leadTimeHours: p.leadCount ? Math.round((p.leadMs / p.leadCount / 3_600_000) * 100) / 100 : null,
    dora: doraFigures(p.dora, days),
  };
}

/** The days of a period (as periodKey names it) that lie in the range from..to. */
function daysIn(name: string, period: MetricsQuery['period'], from: string, to: string): number {
  let start: string;
  let end: string;
  if (period === 'day') start = end = name;
  else if (period === 'month') {
    start = `${name}-01`;
    const [y, m] = name.split('-').map(Number) as [number, number];
    end = new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
  } else {
    start = name.slice(0, 10);
    end = new Date(new Date(`${start}T00:00:00Z`).getTime() + 6 * 86_400_000).toISOString().slice(0, 10);
  }
  const a = start < from ? from : start;
  const b = end > to ? to : end;
  return a > b ? 0 : daysBetween(a, b);
}

/** Daily counters (an environment's or a target's) summed over the range and per period. */
function summarizeDays(days: { day: string; counters: Record<string, number> }[], period: MetricsQuery['period'], from: string, to: string) {
  const periods = new Map<string, PeriodSums>();
  const all = emptySums();
  for (const d of days) {
    const k = periodKey(d.day, period);
    const p = periods.get(k) ?? emptySums();
    addSums(p, d.counters);
    addSums(all, d.counters);
    periods.set(k, p);
  }
  return {
    total: summarize(all, daysBetween(from, to)),
    periods: [...periods.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, p]) => ({ period: name, ...summarize(p, daysIn(name, period, from, to)) })),
    sums: all.dora,
  };
}

/** Frequency, rollback rate, duration (median, p90), lead time into each environment and version drift. */
export async function deploymentMetrics(deps: Deps, ctx: Ctx, q: MetricsQuery) {
  const { tenant } = ctx.principal;
  const line = lineOf(await deps.store.listEnvironments(tenant));
  const envs = q.environment ? line.filter((e) => e.name === q.environment) : line;
  if (q.environment && envs.length === 0) throw new EnvironmentNotFound(q.environment);
  // Days in UTC, whatever offset the query gave (the schema checked from <= to as instants).
  const to = (q.to ? new Date(q.to) : deps.clock()).toISOString().slice(0, 10);
  const from = (q.from ? new Date(q.from) : new Date(new Date(`${to}T00:00:00Z`).getTime() - 29 * 86_400_000)).toISOString().slice(0, 10);
  if (from > to) throw new ValidationFailed([{ path: 'query.from', message: `must not be after to (${to}, today when to is not given)` }]);
  const out = [];
  // DORA's five over the line (the environments answered, summed), beside each environment's.
  const lineSums = emptyDora();
  for (const env of envs) {
    const named = q.target === undefined ? null : resolveTargetName(env, q.target);
    const { sums, ...figures } = summarizeDays(await deps.store.getMetrics(tenant, env.name, from, to, named ?? undefined), q.period, from, to);
    addDora(lineSums, sums);
    // The breakdown per target, for an environment that declares targets (one query per target).
    const targets =
      named === null && targetsOf(env).length
        ? await Promise.all(
            targetsOf(env).map(async (t) => ({
              target: t.name,
              wave: t.wave,
              ...withoutSums(summarizeDays(await deps.store.getMetrics(tenant, env.name, from, to, t.name), q.period, from, to)),
            })),
          )
        : null;
    out.push({
      environment: env.name,
      ...(named ? { target: named } : {}),
      from,
      to,
      period: q.period,
      ...figures,
      ...(targets ? { targets } : {}),
    });
  }
  // Version drift: what each environment runs now, and where it differs from the environment before it.
  const current = await Promise.all(
    line.map(async (e) => ({ environment: e.name, imageTag: (await deps.store.getCurrent(tenant, e.name))?.imageTag ?? null })),
  );
  const drift = current.slice(1).map((c, i) => ({ environment: c.environment, behind: current[i]!.environment, differs: c.imageTag !== current[i]!.imageTag }));
  return { environments: out, versions: current, drift, line: { from, to, dora: doraFigures(lineSums, daysBetween(from, to)) } };
}

const withoutSums = <T extends { sums: unknown }>({ sums: _s, ...rest }: T): Omit<T, 'sums'> => rest;

/**
 * Lead time, per environment: every deployment that went live in an environment counts, from the
 * version's first appearance in the line (`origin`: an artifact version's publication or first
 * deployment record; a config release's first snapshot, carried along the line by promotions:
 * domain/promotion/run/end.ts) to its deployment there. Null when the origin is not known.
 */
export async function leadTimeDelta(deps: Deps, tenant: string, dep: Deployment, origin?: string | null): Promise<MetricDelta | null> {
  if (dep.status !== 'DEPLOYED') return null;
  const first = origin ?? (await deps.store.firstSeen(tenant, dep.imageTag));
  return first ? leadTimeOf(dep, first) : null;
}

/** The lead-time metric of a deployment that went live: from `origin` (the change's commit, or its first appearance) to it. */
export function leadTimeOf(dep: Deployment, origin: string): MetricDelta {
  const ms = Math.max(0, new Date(dep.deployedAt).getTime() - new Date(origin).getTime());
  return {
    environment: dep.environment,
    ...(dep.target ? { target: dep.target } : {}),
    day: (dep.completedAt ?? dep.deployedAt).slice(0, 10),
    add: { leadMs: ms, leadCount: 1 },
  };
}
