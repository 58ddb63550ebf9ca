import { randomBytes, randomUUID } from 'node:crypto';
import { auditEntry } from '../audit/audit.ts';
import { AlreadyExists, RuleViolation, ScimResourceNotFound, Unauthenticated, ValidationFailed } from '../kernel/errors.ts';
import type { Ctx, Deps, With } from '../kernel/deps.ts';
import { retryOnConflict, WriteConflict } from '../kernel/retry.ts';
import type { Principal } from './auth.ts';
import { hashSecret, secretMatches } from './app-keys.ts';
import { addressOf, uniquesOf, type ScimGroup, type ScimRecord, type ScimToken, type ScimUser } from './scim-model.ts';
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

/**
 * The token's id: what names it in the audit trail (`scim:<id>`), shown with it. The first 12 hex digits of the SHA-256
 * of its 256-bit secret: it changes with each replacement and says nothing of the secret.
 */
export const scimTokenId = (t: ScimToken) => t.secrets[0]!.hash.slice(0, 12);

/** What the API shows of the token: its id, never the secret or its hash. */
export const scimTokenView = (t: ScimToken) => ({
  id: scimTokenId(t),
  tenant: t.tenant,
  createdAt: t.createdAt,
  createdBy: t.createdBy,
  rotatedAt: t.rotatedAt ?? null,
});

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

/** Who calls with a SCIM token: the SCIM client `scim:<token id>`, a principal of its tenant with no role (it calls /scim/v2 only). */
export const scimPrincipal = (tenant: string, tokenId: string): Principal => ({
  tenant,
  id: `scim:${tokenId}`,
  name: `scim:${tokenId}`,
  roles: [],
  kind: 'machine',
});

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
  return scimPrincipal(record.tenant, scimTokenId(record));
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

/** The address a SCIM user signs in with: the primary (or first) email, else the userName when it is one (400 when none is an address). */
export function emailOf(input: Pick<ScimUserInput, 'userName' | 'emails'>): string {
  const address = addressOf(input);
  if (address === null)
    throw new ValidationFailed([
      { path: 'body.emails', message: 'give an email address (emails[].value, or a userName that is one): the person signs in with it' },
    ]);
  return address;
}

function userAudit(ctx: Ctx, tenant: string, action: string, now: Date, before: ScimUser | null, after: ScimUser | null) {
  // What the identity provider set (passwords are never kept: READ_ONLY), and what it means here.
  const facts = (u: ScimUser | null) =>
    u ? JSON.stringify({ userName: u.userName, active: u.active, email: u.email ?? null, account: u.memberId ?? null, ...u.attributes }) : null;
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

/**
 * Gives the person an account and a place in the people index (role viewer), from the tenant's own email domains only.
 * Answers their directory id, and whether this call made the account (undone when the record is then refused).
 */
async function provision(deps: People, ctx: Ctx, input: ScimUserInput, now: Date, self?: string): Promise<{ id: string; made: boolean }> {
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
    // Never one another SCIM user is linked to: an identity provider's user renamed to someone's address does not take their account.
    const known = (await deps.store.listMembers(tenant)).find((m) => m.email === email);
    if (!known) throw new AlreadyExists(`${email} already has an account`);
    const linked = (await listScimUsers(deps, ctx)).find((u) => u.id !== self && u.memberId === known.id);
    if (linked) throw new AlreadyExists(`The email ${email} is already the sign-in address of SCIM user ${linked.id}`);
    return { id: known.id, made: false };
  }
  await deps.store.putMember(memberOf(tenant, user, now.toISOString()), null);
  return { id: user.id, made: true };
}

/** Takes back an account provisioning made for a record the store then refused (another took its name or address at that moment). */
async function unprovision(deps: People, ctx: Ctx, user: ScimUser, memberId: string, now: Date): Promise<void> {
  const audit = userAudit(ctx, user.tenant, 'scim.user.create-undone', now, null, user);
  await deps.store.removeMember(user.tenant, memberId, audit, notBeforeOf(now));
  await deps.users.remove(user.tenant, memberId);
}

