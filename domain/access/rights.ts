import { ROLES, type Principal, type Role } from './auth.ts';
import { appliesIn, BINDING_ROLES, holds, names, rightsIn, type Binding, type BindingRole } from './bindings.ts';

/**
 * A person's effective rights, environment by environment, and what grants each one: the explanation of
 * rightsIn (domain/access/bindings.ts), which stays the one decision. Whether a right is held is rightsIn's
 * answer; the sources only say why (a tenant-wide role, a binding there, or a binding elsewhere, which lets
 * the person read the tenant). GET /api/v1/access/rights, `stageline roles rights` and the console show it.
 */

/** What grants one right: a role the person holds tenant-wide (their token's or the directory's), or a binding (here, or elsewhere: reading only). */
export type Grant = { role: Role } | { binding: Binding; elsewhere?: true };

/** The rights of one environment (null: the tenant-wide acts: settings, users, bindings, tenant-wide changes), each with its grants (none: not held). */
export interface EnvironmentRights {
  environment: string | null;
  rights: Record<BindingRole, Grant[]>;
}

/** What each role implies (as rightsIn counts it); break-glass comes with admin. */
const IMPLIES: Record<Role, readonly BindingRole[]> = {
  viewer: ['viewer'],
  deployer: ['deployer', 'viewer'],
  approver: ['approver', 'viewer'],
  admin: ['admin', 'deployer', 'approver', 'viewer', 'break-glass'],
};
const grants = (role: BindingRole, right: BindingRole) => (role === 'break-glass' ? right === 'break-glass' : IMPLIES[role].includes(right));

/** The rights of `who` in one environment (null: tenant-wide), each right with what grants it; a right is held exactly when rightsIn says so. */
export function explainRights(
  who: Pick<Principal, 'id' | 'name' | 'groups' | 'roles'>,
  bindings: readonly Binding[],
  environment: string | null,
): EnvironmentRights {
  const decided = rightsIn(who, bindings, environment);
  const mine = bindings.filter((b) => names(b, who));
  const rights = {} as Record<BindingRole, Grant[]>;
  for (const right of BINDING_ROLES) {
    if (!holds(decided, right)) {
      rights[right] = [];
      continue;
    }
    const byRole: Grant[] = ROLES.filter((r) => who.roles.includes(r) && grants(r, right)).map((role) => ({ role }));
    const here: Grant[] = mine.filter((b) => appliesIn(b, environment) && grants(b.role, right)).map((binding) => ({ binding }));
    // Whoever a binding names anywhere reads the tenant: the bindings elsewhere say why, when nothing here does.
    const elsewhere: Grant[] =
      right === 'viewer' && !byRole.length && !here.length
        ? mine.filter((b) => !appliesIn(b, environment)).map((binding) => ({ binding, elsewhere: true as const }))
        : [];
    rights[right] = [...byRole, ...here, ...elsewhere];
  }
  return { environment, rights };
}

/** The whole matrix: the tenant-wide row first, then each environment in the order given. */
export const rightsMatrix = (
  who: Pick<Principal, 'id' | 'name' | 'groups' | 'roles'>,
  bindings: readonly Binding[],
  environments: readonly string[],
): EnvironmentRights[] => [explainRights(who, bindings, null), ...environments.map((e) => explainRights(who, bindings, e))];
