import { createHash, randomBytes } from 'node:crypto';
import { activeWith, applies, nextAllowedWith, nextOpeningWith, openAtWith, upcomingWith, type CronParser } from './occurrences.ts';
import * as z from '../kernel/zod.ts';
import { timeZone } from '../kernel/time-zone.ts';
import { cronExpression } from '../kernel/cron-schema.ts';
import { auditEntry } from '../audit/audit.ts';
import { breakGlass } from './break-glass.ts';
import type { BreakGlassUse } from '../kernel/model.ts';
import { EnvironmentFrozen, EnvironmentNotFound, FreezeWindowNotFound, RuleViolation, ValidationFailed } from '../kernel/errors.ts';
import type { Ctx, Deps, WriteOp, With } from '../kernel/deps.ts';
import type { DomainEvent } from '../kernel/ports.ts';
import { newEvent, parseEventDetail } from '../kernel/events.ts';
import { refusedByStored } from '../kernel/retry.ts';
import type { FreezeWindow, Occurrence } from './model.ts';

const isoTime = /* @__PURE__ */ z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time, e.g. 2026-12-24T00:00:00Z' });
const cron = cronExpression;

export const createFreezeWindow = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      reason: z.string().check(z.trim(), z.minLength(1), z.regex(/\S/, 'must not be blank'), z.maxLength(500)),
      /** tenant-wide route only: limit the window to one environment */
      environment: z.optional(
        z
          .string()
          .check(
            z.minLength(1),
            z.maxLength(40),
            z.describe(
              'Limits the window to this environment (tenant-wide without it). On /environments/{env}/freeze-windows leave it out: any other environment than {env} is refused with 400',
            ),
          ),
      ),
      start: z.optional(isoTime),
      end: z.optional(isoTime.check(z.describe('After start'))),
      cron: z.optional(cron),
      endCron: z.optional(cron),
      timezone: z.optional(timeZone),
    })
    .check(
      z.superRefine((w, ctx) => {
        const once = w.start !== undefined || w.end !== undefined;
        const recurring = w.cron !== undefined || w.endCron !== undefined;
        if (once === recurring) {
          ctx.addIssue({
            code: 'custom',
            path: ['start'],
            message: 'give either start and end (a one-off window) or cron, endCron and timezone (a recurring one)',
          });
          return;
        }
        if (once) {
          if (!w.start) ctx.addIssue({ code: 'custom', path: ['start'], message: 'is required with end' });
          if (!w.end) ctx.addIssue({ code: 'custom', path: ['end'], message: 'is required with start' });
          if (w.start && w.end && new Date(w.end) <= new Date(w.start)) ctx.addIssue({ code: 'custom', path: ['end'], message: 'must be after start' });
        } else {
          if (!w.cron) ctx.addIssue({ code: 'custom', path: ['cron'], message: 'is required with endCron (when the window opens)' });
          if (!w.endCron) ctx.addIssue({ code: 'custom', path: ['endCron'], message: 'is required with cron (when the window closes)' });
          if (!w.timezone)
            ctx.addIssue({ code: 'custom', path: ['timezone'], message: 'is required for a recurring window (an IANA zone, e.g. Europe/Berlin)' });
        }
      }),
      z.meta({
        oneOf: [
          { required: ['start', 'end'], not: { anyOf: [{ required: ['cron'] }, { required: ['endCron'] }] } },
          { required: ['cron', 'endCron', 'timezone'], not: { anyOf: [{ required: ['start'] }, { required: ['end'] }] } },
        ],
      }),
    ),
);
export type CreateFreezeWindow = z.infer<typeof createFreezeWindow>;

/** Stands in for the parser where no window is recurring (nothing then parses a cron). */
const NO_CRON = {
  parse: () => {
    throw new Error('no recurring freeze window was loaded');
  },
} as unknown as CronParser;

/**
 * The cron parser for these windows: cron-parser, and luxon with it (~100 KiB), is loaded on first
 * use and only when a window is recurring (a chunk of its own), so no function reads it at module
 * init and a tenant without recurring windows never loads it.
 */
