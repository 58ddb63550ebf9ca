import { createHash } from 'node:crypto';
import * as z from '../kernel/zod.ts';
import { auditEntry } from '../audit/audit.ts';
import { AlreadyExists, RuleViolation, ValidationFailed, VersionConflict, type Issue } from '../kernel/errors.ts';
import type { Ctx, Deps, With } from '../kernel/deps.ts';
import type { AuditEntry } from '../kernel/model.ts';
import { WriteConflict } from '../kernel/retry.ts';
import { isPublicMailDomain } from './public-domains.ts';
import { FederationRefused } from './federation-refused.ts';

/**
 * Federation: a tenant signs in through its company's identity provider, OpenID Connect or SAML 2.0.
 * The tenant's admin connects it (one connection per tenant) with the email domains whose people sign
 * in there; each domain is one tenant's (the same registry of domain claims tenants are created with,
 * a conditional write), so no tenant can route another's people to its own IdP. On AWS the connection
 * is the user pool's identity provider named for the tenant (providerName), so no tenant can take
 * another's; locally the local issuer federates to it the same way (local/federation.ts).
 *
 * Whoever signs in through a connection belongs to the connection's tenant: the tenant comes from the
 * connection that authenticated them, never from anything the person or the IdP asserts. What a
 * sign-in decides (the tenant, the email's domain, the SAML issuer, deprovisioned people, groups to
 * roles) is one pure function both sides call: decideSignIn, domain/access/sign-in.ts. A raw IdP group
 * is never a role by itself.
 */

export const IDP_KINDS = ['oidc', 'saml'] as const;
export type IdpKind = (typeof IDP_KINDS)[number];

/** The group claim (OIDC) or attribute (SAML) read when the connection names none. */
export const DEFAULT_GROUPS_CLAIM = 'groups';
/** The claim that carries the IdP's raw groups into the token (a Cognito custom attribute: a string, here a JSON array). */
export const IDP_GROUPS_CLAIM = 'custom:idp_groups';
/** The secret purpose the OIDC client secret is stored under (Secrets Manager stageline/<tenant>/idp-client-secret/<NAME>). */
export const IDP_SECRET_PURPOSE = 'idp-client-secret' as const;
/**
 * Where a connection's sign-ins read the person's groups: the IdP's group claim (`claim`, carried on AWS in the
 * user pool attribute custom:idp_groups, 2,048 characters at most: 52 Entra group ids), or the SCIM groups
 * the tenant's SCIM client put the person in (`scim`: the claim is not mapped, so no cap on the way).
 */
export const GROUPS_FROM = ['claim', 'scim'] as const;
export type GroupsFrom = (typeof GROUPS_FROM)[number];
/** The most characters Cognito keeps in a custom attribute: the groups claim must fit in it (its JSON text) when groups come from the claim. */
export const IDP_GROUPS_ATTRIBUTE_MAX = 2048;

export interface OidcSettings {
  issuer: string;
  clientId: string;
  /** the secret's name (never its value): stageline/<tenant>/idp-client-secret/<NAME> */
  clientSecret: string;
}

export interface SamlSettings {
  /** where the metadata was read from, when given as a URL */
  metadataUrl?: string;
  /** the metadata document (read from the URL at save, or given) */
  metadataXml: string;
  /** read from the metadata */
  entityId: string;
  ssoUrl: string;
}

export interface IdentityProviderConnection {
  tenant: string;
  kind: IdpKind;
  /** the user pool identity provider's name: one per tenant and kind, derived from the tenant id alone */
  providerName: string;
  oidc?: OidcSettings;
  saml?: SamlSettings;
  /** lower case; each claimed for this tenant */
  emailDomains: string[];
  groupsClaim: string;
  /** where sign-ins read the groups from (left out: the claim) */
  groupsFrom?: GroupsFrom;
  version: number;
  updatedAt: string;
  updatedBy: string;
}

/** The store's part (TenantRepo): one item per tenant, written with its audit entry. */
export interface IdentityProviderRepo {
  getIdentityProvider(tenant: string): Promise<IdentityProviderConnection | null>;
  /** Creates (expectedVersion null) or replaces the tenant's connection, with its audit entry; WriteConflict when the version moved. */
  putIdentityProvider(conn: IdentityProviderConnection, expectedVersion: number | null, audit: AuditEntry): Promise<void>;
  deleteIdentityProvider(conn: IdentityProviderConnection, audit: AuditEntry): Promise<void>;
  /** The tenant that holds an email domain, or null. */
  domainHolder(domain: string): Promise<string | null>;
}

