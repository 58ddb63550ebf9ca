import * as z from '../kernel/zod.ts';
import { auditEntry } from '../audit/audit.ts';
import { hasRole, PLATFORM_GROUP, ROLES, type Principal, type Role } from './auth.ts';
import { AlreadyExists, Forbidden, RuleViolation, UserNotFound, VersionConflict } from '../kernel/errors.ts';
import type { Ctx, Deps, With } from '../kernel/deps.ts';
import { refusedByStored, WriteConflict } from '../kernel/retry.ts';
import { notReserved } from '../kernel/reserved-keys.ts';
import type { AdminGuard, ManagedUser, Member, Tenant, TenantRepo, UserAdmin } from './ports.ts';
import { isPublicMailDomain } from './public-domains.ts';

/**
 * Tenants and their people, without the AWS console: a platform operator creates a tenant with its
 * first admin; the tenant's admins invite users with roles, change roles, remove users and list
 * them. Every change is audited in the tenant's own trail. An admin manages only their own tenant
 * (every call is confined to the caller's verified tenant), never their own roles (nobody raises or
 * drops their own), and never the tenant's last admin.
 *
 * Who someone is, is read from the directory when it matters: these use cases authorize the caller
 * against their current roles in the directory, not the groups their token carried when it was issued.
 * Removing someone, or taking a role from them, signs them out everywhere and sets the second before
 * which their tokens no longer count on any change (functions/http/handler.ts checks it). Which
 * people a tenant has is the tenant's people index in the table, written with each change, so a
 * listing or a last-admin check costs the tenant's people, never the whole user pool's. A tenant
 * invites addresses of its own email domains only, with one answer for every other address.
 */

const TENANT_ID = /^[a-z][a-z0-9-]{1,39}$/;
/** A domain name (lower case, labels of 1-63 characters, a top-level label starting with a letter); its length is checked apart. */
const DOMAIN = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
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
    emailDomains: z.optional(
      z
        .array(
          z
            .string()
            .check(
              z.trim(),
              z.toLowerCase(),
              z.regex(DOMAIN, 'must be a domain name such as example.com'),
              z.maxLength(253),
              z.describe('an email domain of the tenant (lower case)'),
            ),
        )
        .check(
          z.minLength(1),
          z.maxLength(20),
          z.refine((d) => new Set(d).size === d.length, 'each domain once'),
          z.describe(
            "the email domains the tenant's admins invite people from; the first admin's domain when left out. Each domain belongs to one tenant (409 when another holds it); a public mail domain (gmail.com, outlook.com, …) needs allowPublicDomains",
          ),
        ),
    ),
    allowPublicDomains: z.optional(
      z
        .boolean()
        .check(z.describe('let the tenant hold a public mail domain (anyone can have an address there): a deliberate choice of the platform operator')),
    ),
  }),
);
export type InviteBody = z.infer<typeof inviteBody>;
export type CreateTenantBody = z.infer<typeof createTenantBody>;