export async function cronFor(windows: readonly FreezeWindow[]): Promise<CronParser> {
  return windows.some((w) => w.kind !== 'once') ? (await import('cron-parser')).CronExpressionParser : NO_CRON;
}

/** The window holding `env` at `at` (the one that closes last, when several overlap). */
export const activeWindowOf = async (windows: FreezeWindow[], env: string, at: Date): Promise<Occurrence | null> =>
  activeWith(await cronFor(windows), windows, env, at);

/** The next window to open over `env` after `at`. */
export const upcomingWindowOf = async (windows: FreezeWindow[], env: string, at: Date): Promise<Occurrence | null> =>
  upcomingWith(await cronFor(windows), windows, env, at);

/** The first time at or after `at` that no window holds `env` (windows that touch or overlap are crossed). */
export const nextAllowedOf = async (windows: FreezeWindow[], env: string, at: Date): Promise<Date> => nextAllowedWith(await cronFor(windows), windows, env, at);

export const occurrenceView = (o: Occurrence | null) =>
  o ? { id: o.window.id, reason: o.window.reason, scope: o.window.scope, start: o.start.toISOString(), end: o.end.toISOString() } : null;

export const windowView = (w: FreezeWindow) => {
  const { tenant: _t, ...rest } = w;
  return rest;
};

export async function listFreezeWindows(deps: Deps, ctx: Ctx, env?: string) {
  const { tenant } = ctx.principal;
  if (env && !(await deps.store.getEnvironment(tenant, env))) throw new EnvironmentNotFound(env);
  const all = await deps.store.listFreezeWindows(tenant);
  const now = deps.clock();
  const mine = env ? all.filter((w) => applies(w, env)) : all;
  const cron = await cronFor(all);
  return {
    items: mine.map((w) => withOccurrences(cron, w, now)),
    ...(env ? { current: occurrenceView(activeWith(cron, all, env, now)), next: occurrenceView(upcomingWith(cron, all, env, now)) } : {}),
  };
}

/** A window as the API shows it: with its occurrence open now and the next to open. */
const withOccurrences = (cron: CronParser, w: FreezeWindow, now: Date) => ({
  ...windowView(w),
  open: occurrenceView(openAtWith(cron, w, now)),
  next: occurrenceView(nextOpeningWith(cron, w, now)),
});

export async function addFreezeWindow(deps: With<'scheduler'>, ctx: Ctx, input: CreateFreezeWindow, env?: string) {
  const { tenant } = ctx.principal;
  const scope = env ?? input.environment ?? '*';
  if (env && input.environment && input.environment !== env)
    throw new ValidationFailed([{ path: 'body.environment', message: `this route is for '${env}'; leave environment out` }]);
  if (scope !== '*' && !(await deps.store.getEnvironment(tenant, scope))) throw new EnvironmentNotFound(scope);
  const now = deps.clock();
  const window: FreezeWindow = {
    id: `frz_${now.getTime().toString(36)}${randomBytes(4).toString('hex')}`,
    tenant,
    scope,
    reason: input.reason,
    kind: input.cron ? 'recurring' : 'once',
    ...(input.cron
      ? { cron: input.cron, endCron: input.endCron, timezone: input.timezone }
      : { start: new Date(input.start!).toISOString(), end: new Date(input.end!).toISOString() }),
    createdBy: ctx.principal.name,
    createdAt: now.toISOString(),
  };
  if (window.kind === 'once' && new Date(window.end!) <= now)
    throw new ValidationFailed([{ path: 'body.end', message: 'is in the past: the window would never hold anything' }]);
  const audit = auditEntry(
    tenant,
    {
      actor: ctx.principal.id,
      actorName: ctx.principal.name,
      action: 'freeze.add',
      entityType: 'freeze-window',
      entityId: window.id,
      reason: input.reason,
      before: null,
      after: scope,
      requestId: ctx.requestId,
    },
    now,
  );
  await armFreezeEdge(deps, window, now);
  await deps.store.commit(tenant, [{ kind: 'freezeWindow', window }, { kind: 'audit', entry: audit }, ...(await freezeAddedOps(window, now))]);
  return withOccurrences(await cronFor([window]), window, now);
}

