import { removeUser } from '#domain/access/users';
import { userAdminFromEnv } from '../adapters/cognito-users.ts';
import { compose } from '../http/deps.ts';
import { httpHandler, WithHeaders } from '../http/handler.ts';
import { userParams as params } from '../http/params.ts';

const wiring = compose({ users: userAdminFromEnv });

/** Removes a user from the caller's tenant (admin; never oneself, never the last admin); audited. */
export const handler = httpHandler({ params, wiring }, async ({ deps, ctx, params }) => {
  await removeUser(deps, ctx, params.id);
  return new WithHeaders(null, {}, 204);
});
