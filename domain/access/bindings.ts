import * as z from '../kernel/zod.ts';
import { envName } from '../kernel/schemas.ts';
import { Forbidden, ValidationFailed, type Issue } from '../kernel/errors.ts';
import { hasRole, ROLES, type Principal, type Role } from './auth.ts';

/**
 * Role bindings: who (a user by id or email, or a group) holds which role (or the break-glass
 * permission) in which environments (names, or `*` for every one). A person's rights in an
 * environment are the union of the roles their token carries tenant-wide (their Cognito groups, as
 * before bindings) and the bindings that name them or one of their groups there. Bindings only add:
 * with none, every decision is what it was without them. Authorization is this one pure module;
 * the HTTP handler (functions/http/handler.ts), the review link and Slack all call it.
 */

/** What a binding grants: a role, or the break-glass permission (acting through a freeze window, with a reason). */
export const BINDING_ROLES = [...ROLES, 'break-glass'] as const;
export type BindingRole = (typeof BINDING_ROLES)[number];

/** Every environment: the selector a binding names to apply tenant-wide. */
export const EVERY_ENVIRONMENT = '*';

/** The most bindings a tenant keeps (they are read whole, with one item read, on a decision that needs them). */
export const MAX_BINDINGS = 200;

export interface Binding {
  /** a user: their subject id or their email (lower case) */
  user?: string;
  /** a group of the identity provider (a Cognito group; later SCIM's groups) */
  group?: string;
  role: BindingRole;
  /** environment names, or `*` for every environment */
  environments: string[];
}

export interface Bindings {
  bindings: Binding[];
  /** the version of the tenant's bindings item (0: none saved yet) */
  version: number;
}

/** What a caller may do in one environment. */
export interface Rights {
  roles: Role[];
  breakGlass: boolean;
  /** the bindings that granted something there (for the record of who acted under what) */
  via: Binding[];
}

const subject = /* @__PURE__ */ z.schema(() =>
  z.string().check(z.trim(), z.toLowerCase(), z.minLength(1), z.maxLength(256), z.regex(/^\S+$/, 'must not contain white space')),
);
const selector = /* @__PURE__ */ z.schema(() => z.union([z.literal(EVERY_ENVIRONMENT), envName]));

export const binding = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      user: z.optional(subject).check(z.describe("a user's subject id or email")),
      group: z.optional(z.string().check(z.minLength(1), z.maxLength(128))).check(z.describe('a group of the identity provider')),
      role: z.enum(BINDING_ROLES).check(z.describe('viewer, deployer, approver, admin, or the break-glass permission')),
      environments: z.array(selector).check(z.minLength(1), z.maxLength(50), z.describe('environment names, or * for every environment')),
    })
    .check(
      z.superRefine((b, ctx) => {
        if ((b.user === undefined) === (b.group === undefined))
          ctx.addIssue({ code: 'custom', path: ['user'], message: 'name exactly one subject: user (id or email) or group' });
      }),
    ),
);

/** PUT /access/bindings: the whole list; `version` the list's version read (0: none yet). */
export const bindingsBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    bindings: z.array(binding).check(z.maxLength(MAX_BINDINGS)),
    version: z
      .optional(z.number().check(z.int(), z.minimum(0)))
      .check(z.describe('the version of the list you read (GET answers it; 0: none yet): 409 when it changed since; left out: the latest')),
  }),
);
export type BindingsBody = z.infer<typeof bindingsBody>;

/** Whether the binding names this caller: their id or email, or a group they are in. */
export function names(b: Binding, who: Pick<Principal, 'id' | 'name' | 'groups'>): boolean {
  if (b.user !== undefined) return b.user === who.id.toLowerCase() || b.user === who.name.toLowerCase();
  return b.group !== undefined && (who.groups ?? []).includes(b.group);
}

/** Whether the binding applies in this environment (`*`: every one; null: a tenant-wide act, which only `*` covers). */
export function appliesIn(b: Binding, environment: string | null): boolean {
  return b.environments.some((e) => e === EVERY_ENVIRONMENT || (environment !== null && e === environment));
}

const IMPLIED: Record<Role, Role[]> = {
  viewer: ['viewer'],
  deployer: ['deployer', 'viewer'],
  approver: ['approver', 'viewer'],
  admin: ['admin', 'deployer', 'approver', 'viewer'],
};

/**
 * The caller's rights in `environment` (null: a tenant-wide act): the union of their token's
 * tenant-wide roles and the bindings that name them (or their groups) there. Whoever a binding
 * names anywhere may read the tenant (viewer everywhere). An admin may break glass, as before.
 */