/** Removes a window (its audit entry; `Freeze Ended` when it was open): the window as it was. */
export async function removeFreezeWindow(deps: Deps, ctx: Ctx, id: string): Promise<FreezeWindow> {
  const { tenant } = ctx.principal;
  const found = (await deps.store.listFreezeWindows(tenant)).find((w) => w.id === id);
  if (!found) throw new FreezeWindowNotFound(id);
  const audit = auditEntry(
    tenant,
    {
      actor: ctx.principal.id,
      actorName: ctx.principal.name,
      action: 'freeze.remove',
      entityType: 'freeze-window',
      entityId: id,
      before: found.scope,
      after: null,
      reason: found.reason,
      requestId: ctx.requestId,
    },
    deps.clock(),
  );
  await deps.store.commit(tenant, [{ kind: 'deleteFreezeWindow', id }, { kind: 'audit', entry: audit }, ...(await freezeRemovedOps(found, deps.clock()))]);
  return found;
}

// ---- freeze edges: `Freeze Started` / `Freeze Ended` (webhooks freeze.started / freeze.ended)

/**
 * Each window carries one EventBridge Scheduler one-time schedule, at its next edge (no periodic scan:
 * an edge is announced at its time, not at the next sweep, and a tenant without windows costs nothing).
 * The schedule fires schedule-fire (fireFreezeEdge), which writes the edge's event to the outbox under
 * an id derived from the window, the edge and its time: the scheduler's at-least-once retries (or a
 * crash after the write) write the same id again, which the outbox's conditional put refuses, so each
 * edge is one event with one id. It then arms the following edge (a recurring window's next opening).
 * A window added while open announces its start in its own transaction; one removed while open
 * announces its end in the removal's; a schedule whose window is gone does nothing.
 */
