import { globMatch } from '../domain/kernel/glob.ts';
import type { PromotionDetail } from './answers.ts';
import { Option, type Command } from 'commander';
import { fail, int, q } from './context.ts';
import { api } from './http.ts';
import { deliveryText, targetText, waveCounts } from './rollout-view.ts';

/** The states a rollout's target is in (`--state done`, `--state rolled-back`). */
const STATES = ['PENDING', 'CONFIRMING', 'BAKING', 'DONE', 'FAILED', 'ROLLED_BACK', 'SKIPPED'];

export interface TargetsAsked {
  state?: string;
  wave?: number;
  name?: string;
  limit: number;
  cursor?: string;
}

/**
 * `promotions show <id> --targets`: a page of the rollout's targets, one line each, filtered by state, wave and
 * name (a glob), then where the next page starts. The server pages the rollout when its answer says so (a
 * `nextCursor`, a wave that counts more targets than it lists): each page is then read from
 * GET …/promotions/{id}/rollout; otherwise every target is in the promotion's answer and the page is cut here
 * (the cursor is then the position of the next target).
 */
export async function rolloutTargetLines(id: string, p: PromotionDetail, asked: TargetsAsked): Promise<string[]> {
  const r = p.rollout;
  if (!r) fail(`${id} has no rollout: its environment has no targets`, 2);
  const state = asked.state?.toUpperCase().replace(/-/g, '_');
  if (state && !STATES.includes(state)) fail(`--state must be one of ${STATES.map((s) => s.toLowerCase().replace(/_/g, '-')).join(', ')}`, 2);
  if (asked.name && !/^[a-z0-9*?-]{1,64}$/.test(asked.name)) fail('--name must be a target name or a glob of one (lower-case letters, digits, -, * and ?)', 2);
  if (asked.limit < 1 || asked.limit > 1000) fail('--limit must be between 1 and 1000', 2);
  const keep = (t: { name: string; state: string }, wave: number) =>
    (!state || t.state === state) && (!asked.wave || wave === asked.wave) && (!asked.name || globMatch(t.name, asked.name));
  const line = (w: { wave: number; bakeSeconds: number }, t: Parameters<typeof targetText>[0]) =>
    `wave ${w.wave}  ${targetText(t, w.bakeSeconds)}${deliveryText(t)}`;
  const more = (cursor: string) =>
    `next page: stageline promotions show ${id} --targets${state ? ` --state ${state.toLowerCase().replace(/_/g, '-')}` : ''}${asked.wave ? ` --wave ${asked.wave}` : ''}${asked.name ? ` --name '${asked.name}'` : ''} --limit ${asked.limit} --cursor ${cursor}`;
  const waves = r.waves as (PromotionDetail['rollout'] & object)['waves'];
  const paged = 'nextCursor' in r || waves.some((w) => waveCounts(w).total > w.targets.length);
  if (paged) return pagedLines(id, waves, state, asked, keep, line, more);
  const from =
    asked.cursor === undefined ? 0 : /^\d{1,6}$/.test(asked.cursor) ? Number(asked.cursor) : fail('--cursor must be the one the previous page printed', 2);
  const all = waves.flatMap((w) => w.targets.filter((t) => keep(t, w.wave)).map((t) => line(w, t)));
  const page = all.slice(from, from + asked.limit);
  const to = from + page.length;
  return [
    ...page,
    all.length ? `targets ${page.length ? from + 1 : 0}–${to} of ${all.length}${state || asked.wave || asked.name ? ' matching' : ''}` : 'no target matches',
    ...(to < all.length ? [more(String(to))] : []),
  ];
}

type Waves = (PromotionDetail['rollout'] & object)['waves'];
type Row = Waves[number]['targets'][number];

/**
 * A paged rollout (GET …/promotions/{id}/rollout serves one wave a page): the waves that hold a matching target (by
 * the detail's counts per wave and state), walked in order from the one the cursor names, until the page is full. The
 * CLI's cursor is `<position>.<wave>` or `<position>.<wave>~<the server's cursor in that wave>`; the position (how many
 * matching targets came before) only numbers the lines said.
 */
async function pagedLines(
  id: string,
  waves: Waves,
  state: string | undefined,
  asked: TargetsAsked,
  keep: (t: Row, wave: number) => boolean,
  line: (w: { wave: number; bakeSeconds: number }, t: Row) => string,
  more: (cursor: string) => string,
): Promise<string[]> {
  const matchingIn = (w: Waves[number]) => (state ? (waveCounts(w).states[state] ?? 0) : waveCounts(w).total);
  const walk = waves.filter((w) => (asked.wave ? w.wave === asked.wave : matchingIn(w) > 0));
  const c = asked.cursor === undefined ? null : /^([0-9]{1,6})\.([0-9]{1,5})(?:~([A-Za-z0-9_-]{1,512}))?$/.exec(asked.cursor);
  if (asked.cursor !== undefined && !c) fail('--cursor must be the one the previous page printed', 2);
  let at = c ? walk.findIndex((w) => w.wave === Number(c[2])) : 0;
  if (at < 0) fail('--cursor must be the one the previous page printed', 2);
  let cursor = c?.[3];
  const from = c ? Number(c[1]) : 0;
  const lines: string[] = [];
  let next: string | undefined;
  for (; at < walk.length && lines.length < asked.limit; at++, cursor = undefined) {
    const w = walk[at]!;
    const params = new URLSearchParams({ wave: String(w.wave), limit: String(asked.limit - lines.length) });
    if (state) params.set('state', state);
    if (cursor) params.set('cursor', cursor);
    const page = await api<{ targets?: Row[]; nextCursor?: string }>('GET', `/api/v1/promotions/${q(id)}/rollout?${params}`);
    lines.push(...(page.targets ?? []).filter((t) => keep(t, w.wave)).map((t) => line(w, t)));
    if (page.nextCursor) {
      next = `${from + lines.length}.${w.wave}~${page.nextCursor}`;
      break;
    }
  }
  if (!next && at < walk.length) next = `${from + lines.length}.${walk[at]!.wave}`;
  const total = walk.reduce((n, w) => n + matchingIn(w), 0);
  if (!lines.length) return ['no target matches', ...(next ? [more(next)] : [])];
  const span = `targets ${from + 1}–${from + lines.length}`;
  const said = asked.name ? `${span} matching` : `${span} of ${total}${state || asked.wave ? ' matching' : ''}`;
  return [...lines, said, ...(next ? [more(next)] : [])];
}

/** The options of a page of a rollout's targets (`promotions show --targets …`). */
export const withTargetPages = (cmd: Command): Command =>
  cmd
    .option('--targets', "a page of the rollout's targets, one line each (with --state, --wave, --name, --limit, --cursor)")
    .option('--state <state>', 'with --targets: only targets in this state (pending, confirming, baking, done, failed, rolled-back, skipped)')
    .addOption(new Option('--wave <n>', 'with --targets: only the targets of this wave').argParser(int('--wave')))
    .option('--name <glob>', 'with --targets: only targets whose name matches (cell-1*)')
    .addOption(new Option('--limit <n>', 'with --targets: targets per page (1-1000)').argParser(int('--limit')).default(50))
    .option('--cursor <cursor>', 'with --targets: where the page starts (the one the previous page printed)');
