import type { GroupsFrom, IdentityProviderConnection } from './federation.ts';
import { claimsFor, MAX_IDP_GROUPS, tenantOfProvider, tokenGroups, type GroupMapEntry } from './group-mapping.ts';
import { uniquesOf, type ScimGroup, type ScimRecord, type ScimStorePort, type ScimUser } from './scim-model.ts';
import type { TenantRepo } from './ports.ts';
import { FederationRefused } from './federation-refused.ts';

/**
 * What a federated sign-in decides, in one pure function that both sides call: on AWS the user pool's
 * pre-token-generation trigger (functions/handlers/pre-token.ts, after Cognito checked the IdP's answer),
 * locally the local issuer's OIDC callback and SAML ACS (local/federation.ts, after they checked it the same
 * way). Each side reads the same facts (the tenant's connection, its group mapping, the SCIM user holding the
 * address) and hands them here; what a token then carries, or why the sign-in is refused, is decided once:
 *
 * - the tenant is the one named by the provider the person came through (t-<tenant>-oidc / -saml), never one
 *   the IdP or the person asserts, and that tenant's stored connection must name that provider;
 * - a SAML assertion comes from the metadata's entity id (on AWS the user pool checks the Response's issuer
 *   against the provider's metadata before the trigger runs: the trigger says so with CHECKED_BY_USER_POOL);
 * - the asserted email is one of the connection's domains: an IdP speaks for the addresses its connection
 *   holds, not for the tenant's other people (a native user's address asserted by the IdP is refused);
 * - a person the tenant's SCIM client deactivated is refused, whatever the IdP says;
 * - groups become roles through the tenant's mapping only (claimsFor), read from the IdP's claim or, when the
 *   connection takes them from SCIM, from the SCIM groups the person is a member of (no size cap on the way).
 */

/** What the decision reads of a stored connection (on AWS the trigger reads these fields of the same item). */
export function connectionFacts(
  c: Pick<IdentityProviderConnection, 'providerName' | 'emailDomains' | 'kind' | 'groupsFrom'> & { saml?: { entityId?: unknown } },
): ConnectionFacts {
  return {
    providerName: c.providerName,
    kind: c.kind,
    emailDomains: Array.isArray(c.emailDomains) ? c.emailDomains : [],
    ...(c.groupsFrom ? { groupsFrom: c.groupsFrom } : {}),
    ...(typeof c.saml?.entityId === 'string' ? { samlEntityId: c.saml.entityId } : {}),
  };
}

/**
 * The record read through the store's ports (the local issuer): the same facts the trigger reads item by item on
 * AWS (functions/adapters/group-mapping-reader.ts), the SCIM user found among the tenant's users by address.
 */
export async function signInRecordOf(
  store: Pick<TenantRepo, 'getGroupMapping'> & Pick<ScimStorePort, 'listScimRecords'>,
  conn: IdentityProviderConnection,
  rawEmail: unknown,
): Promise<SignInRecord> {
  const email = assertedEmail(rawEmail);
  const connection = connectionFacts(conn);
  const [mapping, users] = await Promise.all([
    store.getGroupMapping(conn.tenant),
    email ? store.listScimRecords(conn.tenant, 'User') : Promise.resolve([] as ScimRecord[]),
  ]);
  const user = users.filter((u): u is ScimUser => u.kind === 'User').find((u) => u.email === email);
  let person: SignInRecord['person'] = null;
  if (user) {
    const groups =
      user.active && connection.groupsFrom === 'scim'
        ? (await store.listScimRecords(conn.tenant, 'Group'))
            .filter((g): g is ScimGroup => g.kind === 'Group' && g.members.includes(user.id))
            .flatMap(scimGroupNames)
        : undefined;
    person = { active: user.active, ...(groups ? { groups } : {}) };
  }
  return { connection, mapping: mapping?.entries ?? null, person };
}

export { FederationRefused };

/** The SAML issuer was checked before the decision, by the user pool (AWS), against the same metadata. */
export const CHECKED_BY_USER_POOL = 'checked by the user pool' as const;

/** What a side knows of the connection: its stored item's fields the decision reads. */
export type ConnectionFacts = Pick<IdentityProviderConnection, 'providerName' | 'emailDomains'> & {
  kind?: IdentityProviderConnection['kind'];
  groupsFrom?: GroupsFrom;
  /** a SAML connection's metadata entity id */
  samlEntityId?: string;
};

