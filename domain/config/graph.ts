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
 * environment or the environment itself, a name twice, or a cycle (named by the edge that closes it).
 */
export function graphProblems(envs: Pick<Environment, 'name' | 'position' | 'after'>[]): GraphProblem[] {
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
  const line = [...envs].sort((a, b) => a.position - b.position || a.name.localeCompare(b.name)) as Environment[];
  const preds = new Map(line.map((e) => [e.name, predecessorsOf(e, line)]));
  const state = new Map<string, 'open' | 'done'>();
  const walk = (name: string, trail: string[]): GraphProblem | null => {
    if (state.get(name) === 'done') return null;
    if (state.get(name) === 'open') {
      const cycle = [...trail.slice(trail.indexOf(name)), name];
      return {
        path: `${trail[trail.length - 1]}.after`,
        message: `the edge ${name} → ${trail[trail.length - 1]} closes a cycle (${cycle.reverse().join(' → ')}); an environment cannot come after one that comes after it`,
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
