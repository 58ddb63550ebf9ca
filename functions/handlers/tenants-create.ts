import { createTenant, createTenantBody as body } from '#domain/access/users';
import { userAdminFromEnv } from '../adapters/cognito-users.ts';
import { compose } from '../http/deps.ts';
import { tenantDeps } from '../http/tenant-deps.ts';
import { DOMAIN_REGISTRY } from '../adapters/keys.ts';
import { httpHandler } from '../http/handler.ts';

const wiring = compose({ users: userAdminFromEnv });

/**
 * A platform operator (the platform-admin group) creates a tenant and invites its first admin. The
 * tenant's record and audit entries are written through the new tenant's own fenced session, as
 * every tenant's data is: the operator's session is confined to their own tenant. The email domains it
 * claims (one tenant each) are written through the domain registry's own fenced session.
 */
export const handler = httpHandler({ body, status: 201, wiring }, async ({ deps, ctx, body }) =>
  createTenant({ ...deps, store: tenantDeps(wiring, body.id).store }, ctx, body, tenantDeps(wiring, DOMAIN_REGISTRY).store),
);
