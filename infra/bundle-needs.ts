import { ADAPTERS, type AdapterDecl, type Grant, type Resource } from './adapters.ts';

/** The needs of one bundle, read from the table of infra/adapters.ts. */

/** One need of a function: an env var, or actions on a resource (with its condition). */
export interface Needs {
  env: Map<string, Resource>;
  grants: Grant[];
}

/** What a bundle with these modules and port calls needs, from ADAPTERS. */
export function needsOf(bundle: { modules: ReadonlySet<string>; calls: ReadonlySet<string> }, decls: AdapterDecl[] = ADAPTERS): Needs {
  const env = new Map<string, Resource>();
  const grants: Grant[] = [];
  for (const decl of decls) {
    if (!bundle.modules.has(decl.module)) continue;
    const parts = [
      decl.always,
      ...Object.entries(decl.calls ?? {})
        .filter(([call]) => bundle.calls.has(call))
        .map(([, n]) => n),
    ];
    for (const need of parts) {
      for (const [k, r] of Object.entries(need?.env ?? {})) env.set(k, r);
      for (const list of Object.values(need?.commands ?? {})) grants.push(...list);
    }
  }
  return { env, grants: mergeGrants(grants) };
}

/** Grants on the same resource with the same condition become one statement (sorted, so the order is stable). */
export function mergeGrants(grants: Grant[]): Grant[] {
  const byKey = new Map<string, Grant>();
  for (const g of grants) {
    const key = `${g.on}|${JSON.stringify(g.condition ?? null)}`;
    const prev = byKey.get(key);
    byKey.set(key, { ...g, actions: [...new Set([...(prev?.actions ?? []), ...g.actions])].sort() });
  }
  return [...byKey.values()].sort((a, b) => a.on.localeCompare(b.on) || JSON.stringify(a).localeCompare(JSON.stringify(b)));
}
