import { gitTargetBody, putGitTarget } from '#domain/gitops/service';
import { httpHandler } from '../http/handler.ts';
import { envParams } from '../http/params.ts';

/** Names where promotions into this environment are committed (the repository URL passes the outbound guard now and at each push). */
export const handler = httpHandler({ params: envParams, body: gitTargetBody }, async ({ deps, ctx, params, body }) =>
  putGitTarget(deps, ctx, params.env, body, { allowLoopback: deps.tunables.allowLoopbackOutbound }),
);
