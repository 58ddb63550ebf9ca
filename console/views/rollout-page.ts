import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError, q } from '../api.ts';

/**
 * The rollout's targets as the console pages them: never more than PAGE rows at once, whatever the fleet.
 * Two answers are read: today's (every target of every wave in the promotion's `rollout`, windowed here)
 * and a paged one (`nextCursor`, or a wave whose `count` is more than the targets it lists), where
 * `GET …/promotions/{id}/rollout?wave=&state=&limit=&cursor=` serves each page. The label and name
 * filters ask the environment's targets (`GET …/environments/{env}/targets?label=&name=`), which matches
 * them as the API does and refuses a bad one naming the field.
 */
export const PAGE = 50;

/** The states a target of a rollout is in, in the order a rollout moves through them. */
export const FILTER_STATES = ['PENDING', 'CONFIRMING', 'BAKING', 'DONE', 'FAILED', 'ROLLED_BACK', 'SKIPPED'] as const;

export interface Filter {
  state: string;
  wave: string;
  name: string;
  label: string;
}
export const NO_FILTER: Filter = { state: '', wave: '', name: '', label: '' };

/** A wave's counts: how many targets, and how many in each state (the answer's own when it pages, else counted). */
export function countsOf(w: any): { total: number; states: Record<string, number> } {
  const given = w.states ?? w.counts;
  if (given && typeof given === 'object') {
    const states = Object.fromEntries(Object.entries(given).filter(([, n]) => typeof n === 'number')) as Record<string, number>;
    return { total: typeof w.count === 'number' ? w.count : Object.values(states).reduce((a, b) => a + b, 0), states };
  }
  const states: Record<string, number> = {};
  for (const t of w.targets ?? []) states[t.state] = (states[t.state] ?? 0) + 1;
  return { total: typeof w.count === 'number' ? w.count : (w.targets ?? []).length, states };
}

/** Whether the server pages the rollout: a cursor, or a wave that lists fewer targets than it counts. */
export const paged = (r: any) =>
  typeof r.nextCursor === 'string' || r.waves.some((w: any) => typeof w.count === 'number' && w.count > (w.targets ?? []).length);

/** Rows of one page, grouped by wave as the table shows them. */
export interface PageOf {
  waves: { wave: number; bakeSeconds: number; targets: any[] }[];
  /** the first row's position (1-based) and the last's */
  from: number;
  to: number;
  /** how many targets match, when it is known (a paged answer filtered by name or label does not say) */
  matching: number | null;
  hasPrev: boolean;
  hasNext: boolean;
}

/** A window of PAGE rows at `offset` over every wave's targets that pass `keep` (today's answer: everything is here). */
export function windowOf(r: any, keep: (t: any, wave: number) => boolean, offset: number): PageOf {
  const all = r.waves.flatMap((w: any) => w.targets.filter((t: any) => keep(t, w.wave)).map((t: any) => ({ w, t })));
  const start = Math.min(offset, Math.max(0, Math.floor((all.length - 1) / PAGE) * PAGE));
  const slice = all.slice(start, start + PAGE);
  return {
    waves: group(slice),
    from: slice.length ? start + 1 : 0,
    to: start + slice.length,
    matching: all.length,
    hasPrev: start > 0,
    hasNext: start + PAGE < all.length,
  };
}

function group(rows: { w: any; t: any }[]): PageOf['waves'] {
  const out: PageOf['waves'] = [];
  for (const { w, t } of rows) {
    const last = out[out.length - 1];
    if (last && last.wave === w.wave) last.targets.push(t);
    else out.push({ wave: w.wave, bakeSeconds: w.bakeSeconds, targets: [t] });
  }
  return out;
}

/** The names of the environment's targets that match a name glob and a label selector, every page of them. */
async function namesMatching(env: string, f: Filter): Promise<Set<string>> {
  const names = new Set<string>();
  let cursor: string | undefined;
  // 10,000 targets at most, 1,000 a page: eleven reads is the most this takes.
  for (let i = 0; i < 11; i++) {
    const params = new URLSearchParams({ limit: '1000' });
    if (f.name) params.set('name', f.name);
    if (f.label) params.set('label', f.label);
    if (cursor) params.set('cursor', cursor);
    const page = await api('GET', `api/v1/environments/${q(env)}/targets?${params}`);
    for (const w of page.waves ?? []) for (const t of w.targets ?? []) names.add(t.name);
    cursor = page.nextCursor;
    if (!cursor) break;
  }
  return names;
}

/** Where a page of the server's starts: its wave, its cursor in the wave, the rows shown before it. */
interface Step {
  wave?: number;
  cursor?: string;
  before: number;
}
const START: Step = { before: 0 };

/**
 * The page of targets to show for `filter`, and the moves to the next and previous page. Reads again when the
 * promotion changes (the promotion page polls it), staying on the page it is on.
 */