/** What a connection's metadata says, once read through the outbound rules (functions/adapters/federation.ts). */
export interface CheckedProvider {
  saml?: Pick<SamlSettings, 'metadataXml' | 'entityId' | 'ssoUrl'>;
}

/**
 * The identity provider port: checks a connection before it is saved (the OIDC discovery document,
 * the SAML metadata, read through the outbound rules; ValidationFailed naming the field when it does
 * not parse or cannot be reached), and keeps the user pool's identity provider in step on AWS.
 */
export interface IdentityProviders {
  check(
    conn: Pick<IdentityProviderConnection, 'kind' | 'oidc' | 'tenant'> & { saml?: { metadataUrl?: string; metadataXml?: string } },
  ): Promise<CheckedProvider>;
  /** Creates or updates the user pool's identity provider (and the app client's list); locally nothing. */
  sync(conn: IdentityProviderConnection, clientSecret: string | null): Promise<void>;
  remove(conn: IdentityProviderConnection): Promise<void>;
}

declare module '../kernel/deps.ts' {
  interface Ports {
    identityProviders: IdentityProviders;
  }
}

/** The user pool identity provider's name for a tenant: `t-<tenant>-oidc` / `t-<tenant>-saml` (tenant ids are unique, so names are). */
export const providerName = (tenant: string, kind: IdpKind) => `t-${tenant}-${kind}`;

const DOMAIN = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
const secretName = /* @__PURE__ */ z.schema(() =>
  z.string().check(z.regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'must be a secret name (A-Z, 0-9, _), e.g. IDP_CLIENT_SECRET')),
);
const httpsUrl = (what: string) =>
  z.string().check(
    z.trim(),
    z.maxLength(2048),
    z.refine((s) => {
      try {
        const u = new URL(s);
        return (u.protocol === 'https:' || u.protocol === 'http:') && !u.username && !u.password && !u.hash;
      } catch {
        return false;
      }
    }, `must be the ${what} URL (https, no credentials, no fragment)`),
  );

export const identityProviderBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    kind: z.enum(IDP_KINDS).check(z.describe('oidc: OpenID Connect; saml: SAML 2.0')),
    oidc: z.optional(
      z.strictObject({
        issuer: httpsUrl('issuer').check(z.describe("the IdP's issuer: its discovery document is <issuer>/.well-known/openid-configuration, read at save")),
        clientId: z.string().check(z.trim(), z.minLength(1), z.maxLength(256), z.describe('the client (application) id registered at the IdP')),
        clientSecret: z.optional(
          secretName.check(
            z.describe(
              'the NAME of the tenant secret holding the client secret (never the secret): Secrets Manager stageline/<tenant>/idp-client-secret/<NAME> on AWS, STAGELINE_SECRET_<TENANT>__IDP_CLIENT_SECRET__<NAME> locally; left out: the stored one stays',
            ),
          ),
        ),
      }),
    ),
    saml: z.optional(
      z.strictObject({
        metadataUrl: z.optional(httpsUrl('metadata').check(z.describe("the IdP's SAML metadata URL, read at save (and the document kept)"))),
        metadataXml: z.optional(z.string().check(z.maxLength(200_000), z.describe("the IdP's SAML metadata document (XML), when there is no URL"))),
        entityId: z.optional(z.string().check(z.describe('read-only: read from the metadata (a GET answer sent back is accepted)'))),
        ssoUrl: z.optional(z.string().check(z.describe('read-only: read from the metadata (a GET answer sent back is accepted)'))),
      }),
    ),
    emailDomains: z
      .array(
        z.string().check(
          z.trim(),
          z.toLowerCase(),
          // The user pool routes a sign-in by its provider's identifiers (idp_identifier), each at most 40 characters.
          z.maxLength(40, "must be at most 40 characters (the user pool's limit for an identity provider's identifiers)"),
          z.regex(DOMAIN, 'must be a domain name such as example.com'),
        ),
      )
      .check(
        z.minLength(1, 'give the email domains whose people sign in through this IdP'),
        z.maxLength(20),
        z.refine((d) => new Set(d).size === d.length, 'each domain once'),
        z.describe("the email domains whose people sign in through this IdP: each one this tenant's alone (409 naming a domain another tenant holds)"),
      ),
    groupsClaim: z.optional(
      z
        .string()
        .check(
          z.trim(),
          z.minLength(1),
          z.maxLength(256),
          z.describe(`the OIDC claim or SAML attribute that lists the user's groups (default ${DEFAULT_GROUPS_CLAIM})`),
        ),
    ),
    groupsFrom: z.optional(
      z
        .enum(GROUPS_FROM)
        .check(
          z.describe(
            `where sign-ins read the person's groups for the group mapping: claim (the groups claim; on AWS it must fit the user pool's ${IDP_GROUPS_ATTRIBUTE_MAX}-character attribute, 52 Entra group ids) or scim (the SCIM groups the tenant's SCIM client put the person in: no such limit); left out: as stored (claim)`,
          ),
        ),
    ),
    version: z.optional(z.number().check(z.int(), z.minimum(0), z.describe('the version you read (0: none yet): 409 when it changed since'))),
    providerName: z.optional(z.string().check(z.maxLength(64), z.describe('read-only: named by the platform (a GET answer sent back is accepted)'))),
    updatedAt: z.optional(z.string().check(z.maxLength(64), z.describe('read-only (a GET answer sent back is accepted)'))),
    updatedBy: z.optional(z.string().check(z.maxLength(320), z.describe('read-only (a GET answer sent back is accepted)'))),
  }),
);
export type IdentityProviderBody = z.infer<typeof identityProviderBody>;