/** What the API shows of a user. */
export const userView = (u: Pick<ManagedUser, 'id' | 'email' | 'roles' | 'status' | 'createdAt'>) => ({
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
/** The domain of an address the schema accepted (lower case). */
export const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1);
/** The first second whose tokens still count after a change made now: every token issued up to now (iat ≤ now) is older. */
export const notBeforeOf = (now: Date) => Math.floor(now.getTime() / 1000) + 1;

function entry(
  deps: Deps,
  ctx: Ctx,
  tenant: string,
  action: string,
  entityType: 'user' | 'tenant',
  entityId: string,
  before: string | null,
  after: string | null,
) {
  return auditEntry(
    tenant,
    { actor: ctx.principal.id, actorName: ctx.principal.name, action, entityType, entityId, before, after, requestId: ctx.requestId },
    deps.clock(),
  );
}

/** A person as the people index keeps them. */
export function memberOf(tenant: string, u: ManagedUser, createdAt: string): Member {
  return { tenant, id: u.id, email: u.email, roles: [...u.roles], ...(u.username ? { username: u.username } : {}), createdAt: u.createdAt ?? createdAt };
}

/**
 * The caller as the directory knows them now, required to be one of the tenant's admins: a token
 * issued before they were removed or demoted still says admin, the directory no longer does.
 */
async function currentAdmin(deps: With<'users'>, ctx: Ctx): Promise<ManagedUser> {
  const me = ctx.principal.kind === 'user' ? await admin(deps).get(ctx.principal.tenant, ctx.principal.id) : null;
  if (!me) throw new Forbidden('You are not a user of this tenant any more (your token was issued before you were removed): sign in again');
  if (!hasRole(me, 'admin'))
    throw new Forbidden(
      `Managing people is for admins, and your roles are now: ${me.roles.join(', ') || 'none'} (your token is older than that change): sign in again`,
    );
  return me;
}

export async function listUsers(deps: With<'users'>, ctx: Ctx) {
  const { tenant } = ctx.principal;
  await currentAdmin(deps, ctx);
  const people = await deps.store.listMembers(tenant);
  const status = await admin(deps).statuses(tenant, people);
  return {
    items: people
      .filter((m) => status.has(m.id))
      .map((m) => userView({ ...m, status: status.get(m.id)!.status, createdAt: status.get(m.id)!.createdAt ?? m.createdAt }))
      .sort((a, b) => a.email.localeCompare(b.email)),
  };
}

/**
 * The one answer for an address outside the tenant's email domains, whoever holds it: it names the
 * tenant's own domains, never the address, so it tells nothing about who exists elsewhere.
 */
function outsideDomains(tenant: Tenant | null): Forbidden {
  const own = tenant?.emailDomains?.length ? tenant.emailDomains.join(', ') : 'none set yet';
  return new Forbidden(`This tenant invites addresses of its own email domains only (${own}); a platform operator sets them`);
}

export async function inviteUser(deps: With<'users'>, ctx: Ctx, body: InviteBody) {
  const { tenant } = ctx.principal;
  await currentAdmin(deps, ctx);
  const record = await deps.store.getTenant(tenant);
  if (!record?.emailDomains?.includes(domainOf(body.email))) throw outsideDomains(record);
  const user = await admin(deps).create(tenant, body.email, body.roles);
  await deps.store.putMember(
    memberOf(tenant, user, deps.clock().toISOString()),
    entry(deps, ctx, tenant, 'user.invite', 'user', user.email, null, rolesText(user.roles)),
  );
  return userView(user);
}

/** The user, in the caller's tenant; never the caller themself (ask another admin). */
async function other(deps: With<'users'>, ctx: Ctx, id: string, what: string): Promise<ManagedUser> {
  const user = await admin(deps).get(ctx.principal.tenant, id.toLowerCase());
  if (!user) throw new UserNotFound(id);
  if (user.id === ctx.principal.id) throw new Forbidden(`You cannot ${what} yourself: ask another admin of the tenant`);
  return user;
}

/** Whether the user is the tenant's last admin: counts the current admins only (the index, and the caller the directory just confirmed). */
async function lastAdmin(deps: With<'users'>, tenant: string, user: ManagedUser, me: ManagedUser): Promise<boolean> {
  if (!user.roles.includes('admin')) return false;
  const admins = new Set((await deps.store.listMembers(tenant)).filter((m) => m.roles.includes('admin')).map((m) => m.id));
  admins.add(me.id);
  admins.delete(user.id);
  return admins.size === 0;
}

/**
 * A change to the people made as the acting admin, on condition (in the same transaction) that they still
 * hold the admin role in the index when it commits. The check before it (lastAdmin) gives the clear answer;
 * this makes it hold under races: of two admins demoting or removing each other at once, the second finds
 * the first's change and is refused, so the tenant always keeps an admin. An admin the index does not have
 * yet (people from before the index) is written into it first, unless a removal took them out of it: an
 * admin removed between the check of their token and this write is refused, not put back.
 */
async function asAdmin(deps: With<'users'>, tenant: string, me: ManagedUser, write: (guard: AdminGuard) => Promise<void>): Promise<void> {
  const mine = await deps.store.getMember(tenant, me.id);
  if (!mine && !(await deps.store.indexMember(memberOf(tenant, me, deps.clock().toISOString()))))
    throw new VersionConflict(`You were removed from the tenant while this was being made (another admin did it at the same time): nothing was changed`);
  try {
    await write({ admin: me.id });
  } catch (err) {
    if (err instanceof WriteConflict && err.reason === 'version')
      throw new VersionConflict(`Your admin role changed while this was being made (another admin changed it at the same time): nothing was changed`);
    throw err;
  }
}

export async function changeRoles(deps: With<'users'>, ctx: Ctx, id: string, next: Role[]) {
  const { tenant } = ctx.principal;
  const me = await currentAdmin(deps, ctx);
  const user = await other(deps, ctx, id, 'change the roles of');
  if (!next.includes('admin') && (await lastAdmin(deps, tenant, user, me)))
    throw new RuleViolation(`${user.email} is the tenant's last admin: make another user admin first`);
  // Losing any permission (admin → viewer; not viewer → admin, admin holding them all) ends the person's sessions: their tokens from before stop counting first (refused a little early, never late).
  const demoted = user.roles.some((r) => !hasRole({ roles: next }, r));
  const now = deps.clock();
  const known = await deps.store.getMember(tenant, user.id);
  const after: ManagedUser = { ...user, roles: [...next] };
  await asAdmin(deps, tenant, me, (guard) =>
    deps.store.putMember(
      memberOf(tenant, after, known?.createdAt ?? now.toISOString()),
      entry(deps, ctx, tenant, 'user.roles', 'user', user.email, rolesText(user.roles), rolesText(next)),
      demoted ? notBeforeOf(now) : undefined,
      guard,
    ),
  );
  const changed = await admin(deps).setRoles(tenant, user.id, next);
  if (demoted) await admin(deps).signOut(tenant, user.id);
  return userView(changed);
}

export async function removeUser(deps: With<'users'>, ctx: Ctx, id: string): Promise<void> {
  const { tenant } = ctx.principal;
  const me = await currentAdmin(deps, ctx);
  const user = await other(deps, ctx, id, 'remove');
  if (await lastAdmin(deps, tenant, user, me)) throw new RuleViolation(`${user.email} is the tenant's last admin: make another user admin first`);
  const now = deps.clock();
  await asAdmin(deps, tenant, me, (guard) =>
    deps.store.removeMember(tenant, user.id, entry(deps, ctx, tenant, 'user.remove', 'user', user.email, rolesText(user.roles), null), notBeforeOf(now), guard),
  );
  await admin(deps).signOut(tenant, user.id);
  await admin(deps).remove(tenant, user.id);
}

export const isPlatformOperator = (p: Principal) => p.kind === 'user' && !!p.groups?.includes(PLATFORM_GROUP);

/**
 * A platform operator creates a tenant and invites its first admin; both are audited in the new
 * tenant's trail. An id already in use (a record, people or any data: tenants from before this
 * route have no record until the migration gives them one) is refused, so nobody plants an admin
 * in an existing tenant.
 */
/**
 * `registry` is where email-domain claims are kept (the table's domain registry; on AWS through a session of
 * its own, functions/handlers/tenants-create.ts): each domain belongs to one tenant.
 */
export async function createTenant(
  deps: With<'users'>,
  ctx: Ctx,
  body: CreateTenantBody,
  registry: Pick<TenantRepo, 'claimDomain' | 'releaseDomain'> = deps.store,
) {
  if (!isPlatformOperator(ctx.principal)) throw new Forbidden(`Creating a tenant needs the '${PLATFORM_GROUP}' group (a platform operator)`);
  // The directory, not the token, says whether the caller is a platform operator still.
  const me = await admin(deps).get(ctx.principal.tenant, ctx.principal.id);
  if (!me?.groups.includes(PLATFORM_GROUP))
    throw new Forbidden(`You are not in the '${PLATFORM_GROUP}' group any more (your token is older than that change): sign in again`);
  const now = deps.clock();
  const tenant: Tenant = {
    id: body.id,
    displayName: body.displayName ?? body.id,
    createdAt: now.toISOString(),
    createdBy: ctx.principal.name,
    emailDomains: body.emailDomains ?? [domainOf(body.adminEmail)],
  };
  const created = entry(deps, ctx, body.id, 'tenant.create', 'tenant', body.id, null, tenant.displayName);
  const publicOnes = tenant.emailDomains!.filter(isPublicMailDomain);
  if (publicOnes.length && body.allowPublicDomains !== true)
    throw new RuleViolation(
      `${publicOnes.join(', ')} ${publicOnes.length > 1 ? 'are public mail domains' : 'is a public mail domain'}: anyone can have an address there, so the tenant's admins could invite strangers. Give the organisation's own domain in emailDomains, or set "allowPublicDomains": true if this is deliberate`,
    );
  // An existing tenant is refused before anyone is invited into it; the admin is invited before the
  // record is written, so a taken email leaves nothing behind; a race for the same id undoes its invite.
  if (await deps.store.tenantInUse(body.id)) throw new AlreadyExists(`Tenant ${body.id} already exists`);
  // Each domain belongs to one tenant: claimed (a conditional write in the registry) before anyone is invited.
  const claimed: string[] = [];
  const release = () => Promise.all(claimed.map((d) => registry.releaseDomain(d, body.id)));
  for (const d of tenant.emailDomains!) {
    const holder = await registry.claimDomain(d, body.id);
    if (holder) {
      await release();
      throw new AlreadyExists(`The email domain '${d}' belongs to another tenant: a domain is one tenant's (its admins alone invite its addresses)`);
    }
    claimed.push(d);
  }
  let first: ManagedUser;
  try {
    first = await admin(deps).create(body.id, body.adminEmail, ['admin']);
  } catch (err) {
    await release();
    throw err;
  }
  try {
    await deps.store.createTenant(tenant, created);
  } catch (err) {
    await admin(deps).remove(body.id, first.id);
    await release();
    if (refusedByStored(err)) throw new AlreadyExists(`Tenant ${body.id} already exists`);
    throw err;
  }
  await deps.store.putMember(memberOf(body.id, first, now.toISOString()), entry(deps, ctx, body.id, 'user.invite', 'user', first.email, null, 'admin'));
  return { tenant, admin: userView(first) };
}
