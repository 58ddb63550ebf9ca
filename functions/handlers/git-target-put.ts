import { gitTargetBody, putGitTarget } from '#domain/gitops/service';
import { secretsFromEnv } from '../adapters/secrets.ts';
import { compose } from '../http/deps.ts';
import { httpHandler } from '../http/handler.ts';
import { envParams } from '../http/params.ts';

/** This function's adapters: the tenant's secrets, to refuse a target naming one that does not exist (only whether it exists is used). */
const wiring = compose({ secrets: secretsFromEnv });

/** Names where promotions into this environment are committed (the repository URL passes the outbound guard now and at each push). */
export const handler = httpHandler({ wiring, params: envParams, body: gitTargetBody }, async ({ deps, ctx, params, body }) =>
  putGitTarget(deps, ctx, params.env, body, { allowLoopback: deps.tunables.allowLoopbackOutbound }),
);
