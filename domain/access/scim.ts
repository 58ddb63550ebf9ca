import { randomBytes, randomUUID } from 'node:crypto';
import { auditEntry } from '../audit/audit.ts';
import { AlreadyExists, RuleViolation, ScimResourceNotFound, Unauthenticated, ValidationFailed } from '../kernel/errors.ts';
import type { Ctx, Deps, With } from '../kernel/deps.ts';
import { retryOnConflict } from '../kernel/retry.ts';
import type { Principal } from './auth.ts';
import { hashSecret, secretMatches } from './app-keys.ts';
import type { ScimGroup, ScimRecord, ScimToken, ScimUser } from './scim-model.ts';
import type { ManagedUser, Member } from './ports.ts';
import { domainOf, memberOf, notBeforeOf } from './users.ts';

/**
 * SCIM 2.0 provisioning (RFC 7643/7644), the rules: a tenant's identity provider creates, changes,
 * deactivates and deletes the tenant's people and groups. The protocol (schemas, filters, PATCH,
 * list and error messages) is the SCIM library's, in functions/http/scim.ts; what a change means
 * for Stageline is here.
 *
 * - The credential is a SCIM token of one purpose: it calls the tenant's /scim/v2 and nothing else,
 *   and no other credential calls /scim/v2. One per tenant, created (or replaced: the previous one
 *   stops at once) by a tenant admin and shown once; the table keeps the SHA-256 of its secret only.
 * - A SCIM user is a person of the tenant: while active, a user of the directory and of the people
 *   index (role viewer until groups map to roles), invited from the tenant's own email domains only.
 *   Deactivating (`active: false`) or deleting them takes their access away the way removing a member
 *   does (domain/access/users.ts): their tokens from before stop counting on every change, they are
 *   signed out everywhere and their account is gone; the SCIM record stays while they are inactive.
 * - A SCIM group has members (SCIM users of the tenant); approval rules that name groups see them
 *   (scimGroupsOf).
 */

export type { ScimGroup, ScimRecord, ScimStorePort, ScimToken, ScimUser } from './scim-model.ts';

export const SCIM_TOKEN_PREFIX = 'scim';
const SECRET = /^[A-Za-z0-9_-]{43}$/;
const TENANT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

const notFound = (kind: ScimRecord['kind'], id: string) => new ScimResourceNotFound(`${kind} ${id} not found`);

// ---------------------------------------------------------------------------------------------
// The token

const mintSecret = () => randomBytes(32).toString('base64url');
export const formatScimToken = (tenant: string, secret: string) => `${SCIM_TOKEN_PREFIX}.${tenant}.${secret}`;

export function parseScimToken(token: string): { tenant: string; secret: string } | null {
  const parts = token.trim().split('.');
  if (parts.length !== 3 || parts[0] !== SCIM_TOKEN_PREFIX) return null;
  const [, tenant, secret] = parts as [string, string, string];
  if (!TENANT.test(tenant) || !SECRET.test(secret)) return null;
  return { tenant, secret };
}

/** What the API shows of the token: never the secret or its hash. */
export const scimTokenView = (t: ScimToken) => ({ tenant: t.tenant, createdAt: t.createdAt, createdBy: t.createdBy, rotatedAt: t.rotatedAt ?? null });

function tokenAudit(ctx: Ctx, tenant: string, action: string, now: Date, before: ScimToken | null, after: ScimToken | null) {
  const facts = (t: ScimToken | null) => (t ? JSON.stringify({ createdAt: t.createdAt, rotatedAt: t.rotatedAt ?? null }) : null);
  return auditEntry(
    tenant,
    {
      actor: ctx.principal.id,
      actorName: ctx.principal.name,
      action,
      entityType: 'scim-token',
      entityId: 'scim',
      before: facts(before),
      after: facts(after),
      requestId: ctx.requestId,
    },
    now,
  );
}

