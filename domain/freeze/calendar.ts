import type { Environment } from '../kernel/model.ts';
import type { HeldBy, Promotion } from '../kernel/promotion-model.ts';
import { ValidationFailed } from '../kernel/errors.ts';
import type { Ctx, Deps } from '../kernel/deps.ts';
import { applies, nextOpeningWith, openAtWith } from './occurrences.ts';
import { cronFor } from './windows.ts';
import { openIntervals } from './hours.ts';
import type { FreezeWindow } from './model.ts';

/**
 * The calendar: per environment, over the next days, when it is open (its allowed hours; none = always open),
 * the freeze windows over it and the promotions scheduled into it. Occurrences come from the same functions the
 * holds use (hours.ts for allowed hours, occurrences.ts for freeze windows), so what the calendar shows is what
 * the flow does. Each list is clipped to the range, sorted and merged (open hours across windows; freezes per
 * window), and capped: `leftOff` says how many were not shown, `complete` false when a cron fired more often than
 * was read. The cost is bounded: at most MAX_OPENINGS openings are read per window.
 */
export const DEFAULT_DAYS = 14;
export const MAX_DAYS = 31;
/** At most this many intervals per list per environment. */
export const MAX_INTERVALS = 200;
/** At most this many openings read per allowed-hours or freeze window. */
export const MAX_OPENINGS = 1000;

export interface Interval {
  start: string;
  end: string;
}

export interface CalendarRow {
  environment: string;
  open: Interval[];
  frozen: (Interval & { windowId: string; reason: string })[];
  scheduled: { promotionId: string; at: string | null; heldBy?: { kind: HoldKind; reason: string } }[];
  leftOff: { open: number; frozen: number };
  complete: boolean;
}

type HoldKind = 'freeze' | 'promotion' | 'soak' | 'change' | 'hours';
type Span = { start: Date; end: Date };

/** The range asked for: from (default now) and days (1..31, default 14); a bad value is refused naming the field. */
export function calendarRange(now: Date, from?: string, days?: string): { from: Date; to: Date; days: number } {
  const issues: { path: string; message: string }[] = [];
  const start = from === undefined ? now : new Date(from);
  if (from !== undefined && (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?$/.test(from) || Number.isNaN(start.getTime())))
    issues.push({ path: 'query.from', message: 'must be an ISO-8601 date or date-time, e.g. 2026-12-24T00:00:00Z' });
  const n = days === undefined ? DEFAULT_DAYS : /^\d+$/.test(days) ? Number(days) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_DAYS) issues.push({ path: 'query.days', message: `must be a whole number from 1 to ${MAX_DAYS}` });
  if (issues.length) throw new ValidationFailed(issues);
  return { from: start, to: new Date(start.getTime() + n * 86_400_000), days: n };
}

/** Clipped to [from, to), sorted, and those that overlap or touch merged into one. */
export function mergeSpans(spans: Span[], from: Date, to: Date): Span[] {
  const clipped = spans
    .map((s) => ({ start: s.start < from ? from : s.start, end: s.end > to ? to : s.end }))
    .filter((s) => s.start < s.end)
    .sort((a, b) => a.start.getTime() - b.start.getTime());
  const out: Span[] = [];
  for (const s of clipped) {
    const last = out.at(-1);
    if (last && s.start <= last.end) {
      if (s.end > last.end) last.end = s.end;
    } else out.push({ ...s });
  }
  return out;
}

const iso = (s: Span): Interval => ({ start: s.start.toISOString(), end: s.end.toISOString() });

function holdOf(h: HeldBy | null | undefined): { kind: HoldKind; reason: string } | undefined {
  if (!h) return undefined;
  const kind: HoldKind = 'window' in h ? 'freeze' : 'promotion' in h ? 'promotion' : 'soak' in h ? 'soak' : 'change' in h ? 'change' : 'hours';
  return { kind, reason: h.reason };
}

/** A freeze window's occurrences over [from, to): the one open at `from`, then each next opening before `to`. */
function freezeSpans(parser: Awaited<ReturnType<typeof cronFor>>, w: FreezeWindow, from: Date, to: Date): { spans: Span[]; complete: boolean } {
  const spans: Span[] = [];
  const open = openAtWith(parser, w, from);
  if (open) spans.push(open);
  let at = from;
  for (let read = 0; ; read++) {
    if (read >= MAX_OPENINGS) return { spans, complete: false };
    const next = nextOpeningWith(parser, w, at);
    if (!next || next.start >= to) return { spans, complete: true };
    spans.push(next);
    at = next.start;
  }
}

export async function calendar(
  environments: readonly Environment[],
  windows: readonly FreezeWindow[],
  scheduled: readonly Promotion[],
  from: Date,
  days: number,
): Promise<{ from: string; to: string; days: number; environments: CalendarRow[] }> {
  const to = new Date(from.getTime() + days * 86_400_000);
  const parser = await cronFor(windows);
  const rows = environments.map((env): CalendarRow => {
    const hours = env.allowedHours ? openIntervals(env.allowedHours, from, to, MAX_OPENINGS) : { intervals: [{ start: from, end: to }], complete: true };
    const open = mergeSpans(hours.intervals, from, to);
    let complete = hours.complete;
    const frozen = windows
      .filter((w) => applies(w, env.name))
      .flatMap((w) => {
        const f = freezeSpans(parser, w, from, to);
        complete &&= f.complete;
        return mergeSpans(f.spans, from, to).map((s) => ({ ...iso(s), windowId: w.id, reason: w.reason }));
      })
      .sort((a, b) => a.start.localeCompare(b.start) || a.windowId.localeCompare(b.windowId));
    const mine = scheduled
      .filter((p) => p.status === 'SCHEDULED' && p.targetEnvironment === env.name)
      .map((p) => {
        const heldBy = holdOf(p.heldBy);
        return { promotionId: p.id, at: p.heldBy?.until ?? p.scheduledAt, ...(heldBy ? { heldBy } : {}) };
      })
      .sort((a, b) => (a.at ?? '').localeCompare(b.at ?? ''));
    return {
      environment: env.name,
      open: open.slice(0, MAX_INTERVALS).map(iso),
      frozen: frozen.slice(0, MAX_INTERVALS),
      scheduled: mine,
      leftOff: { open: Math.max(0, open.length - MAX_INTERVALS), frozen: Math.max(0, frozen.length - MAX_INTERVALS) },
      complete,
    };
  });
  return { from: from.toISOString(), to: to.toISOString(), days, environments: rows };
}

/** At most this many scheduled promotions are read for the calendar (the newest first). */
export const MAX_SCHEDULED = 200;

/** The tenant's calendar (GET /calendar): its environments in line order, its freeze windows and scheduled promotions. */
export async function calendarOf(deps: Deps, ctx: Ctx, query: { from?: string; days?: string }) {
  const { tenant } = ctx.principal;
  const range = calendarRange(deps.clock(), query.from, query.days);
  const [environments, windows, scheduled] = await Promise.all([
    deps.store.listEnvironments(tenant),
    deps.store.listFreezeWindows(tenant),
    deps.store.listPromotions(tenant, { status: ['SCHEDULED'] }, MAX_SCHEDULED),
  ]);
  const line = [...environments].sort((a, b) => a.position - b.position || a.name.localeCompare(b.name));
  return calendar(line, windows, scheduled.items, range.from, range.days);
}