export function rightsIn(principal: Pick<Principal, 'id' | 'name' | 'groups' | 'roles'>, bindings: readonly Binding[], environment: string | null): Rights {
  const roles = new Set<Role>(principal.roles.flatMap((r) => IMPLIED[r]));
  let breakGlass = false;
  const via: Binding[] = [];
  for (const b of bindings) {
    if (!names(b, principal)) continue;
    roles.add('viewer');
    if (!appliesIn(b, environment)) continue;
    via.push(b);
    if (b.role === 'break-glass') breakGlass = true;
    else for (const r of IMPLIED[b.role]) roles.add(r);
  }
  if (roles.has('admin')) breakGlass = true;
  return { roles: ROLES.filter((r) => roles.has(r)), breakGlass, via };
}

/** Whether `rights` hold `needed` (the break-glass permission included). */
export function holds(rights: Rights, needed: BindingRole): boolean {
  return needed === 'break-glass' ? rights.breakGlass : rights.roles.includes(needed);
}

/** The 403 of a caller who lacks `needed` in `environment` (null: tenant-wide), naming both. */
export function refusal(needed: BindingRole, environment: string | null, rights: Rights): Forbidden {
  const where = environment === null ? 'in every environment (a tenant-wide change)' : `in environment '${environment}'`;
  const has = rights.roles.filter((r) => r !== 'viewer' || rights.roles.length === 1);
  return new Forbidden(
    `This needs the '${needed}' role ${where}; you have there: ${has.join(', ') || 'none'}. Ask an admin for a binding (GET /api/v1/access/bindings)`,
    { environment: environment ?? EVERY_ENVIRONMENT, role: needed },
  );
}

/** Throws the 403 unless the caller holds `needed` in `environment`. */
export function requireIn(principal: Principal, bindings: readonly Binding[], needed: BindingRole, environment: string | null): Rights {
  const rights = rightsIn(principal, bindings, environment);
  if (!holds(rights, needed)) throw refusal(needed, environment, rights);
  return rights;
}

/**
 * Checks a list of bindings against the tenant's environments: each names an environment that exists
 * (400 naming the field otherwise). Answers the list in one normal form (sorted, no duplicates).
 */
export function checkBindings(list: readonly Binding[], environments: readonly string[], at = 'body.bindings'): Binding[] {
  const known = new Set(environments);
  const issues: Issue[] = [];
  list.forEach((b, i) =>
    b.environments.forEach((e, j) => {
      if (e !== EVERY_ENVIRONMENT && !known.has(e))
        issues.push({
          path: `${at}.${i}.environments.${j}`,
          message: `environment '${e}' does not exist: create it first, or name one of: ${[...known].join(', ') || 'none yet'}`,
        });
    }),
  );
  if (issues.length) throw new ValidationFailed(issues);
  return normalBindings(list);
}

const keyOf = (b: Binding) => `${b.user !== undefined ? `u:${b.user}` : `g:${b.group}`}\u0000${b.role}`;

/** One binding per subject and role (environments merged, sorted), sorted by subject then role: what is stored and exported. */
export function normalBindings(list: readonly Binding[]): Binding[] {
  const merged = new Map<string, Binding>();
  for (const b of list) {
    const k = keyOf(b);
    const had = merged.get(k);
    const envs = new Set([...(had?.environments ?? []), ...b.environments]);
    merged.set(k, {
      ...(b.user !== undefined ? { user: b.user } : { group: b.group }),
      role: b.role,
      environments: envs.has(EVERY_ENVIRONMENT) ? [EVERY_ENVIRONMENT] : [...envs].sort(),
    });
  }
  return [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, b]) => b);
}

/** Whether a tenant-wide admin binding is among these (a user or group bound admin in `*`). */
export const grantsAdmin = (list: readonly Binding[]) => list.some((b) => b.role === 'admin' && b.environments.includes(EVERY_ENVIRONMENT));

/**
 * Whether the caller would still be an admin tenant-wide after the change: a PUT that leaves its own
 * author without admin (their token's role or a `*` admin binding) would leave the tenant to nobody
 * they know of; it is refused (409).
 */
export function keepsAdmin(me: Principal, next: readonly Binding[]): boolean {
  const token = { ...me, roles: me.tokenRoles ?? me.roles };
  return hasRole(token, 'admin') || rightsIn(token, next, null).roles.includes('admin');
}
