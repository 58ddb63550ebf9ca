import { changeRoles, rolesBody as body } from '#domain/access/users';
import { userAdminFromEnv } from '../adapters/cognito-users.ts';
import { compose } from '../http/deps.ts';
import { httpHandler } from '../http/handler.ts';
import { userParams as params } from '../http/params.ts';

const wiring = compose({ users: userAdminFromEnv });

/** Replaces a user's roles (admin; never one's own, never leaving the tenant without an admin). */
export const handler = httpHandler({ params, body, wiring }, async ({ deps, ctx, params, body }) => changeRoles(deps, ctx, params.id, body.roles));