/** Creates the tenant's SCIM token, or replaces it (the previous one stops working at once). Shown once. */
export async function issueScimToken(deps: Deps, ctx: Ctx): Promise<ReturnType<typeof scimTokenView> & { token: string }> {
  const { tenant } = ctx.principal;
  return retryOnConflict(deps.tunables, async () => {
    const current = await deps.store.getScimToken(tenant);
    const now = deps.clock();
    const secret = mintSecret();
    const next: ScimToken = current
      ? { ...current, secrets: [{ hash: hashSecret(secret), createdAt: now.toISOString() }], rotatedAt: now.toISOString(), version: current.version + 1 }
      : {
          tenant,
          secrets: [{ hash: hashSecret(secret), createdAt: now.toISOString() }],
          createdAt: now.toISOString(),
          createdBy: ctx.principal.name,
          version: 1,
        };
    await deps.store.putScimToken(
      next,
      current?.version ?? null,
      tokenAudit(ctx, tenant, current ? 'scim-token.rotate' : 'scim-token.create', now, current, next),
    );
    return { ...scimTokenView(next), token: formatScimToken(tenant, secret) };
  });
}

export async function getScimTokenInfo(deps: Deps, ctx: Ctx) {
  const t = await deps.store.getScimToken(ctx.principal.tenant);
  if (!t) throw new ScimResourceNotFound('This tenant has no SCIM token: POST /api/v1/scim/token creates one');
  return scimTokenView(t);
}

export async function revokeScimToken(deps: Deps, ctx: Ctx): Promise<void> {
  const current = await deps.store.getScimToken(ctx.principal.tenant);
  if (!current) throw new ScimResourceNotFound('This tenant has no SCIM token');
  await deps.store.deleteScimToken(ctx.principal.tenant, tokenAudit(ctx, ctx.principal.tenant, 'scim-token.revoke', deps.clock(), current, null));
}

/** Who calls with a SCIM token: a principal of its tenant with no role (it calls /scim/v2 only). */
export const scimPrincipal = (tenant: string): Principal => ({ tenant, id: 'scim-client', name: 'scim-client', roles: [], kind: 'machine' });

/** Where a SCIM request's token is: `Authorization: Bearer scim.…` only. */
export const presentedScimToken = (headers: Record<string, string | undefined>) => /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '')?.[1] ?? null;

/**
 * Checks a presented SCIM token against the tenant's record (`record` read for the token's tenant).
 * 401 for anything else: no token, not a SCIM token (an app key, a person's ID token), unknown, altered, replaced.
 */
export function checkScimToken(parsed: ReturnType<typeof parseScimToken>, record: ScimToken | null, now: Date): Principal {
  if (!parsed) throw new Unauthenticated('Send the tenant SCIM token: Authorization: Bearer scim.…');
  if (!record || record.tenant !== parsed.tenant || !secretMatches(record, parsed.secret, now))
    throw new Unauthenticated('The SCIM token is not valid (unknown, altered or replaced)');
  return scimPrincipal(record.tenant);
}

// ---------------------------------------------------------------------------------------------
// Users

/** What a SCIM client wrote of a user, after the SCIM schema validated it. */
export interface ScimUserInput {
  userName: string;
  active?: boolean;
  emails?: { value?: string; primary?: boolean }[];
  [attribute: string]: unknown;
}

const READ_ONLY = ['id', 'meta', 'schemas', 'groups', 'password'];
const kept = (input: Record<string, unknown>) => Object.fromEntries(Object.entries(input).filter(([k]) => !READ_ONLY.includes(k) && input[k] !== undefined));

const sameName = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** The address a SCIM user signs in with: the primary (or first) email, else the userName when it is one. */
export function emailOf(input: Pick<ScimUserInput, 'userName' | 'emails'>): string {
  const mails = (input.emails ?? []).filter((e) => typeof e.value === 'string');
  const chosen = (mails.find((e) => e.primary) ?? mails[0])?.value ?? input.userName;
  const address = chosen.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(address))
    throw new ValidationFailed([
      { path: 'body.emails', message: 'give an email address (emails[].value, or a userName that is one): the person signs in with it' },
    ]);
  return address;
}

