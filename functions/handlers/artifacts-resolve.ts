import { resolveConstraint } from '#domain/artifacts/artifacts';
import { resolveQuery as query } from '#domain/kernel/schemas';
import { artifactParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, query }, async ({ deps, ctx, params, query }) =>
  resolveConstraint(deps, ctx, params.name, query.constraint, query.environment),
);
