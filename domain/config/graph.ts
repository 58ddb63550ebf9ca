import type { Environment } from '../kernel/model.ts';

/**
 * The line as a graph. An environment that names the environments it comes after (`after`, with
 * `afterMode` all or any) is entered from those; one that names none comes after the environment
 * before it by position, so a line without `after` is the chain it always was. Pure: the environment
 * writes, the manifest and the promotion's checks all read the edges from here.
 */

export type AfterMode = 'all' | 'any';

/** The environments `env` is promoted into from (its predecessors), in the order they are named; [] for the first of the line. */
export function predecessorsOf(env: Environment, line: Environment[]): string[] {
  if (env.after?.length) return [...env.after];
  const before = line.filter((e) => e.position < env.position || (e.position === env.position && e.name < env.name));
  return before.length ? [before[before.length - 1]!.name] : [];
}

/** The environments entered from `env` (fan-out): those that name it in `after`, or come next in the chain. */
export function successorsOf(env: Environment, line: Environment[]): string[] {
  return line.filter((e) => e.name !== env.name && predecessorsOf(e, line).includes(env.name)).map((e) => e.name);
}

export interface GraphProblem {
  path: string;
  message: string;
}

/**
 * What is wrong with the edges of `envs` (empty when nothing): an `after` naming an unknown
 * environment or the environment itself, a name twice, or a cycle. A cycle is named by an edge that
 * closes it: given `before` (the edges as they are, the change not made), an edge the change added,
 * since that is the one to take back; one of its edges otherwise.
 */
export function graphProblems(
  envs: Pick<Environment, 'name' | 'position' | 'after'>[],
  before?: Pick<Environment, 'name' | 'position' | 'after'>[],
): GraphProblem[] {
  const names = new Set(envs.map((e) => e.name));
  const problems: GraphProblem[] = [];
  for (const e of envs) {
    const seen = new Set<string>();
    for (const a of e.after ?? []) {
      if (a === e.name) problems.push({ path: `${e.name}.after`, message: `'${e.name}' cannot come after itself` });
      else if (!names.has(a)) problems.push({ path: `${e.name}.after`, message: `'${e.name}' comes after '${a}', which is not an environment` });
      if (seen.has(a)) problems.push({ path: `${e.name}.after`, message: `'${e.name}' names '${a}' twice in after` });
      seen.add(a);
    }
  }
  if (problems.length) return problems;
  // Cycles: a depth-first walk over the edges predecessor → environment.
  const predsOf = (list: Pick<Environment, 'name' | 'position' | 'after'>[]) => {
    const line = [...list].sort((a, b) => a.position - b.position || a.name.localeCompare(b.name)) as Environment[];
    return { line, preds: new Map(line.map((e) => [e.name, predecessorsOf(e, line)])) };
  };
  const { line, preds } = predsOf(envs);
  const was = before ? predsOf(before).preds : null;
  const added = (from: string, to: string) => !!was && !(was.get(to) ?? []).includes(from);
  const state = new Map<string, 'open' | 'done'>();
  const walk = (name: string, trail: string[]): GraphProblem | null => {
    if (state.get(name) === 'done') return null;
    if (state.get(name) === 'open') {
      // The cycle's environments, each entered from the next: trail[i] comes after trail[i + 1].
      const ring = [...trail.slice(trail.indexOf(name)), name];
      const edges = ring.slice(0, -1).map((to, i) => ({ from: ring[i + 1]!, to }));
      const named = edges.find((e) => added(e.from, e.to)) ?? edges[edges.length - 1]!;
      // The cycle read from the named edge on: from → to → … → from.
      const uniq = ring.slice(0, -1);
      const k = (edges.indexOf(named) + 1) % uniq.length;
      const path = [...uniq.slice(k + 1), ...uniq.slice(0, k + 1)].reverse();
      return {
        path: `${named.to}.after`,
        message: `the edge ${named.from} → ${named.to} closes a cycle (${[...path, path[0]].join(' → ')}); an environment cannot come after one that comes after it`,
      };
    }
    state.set(name, 'open');
    for (const p of preds.get(name) ?? []) {
      const found = walk(p, [...trail, name]);
      if (found) return found;
    }
    state.set(name, 'done');
    return null;
  };
  for (const e of line) {
    const found = walk(e.name, []);
    if (found) return [found];
  }
  return [];
}

/** The environments that name `name` in their `after` (deleting it would leave their edges dangling). */
export function namedAfter(envs: Environment[], name: string): string[] {
  return envs.filter((e) => e.after?.includes(name)).map((e) => e.name);
}