function userAudit(ctx: Ctx, tenant: string, action: string, now: Date, before: ScimUser | null, after: ScimUser | null) {
  const facts = (u: ScimUser | null) => (u ? JSON.stringify({ userName: u.userName, active: u.active }) : null);
  return auditEntry(
    tenant,
    {
      actor: ctx.principal.id,
      actorName: ctx.principal.name,
      action,
      entityType: 'user',
      entityId: (after ?? before)!.userName,
      before: facts(before),
      after: facts(after),
      requestId: ctx.requestId,
    },
    now,
  );
}

type People = With<'users'>;

/** Gives the person an account and a place in the people index (role viewer), from the tenant's own email domains only. */
async function provision(deps: People, ctx: Ctx, input: ScimUserInput, now: Date): Promise<string> {
  const { tenant } = ctx.principal;
  const email = emailOf(input);
  const record = await deps.store.getTenant(tenant);
  if (!record?.emailDomains?.includes(domainOf(email)))
    throw new ValidationFailed([
      {
        path: 'body.emails',
        message: `must be an address of the tenant's email domains (${record?.emailDomains?.join(', ') || 'none set yet'}); a platform operator sets them`,
      },
    ]);
  let user: ManagedUser;
  try {
    user = await deps.users.create(tenant, email, ['viewer']);
  } catch (err) {
    if (!(err instanceof AlreadyExists)) throw err;
    // A person of this tenant already (invited by an admin): the identity provider takes them over.
    const known = (await deps.store.listMembers(tenant)).find((m) => m.email === email);
    if (!known) throw new AlreadyExists(`${email} already has an account`);
    return known.id;
  }
  await deps.store.putMember(memberOf(tenant, user, now.toISOString()), null);
  return user.id;
}

/**
 * Takes a provisioned person's access away as removing a member does (domain/access/users.ts
 * removeUser): out of the people index with their tokens from before refused on every change, signed
 * out everywhere, account removed. Never the tenant's last admin (409).
 */
async function deprovision(deps: People, ctx: Ctx, memberId: string, user: ScimUser, now: Date): Promise<void> {
  const { tenant } = ctx.principal;
  const audit = userAudit(ctx, tenant, 'scim.user.deprovision', now, user, { ...user, active: false });
  const member: Member | null = await deps.store.getMember(tenant, memberId);
  if (member?.roles.includes('admin')) {
    const admins = (await deps.store.listMembers(tenant)).filter((m) => m.roles.includes('admin') && m.id !== memberId);
    if (admins.length === 0) throw new RuleViolation(`${member.email} is the tenant's last admin: make another user admin first`);
  }
  await deps.store.removeMember(tenant, memberId, audit, notBeforeOf(now));
  await deps.users.signOut(tenant, memberId);
  await deps.users.remove(tenant, memberId);
}

async function loadUser(deps: Deps, tenant: string, id: string): Promise<ScimUser> {
  const r = await deps.store.getScimRecord(tenant, 'User', id);
  if (!r || r.kind !== 'User') throw notFound('User', id);
  return r;
}

export async function listScimUsers(deps: Deps, ctx: Ctx): Promise<ScimUser[]> {
  return (await deps.store.listScimRecords(ctx.principal.tenant, 'User')) as ScimUser[];
}

export const getScimUser = (deps: Deps, ctx: Ctx, id: string) => loadUser(deps, ctx.principal.tenant, id);

async function uniqueUserName(deps: Deps, tenant: string, userName: string, except?: string) {
  const all = (await deps.store.listScimRecords(tenant, 'User')) as ScimUser[];
  if (all.some((u) => u.id !== except && sameName(u.userName, userName))) throw new AlreadyExists(`A user with userName '${userName}' already exists`);
}

export async function createScimUser(deps: People, ctx: Ctx, input: ScimUserInput): Promise<ScimUser> {
  const { tenant } = ctx.principal;
  await uniqueUserName(deps, tenant, input.userName);
  const now = deps.clock();
  const active = input.active !== false;
  const memberId = active ? await provision(deps, ctx, input, now) : undefined;
  const user: ScimUser = {
    tenant,
    kind: 'User',
    id: randomUUID(),
    userName: input.userName,
    active,
    ...(memberId ? { memberId } : {}),
    attributes: kept(input),
    created: now.toISOString(),
    lastModified: now.toISOString(),
    version: 1,
  };
  await deps.store.putScimRecord(user, null, userAudit(ctx, tenant, 'scim.user.create', now, null, user));
  return user;
}

