import { auditEntry } from '../audit/audit.ts';
import { Forbidden, NoAdminLeft, UserNotFound, VersionConflict } from '../kernel/errors.ts';
import type { Ctx, Deps } from '../kernel/deps.ts';
import { retryOnConflict } from '../kernel/retry.ts';
import { hasRole, ROLES, type Principal, type Role } from './auth.ts';
import { groupMapText, normalGroupMap, type GroupMapEntry, type GroupMapping, type GroupMappingBody } from './group-mapping.ts';
import { checkBindings, grantsAdmin, keepsAdmin, rightsIn, type Binding, type Bindings, type BindingsBody } from './bindings.ts';
import { rightsMatrix, type EnvironmentRights } from './rights.ts';
import { scimGroupsOf } from './scim.ts';

/** GET /access/bindings: the tenant's bindings and their version (0: none saved yet). */
export async function listBindings(deps: Deps, ctx: Ctx): Promise<Bindings> {
  const stored = await deps.store.getBindings(ctx.principal.tenant);
  return { bindings: stored?.bindings ?? [], version: stored?.version ?? 0 };
}

/**
 * 409 when bindings `next` would leave the tenant no admin: the caller is no admin by their token or a `*`
 * binding, no binding grants admin tenant-wide, and no one in the people index holds the admin role.
 */
export async function assertAdminLeft(deps: Deps, ctx: Ctx, next: readonly Binding[]): Promise<void> {
  if (keepsAdmin(ctx.principal, next) || grantsAdmin(next)) return;
  if ((await deps.store.listMembers(ctx.principal.tenant)).some((m) => hasRole(m, 'admin'))) return;
  throw new NoAdminLeft('This change would leave the tenant with no admin: keep an admin binding for * (or make someone admin first)', { field: 'bindings' });
}

/** One line per binding, for the audit's before/after: who, role, where. */
export const bindingsText = (list: readonly Binding[]) =>
  list.map((b) => `${b.user !== undefined ? `user:${b.user}` : `group:${b.group}`} ${b.role} in ${b.environments.join(',')}`).join('\n') || '(none)';

/**
 * Replaces the tenant's bindings (admin): every environment a binding names must exist (400 naming the
 * field); 409 on a stale version, and when the change would leave the tenant no admin (none in its
 * people index, none by a `*` binding, and the caller not one either). Audited with before and after.
 */
export async function putBindings(deps: Deps, ctx: Ctx, body: BindingsBody): Promise<Bindings> {
  const { tenant } = ctx.principal;
  return retryOnConflict(deps.tunables, async () => {
    const [stored, envs] = await Promise.all([deps.store.getBindings(tenant), deps.store.listEnvironments(tenant)]);
    const current = stored?.version ?? 0;
    if (body.version !== undefined && body.version !== current)
      throw new VersionConflict(`The bindings are at version ${current}, not ${body.version}; read them again and reapply your change`, {
        currentVersion: current,
      });
    const next = checkBindings(
      body.bindings as Binding[],
      envs.map((e) => e.name),
    );
    await assertAdminLeft(deps, ctx, next);
    await deps.store.commit(tenant, [
      { kind: 'accessBindings', bindings: next, expectedVersion: stored ? stored.version : null },
      {
        kind: 'audit',
        entry: auditEntry(
          tenant,
          {
            actor: ctx.principal.id,
            actorName: ctx.principal.name,
            action: 'access.bindings.put',
            entityType: 'tenant',
            entityId: 'access-bindings',
            before: stored ? bindingsText(stored.bindings) : null,
            after: bindingsText(next),
            requestId: ctx.requestId,
          },
          deps.clock(),
        ),
      },
    ]);
    return { bindings: next, version: current + 1 };
  });
}

/**
 * The caller's rights in one environment, for the paths that reach the use cases without the route table
 * (the review link, Slack): as the HTTP handler decides (functions/http/authorize.ts), the token's roles
 * when they already hold `needed`, else the union with their bindings there (one read of the bindings item).
 */
export async function principalIn(deps: Pick<Deps, 'store'>, principal: Principal, environment: string, needed: Role): Promise<Principal> {
  if (hasRole(principal, needed)) return principal;
  const bindings = (await deps.store.getBindings(principal.tenant))?.bindings ?? [];
  const rights = rightsIn(principal, bindings, environment);
  return { ...principal, roles: rights.roles, tokenRoles: principal.roles, breakGlass: rights.breakGlass, rightsIn: environment, grants: rights.via };
}