/** A claim another record holds (its userName, its address, a group's name): the SCIM uniqueness error. */
async function claimed<T>(what: string, write: () => Promise<T>, undo?: () => Promise<void>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (!(err instanceof WriteConflict) || err.reason === 'busy') throw err;
    await undo?.();
    if (err.reason === 'exists') throw new AlreadyExists(`${what} already belongs to another one (names and email addresses are unique, in any case)`);
    throw err;
  }
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

/**
 * The record named `name` (a user's userName, a group's displayName; any case), by its claim: two items read, not the
 * tenant's records. Null while the tenant's records do not all hold their claims yet (claimsReady): then read them all.
 */
async function namedByClaim(deps: Deps, tenant: string, kind: ScimRecord['kind'], name: string): Promise<ScimRecord[] | null> {
  if (!(await deps.store.scimClaimsComplete(tenant))) return null;
  const [claim] = uniquesOf((kind === 'User' ? { kind, userName: name } : { kind, displayName: name }) as ScimRecord);
  const [holder] = await deps.store.scimClaimHolders(tenant, [claim!]);
  const record = holder ? await deps.store.getScimRecord(tenant, kind, holder) : null;
  return record ? [record] : [];
}

/** The users whose userName is `userName` (any case): what an identity provider asks before it creates one. */
export const findScimUsers = (deps: Deps, ctx: Ctx, userName: string) =>
  namedByClaim(deps, ctx.principal.tenant, 'User', userName) as Promise<ScimUser[] | null>;

export async function listScimUsers(deps: Deps, ctx: Ctx): Promise<ScimUser[]> {
  return (await deps.store.listScimRecords(ctx.principal.tenant, 'User')) as ScimUser[];
}

export const getScimUser = (deps: Deps, ctx: Ctx, id: string) => loadUser(deps, ctx.principal.tenant, id);

/**
 * Before a write relies on the claims (scim-model.ts uniquesOf) to keep names and addresses unique: every record of
 * the tenant holds its own. Records written before claims were kept hold none, so the first such write in a tenant
 * gives each record its claims (once, reading every record) and marks the tenant; from then on this reads one item.
 * A claim another record holds already (two old records that shared a value) stays with that one.
 */
async function claimsReady(deps: Deps, tenant: string): Promise<void> {
  if (await deps.store.scimClaimsComplete(tenant)) return;
  for (const kind of ['User', 'Group'] as const) for (const record of await deps.store.listScimRecords(tenant, kind)) await claimOwn(deps, record);
  await deps.store.markScimClaimsComplete(tenant);
}

/** Gives one record its claims, as it is when they are written (a record changed meanwhile is read again; a deleted one needs none). */
async function claimOwn(deps: Deps, read: ScimRecord): Promise<void> {
  let record: ScimRecord | null = read;
  await retryOnConflict(deps.tunables, async () => {
    for (const value of record ? uniquesOf(record) : []) {
      try {
        await deps.store.claimScimValue(record!, value);
      } catch (err) {
        if (err instanceof WriteConflict && err.reason === 'exists') continue;
        if (err instanceof WriteConflict && err.reason === 'version') record = await deps.store.getScimRecord(record!.tenant, record!.kind, record!.id);
        throw err;
      }
    }
  });
}

/** The record holding each value no two records share (its userName, its address, a group's name): one item read each. */
async function holders(deps: Deps, tenant: string, record: Pick<ScimUser, 'kind' | 'userName' | 'email'> | Pick<ScimGroup, 'kind' | 'displayName'>) {
  await claimsReady(deps, tenant);
  return deps.store.scimClaimHolders(tenant, uniquesOf(record as ScimRecord));
}

/**
 * userName and the sign-in address are each one user's, without regard to case (409 uniqueness otherwise): asked of
 * their claims, so a check reads the same few items with 10 users or 10,000. The claims written with the record decide
 * a race; this answers the usual case before an account is made for nothing.
 */
