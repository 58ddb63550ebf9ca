import { createTenant, createTenantBody as body } from '#domain/access/users';
import { userAdminFromEnv } from '../adapters/cognito-users.ts';
import { compose, tenantDeps } from '../http/deps.ts';
import { httpHandler } from '../http/handler.ts';

const wiring = compose({ users: userAdminFromEnv });

/**
 * A platform operator (the platform-admin group) creates a tenant and invites its first admin. The
 * tenant's record and audit entries are written through the new tenant's own fenced session, as
 * every tenant's data is: the operator's session is confined to their own tenant.
 */
export const handler = httpHandler({ body, status: 201, wiring }, async ({ deps, ctx, body }) =>
  createTenant({ ...deps, store: tenantDeps(wiring, body.id).store }, ctx, body),
);
