import { bindingsResponse, groupMappingResponse, tenantCreatedResponse, userResponse, usersListResponse } from '../responses/access.ts';
import { v1, type Route, type RouteResponse } from './row.ts';

/** What the people routes have in common: the user pool's Admin* grants (a role of its own), and no promotion flows. */
const PEOPLE = { ownRole: true, startsFlows: false } as const satisfies Pick<Route, 'ownRole' | 'startsFlows'>;
const user: RouteResponse = { schema: userResponse };

/** People (domain/access): the tenant's users and their roles, and new tenants (platform operators only). Audited; authorized against the directory's current roles. */
export const ACCESS_ROUTES: Route[] = [
  {
    method: 'GET',
    path: `${v1}/users`,
    handler: 'users-list',
    auth: 'jwt',
    role: 'admin',
    env: 'tenant',
    summary: "The tenant's users with their roles and sign-in status (admin)",
    response: { schema: usersListResponse },
    ...PEOPLE,
  },
  {
    method: 'POST',
    path: `${v1}/users`,
    handler: 'users-invite',
    auth: 'jwt',
    role: 'admin',
    env: 'tenant',
    summary: "Invite a user into your tenant with roles, from the tenant's email domains only: on AWS Cognito emails a temporary password; audited",
    response: user,
    ...PEOPLE,
  },
  {
    method: 'PATCH',
    path: `${v1}/users/{id}`,
    handler: 'users-roles',
    auth: 'jwt',
    role: 'admin',
    env: 'tenant',
    summary:
      "Replace a user's roles (never your own; the tenant keeps at least one admin); taking a role away signs them out and voids their earlier tokens for changes; audited",
    response: user,
    ...PEOPLE,
  },
  {
    method: 'DELETE',
    path: `${v1}/users/{id}`,
    handler: 'users-remove',
    auth: 'jwt',
    role: 'admin',
    env: 'tenant',
    summary:
      'Remove a user from your tenant (never yourself, never the last admin): signs them out, and their earlier tokens change nothing from then on; audited',
    status: 204,
    ...PEOPLE,
  },
  {
    method: 'POST',
    path: `${v1}/tenants`,
    handler: 'tenants-create',
    auth: 'jwt',
    role: 'admin',
    env: 'tenant',
    summary:
      "Create a tenant with its email domains and invite its first admin: platform operators only (the platform-admin group); an id with a record, people or data answers 409; audited in the new tenant's trail",
    response: { schema: tenantCreatedResponse },
    ...PEOPLE,
  },
  {
    method: 'GET',
    path: `${v1}/access/bindings`,
    handler: 'access-bindings',
    auth: 'jwt',
    role: 'admin',
    env: 'tenant',
    summary: "The tenant's role bindings: who (a user or a group) holds which role, or break-glass, in which environments (admin)",
    response: { schema: bindingsResponse },
    startsFlows: false,
  },
  {
    method: 'PUT',
    path: `${v1}/access/bindings`,
    handler: 'access-bindings',
    auth: 'jwt',
    role: 'admin',
    env: 'tenant',
    summary:
      "Replace the tenant's role bindings (admin): every environment named must exist (400 naming the field); `version` for optimistic locking (409 when stale); 409 when the change would leave the tenant no admin; audited with before and after",
    response: { schema: bindingsResponse },
    startsFlows: false,
  },
  {
    method: 'GET',
    path: `${v1}/access/group-mapping`,
    handler: 'access-group-mapping',
    auth: 'jwt',
    role: 'admin',
    env: 'tenant',
    summary:
      "The tenant's group mapping (admin): which group of the identity provider makes its members members of which Stageline group (that bindings name) and which tenant-wide roles",
    response: { schema: groupMappingResponse },
    startsFlows: false,
  },
  {
    method: 'PUT',
    path: `${v1}/access/group-mapping`,
    handler: 'access-group-mapping',
    auth: 'jwt',
    role: 'admin',
    env: 'tenant',
    summary:
      "Replace the tenant's group mapping (admin): each entry maps an IdP group (as the IdP sends it) to a Stageline group, tenant-wide roles, or both; an unmapped IdP group grants nothing. Takes effect at each person's next token; `version` for optimistic locking (409 when stale); audited with before and after",
    response: { schema: groupMappingResponse },
    startsFlows: false,
  },
];