/** What the IdP (through the user pool or the local issuer) presented. */
export interface SignInAttempt {
  /** the identity provider the person signed in through (the user pool's name for it) */
  provider: string;
  email: unknown;
  /** SAML: the signed assertion's Issuer (null: it names none), or CHECKED_BY_USER_POOL; ignored for OIDC */
  samlIssuer?: string | null | typeof CHECKED_BY_USER_POOL;
  /** the IdP's group claim as it arrived: a list, one value, or nothing */
  claimGroups: unknown;
}

/** The tenant's stored facts about this sign-in, read by the side's adapter. */
export interface SignInRecord {
  /** null: the tenant has no identity provider connected */
  connection: ConnectionFacts | null;
  /** null: no mapping saved yet (nobody gets a role) */
  mapping: readonly GroupMapEntry[] | null;
  /** the tenant's SCIM user whose sign-in address is the asserted one (null: none), with the names of their SCIM groups when the connection takes groups from SCIM */
  person: { active: boolean; groups?: readonly string[] } | null;
}

export interface SignInDecision {
  tenant: string;
  /** lower case, of one of the connection's domains */
  email: string;
  /** the IdP groups the mapping was read with (for the audit entry) */
  idpGroups: string[];
  /** the token's groups: roles, then mapped Stageline groups (cognito:groups) */
  groups: string[];
}

/** A group value as a mapping may name it: a string of 1-256 characters (a SAML attribute with one value is a list of one). */
export function groupValues(raw: unknown): string[] {
  const list = raw === undefined || raw === null ? [] : Array.isArray(raw) ? raw : [raw];
  return [...new Set(list.filter((g): g is string => typeof g === 'string' && g.length > 0 && g.length <= 256))].slice(0, MAX_IDP_GROUPS);
}

/** The names a mapping entry may match a SCIM group by: its displayName (Okta, Google) and its externalId (Entra's group object id). */
export function scimGroupNames(g: Pick<ScimGroup, 'displayName' | 'attributes'>): string[] {
  const external = g.attributes?.externalId;
  return [g.displayName, ...(typeof external === 'string' && external ? [external] : [])];
}

/** The SCIM claim that names the user whose sign-in address is `email` (the store's uniqueness claim, keys.scimUnique). */
export const scimEmailClaim = (email: string) => uniquesOf({ kind: 'User', userName: email, email } as ScimUser).at(-1)!;

/** The asserted address, normalized (lower case, trimmed), or null when it is none. */
export function assertedEmail(raw: unknown): string | null {
  const email = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  return /^[^@\s]+@[^@\s]+$/.test(email) ? email : null;
}

/** The one decision of a federated sign-in (see above); FederationRefused saying why when it is refused. */
export function decideSignIn(attempt: SignInAttempt, record: SignInRecord): SignInDecision {
  const { provider } = attempt;
  const tenant = tenantOfProvider(provider);
  if (tenant === null) throw new FederationRefused(`Provider '${provider}' is not a tenant's identity provider (t-<tenant>-oidc or t-<tenant>-saml)`);
  const conn = record.connection;
  if (conn === null) throw new FederationRefused(`Tenant '${tenant}' has no identity provider connected: sign-in through '${provider}' refused`);
  if (conn.providerName !== provider)
    throw new FederationRefused(`Tenant '${tenant}' is connected through '${String(conn.providerName)}', not '${provider}': sign-in refused`);
  if (provider.endsWith('-saml') && attempt.samlIssuer !== CHECKED_BY_USER_POOL) {
    if (!attempt.samlIssuer) throw new FederationRefused('the SAML assertion names no Issuer: it must come from the entity of the metadata');
    if (attempt.samlIssuer !== conn.samlEntityId)
      throw new FederationRefused(`the SAML assertion's Issuer is ${attempt.samlIssuer}, not the metadata's entity ${String(conn.samlEntityId)}`);
  }
  const email = assertedEmail(attempt.email);
  if (!email) throw new FederationRefused('the identity provider sent no email address');
  const domain = email.slice(email.lastIndexOf('@') + 1);
  const domains = Array.isArray(conn.emailDomains) ? conn.emailDomains : [];
  if (!domains.includes(domain))
    throw new FederationRefused(
      `${domain} is not an email domain of this connection (${domains.join(', ') || 'none'}): the identity provider cannot sign in its addresses here`,
    );
  if (record.person && !record.person.active)
    throw new FederationRefused(`${email} was deprovisioned by the tenant's SCIM client: an admin or the identity provider activates them again`);
  const idpGroups = conn.groupsFrom === 'scim' ? groupValues(record.person?.groups ?? []) : groupValues(attempt.claimGroups);
  return { tenant, email, idpGroups, groups: tokenGroups(claimsFor(record.mapping ?? [], idpGroups)) };
}
