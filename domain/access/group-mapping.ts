import * as z from '../kernel/zod.ts';
import { Forbidden } from '../kernel/errors.ts';
import { PLATFORM_GROUP, ROLES, type Role } from './auth.ts';

/**
 * Groups become roles: the tenant's group mapping turns the raw group values its identity provider
 * sends (an Entra object id, an Okta group name, a SAML attribute value) into what a Stageline token
 * carries: tenant-wide roles, and Stageline groups that role bindings (bindings.ts) can name. One pure
 * function, claimsFor, that a federated sign-in's decision applies (decideSignIn, sign-in.ts: the Cognito
 * pre-token-generation trigger and the local issuer both call it), so both sign the same token. Only what an entry maps is
 * granted: an IdP group no entry names grants nothing, whatever it is called (a role's name included).
 */

/** The most entries a tenant's mapping holds (it is one item, read whole by the trigger on every token). */
export const MAX_GROUP_MAP_ENTRIES = 200;
/** The most IdP groups read from one token's claim (the rest are ignored: they could only be unmapped or repeated). */
export const MAX_IDP_GROUPS = 500;

export interface GroupMapEntry {
  /** the group exactly as the identity provider sends it (case and spaces kept) */
  idpGroup: string;
  /** the Stageline group its members are in (bindings name it) */
  group?: string;
  /** tenant-wide roles its members hold */
  roles?: Role[];
}

export interface GroupMapping {
  entries: GroupMapEntry[];
  /** the version of the tenant's mapping item (0: none saved yet) */
  version: number;
}

/** What a token carries for the IdP groups: tenant-wide roles, and the Stageline groups bindings name. */
export interface MappedClaims {
  groups: string[];
  roles: Role[];
}

/** Group names a mapping may not hand out: they are roles, or the platform operators' group, and a token's groups claim would grant them. */
const RESERVED_GROUPS = new Set<string>([...ROLES, PLATFORM_GROUP]);

/** One entry of the mapping (PUT /access/group-mapping's entries, the manifest's group_mapping). */
export const groupMapEntry = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      idpGroup: z
        .string()
        .check(
          z.minLength(1),
          z.maxLength(256),
          z.describe('the group as the identity provider sends it (an Entra object id, an Okta group name), matched exactly'),
        ),
      group: z.optional(
        z.string().check(
          z.minLength(1),
          z.maxLength(128),
          z.regex(/^\S+$/, 'must not contain white space'),
          z.refine((g) => !RESERVED_GROUPS.has(g.toLowerCase()), {
            message: `must not be a role or '${PLATFORM_GROUP}': map to a role with roles, not group`,
          }),
          z.describe('the Stageline group its members are in (role bindings name it)'),
        ),
      ),
      roles: z.optional(z.array(z.enum(ROLES)).check(z.minLength(1), z.maxLength(ROLES.length), z.describe('tenant-wide roles its members hold'))),
    })
    .check(
      z.superRefine((e, ctx) => {
        if (e.group === undefined && e.roles === undefined)
          ctx.addIssue({ code: 'custom', path: ['group'], message: 'map the IdP group to something: a group (for bindings), roles, or both' });
      }),
    ),
);

/** PUT /access/group-mapping (the manifest's `group_mapping` is its entries): the whole list; `version` the version read (0: none yet). */
export const groupMappingBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    entries: z.array(groupMapEntry).check(z.maxLength(MAX_GROUP_MAP_ENTRIES)),
    version: z
      .optional(z.number().check(z.int(), z.minimum(0)))
      .check(z.describe('the version of the mapping you read (GET answers it; 0: none yet): 409 when it changed since; left out: the latest')),
  }),
);
export type GroupMappingBody = z.infer<typeof groupMappingBody>;

const rolesIn = (have: Iterable<Role>) => {
  const set = new Set(have);
  return ROLES.filter((r) => set.has(r));
};

/** One entry per IdP group and Stageline group (roles merged), sorted: what is stored, exported and compared. */
export function normalGroupMap(list: readonly GroupMapEntry[]): GroupMapEntry[] {
  const merged = new Map<string, { idpGroup: string; group?: string; roles: Set<Role> }>();
  for (const e of list) {
    const k = JSON.stringify([e.idpGroup, e.group ?? null]);
    const had = merged.get(k) ?? { idpGroup: e.idpGroup, ...(e.group !== undefined ? { group: e.group } : {}), roles: new Set<Role>() };
    for (const r of e.roles ?? []) had.roles.add(r);
    merged.set(k, had);
  }
  return [...merged.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, e]) => ({
      idpGroup: e.idpGroup,
      ...(e.group !== undefined ? { group: e.group } : {}),
      ...(e.roles.size ? { roles: rolesIn(e.roles) } : {}),
    }));
}

