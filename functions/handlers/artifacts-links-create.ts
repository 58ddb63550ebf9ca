import { createLink as body, createRepoLink } from '#domain/artifacts/discovery';
import { httpHandler } from '../http/handler.ts';
import { artifactParams as params } from '../http/params.ts';

/** Links a registry repository to an artifact (admin); the answer shows the notification token once. */
export const handler = httpHandler({ params, body, status: 201, showsSecret: true }, async ({ deps, ctx, params, body }) =>
  createRepoLink(deps, ctx, params.name, body),
);
