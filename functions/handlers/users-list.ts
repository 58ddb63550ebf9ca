import { listUsers } from '#domain/access/users';
import { userAdminFromEnv } from '../adapters/cognito-users.ts';
import { compose } from '../http/deps.ts';
import { httpHandler } from '../http/handler.ts';

/** This function's adapters: the store and user management in the user pool. */
const wiring = compose({ users: userAdminFromEnv });

/** The tenant's users with their roles and sign-in status (admin; domain/access/users.ts). */
export const handler = httpHandler({ wiring }, async ({ deps, ctx }) => listUsers(deps, ctx));