/** Replaces a user's attributes (PUT, and PATCH once applied): `active` moving to false takes their access away, back to true gives it again. */
export async function replaceScimUser(deps: People, ctx: Ctx, id: string, input: ScimUserInput): Promise<ScimUser> {
  const { tenant } = ctx.principal;
  const current = await loadUser(deps, tenant, id);
  if (!sameName(current.userName, input.userName)) await uniqueUserName(deps, tenant, input.userName, id);
  const now = deps.clock();
  const active = input.active ?? current.active;
  let memberId = current.memberId;
  const next: ScimUser = {
    ...current,
    userName: input.userName,
    active,
    attributes: kept(input),
    lastModified: now.toISOString(),
    version: current.version + 1,
  };
  const audit = userAudit(
    ctx,
    tenant,
    active === current.active ? 'scim.user.update' : active ? 'scim.user.activate' : 'scim.user.deactivate',
    now,
    current,
    next,
  );
  if (current.active && !active && memberId) {
    await deprovision(deps, ctx, memberId, current, now);
    memberId = undefined;
  } else if (!current.active && active) memberId = await provision(deps, ctx, input, now);
  const { memberId: _old, ...rest } = next;
  const saved: ScimUser = { ...rest, ...(memberId ? { memberId } : {}) };
  await deps.store.putScimRecord(saved, current.version, audit);
  return saved;
}

/** Deletes a user: their access goes as a removed member's does, and they leave every group. */
export async function deleteScimUser(deps: People, ctx: Ctx, id: string): Promise<void> {
  const { tenant } = ctx.principal;
  const current = await loadUser(deps, tenant, id);
  const now = deps.clock();
  const audit = userAudit(ctx, tenant, 'scim.user.delete', now, current, null);
  if (current.active && current.memberId) await deprovision(deps, ctx, current.memberId, current, now);
  for (const g of (await deps.store.listScimRecords(tenant, 'Group')) as ScimGroup[]) {
    if (g.members.includes(id)) await saveGroup(deps, ctx, g, { ...g, members: g.members.filter((m) => m !== id) }, 'scim.group.update');
  }
  await deps.store.deleteScimRecord(current, audit);
}

// ---------------------------------------------------------------------------------------------
// Groups

export interface ScimGroupInput {
  displayName: string;
  members?: { value?: string }[];
  [attribute: string]: unknown;
}

function groupAudit(ctx: Ctx, g: ScimGroup, action: string, before: ScimGroup | null, after: ScimGroup | null, now: Date) {
  const facts = (x: ScimGroup | null) => (x ? JSON.stringify({ displayName: x.displayName, members: x.members.length }) : null);
  return auditEntry(
    g.tenant,
    {
      actor: ctx.principal.id,
      actorName: ctx.principal.name,
      action,
      entityType: 'scim-group',
      entityId: g.id,
      before: facts(before),
      after: facts(after),
      requestId: ctx.requestId,
    },
    now,
  );
}

async function loadGroup(deps: Deps, tenant: string, id: string): Promise<ScimGroup> {
  const r = await deps.store.getScimRecord(tenant, 'Group', id);
  if (!r || r.kind !== 'Group') throw notFound('Group', id);
  return r;
}

/** The members a client names: SCIM users of this tenant only (400 naming the ones that are not). */
async function membersOf(deps: Deps, tenant: string, input: ScimGroupInput): Promise<string[]> {
  const wanted = [...new Set((input.members ?? []).map((m) => m.value).filter((v): v is string => typeof v === 'string'))];
  const users = new Set(((await deps.store.listScimRecords(tenant, 'User')) as ScimUser[]).map((u) => u.id));
  const unknown = wanted.filter((v) => !users.has(v));
  if (unknown.length) throw new ValidationFailed([{ path: 'body.members', message: `not users of this tenant: ${unknown.join(', ')}` }]);
  return wanted;
}