async function uniqueUser(deps: Deps, tenant: string, userName: string, email: string | null, except?: string) {
  const [byName, byMail] = await holders(deps, tenant, { kind: 'User', userName, ...(email ? { email } : {}) });
  if (byName && byName !== except) throw new AlreadyExists(`A user with userName '${userName}' already exists`);
  if (byMail && byMail !== except)
    throw new AlreadyExists(`The email ${email} is already the address of another user (${byMail}): an address names one person`);
}

export async function createScimUser(deps: People, ctx: Ctx, input: ScimUserInput): Promise<ScimUser> {
  const { tenant } = ctx.principal;
  const email = addressOf(input);
  return retryOnConflict(deps.tunables, async () => {
    await uniqueUser(deps, tenant, input.userName, email);
    const now = deps.clock();
    const active = input.active !== false;
    const account = active ? await provision(deps, ctx, input, now) : undefined;
    const user: ScimUser = {
      tenant,
      kind: 'User',
      id: randomUUID(),
      userName: input.userName,
      active,
      ...(account ? { memberId: account.id } : {}),
      ...(email ? { email } : {}),
      attributes: kept(input),
      created: now.toISOString(),
      lastModified: now.toISOString(),
      version: 1,
    };
    await claimed(
      `userName '${input.userName}' or email ${email}`,
      () => deps.store.putScimRecord(user, null, userAudit(ctx, tenant, 'scim.user.create', now, null, user)),
      account?.made ? () => unprovision(deps, ctx, user, account.id, now) : undefined,
    );
    return user;
  });
}

/** Replaces a user's attributes (PUT, and PATCH once applied): `active` moving to false takes their access away, back to true gives it again. */
export async function replaceScimUser(deps: People, ctx: Ctx, id: string, input: ScimUserInput): Promise<ScimUser> {
  const { tenant } = ctx.principal;
  const current = await loadUser(deps, tenant, id);
  const email = addressOf(input);
  await uniqueUser(deps, tenant, input.userName, email, id);
  const now = deps.clock();
  const active = input.active ?? current.active;
  let memberId = current.memberId;
  const { email: _was, ...kept0 } = current;
  const next: ScimUser = {
    ...kept0,
    userName: input.userName,
    active,
    ...(email ? { email } : {}),
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
  } else if (!current.active && active) memberId = (await provision(deps, ctx, input, now, id)).id;
  const { memberId: _old, ...rest } = next;
  const saved: ScimUser = { ...rest, ...(memberId ? { memberId } : {}) };
  await claimed(`userName '${input.userName}' or email ${email}`, () => deps.store.putScimRecord(saved, current.version, audit, current));
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
  const facts = (x: ScimGroup | null) => (x ? JSON.stringify({ displayName: x.displayName, members: x.members, ...x.attributes }) : null);
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
  const [holder] = await holders(deps, tenant, { kind: 'Group', displayName });
  if (holder && holder !== except) throw new AlreadyExists(`A group named '${displayName}' already exists`);
}

/** The groups whose displayName is `displayName` (any case). */
export const findScimGroups = (deps: Deps, ctx: Ctx, displayName: string) =>
  namedByClaim(deps, ctx.principal.tenant, 'Group', displayName) as Promise<ScimGroup[] | null>;

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
  await claimed(`The group name '${input.displayName}'`, () =>
    deps.store.putScimRecord(group, null, groupAudit(ctx, group, 'scim.group.create', null, group, now)),
  );
  return group;
}

async function saveGroup(deps: Deps, ctx: Ctx, current: ScimGroup, next: ScimGroup, action: string): Promise<ScimGroup> {
  const now = deps.clock();
  const saved = { ...next, lastModified: now.toISOString(), version: current.version + 1 };
  await claimed(`The group name '${next.displayName}'`, () =>
    deps.store.putScimRecord(saved, current.version, groupAudit(ctx, saved, action, current, saved, now), current),
  );
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