/** What the API shows of a connection: the secret by its name only, the metadata by its entity id and SSO URL (not the whole document). */
export function connectionView(c: IdentityProviderConnection) {
  return {
    kind: c.kind,
    providerName: c.providerName,
    ...(c.oidc ? { oidc: { ...c.oidc } } : {}),
    ...(c.saml ? { saml: { ...(c.saml.metadataUrl ? { metadataUrl: c.saml.metadataUrl } : {}), entityId: c.saml.entityId, ssoUrl: c.saml.ssoUrl } } : {}),
    emailDomains: c.emailDomains,
    groupsClaim: c.groupsClaim,
    groupsFrom: c.groupsFrom ?? 'claim',
    version: c.version,
    updatedAt: c.updatedAt,
    updatedBy: c.updatedBy,
  };
}

const auditOf = (c: IdentityProviderConnection | null) => (c ? JSON.stringify({ ...connectionView(c), updatedAt: undefined, updatedBy: undefined }) : null);

function entry(deps: Deps, ctx: Ctx, tenant: string, action: string, before: IdentityProviderConnection | null, after: IdentityProviderConnection | null) {
  return auditEntry(
    tenant,
    {
      actor: ctx.principal.id,
      actorName: ctx.principal.name,
      action,
      entityType: 'identity-provider',
      entityId: (after ?? before)!.providerName,
      before: auditOf(before),
      after: auditOf(after),
      requestId: ctx.requestId,
    },
    deps.clock(),
  );
}

const repo = (deps: Deps) => deps.store;

export async function getIdentityProvider(deps: Deps, ctx: Ctx) {
  const c = await repo(deps).getIdentityProvider(ctx.principal.tenant);
  return c ? connectionView(c) : { kind: null, emailDomains: [], version: 0 };
}

/**
 * Connects the tenant to its IdP, or changes the connection: the body checked whole before anything is
 * written (a secret named must exist: 422; metadata that does not parse or cannot be reached: 400 naming
 * the field; a public mail domain: 422; a domain another tenant holds: 409 naming it), then the user pool's
 * identity provider updated, then the connection saved with its audit entry. A field left out keeps what
 * is stored: a partial body never wipes the client secret.
 */
