import * as z from '../../../domain/kernel/zod.ts';
import { ROLES } from '../../../domain/access/auth.ts';
import { time } from './common.ts';
import { BINDING_ROLES } from '../../../domain/access/bindings.ts';

/** What the users and tenants routes answer (domain/access). */
export const userResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      id: z.string().check(z.describe('the subject id (sub): what PATCH and DELETE /api/v1/users/{id} take')),
      email: z.string(),
      roles: z.array(z.enum(ROLES)),
      status: z.string().check(z.describe('sign-in status: FORCE_CHANGE_PASSWORD (AWS) or INVITED (local) until the first sign-in, then CONFIRMED')),
      createdAt: z.optional(time),
    })
    .check(z.meta({ id: 'User' })),
);

export const tenantResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      id: z.string(),
      displayName: z.string(),
      createdAt: time,
      createdBy: z.string(),
      emailDomains: z.optional(z.array(z.string()).check(z.describe("the email domains the tenant's admins invite people from"))),
    })
    .check(z.meta({ id: 'Tenant' })),
);

export const usersListResponse = /* @__PURE__ */ z.schema(() => z.strictObject({ items: z.array(userResponse) }));
export const tenantCreatedResponse = /* @__PURE__ */ z.schema(() => z.strictObject({ tenant: tenantResponse, admin: userResponse }));

/** What the SCIM token routes answer: never the secret, except once in `token` when it is made. */
export const scimTokenResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      id: z.string().check(z.describe('names the token in the audit trail: every SCIM change is audited as scim:<id>; a new token has a new id')),
      tenant: z.string(),
      createdAt: time,
      createdBy: z.string(),
      rotatedAt: z.nullable(time),
    })
    .check(z.meta({ id: 'ScimToken' })),
);
export const scimTokenIssuedResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    ...scimTokenResponse.shape,
    token: z
      .string()
      .check(
        z.describe(
          'the SCIM token (scim.<tenant>.<secret>), shown this once: give it to the identity provider as its secret token; the table keeps only its hash',
        ),
      ),
  }),
);

/** A SCIM message (RFC 7644): a resource, a ListResponse or an Error, each naming its schemas; checked against the SCIM schemas by the SCIM library. */
export const scimMessage = /* @__PURE__ */ z.schema(() =>
  z
    .looseObject({ schemas: z.array(z.string()).check(z.describe('the SCIM schema URNs of the message')) })
    .check(z.meta({ id: 'ScimMessage' }), z.describe('a SCIM 2.0 message (application/scim+json)')),
);

/** What /access/bindings answers: the tenant's role bindings (each: a user or a group, a role or break-glass, environments) and the list's version. */
export const bindingsResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      bindings: z.array(
        z.strictObject({
          user: z.optional(z.string().check(z.describe("a user's subject id or email (lower case)"))),
          group: z.optional(z.string().check(z.describe('a group of the identity provider'))),
          role: z.enum(BINDING_ROLES),
          environments: z.array(z.string()).check(z.describe('environment names, or * for every environment')),
        }),
      ),
      version: z.number().check(z.int(), z.describe('the version of the list (0: none saved yet): send it back with PUT')),
    })
    .check(z.meta({ id: 'RoleBindings' })),
);

const grantedBy = /* @__PURE__ */ z.schema(() =>
  z.union([
    z.strictObject({ role: z.enum(ROLES).check(z.describe('a role held tenant-wide')) }),
    z.strictObject({
      binding: z.strictObject({
        user: z.optional(z.string()),
        group: z.optional(z.string()),
        role: z.enum(BINDING_ROLES),
        environments: z.array(z.string()),
      }),
      elsewhere: z.optional(z.literal(true).check(z.describe('the binding applies in other environments: whoever a binding names reads the whole tenant'))),
    }),
  ]),
);

/** What /access/rights answers: whose rights, the roles and groups counted, and per environment each right with what grants it (none: not held). */
export const rightsResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      user: z.strictObject({ id: z.string(), email: z.string() }),
      roles: z.array(z.enum(ROLES)).check(z.describe("the roles held tenant-wide (your token's; another person's in the tenant's people)")),
      groups: z.array(z.string()).check(z.describe("the groups group bindings are matched against (your token's; another person's SCIM groups)")),
      environments: z.array(
        z.strictObject({
          environment: z.nullable(z.string()).check(z.describe('null: the tenant-wide acts (settings, users, bindings, changes to every environment)')),
          rights: z.strictObject(
            Object.fromEntries(BINDING_ROLES.map((r) => [r, z.array(grantedBy).check(z.describe(`what grants '${r}' here (empty: not held)`))])) as Record<
              (typeof BINDING_ROLES)[number],
              z.ZodMiniArray<typeof grantedBy>
            >,
          ),
        }),
      ),
    })
    .check(z.meta({ id: 'EffectiveRights' })),
);

/** The tenant's identity provider connection (domain/access/federation.ts connectionView): the client secret by its name only; `kind` null when none. */
export const identityProviderResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      kind: z.nullable(z.enum(['oidc', 'saml'])),
      providerName: z.optional(
        z.string().check(z.describe("the user pool identity provider's name (t-<tenant>-<kind>): what Cognito's identity_provider parameter takes")),
      ),
      oidc: z.optional(
        z.strictObject({ issuer: z.string(), clientId: z.string(), clientSecret: z.string().check(z.describe("the tenant secret's name (never its value)")) }),
      ),
      saml: z.optional(z.strictObject({ metadataUrl: z.optional(z.string()), entityId: z.string(), ssoUrl: z.string() })),
      emailDomains: z.array(z.string()),
      groupsClaim: z.optional(z.string()),
      groupsFrom: z.optional(
        z.enum(['claim', 'scim']).check(z.describe("where sign-ins read the person's groups: the IdP's groups claim, or the tenant's SCIM groups")),
      ),
      version: z.number(),
      updatedAt: z.optional(time),
      updatedBy: z.optional(z.string()),
    })
    .check(z.meta({ id: 'IdentityProvider' })),
);

/** What /access/group-mapping answers: the tenant's IdP group mapping and its version. */
export const groupMappingResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      entries: z.array(
        z.strictObject({
          idpGroup: z.string().check(z.describe('the group as the identity provider sends it')),
          group: z.optional(z.string().check(z.describe('the Stageline group its members are in (role bindings name it)'))),
          roles: z.optional(z.array(z.enum(ROLES)).check(z.describe('tenant-wide roles its members hold'))),
        }),
      ),
      version: z.number().check(z.int(), z.describe('the version of the mapping (0: none saved yet): send it back with PUT')),
    })
    .check(z.meta({ id: 'GroupMapping' })),
);
