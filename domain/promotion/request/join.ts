import { memoSource } from '../../config/tree.ts';
import type { Deps } from '../../kernel/deps.ts';
import type { Environment, Roots } from '../../kernel/model.ts';
import type { Subject } from '../../kernel/promotion-model.ts';
import { configChanges } from '../terms/release.ts';

/** An environment after several that waits for all of them (the only case with anything to check). */
export const isJoin = (target: Environment) => (target.after?.length ?? 0) > 1 && target.afterMode !== 'any';

/**
 * A join of the line's graph (domain/config/graph.ts): an environment that comes after several with
 * `afterMode: all` takes a release only once it has reached every one of them (and run there for the
 * target's soak time, where one is set). Answers what is missing, one phrase per environment; []
 * when nothing is (a chain, `any`, or a complete join). `sourceRoots`: what a config release brings.
 */
export async function joinMissing(deps: Deps, tenant: string, source: string, target: Environment, subject: Subject, sourceRoots?: Roots): Promise<string[]> {
  if (!isJoin(target)) return [];
  const others = (target.after ?? []).filter((a) => a !== source);
  const now = deps.clock().getTime();
  const soakMs = (target.soakSeconds ?? 0) * 1000;
  const missing = await Promise.all(
    others.map(async (other): Promise<string | null> => {
      if (subject.type === 'artifact') {
        const ptr = await deps.store.getPointer(tenant, other, subject.name);
        if (!ptr || ptr.digest !== subject.digest) return `'${other}' (it runs ${ptr ? `${subject.name}@${ptr.version}` : `no ${subject.name}`})`;
        const ready = new Date(ptr.promotedAt).getTime() + soakMs;
        return ready > now ? `'${other}' (it soaks there until ${new Date(ready).toISOString()})` : null;
      }
      if (subject.type === 'bundle') {
        // Every member there, each for the soak time (the newest of them counts).
        const ptrs = await Promise.all(subject.members.map((m) => deps.store.getPointer(tenant, other, m.name)));
        const absent = subject.members.filter((m, i) => ptrs[i]?.digest !== m.digest);
        if (absent.length) return `'${other}' (it does not run ${absent.map((m) => `${m.name}@${m.version}`).join(', ')} of bundle ${subject.name})`;
        const ready = Math.max(0, ...ptrs.map((x) => new Date(x!.promotedAt).getTime())) + soakMs;
        return ready > now ? `'${other}' (it soaks there until ${new Date(ready).toISOString()})` : null;
      }
      const env = await deps.store.getEnvironment(tenant, other);
      if (!env) return `'${other}' (no such environment)`;
      if (!sourceRoots) return null;
      const { changes } = await configChanges(memoSource(deps.store.nodes(tenant)), env.head.roots, sourceRoots, subject);
      return changes.length ? `'${other}' (${changes.length} of the release's changes are not there)` : null;
    }),
  );
  return missing.filter((m): m is string => m !== null);
}

/** How a join names what it waits for (a refusal and the policy_compliance gate alike). */
export const joinText = (target: Environment, missing: string[]) =>
  `'${target.name}' comes after ${target.after!.map((a) => `'${a}'`).join(' and ')} (all): the release has not reached ${missing.join(', ')}; promote it there first`;