/** GET /access/rights: whose rights, the roles and groups counted, and the matrix (domain/access/rights.ts). */
export interface RightsAnswer {
  user: { id: string; email: string };
  /** the roles held tenant-wide: the caller's token's; another person's in the people index */
  roles: Role[];
  /** the groups their group bindings are matched against: the caller's token's; another person's SCIM groups */
  groups: string[];
  environments: EnvironmentRights[];
}

/**
 * A person's effective rights in every environment of the tenant, each with the roles and bindings that grant it.
 * Anyone bound somewhere asks for their own (no `user`, or their own id or email); only an admin tenant-wide (by
 * token or a `*` binding) asks for another's (403 otherwise, naming `user`), who must be a person of the tenant
 * or named by a binding (404 otherwise).
 */
export async function effectiveRights(deps: Deps, ctx: Ctx, user?: string): Promise<RightsAnswer> {
  const me = ctx.principal;
  const { tenant } = me;
  const [stored, envs] = await Promise.all([deps.store.getBindings(tenant), deps.store.listEnvironments(tenant)]);
  const bindings = stored?.bindings ?? [];
  const environments = [...envs].sort((a, b) => a.position - b.position || (a.name < b.name ? -1 : 1)).map((e) => e.name);
  const self = { id: me.id, name: me.name, roles: me.tokenRoles ?? me.roles, groups: me.groups ?? [] };
  const asked = user?.trim().toLowerCase();
  let who = self;
  if (asked && asked !== me.id.toLowerCase() && asked !== me.name.toLowerCase()) {
    if (!rightsIn(self, bindings, null).roles.includes('admin'))
      throw new Forbidden("Only an admin sees another person's rights: leave out `user` to see your own", { field: 'query.user' });
    const member = (await deps.store.listMembers(tenant)).find((m) => m.id === asked || m.email.toLowerCase() === asked);
    if (member) who = { id: member.id, name: member.email.toLowerCase(), roles: member.roles, groups: await scimGroupsOf(deps, tenant, member.id) };
    else if (bindings.some((b) => b.user === asked)) who = { id: asked, name: asked, roles: [], groups: [] };
    else throw new UserNotFound(`'${user!.trim()}'`);
  }
  return {
    user: { id: who.id, email: who.name },
    roles: [...who.roles],
    groups: who.groups.filter((g) => !(ROLES as readonly string[]).includes(g)),
    environments: rightsMatrix(who, bindings, environments),
  };
}

/** GET /access/group-mapping: the tenant's IdP group mapping and its version (0: none saved yet). */
export async function getGroupMap(deps: Pick<Deps, 'store'>, ctx: Ctx): Promise<GroupMapping> {
  const stored = await deps.store.getGroupMapping(ctx.principal.tenant);
  return { entries: stored?.entries ?? [], version: stored?.version ?? 0 };
}

/**
 * Replaces the tenant's group mapping (admin): 409 on a stale version; stored in its normal form, audited
 * with before and after. It acts at each person's next token (the pre-token trigger on AWS, the local
 * issuer locally): a token already issued keeps what it carries until it expires (docs/operations/security.md).
 */
export async function putGroupMap(deps: Deps, ctx: Ctx, body: GroupMappingBody): Promise<GroupMapping> {
  const { tenant } = ctx.principal;
  return retryOnConflict(deps.tunables, async () => {
    const stored = await deps.store.getGroupMapping(tenant);
    const current = stored?.version ?? 0;
    if (body.version !== undefined && body.version !== current)
      throw new VersionConflict(`The group mapping is at version ${current}, not ${body.version}; read it again and reapply your change`, {
        currentVersion: current,
      });
    const next = normalGroupMap(body.entries as GroupMapEntry[]);
    await deps.store.commit(tenant, [
      { kind: 'groupMapping', entries: next, expectedVersion: stored ? stored.version : null },
      {
        kind: 'audit',
        entry: auditEntry(
          tenant,
          {
            actor: ctx.principal.id,
            actorName: ctx.principal.name,
            action: 'access.group-mapping.put',
            entityType: 'tenant',
            entityId: 'group-mapping',
            before: stored ? groupMapText(stored.entries) : null,
            after: groupMapText(next),
            requestId: ctx.requestId,
          },
          deps.clock(),
        ),
      },
    ]);
    return { entries: next, version: current + 1 };
  });
}
