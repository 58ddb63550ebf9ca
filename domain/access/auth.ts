import { Forbidden } from '../kernel/errors.ts';

/** Roles a user can hold (Cognito groups). `admin` holds every permission. */
export const ROLES = ['viewer', 'deployer', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** The group (Cognito; the local demo user pat) whose members may create tenants (domain/access/users.ts). */
export const PLATFORM_GROUP = 'platform-admin';

/** The authenticated caller, built only from verified token claims or a verified IAM principal. */
export interface Principal {
  tenant: string;
  /** Stable subject id (`sub` for users, the role ARN for machines). */
  id: string;
  /** Who is shown in history and audit: email for users, principal name for machines. */
  name: string;
  roles: Role[];
  /** every group the caller is in, roles and custom ones (approval policies may name either) */
  groups?: string[];
  kind: 'user' | 'machine';
  /** when the token was issued (its `iat`, epoch seconds): a person's token from before their removal or demotion is refused on every change */
  issuedAt?: number;
  /**
   * Set by the authorization of a request in an environment (domain/access/bindings.ts): `roles` are then
   * the caller's rights there (their token's and their bindings'), and this says whether they may break glass there.
   */
  breakGlass?: boolean;
  /** the environment whose rights `roles` are (set with `breakGlass`) */
  rightsIn?: string | null;
  /** the roles the token carries tenant-wide, where `roles` are the rights in one environment (set with `breakGlass`) */
  tokenRoles?: Role[];
  /** the role bindings that granted something in `rightsIn` (bindings.ts rightsIn's `via`): what an approval records it was given under */
  grants?: { user?: string; group?: string; role: string; environments: string[] }[];
}

/** What each role implies. A deployer and an approver can also read. */
const IMPLIES: Record<Role, Role[]> = {
  viewer: ['viewer'],
  deployer: ['deployer', 'viewer'],
  approver: ['approver', 'viewer'],
  admin: ['admin', 'deployer', 'approver', 'viewer'],
};

export function hasRole(principal: Pick<Principal, 'roles'>, needed: Role): boolean {
  return principal.roles.some((r) => IMPLIES[r].includes(needed));
}

export function requireRole(principal: Principal, needed: Role): void {
  if (!hasRole(principal, needed)) {
    throw new Forbidden(`This action needs the '${needed}' role; you have: ${principal.roles.join(', ') || 'none'}`);
  }
}

/** Whether the caller is in one of the groups an approval policy names (a role counts with what it implies). */
export function inGroups(principal: Pick<Principal, 'roles' | 'groups'>, groups: string[]): boolean {
  return groups.some((g) => principal.groups?.includes(g) || ((ROLES as readonly string[]).includes(g) && hasRole(principal, g as Role)));
}
