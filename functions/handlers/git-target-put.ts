import { gitTargetPutBody, putGitTarget } from '#domain/gitops/service';
import type { SecretResolver } from '#domain/kernel/ports';
import { secretsFromEnv } from '../adapters/secrets.ts';
import { httpHandler } from '../http/handler.ts';
import { envParams } from '../http/params.ts';

let resolver: SecretResolver | undefined;

/**
 * Names where promotions into this environment are committed (the repository URL passes the outbound guard now and at
 * each push); every secret the target names must exist for the tenant (422 naming it), read only for its existence.
 */
export const handler = httpHandler(
  { readOnly: ['environment', 'createdAt', 'createdBy', 'updatedAt', 'updatedBy'], params: envParams, body: gitTargetPutBody },
  async ({ deps, ctx, params, body }) =>
    putGitTarget({ ...deps, secrets: deps.secrets ?? (resolver ??= secretsFromEnv()) }, ctx, params.env, body, {
      allowLoopback: deps.tunables.allowLoopbackOutbound,
    }),
);
