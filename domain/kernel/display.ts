/**
 * Text from the service is data, never terminal or layout control. Everything the CLI and the
 * dashboard show passes through `visible()`: C0 and C1 control characters (\r, ESC — so ANSI
 * sequences and OSC 52 clipboard writes — BEL, DEL …), the Unicode line/paragraph separators and
 * the bidirectional controls (U+061C, U+200E/U+200F, U+202A–U+202E, U+2066–U+2069) are shown as
 * escapes (`\r`, `\u001b`, `\u202e`), so a forged row, an erased line or reversed text shows as
 * what it is. The escapes are JSON's, so the same rule keeps JSON output valid and exact.
 */
export const UNSAFE_TEXT_SOURCE = '[\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]';
const UNSAFE = new RegExp(UNSAFE_TEXT_SOURCE, 'g');
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One string as it may be shown: every unsafe character as an escape. */
export function visible(s: string): string {
  return s.replace(UNSAFE, (c) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A parsed answer with every string in it (keys too) made visible. */
export function visibleDeep<T>(v: T): T {
  if (typeof v === 'string') return visible(v) as T;
  if (Array.isArray(v)) return v.map(visibleDeep) as T;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [visible(k), visibleDeep(x)])) as T;
  return v;
}

/**
 * Text of a whole document shown on a terminal (JSON lines, YAML): its own line breaks and tabs
 * stay; every other unsafe character becomes an escape. In JSON these can only stand inside
 * strings, where the escape means the same character.
 */
export function visibleDocument(text: string): string {
  return text.replace(UNSAFE, (c) => (c === '\n' || c === '\t' ? c : (SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)));
}

/**
 * Many names in a sentence: the first `shown` of them and how many more — "eu-1, eu-2, eu-3 and 97 more"; all of them
 * when there are no more. `total` is how many there are when `names` holds only some of them (a listed page).
 */
export function firstOf(names: readonly string[], total = names.length, shown = 3): string {
  const first = names.slice(0, shown);
  const more = total - first.length;
  return `${first.join(', ')}${more > 0 ? `${first.length ? ' and ' : ''}${more} more` : ''}`;
}

/** How many targets a reason names one by one, each with its wave; past that, a fleet's are counted (targetsNamed). */
export const TARGETS_NAMED = 3;

/**
 * Targets in a reason: a few each with its wave ("canary (wave 1), us-east-1 (wave 2)"); a fleet's as how many, in
 * which waves, and the first few ("100 targets in wave 7 (cell-00601, cell-00602, cell-00603 and 97 more)"), so a
 * reason stays a sentence whatever the fleet.
 */
export function targetsNamed(targets: readonly { name: string; wave: number }[]): string {
  if (targets.length <= TARGETS_NAMED) return targets.map((t) => `${t.name} (wave ${t.wave})`).join(', ');
  const waves = [...new Set(targets.map((t) => t.wave))].sort((a, b) => a - b);
  const where = waves.length === 1 ? `wave ${waves[0]}` : waves.length === 2 ? `waves ${waves[0]} and ${waves[1]}` : `waves ${waves[0]}–${waves.at(-1)}`;
  return `${targets.length} targets in ${where} (${firstOf(targets.map((t) => t.name))})`;
}

/** What a gate is called in a sentence people read. */
const GATE_NAMES: Record<string, string> = {
  policy_compliance: 'Policy compliance',
  tests: 'Tests',
  security_scan: 'Security scan',
  cost_analysis: 'Cost analysis',
  performance_baseline: 'Performance baseline',
  rollback_impact: 'Rollback impact analysis',
  freeze_window: 'Freeze window',
};
const VERDICT_WORDS: Record<string, string> = { PASS: 'passed', FAIL: 'failed', WARN: 'warns', SKIPPED: 'skipped' };

/** A gate's name for people: "Security scan", "Webhook gate compliance-bot". */
export function gateName(gate: string): string {
  if (gate.startsWith('webhook:')) return `Webhook gate ${gate.slice('webhook:'.length)}`;
  const known = GATE_NAMES[gate];
  if (known) return known;
  const words = gate.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * One gate's verdict as one sentence a person writes — "Security scan failed: no scan evidence was
 * attached (this gate fails closed)". The one text for it: the status page's "why", the promotion's
 * error, the console, the CLI, email and Slack all use this (a gate's `reason` is written to follow
 * its name and verdict).
 */
export function gateSentence(g: { gate: string; verdict: string; reason: string }): string {
  return `${gateName(g.gate)} ${VERDICT_WORDS[g.verdict] ?? g.verdict.toLowerCase()}${g.reason ? `: ${g.reason}` : ''}`;
}

/** Why a promotion's gates hold it: each blocking gate that failed, as its sentence ("" when none did). */
export function gatesBlocking(gates: readonly { gate: string; verdict: string; reason: string; blocking: boolean }[] | null): string {
  return (gates ?? [])
    .filter((g) => g.blocking && g.verdict === 'FAIL')
    .map(gateSentence)
    .join('; ');
}

/**
 * A moment as people read it in one line, in UTC: "04:26 UTC" on the minute, "04:26:52 UTC" otherwise (a hold
 * that ends at 04:26:52 never says 04:26, which is before it ends); `date: true` puts the day first
 * ("2026-11-27 04:26:52 UTC"), for a moment that may not be today.
 */
export function utcTime(at: Date | string, opts: { date?: boolean } = {}): string {
  const iso = typeof at === 'string' ? new Date(at).toISOString() : at.toISOString();
  const seconds = iso.slice(17, 19);
  const clock = `${iso.slice(11, 16)}${seconds === '00' ? '' : `:${seconds}`} UTC`;
  return opts.date ? `${iso.slice(0, 10)} ${clock}` : clock;
}