async function uniqueGroupName(deps: Deps, tenant: string, displayName: string, except?: string) {
  const all = (await deps.store.listScimRecords(tenant, 'Group')) as ScimGroup[];
  if (all.some((g) => g.id !== except && sameName(g.displayName, displayName))) throw new AlreadyExists(`A group named '${displayName}' already exists`);
}

export async function listScimGroups(deps: Deps, ctx: Ctx): Promise<ScimGroup[]> {
  return (await deps.store.listScimRecords(ctx.principal.tenant, 'Group')) as ScimGroup[];
}

export const getScimGroup = (deps: Deps, ctx: Ctx, id: string) => loadGroup(deps, ctx.principal.tenant, id);

export async function createScimGroup(deps: Deps, ctx: Ctx, input: ScimGroupInput): Promise<ScimGroup> {
  const { tenant } = ctx.principal;
  await uniqueGroupName(deps, tenant, input.displayName);
  const now = deps.clock();
  const { members: _m, ...rest } = input;
  const group: ScimGroup = {
    tenant,
    kind: 'Group',
    id: randomUUID(),
    displayName: input.displayName,
    members: await membersOf(deps, tenant, input),
    attributes: kept(rest),
    created: now.toISOString(),
    lastModified: now.toISOString(),
    version: 1,
  };
  await deps.store.putScimRecord(group, null, groupAudit(ctx, group, 'scim.group.create', null, group, now));
  return group;
}

async function saveGroup(deps: Deps, ctx: Ctx, current: ScimGroup, next: ScimGroup, action: string): Promise<ScimGroup> {
  const now = deps.clock();
  const saved = { ...next, lastModified: now.toISOString(), version: current.version + 1 };
  await deps.store.putScimRecord(saved, current.version, groupAudit(ctx, saved, action, current, saved, now));
  return saved;
}

export async function replaceScimGroup(deps: Deps, ctx: Ctx, id: string, input: ScimGroupInput): Promise<ScimGroup> {
  const { tenant } = ctx.principal;
  const current = await loadGroup(deps, tenant, id);
  if (!sameName(current.displayName, input.displayName)) await uniqueGroupName(deps, tenant, input.displayName, id);
  const { members: _m, ...rest } = input;
  const members = await membersOf(deps, tenant, input);
  return saveGroup(deps, ctx, current, { ...current, displayName: input.displayName, members, attributes: kept(rest) }, 'scim.group.update');
}

export async function deleteScimGroup(deps: Deps, ctx: Ctx, id: string): Promise<void> {
  const current = await loadGroup(deps, ctx.principal.tenant, id);
  await deps.store.deleteScimRecord(current, groupAudit(ctx, current, 'scim.group.delete', current, null, deps.clock()));
}

/**
 * The names of the SCIM groups a person of the tenant is in (by their directory id): what approval
 * rules that name groups see beside the groups of the person's token. An inactive user is in none.
 */
export async function scimGroupsOf(deps: Deps, tenant: string, memberId: string): Promise<string[]> {
  const users = ((await deps.store.listScimRecords(tenant, 'User')) as ScimUser[]).filter((u) => u.active && u.memberId === memberId);
  if (!users.length) return [];
  const ids = new Set(users.map((u) => u.id));
  return ((await deps.store.listScimRecords(tenant, 'Group')) as ScimGroup[]).filter((g) => g.members.some((m) => ids.has(m))).map((g) => g.displayName);
}

/**
 * Whether a person is in one of `groups` by the tenant's SCIM groups: what an approval rule naming a
 * group asks when the person's token does not already say so (domain/promotion/decide). Machines are in none.
 */
export async function inScimGroups(deps: Deps, principal: Principal, groups: string[]): Promise<boolean> {
  if (principal.kind !== 'user' || !groups.length) return false;
  const mine = await scimGroupsOf(deps, principal.tenant, principal.id);
  return groups.some((g) => mine.includes(g));
}
