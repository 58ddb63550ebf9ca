import { inviteBody as body, inviteUser } from '#domain/access/users';
import { userAdminFromEnv } from '../adapters/cognito-users.ts';
import { compose } from '../http/deps.ts';
import { httpHandler } from '../http/handler.ts';

const wiring = compose({ users: userAdminFromEnv });

/** Invites a user into the caller's tenant with roles (admin): on AWS Cognito emails them a temporary password. */
export const handler = httpHandler({ body, status: 201, wiring }, async ({ deps, ctx, body }) => inviteUser(deps, ctx, body));
