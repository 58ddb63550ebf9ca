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
