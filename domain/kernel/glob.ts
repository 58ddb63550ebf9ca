/**
 * Key globs (a PATTERN promotion's `keyPatterns`, machine principals' ARNs), matched in time linear
 * in the key: the pattern is run as a small automaton over the key, one character at a time, with
 * the set of pattern positions still alive — nothing is retried, so no pattern can make a key
 * backtrack (a regular-expression glob took 146 s on `*a*a*a*a*a*ab` and a 250-character key).
 *
 *   `*`    any run of characters except `/`      `?`  one character except `/`
 *   `**`   as a whole path segment (`a/**`, or alone between slashes): any number of segments;
 *          elsewhere (`query.**`) it is `*`                anything else matches itself
 *
 * Work per key and pattern is at most (key length + 1) × (2 × stars + 2) steps: a star's position
 * stays alive once reached, anything else lives one character. A pattern holds at most
 * MAX_GLOB_STARS stars, so the bound is a constant per character.
 */
export const MAX_GLOB_STARS = 8;
/** Stars in all of one promotion's patterns: the work per key stays a small constant per character. */
export const MAX_GLOB_STARS_TOTAL = 32;
/** What a key pattern may hold: the characters of a key (domain/kernel/schemas.ts ITEM_KEY) and the wildcards. */
export const GLOB_PATTERN = /^[A-Za-z0-9_.\-/:*?]{1,256}$/;

/**
 * The automaton: state j has character moves (`to` when `test` holds) and free moves (`eps`).
 * State `m` (the last) accepts.
 */
interface State {
  test: ((c: number) => boolean) | null;
  to: number;
  /** a second character move (the slash that ends a globstar run) */
  test2?: (c: number) => boolean;
  to2?: number;
  eps: number[];
}
const SLASH = 47;
const notSlash = (c: number) => c !== SLASH;
const anyChar = () => true;
const isSlash = (c: number) => c === SLASH;

/** Stars in a pattern (a run of stars counts once). */
export function globStars(pattern: string): number {
  return (pattern.match(/\*+/g) ?? []).length;
}

function automaton(pattern: string): State[] {
  const states: State[] = [];
  const push = (st: Omit<State, 'eps'> & { eps?: number[] }) => states.push({ eps: [], ...st });
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern.charCodeAt(i);
    const j = states.length;
    if (ch === 42 /* * */) {
      let e = i;
      while (pattern.charCodeAt(e + 1) === 42) e++;
      const segmentStart = i === 0 || pattern.charCodeAt(i - 1) === SLASH;
      const segmentEnd = e === pattern.length - 1 || pattern.charCodeAt(e + 1) === SLASH;
      if (e === i + 1 && segmentStart && segmentEnd) {
        if (e === pattern.length - 1 && i > 0) {
          // `a/**`: `a`, or `a/` and anything. The `/` before is already a state: make it optional.
          states.pop();
          const k = states.length;
          push({ test: isSlash, to: k + 1, eps: [k + 2] });
          push({ test: anyChar, to: k + 1, eps: [k + 2] });
        } else if (e === pattern.length - 1) {
          // `**` alone: anything
          push({ test: anyChar, to: j, eps: [j + 1] });
        } else {
          // globstar then slash: no segment, or any run ending in `/`
          push({ test: null, to: j, eps: [j + 2, j + 1] });
          push({ test: anyChar, to: j + 1, test2: isSlash, to2: j + 2 });
          e++;
        }
      } else {
        // `*` (and a `**` inside a segment): any run without `/`
        push({ test: notSlash, to: j, eps: [j + 1] });
      }
      i = e;
    } else if (ch === 63 /* ? */) push({ test: notSlash, to: j + 1 });
    else push({ test: (c) => c === ch, to: j + 1 });
  }
  return states;
}

/** Counts the steps matching did (tests assert the bound with it). */
export interface GlobMeter {
  steps: number;
}

function compileOne(pattern: string, meter?: GlobMeter): (key: string) => boolean {
  const states = automaton(pattern);
  const m = states.length;
  // Literal prefix: most patterns (`query.*`) are refused on their first characters.
  const prefix = /^[^*?]*/.exec(pattern)![0].replace(/\/$/, '');
  const seen = new Int32Array(m + 1);
  let cur = new Int32Array(m + 1);
  let next = new Int32Array(m + 1);
  let gen = 0;
  const add = (list: Int32Array, count: number, j: number): number => {
    if (seen[j] === gen) return count;
    seen[j] = gen;
    list[count++] = j;
    if (j < m) for (const e of states[j]!.eps) count = add(list, count, e);
    return count;
  };
  return (key: string) => {
    if (!key.startsWith(prefix)) {
      if (meter) meter.steps += 1;
      return false;
    }
    gen++;
    let n = add(cur, 0, 0);
    for (let i = 0; i < key.length && n > 0; i++) {
      const c = key.charCodeAt(i);
      gen++;
      let k = 0;
      for (let s = 0; s < n; s++) {
        const j = cur[s]!;
        if (meter) meter.steps++;
        if (j === m) continue;
        const st = states[j]!;
        if (st.test?.(c)) k = add(next, k, st.to);
        if (st.test2?.(c)) k = add(next, k, st.to2!);
      }
      [cur, next] = [next, cur];
      n = k;
    }
    for (let s = 0; s < n; s++) if (cur[s] === m) return true;
    return false;
  };
}

/** One matcher for a list of patterns: true when any matches. */
export function compileGlobs(patterns: readonly string[], meter?: GlobMeter): (key: string) => boolean {
  const matchers = [...new Set(patterns)].map((p) => compileOne(p, meter));
  if (!matchers.length) return () => false;
  return (key) => matchers.some((f) => f(key));
}

export const globMatch = (key: string, pattern: string): boolean => compileOne(pattern)(key);