export function useRolloutPage(p: any, filter: Filter) {
  const r = p.rollout;
  const server = paged(r);
  const [offset, setOffset] = useState(0);
  /**
   * server paging (GET …/rollout answers one wave a page at a time): where each page shown so far starts — its wave, its
   * cursor in that wave, and how many rows came before it — the last one this page's
   */
  const [cursors, setCursors] = useState<Step[]>([START]);
  const [names, setNames] = useState<Set<string> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [served, setServed] = useState<{ key: string; page: any } | null>(null);
  const key = JSON.stringify(filter);
  useEffect(() => {
    setOffset(0);
    setCursors([START]);
    setError(null);
    setNames(null);
    if (!filter.name && !filter.label) return;
    let live = true;
    namesMatching(p.targetEnvironment, filter).then(
      (n) => live && setNames(n),
      (e) => live && setError((e as ApiError).message),
    );
    return () => {
      live = false;
    };
  }, [key, p.targetEnvironment]);
  const byName = !!(filter.name || filter.label);
  const keep = (t: any, wave: number) =>
    (!filter.state || t.state === filter.state) && (!filter.wave || String(wave) === filter.wave) && (!byName || !!names?.has(t.name));
  const step = cursors[cursors.length - 1]!;
  // The waves a page may come from: the one asked for, or each wave with a target in the state asked for (by the detail's counts).
  const waves: number[] = (r?.waves ?? [])
    .filter((w: any) => (!filter.wave || String(w.wave) === filter.wave) && (!filter.state || countsOfFiltered(w, filter.state) > 0))
    .map((w: any) => w.wave);
  const waveOf = (st: Step) => st.wave ?? waves[0] ?? (filter.wave ? Number(filter.wave) : 1);
  const cursor = `${waveOf(step)}:${step.cursor ?? ''}`;
  useEffect(() => {
    if (!server) return;
    let live = true;
    // Narrowed by name or label (known here, not to the server): the whole wave in one page (at most 1,000), narrowed here.
    const params = new URLSearchParams({ limit: String(byName ? 1000 : PAGE), wave: String(waveOf(step)) });
    if (filter.state) params.set('state', filter.state);
    if (step.cursor) params.set('cursor', step.cursor);
    api('GET', `api/v1/promotions/${q(p.id)}/rollout?${params}`).then(
      (page) => live && setServed({ key: `${key}|${cursor}`, page }),
      (e) => live && setError((e as ApiError).message),
    );
    return () => {
      live = false;
    };
  }, [server, p, key, cursor]);
  const page: PageOf | null = useMemo(() => {
    if (byName && !names) return null;
    if (!server) return windowOf(r, keep, offset);
    if (!served || served.key !== `${key}|${cursor}`) return null;
    // One wave's page: its rows, the wave's count and counts per state beside them.
    const w = { wave: served.page.wave, count: served.page.count, states: served.page.states };
    const all = (served.page.targets ?? []).filter((t: any) => keep(t, w.wave)).map((t: any) => ({ w, t }));
    const rows = byName ? all.slice(0, PAGE) : all;
    const before = step.before;
    const matching = byName
      ? filter.wave && typeof served.page.nextCursor !== 'string'
        ? all.length
        : null
      : (r.waves as any[]).filter((x) => !filter.wave || String(x.wave) === filter.wave).reduce((n, x) => n + countsOfFiltered(x, filter.state), 0);
    const later = waves.indexOf(w.wave) >= 0 && waves.indexOf(w.wave) < waves.length - 1;
    return {
      waves: group(rows),
      from: rows.length ? before + 1 : 0,
      to: before + rows.length,
      matching,
      hasPrev: cursors.length > 1,
      hasNext: typeof served.page.nextCursor === 'string' || later,
    };
  }, [r, server, served, names, offset, key, cursor]);
  const next = () => {
    if (!page?.hasNext) return;
    if (server) {
      const at = served!.page;
      // The rest of this wave, or the next wave from its start.
      const onward: Step =
        typeof at.nextCursor === 'string'
          ? { wave: at.wave, cursor: at.nextCursor, before: page.to }
          : { wave: waves[waves.indexOf(at.wave) + 1], before: page.to };
      setCursors((c) => [...c, onward]);
    } else setOffset(page.from - 1 + PAGE);
  };
  const prev = () => {
    if (!page?.hasPrev) return;
    if (server) setCursors((c) => c.slice(0, -1));
    else setOffset(Math.max(0, page.from - 1 - PAGE));
  };
  return { page, error, next, prev, server };
}

/** How many targets of a paged wave answer match a state filter (its counts per state, when it gives them). */
function countsOfFiltered(w: any, state: string): number {
  const c = countsOf(w);
  return state ? (c.states[state] ?? 0) : c.total;
}
