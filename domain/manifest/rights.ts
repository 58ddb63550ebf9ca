import type { Principal, Role } from '../access/auth.ts';
import { EVERY_ENVIRONMENT, holds, rightsIn, type Binding } from '../access/bindings.ts';
import { Forbidden } from '../kernel/errors.ts';
import type { Change, Setup } from './sections.ts';

/**
 * Who may apply which change of a manifest: each change needs the apply's role in the environment it
 * touches (its settings, gates, webhook gates, git target, change-control rule, a rule into it, a freeze window over it, a
 * recurring promotion into it), decided by the one rightsIn (domain/access/bindings.ts). Every other
 * section (bindings, notifications, webhooks, registry links, analysis templates, and any section added
 * later) is tenant-wide: it needs the role in every environment (a token role or a `*` binding).
 */

/** The role POST /api/v1/manifest/apply needs, in each environment its changes touch. */
export const MANIFEST_APPLY_ROLE: Role = 'admin';

/** What a change needs: the role, in these environments (`*`: tenant-wide). */
export interface Needs {
  role: Role;
  environments: string[];
}

export type PlannedChange = Change & { needs: Needs };

/** Sections whose first key is an environment's name. */
const BY_ENVIRONMENT = new Set(['environment_settings', 'gates', 'webhook_gates', 'git_targets', 'change_control']);

const envOf = (v: unknown, field: string): string | null => {
  const e = v && typeof v === 'object' ? (v as Record<string, unknown>)[field] : undefined;
  return typeof e === 'string' ? e : null;
};

/** The environments a change acts in (null: tenant-wide). */
export function environmentsOf(c: Change, cur: Setup, want: Setup): (string | null)[] {
  const dot = c.path.indexOf('.');
  const section = dot < 0 ? c.path : c.path.slice(0, dot);
  const key = dot < 0 ? '' : c.path.slice(dot + 1).split('.')[0]!;
  if (BY_ENVIRONMENT.has(section)) return [key || null];
  if (section === 'approval_rules') {
    // keyed by `source->target`: a rule governs promotions into its target.
    const arrow = key.lastIndexOf('->');
    return [arrow < 0 ? null : key.slice(arrow + 2)];
  }
  if (section === 'freeze_windows') {
    // added or removed whole; one without an environment is tenant-wide.
    return [envOf(c.before ?? c.after, 'environment')];
  }
  if (section === 'recurring_promotions') {
    // a recurring promotion acts in its target: the one it had and the one it gets.
    const targets = [cur, want].map((s) => s.recurring_promotions.find((r) => r.name === key)?.target).filter((e): e is string => !!e);
    return targets.length ? [...new Set(targets)] : [null];
  }
  return [null];
}

/** Each change with what it needs (the plan shows it; apply checks it). */
export const withNeeds = (changes: Change[], cur: Setup, want: Setup, role: Role = MANIFEST_APPLY_ROLE): PlannedChange[] =>
  changes.map((c) => ({ ...c, needs: { role, environments: environmentsOf(c, cur, want).map((e) => e ?? EVERY_ENVIRONMENT) } }));

/**
 * Refuses (403) a plan with any change the caller lacks its right for, naming each environment
 * (`environments.production`, or tenant-wide) and each change: nothing is applied (all or nothing).
 */
export function assertMayApply(principal: Pick<Principal, 'id' | 'name' | 'groups' | 'roles'>, bindings: readonly Binding[], changes: PlannedChange[]): void {
  const lacking = new Map<string, string[]>();
  const held = new Map<string, boolean>();
  for (const c of changes) {
    for (const e of c.needs.environments) {
      const k = `${c.needs.role} ${e}`;
      if (!held.has(k)) held.set(k, holds(rightsIn(principal, bindings, e === EVERY_ENVIRONMENT ? null : e), c.needs.role));
      if (held.get(k)) continue;
      lacking.set(e, [...(lacking.get(e) ?? []), c.path]);
    }
  }
  if (!lacking.size) return;
  const where = [...lacking.keys()].sort().map((e) => (e === EVERY_ENVIRONMENT ? 'tenant-wide (every environment)' : `environments.${e}`));
  const paths = [...new Set([...lacking.values()].flat())];
  throw new Forbidden(
    `This manifest changes what needs the '${changes[0]!.needs.role}' role where you lack it: ${where.join(', ')} (changes: ${paths.join(', ')}). Apply only the changes you hold the right for, or ask an admin for a binding (GET /api/v1/access/rights)`,
    {
      role: changes[0]!.needs.role,
      environments: [...lacking.keys()].sort(),
      changes: changes
        .filter((c) => c.needs.environments.some((e) => lacking.has(e)))
        .map((c) => ({ path: c.path, environments: c.needs.environments.filter((e) => lacking.has(e)) })),
    },
  );
}