export async function putIdentityProvider(deps: With<'identityProviders' | 'secrets'>, ctx: Ctx, body: IdentityProviderBody) {
  const tenant = ctx.principal.tenant;
  const store = repo(deps);
  const current = await store.getIdentityProvider(tenant);
  if (body.version !== undefined && body.version !== (current?.version ?? 0))
    throw new VersionConflict(`The identity provider connection changed since you read it (version ${current?.version ?? 0} now): read it again`);
  const issues: Issue[] = [];
  // A SAML body that names no metadata (a GET answer sent back) keeps the stored document and its URL, unread again.
  const kept =
    body.kind === 'saml' && body.saml && !body.saml.metadataUrl && !body.saml.metadataXml && current?.kind === 'saml' && current.saml ? current.saml : null;
  let oidc: OidcSettings | undefined;
  if (body.kind === 'oidc') {
    if (!body.oidc) issues.push({ path: 'body.oidc', message: 'an OIDC connection needs oidc: { issuer, clientId, clientSecret }' });
    else {
      const clientSecret = body.oidc.clientSecret ?? current?.oidc?.clientSecret;
      if (!clientSecret) issues.push({ path: 'body.oidc.clientSecret', message: 'name the tenant secret that holds the client secret' });
      else oidc = { issuer: body.oidc.issuer.replace(/\/$/, ''), clientId: body.oidc.clientId, clientSecret };
    }
    if (body.saml) issues.push({ path: 'body.saml', message: 'an OIDC connection takes no saml settings' });
  } else {
    if (!body.saml) issues.push({ path: 'body.saml', message: 'a SAML connection needs saml: { metadataUrl } or saml: { metadataXml }' });
    else if (body.saml.metadataUrl && body.saml.metadataXml) issues.push({ path: 'body.saml', message: 'give exactly one of metadataUrl and metadataXml' });
    else if (!body.saml.metadataUrl && !body.saml.metadataXml && !kept)
      issues.push({ path: 'body.saml', message: 'give exactly one of metadataUrl and metadataXml' });
    if (body.oidc) issues.push({ path: 'body.oidc', message: 'a SAML connection takes no oidc settings' });
  }
  if (issues.length) throw new ValidationFailed(issues);

  const publicOnes = body.emailDomains.filter(isPublicMailDomain);
  if (publicOnes.length)
    throw new RuleViolation(`${publicOnes.join(', ')}: a public mail domain cannot route to a tenant's identity provider (anyone can have an address there)`, {
      issues: publicOnes.map((d) => ({ path: `body.emailDomains.${body.emailDomains.indexOf(d)}`, message: `${d} is a public mail domain` })),
    });

  let secret: string | null = null;
  if (oidc) {
    secret = await deps.secrets.resolve(tenant, oidc.clientSecret, IDP_SECRET_PURPOSE);
    if (!secret) {
      const local = `STAGELINE_SECRET_<TENANT>__IDP_CLIENT_SECRET__${oidc.clientSecret}`;
      throw new RuleViolation(`The connection names a secret this tenant does not have: '${oidc.clientSecret}'`, {
        issues: [
          {
            path: 'body.oidc.clientSecret',
            message: `the secret '${oidc.clientSecret}' does not exist for this tenant (purpose ${IDP_SECRET_PURPOSE}): create Secrets Manager stageline/${tenant}/${IDP_SECRET_PURPOSE}/${oidc.clientSecret} (locally the environment variable ${local}), then save again`,
          },
        ],
      });
    }
  }

  // The metadata, read through the outbound rules: what does not parse or cannot be reached is refused now.
  const checked = await deps.identityProviders.check({ tenant, kind: body.kind, oidc, saml: kept ? { metadataXml: kept.metadataXml } : body.saml });
  const metadataUrl = body.saml?.metadataUrl ?? kept?.metadataUrl;
  const now = deps.clock().toISOString();
  const next: IdentityProviderConnection = {
    tenant,
    kind: body.kind,
    providerName: providerName(tenant, body.kind),
    ...(oidc ? { oidc } : {}),
    ...(checked.saml ? { saml: { ...(metadataUrl ? { metadataUrl } : {}), ...checked.saml } } : {}),
    emailDomains: [...body.emailDomains].sort(),
    groupsClaim: body.groupsClaim ?? current?.groupsClaim ?? DEFAULT_GROUPS_CLAIM,
    groupsFrom: body.groupsFrom ?? current?.groupsFrom ?? 'claim',
    version: (current?.version ?? 0) + 1,
    updatedAt: now,
    updatedBy: ctx.principal.name,
  };

  // Each domain is this tenant's alone: claimed with a conditional write, so two tenants racing cannot both hold it.
  const claimed: string[] = [];
  const held = new Set([...(current?.emailDomains ?? []), ...((await store.getTenant(tenant))?.emailDomains ?? [])]);
  for (const d of next.emailDomains) {
    if (held.has(d)) continue;
    const holder = await store.claimDomain(d, tenant);
    if (holder) {
      await Promise.all(claimed.map((c) => store.releaseDomain(c, tenant)));
      throw new AlreadyExists(`The email domain '${d}' belongs to another tenant: a domain signs in through one tenant's identity provider`, {
        issues: [{ path: `body.emailDomains.${body.emailDomains.indexOf(d)}`, message: `'${d}' belongs to another tenant` }],
      });
    }
    claimed.push(d);
  }
  try {
    // Another kind than before: the old user pool identity provider goes.
    if (current && current.kind !== next.kind) await deps.identityProviders.remove(current);
    await deps.identityProviders.sync(next, secret);
    await store.putIdentityProvider(next, current ? current.version : null, entry(deps, ctx, tenant, current ? 'idp.update' : 'idp.connect', current, next));
  } catch (err) {
    await Promise.all(claimed.map((c) => store.releaseDomain(c, tenant)));
    if (err instanceof WriteConflict) throw new VersionConflict('The identity provider connection changed while saving: read it again');
    throw err;
  }
  // Domains the connection no longer names, and the tenant itself does not hold, are given up.
  const own = new Set((await store.getTenant(tenant))?.emailDomains ?? []);
  for (const d of current?.emailDomains ?? []) if (!next.emailDomains.includes(d) && !own.has(d)) await store.releaseDomain(d, tenant);
  return connectionView(next);
}

