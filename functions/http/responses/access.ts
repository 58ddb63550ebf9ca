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