/**
 * What a token carries for `idpGroups` under the tenant's mapping: the union of what each entry naming
 * one of them maps to (exact match; Sets, never object keys, so `__proto__` is a name like any other).
 */
export function claimsFor(entries: readonly GroupMapEntry[], idpGroups: readonly string[]): MappedClaims {
  const sent = new Set(idpGroups.slice(0, MAX_IDP_GROUPS));
  const groups = new Set<string>();
  const roles = new Set<Role>();
  for (const e of entries) {
    if (!sent.has(e.idpGroup)) continue;
    if (e.group !== undefined && !RESERVED_GROUPS.has(e.group.toLowerCase())) groups.add(e.group);
    for (const r of e.roles ?? []) if ((ROLES as readonly string[]).includes(r)) roles.add(r);
  }
  return { groups: [...groups].sort(), roles: rolesIn(roles) };
}

/** The token's `cognito:groups`: the roles, then the mapped groups. */
export const tokenGroups = (c: MappedClaims): string[] => [...c.roles, ...c.groups];

/** The IdP's groups as the federation passes them (`custom:idp_groups`, a JSON array string): its strings, each once; anything else is none. */
export function parseIdpGroups(raw: unknown): string[] {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return [];
    }
  }
  if (!Array.isArray(value)) return [];
  return [...new Set(value.filter((g): g is string => typeof g === 'string'))].slice(0, MAX_IDP_GROUPS);
}

/** The claim the federation writes the IdP's raw groups to (removed from the token once mapped). */
export const IDP_GROUPS_CLAIM = 'custom:idp_groups';

const PROVIDER = /^t-([A-Za-z0-9][A-Za-z0-9_-]{0,63})-(oidc|saml)$/;

/**
 * The tenant a user pool identity provider belongs to, from its name (`t-<tenant>-oidc` or
 * `t-<tenant>-saml`: one per tenant, named by the platform, never by the IdP); null for any other name.
 */
export function tenantOfProvider(name: string): string | null {
  const m = PROVIDER.exec(name);
  return m ? m[1]! : null;
}

/**
 * The app client's list of identity providers, the one rule every writer of the client follows (the deploy-time
 * writer, functions/handlers/console-callback.ts; a tenant's connection, functions/adapters/cognito-identity-providers.ts):
 * the deployment's own providers from `own` (every name that is no tenant's, COGNITO among them, in their order) and
 * then each tenant provider of `tenants` (names of the user pool's providers, or the client's list with one added or
 * taken away), once each, sorted. A tenant provider only `own` names is not kept: the pool is what says it exists.
 */
export function clientProviders(own: readonly string[], tenants: readonly string[]): string[] {
  return [...new Set(own.filter((p) => tenantOfProvider(p) === null)), ...[...new Set(tenants.filter((p) => tenantOfProvider(p) !== null))].sort()];
}

/** One line per entry, for the audit's before/after. */
export const groupMapText = (list: readonly GroupMapEntry[]) =>
  list
    .map((e) => `${JSON.stringify(e.idpGroup)} -> ${[e.group !== undefined ? `group:${e.group}` : '', ...(e.roles ?? [])].filter(Boolean).join(' ')}`)
    .join('\n') || '(none)';

/**
 * The identity provider a user pool user signed in through: the `identities` attribute Cognito keeps for
 * a federated user (a JSON list; the primary one, else the first), or null for a user of the pool itself.
 */
export function providerOf(identities: string | undefined): string | null {
  if (identities === undefined || identities === '') return null;
  let list: unknown;
  try {
    list = JSON.parse(identities);
  } catch {
    throw new Forbidden('The user pool sent identities that are not a JSON list: sign-in refused');
  }
  if (!Array.isArray(list) || !list.length) throw new Forbidden('The user pool sent identities that are not a JSON list: sign-in refused');
  const named = list.filter((i): i is { providerName: string; primary?: unknown } => typeof (i as { providerName?: unknown })?.providerName === 'string');
  const primary = named.find((i) => String(i.primary) === 'true') ?? named[0];
  if (!primary) throw new Forbidden('The user pool sent identities naming no provider: sign-in refused');
  return primary.providerName;
}
