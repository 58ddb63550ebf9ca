import * as z from '../kernel/zod.ts';
import { auditEntry } from '../audit/audit.ts';
import { PLATFORM_GROUP, ROLES, type Principal, type Role } from './auth.ts';
import { AlreadyExists, Forbidden, RuleViolation, UserNotFound } from '../kernel/errors.ts';
import type { Ctx, Deps, With } from '../ports.ts';
import { WriteConflict } from '../kernel/retry.ts';
import { notReserved } from '../kernel/reserved-keys.ts';
import type { ManagedUser, Tenant, UserAdmin } from './ports.ts';

/**
 * Tenants and their people, without the AWS console: a platform operator creates a tenant with its
 * first admin; the tenant's admins invite users with roles, change roles, remove users and list
 * them. Every change is audited in the tenant's own trail. An admin manages only their own tenant
 * (every call is confined to the caller's verified tenant), never their own roles (nobody raises or
 * drops their own), and never the tenant's last admin.
 */

const TENANT_ID = /^[a-z][a-z0-9-]{1,39}$/;
const email = () => z.string().check(z.trim(), z.toLowerCase(), z.email({ message: 'must be an email address' }), z.maxLength(254));
const roles = () =>
  z.array(z.enum(ROLES)).check(
    z.minLength(1, 'give at least one role: viewer, deployer, approver or admin'),
    z.maxLength(4),
    z.refine((r) => new Set(r).size === r.length, 'each role once'),
    // The refinement above, as the OpenAPI document says it.
    z.meta({ uniqueItems: true }),
  );

export const inviteBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    email: email().check(z.describe('who to invite: they receive an invitation to sign in')),
    roles: roles().check(z.describe('their roles in this tenant (admin holds every permission)')),
  }),
);
export const rolesBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({ roles: roles().check(z.describe('the roles the user holds from now on (replaces the current ones)')) }),
);
export const createTenantBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    id: z
      .string()
      .check(
        z.regex(TENANT_ID, 'must be 2-40 characters: lower-case letters, digits and dashes, starting with a letter'),
        notReserved(),
        z.describe("the tenant's id: every user of it carries it as custom:tenant_id"),
      ),
    displayName: z.optional(z.string().check(z.trim(), z.minLength(1), z.maxLength(100))),
    adminEmail: email().check(z.describe("the tenant's first admin: invited now")),
  }),
);
export type InviteBody = z.infer<typeof inviteBody>;
export type CreateTenantBody = z.infer<typeof createTenantBody>;

/** What the API shows of a user. */
export const userView = (u: ManagedUser) => ({
  id: u.id,
  email: u.email,
  roles: u.roles,
  status: u.status,
  ...(u.createdAt ? { createdAt: u.createdAt } : {}),
});

function admin(deps: With<'users'>): UserAdmin {
  return deps.users;
}

const rolesText = (r: readonly Role[]) => [...r].sort().join(',');

async function audit(
  deps: Deps,
  ctx: Ctx,
  tenant: string,
  action: string,
  entityType: 'user' | 'tenant',
  entityId: string,
  before: string | null,
  after: string | null,
): Promise<void> {
  const entry = auditEntry(
    tenant,
    { actor: ctx.principal.id, actorName: ctx.principal.name, action, entityType, entityId, before, after, requestId: ctx.requestId },
    deps.clock(),
  );
  await deps.store.commit(tenant, [{ kind: 'audit', entry }]);
}

export async function listUsers(deps: With<'users'>, ctx: Ctx) {
  const users = await admin(deps).list(ctx.principal.tenant);
  return { items: users.sort((a, b) => a.email.localeCompare(b.email)).map(userView) };
}

export async function inviteUser(deps: With<'users'>, ctx: Ctx, body: InviteBody) {
  const { tenant } = ctx.principal;
  const user = await admin(deps).create(tenant, body.email, body.roles);
  await audit(deps, ctx, tenant, 'user.invite', 'user', user.email, null, rolesText(user.roles));
  return userView(user);
}

/** The user, in the caller's tenant; never the caller themself (ask another admin). */
async function other(deps: With<'users'>, ctx: Ctx, id: string, what: string): Promise<ManagedUser> {
  const user = await admin(deps).get(ctx.principal.tenant, id.toLowerCase());
  if (!user) throw new UserNotFound(id);
  if (user.id === ctx.principal.id) throw new Forbidden(`You cannot ${what} yourself: ask another admin of the tenant`);
  return user;
}

async function lastAdmin(deps: With<'users'>, tenant: string, user: ManagedUser): Promise<boolean> {
  if (!user.roles.includes('admin')) return false;
  return (await admin(deps).list(tenant)).filter((u) => u.roles.includes('admin')).length <= 1;
}

export async function changeRoles(deps: With<'users'>, ctx: Ctx, id: string, next: Role[]) {
  const { tenant } = ctx.principal;
  const user = await other(deps, ctx, id, 'change the roles of');
  if (!next.includes('admin') && (await lastAdmin(deps, tenant, user)))
    throw new RuleViolation(`${user.email} is the tenant's last admin: make another user admin first`);
  const changed = await admin(deps).setRoles(tenant, user.id, next);
  await audit(deps, ctx, tenant, 'user.roles', 'user', user.email, rolesText(user.roles), rolesText(changed.roles));
  return userView(changed);
}

export async function removeUser(deps: With<'users'>, ctx: Ctx, id: string): Promise<void> {
  const { tenant } = ctx.principal;
  const user = await other(deps, ctx, id, 'remove');
  if (await lastAdmin(deps, tenant, user)) throw new RuleViolation(`${user.email} is the tenant's last admin: make another user admin first`);
  await admin(deps).remove(tenant, user.id);
  await audit(deps, ctx, tenant, 'user.remove', 'user', user.email, rolesText(user.roles), null);
}

export const isPlatformOperator = (p: Principal) => p.kind === 'user' && !!p.groups?.includes(PLATFORM_GROUP);

/** A platform operator creates a tenant and invites its first admin; both are audited in the new tenant's trail. */
export async function createTenant(deps: With<'users'>, ctx: Ctx, body: CreateTenantBody) {
  if (!isPlatformOperator(ctx.principal)) throw new Forbidden(`Creating a tenant needs the '${PLATFORM_GROUP}' group (a platform operator)`);
  const now = deps.clock();
  const tenant: Tenant = { id: body.id, displayName: body.displayName ?? body.id, createdAt: now.toISOString(), createdBy: ctx.principal.name };
  const entry = auditEntry(
    body.id,
    {
      actor: ctx.principal.id,
      actorName: ctx.principal.name,
      action: 'tenant.create',
      entityType: 'tenant',
      entityId: body.id,
      before: null,
      after: tenant.displayName,
      requestId: ctx.requestId,
    },
    now,
  );
  // An existing tenant is refused before anyone is invited into it; the admin is invited before the
  // record is written, so a taken email leaves nothing behind; a race for the same id undoes its invite.
  if (await deps.store.getTenant(body.id)) throw new AlreadyExists(`Tenant ${body.id} already exists`);
  const first = await admin(deps).create(body.id, body.adminEmail, ['admin']);
  try {
    await deps.store.createTenant(tenant, entry);
  } catch (err) {
    await admin(deps).remove(body.id, first.id);
    if (err instanceof WriteConflict) throw new AlreadyExists(`Tenant ${body.id} already exists`);
    throw err;
  }
  await audit(deps, ctx, body.id, 'user.invite', 'user', first.email, null, 'admin');
  return { tenant, admin: userView(first) };
}