export interface FreezeEdge {
  window: string;
  edge: 'started' | 'ended';
  /** the edge's time (ISO 8601): the occurrence's start or end */
  at: string;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
export const freezeEdgeName = (tenant: string, e: FreezeEdge) =>
  `stageline-frz-${sha(`${tenant}\u0000${e.window}`).slice(0, 24)}-${e.edge[0]}${Math.floor(Date.parse(e.at) / 1000).toString(36)}`;
/** One id per edge, whoever writes it and however often. */
export const freezeEdgeEventId = (tenant: string, e: FreezeEdge) =>
  `frz-${sha(`${tenant}\u0000${e.window}\u0000${e.edge}\u0000${new Date(e.at).toISOString()}`).slice(0, 40)}`;

/** The first edge of `w` after `after` whose occurrence is not over by `now` (an opening long past is not announced late). */
export function nextEdge(cron: CronParser, w: FreezeWindow, after: Date, now: Date = after): { edge: FreezeEdge; occurrence: Occurrence } | null {
  let t = after;
  for (let i = 0; i < 50; i++) {
    const open = openAtWith(cron, w, t);
    if (open && open.end > t) return { edge: { window: w.id, edge: 'ended', at: open.end.toISOString() }, occurrence: open };
    const next = nextOpeningWith(cron, w, t);
    if (!next) return null;
    if (next.end > now) return { edge: { window: w.id, edge: 'started', at: next.start.toISOString() }, occurrence: next };
    t = next.end;
  }
  return null;
}

/** Arms the window's next edge after `after` (before its write commits: a schedule of a window never written does nothing). */
export async function armFreezeEdge(deps: Pick<With<'scheduler'>, 'scheduler' | 'clock'>, w: FreezeWindow, after: Date): Promise<FreezeEdge | null> {
  const now = deps.clock();
  const next = nextEdge(await cronFor([w]), w, after, now);
  if (!next) return null;
  const at = new Date(Math.max(Date.parse(next.edge.at), now.getTime()));
  await deps.scheduler.scheduleOnce(freezeEdgeName(w.tenant, next.edge), at, { tenant: w.tenant, freezeEdge: next.edge });
  return next.edge;
}

const edgeDetail = (o: Occurrence, at: string) => ({
  tenant: o.window.tenant,
  windowId: o.window.id,
  ...(o.window.scope !== '*' ? { environment: o.window.scope } : {}),
  reason: o.window.reason,
  start: o.start.toISOString(),
  end: o.end.toISOString(),
  at,
});

/** The outbox event of a window added while it is open: its occurrence has started. */
export async function freezeAddedOps(w: FreezeWindow, now: Date): Promise<WriteOp[]> {
  const o = openAtWith(await cronFor([w]), w, now);
  return o ? [{ kind: 'event', event: newEvent('Freeze Started', w.tenant, edgeDetail(o, now.toISOString())) }] : [];
}

/** The outbox event of a window removed while it is open: the freeze ends now. */
export async function freezeRemovedOps(w: FreezeWindow, now: Date): Promise<WriteOp[]> {
  const o = openAtWith(await cronFor([w]), w, now);
  return o ? [{ kind: 'event', event: newEvent('Freeze Ended', w.tenant, edgeDetail(o, now.toISOString())) }] : [];
}

/** What the edge's schedule runs: the edge's event (once per edge), then the next edge armed. */
export async function fireFreezeEdge(deps: With<'scheduler'>, tenant: string, e: FreezeEdge): Promise<{ emitted: boolean; reason?: string; next?: string }> {
  const w = (await deps.store.listFreezeWindows(tenant)).find((x) => x.id === e.window);
  if (!w) return { emitted: false, reason: 'the window was removed' };
  const at = new Date(e.at);
  const now = deps.clock();
  // The occurrence this edge belongs to: open at its start, or open just before its end.
  const cron = await cronFor([w]);
  const o = e.edge === 'started' ? openAtWith(cron, w, at) : openAtWith(cron, w, new Date(at.getTime() - 1));
  if (!o || (e.edge === 'started' ? o.start.getTime() : o.end.getTime()) !== at.getTime())
    return { emitted: false, reason: `no ${e.edge === 'started' ? 'opening' : 'closing'} of ${w.id} at ${e.at}` };
  if (now < at) {
    // Early (a clock skew of the scheduler): fire again at the edge.
    await deps.scheduler.scheduleOnce(freezeEdgeName(tenant, e), at, { tenant, freezeEdge: e });
    return { emitted: false, reason: 'early', next: e.at };
  }
  const type = e.edge === 'started' ? 'Freeze Started' : 'Freeze Ended';
  const event: DomainEvent = { id: freezeEdgeEventId(tenant, e), type, tenant, detail: parseEventDetail(type, edgeDetail(o, at.toISOString())) };
  let emitted = true;
  try {
    await deps.store.commit(tenant, [{ kind: 'event', event }]);
  } catch (err) {
    // The same edge fired again: its event is in the outbox already (a busy store saved nothing: fired again).
    if (!refusedByStored(err)) throw err;
    emitted = false;
  }
  const next = await armFreezeEdge(deps, w, at);
  return { emitted, ...(emitted ? {} : { reason: 'already announced' }), ...(next ? { next: next.at } : {}) };
}

/**
 * A freeze window means no change to the environments it covers, by any path: a direct write
 * (configs, flags, a batch, a snapshot restore, a publish moving `latest-<env>`) passes only as an
 * admin's break-glass with a reason, audited as such (domain/freeze/break-glass.ts) — as promotions do.
 * Answers the break-glass record to audit, or null when no window holds the environment.
 */
export async function guardFreeze(deps: Deps, ctx: Ctx, env: string, action: string): Promise<BreakGlassUse | null> {
  const now = deps.clock();
  const open = await activeWindowOf(await deps.store.listFreezeWindows(ctx.principal.tenant), env, now);
  if (!open) return null;
  const what = `'${env}' is frozen until ${open.end.toISOString()} by freeze window ${open.window.id} (${open.window.reason}): no change reaches it by any path`;
  const freeze = { freeze: occurrenceView(open) };
  if (!ctx.breakGlassReason?.trim()) {
    throw new EnvironmentFrozen(
      `${what}. Wait for the window to close, or an admin may override it once, audited as break-glass, with the header X-Break-Glass-Reason`,
      freeze,
    );
  }
  return breakGlass(ctx, 'freeze-window', action, what, now);
}