/** Disconnects the tenant from its IdP: people sign in with the user pool's own accounts again; audited. */
export async function deleteIdentityProvider(deps: With<'identityProviders'>, ctx: Ctx): Promise<void> {
  const tenant = ctx.principal.tenant;
  const store = repo(deps);
  const current = await store.getIdentityProvider(tenant);
  if (!current) return;
  await deps.identityProviders.remove(current);
  await store.deleteIdentityProvider(current, entry(deps, ctx, tenant, 'idp.disconnect', current, null));
  const own = new Set((await store.getTenant(tenant))?.emailDomains ?? []);
  for (const d of current.emailDomains) if (!own.has(d)) await store.releaseDomain(d, tenant);
}

/** Who a federated sign-in makes someone: the claims of the token issued for them (locally; on AWS the user pool's). */
export interface FederatedIdentity {
  /** the Stageline subject: derived from the connection and the IdP's subject, so two IdPs' subjects never collide */
  sub: string;
  email: string;
  /** the connection's tenant: never an attribute the person or the IdP asserts */
  tenant: string;
  /** the IdP groups the tenant's mapping read (the audit entry's) */
  idpGroups: string[];
  /** the token's groups: what the mapping made of them (decideSignIn, domain/access/sign-in.ts) */
  groups: string[];
  idpSubject: string;
  provider: string;
}

export { FederationRefused };

/**
 * The identity a federated sign-in gives locally, once decideSignIn (domain/access/sign-in.ts) took it: the
 * decision's tenant, email and groups, and a subject derived from the connection and the IdP's subject.
 */
export function federatedIdentity(
  conn: Pick<IdentityProviderConnection, 'providerName'>,
  subject: string,
  decision: { tenant: string; email: string; idpGroups: string[]; groups: string[] },
): FederatedIdentity {
  if (!subject) throw new FederationRefused('the identity provider sent no subject');
  const sub = `fed-${createHash('sha256').update(`${conn.providerName}\n${subject}`).digest('hex').slice(0, 24)}`;
  return { sub, ...decision, idpSubject: subject, provider: conn.providerName };
}

/** The audit entry of a federated sign-in: who (the IdP's subject, through which connection) and with which groups. */
export function signInEntry(id: FederatedIdentity, now: Date): AuditEntry {
  return auditEntry(
    id.tenant,
    {
      actor: id.sub,
      actorName: id.email,
      action: 'auth.federated-sign-in',
      entityType: 'user',
      entityId: id.sub,
      before: null,
      after: JSON.stringify({ provider: id.provider, idpSubject: id.idpSubject, email: id.email, idpGroups: id.idpGroups }),
    },
    now,
  );
}

/** Which IdP an address signs in through (GET /auth/config?email=): the connection of the tenant that holds its domain, or null. */
export async function providerForEmail(store: Pick<IdentityProviderRepo, 'domainHolder' | 'getIdentityProvider'>, email: string) {
  return providerForDomain(store, email.trim().toLowerCase().split('@').pop() ?? '');
}

/**
 * The connection holding an email domain, or null: what Cognito's `idp_identifier` routes to (each
 * connection's email domains are its provider's identifiers), so a sign-in is routed by the domain a
 * person gave without anyone being told the provider's name (which names the tenant).
 */
export async function providerForDomain(store: Pick<IdentityProviderRepo, 'domainHolder' | 'getIdentityProvider'>, raw: string) {
  const domain = raw.trim().toLowerCase();
  if (!DOMAIN.test(domain)) return null;
  const tenant = await store.domainHolder(domain);
  if (!tenant) return null;
  const conn = await store.getIdentityProvider(tenant);
  return conn && conn.emailDomains.includes(domain) ? conn : null;
}
