import { scimMessage, scimTokenIssuedResponse, scimTokenResponse } from '../responses/access.ts';
import { v1, type Route, type RouteResponse } from './row.ts';

/** What the SCIM routes have in common: the user pool's Admin* grants (people are provisioned), and no promotion flows. */
const PEOPLE = { ownRole: true, startsFlows: false } as const satisfies Pick<Route, 'ownRole' | 'startsFlows'>;
const scim: RouteResponse = { schema: scimMessage };
const SCIM = '/scim/v2';

const provisioning = (method: Route['method'], path: string, summary: string, status?: number): Route => ({
  method,
  path: `${SCIM}${path}`,
  handler: 'scim',
  auth: 'scim',
  role: null,
  summary,
  ...(status ? { status } : {}),
  ...(status === 204 ? {} : { response: scim }),
  ...PEOPLE,
});

/**
 * SCIM 2.0 provisioning (domain/access/scim.ts, functions/http/scim.ts): the tenant's identity provider
 * (Entra ID, Okta, …) creates, changes, deactivates and deletes its users and groups at /scim/v2 with the
 * tenant's SCIM token; an admin creates, replaces and revokes that token. A SCIM token calls these
 * routes only, and they take no other credential.
 */
export const SCIM_ROUTES: Route[] = [
  {
    method: 'POST',
    path: `${v1}/scim/token`,
    handler: 'scim-token',
    auth: 'jwt',
    role: 'admin',
    env: 'tenant',
    summary:
      "Create the tenant's SCIM token, or replace it (the previous one stops working at once): shown once, kept hashed; give it to the identity provider with the base URL /scim/v2; audited (admin)",
    status: 201,
    response: { schema: scimTokenIssuedResponse },
    ...PEOPLE,
  },
  {
    method: 'GET',
    path: `${v1}/scim/token`,
    handler: 'scim-token',
    auth: 'jwt',
    role: 'admin',
    env: 'tenant',
    summary: "When the tenant's SCIM token was made and by whom (never the token) (admin)",
    response: { schema: scimTokenResponse },
    ...PEOPLE,
  },
  {
    method: 'DELETE',
    path: `${v1}/scim/token`,
    handler: 'scim-token',
    auth: 'jwt',
    role: 'admin',
    env: 'tenant',
    summary: "Revoke the tenant's SCIM token: provisioning stops until a new one is made; audited (admin)",
    status: 204,
    ...PEOPLE,
  },
  provisioning(
    'GET',
    '/ServiceProviderConfig',
    'What this SCIM service supports (PATCH, filter; no bulk, sort, ETag or password change) and how it authenticates',
  ),
  provisioning('GET', '/Schemas', 'The SCIM schemas of its resources (core User with the enterprise extension, Group)'),
  provisioning('GET', '/Schemas/{id}', 'One SCIM schema, by its URN'),
  provisioning('GET', '/ResourceTypes', 'The SCIM resource types (User, Group)'),
  provisioning('GET', '/ResourceTypes/{id}', 'One SCIM resource type'),
  provisioning(
    'GET',
    '/Users',
    "The tenant's provisioned users as a SCIM ListResponse: filter (userName, externalId, displayName, emails…: eq, ne, co, sw, ew, pr, gt/ge/lt/le, and/or/not), startIndex and count (at most 200)",
  ),
  provisioning(
    'POST',
    '/Users',
    "Provision a user: from the tenant's email domains only; active, they can sign in with the viewer role; a userName in use answers 409 uniqueness; audited",
    201,
  ),
  provisioning('GET', '/Users/{id}', 'One provisioned user'),
  provisioning(
    'PUT',
    '/Users/{id}',
    "Replace a user's attributes; active false takes their access away as removing a member does (signed out, their tokens from before change nothing), true gives it back; audited",
  ),
  provisioning(
    'PATCH',
    '/Users/{id}',
    'Change a user with SCIM PATCH operations (add, replace, remove, in any case; `active` as for PUT; Entra\'s "True"/"False", a path-less value object, enterprise attributes by their full path); audited',
  ),
  provisioning('DELETE', '/Users/{id}', "Delete a user: their access goes as a removed member's does and they leave every group; audited", 204),
  provisioning('GET', '/Groups', "The tenant's provisioned groups as a SCIM ListResponse (filter on displayName, externalId…; startIndex, count)"),
  provisioning(
    'POST',
    '/Groups',
    'Create a group (members: users of this tenant); approval rules that name the group by its displayName see its members; audited',
    201,
  ),
  provisioning('GET', '/Groups/{id}', 'One group (excludedAttributes=members leaves its members out)'),
  provisioning('PUT', '/Groups/{id}', "Replace a group's name and members; audited"),
  provisioning('PATCH', '/Groups/{id}', "Change a group's name or members with SCIM PATCH operations; answers 204; audited", 204),
  provisioning('DELETE', '/Groups/{id}', 'Delete a group; audited', 204),
];
