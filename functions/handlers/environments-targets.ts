import { getEnvironment } from '#domain/config/environments';
import { targetsView } from '#domain/config/targets';
import { targetsQuery as query } from '#domain/kernel/target-schemas';
import { envParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

/**
 * GET …/environments/{env}/targets: the environment's waves, each target with the version it runs; a page of them
 * (limit, cursor), filtered by label (key=glob), name (glob) or wave, with the count per wave and in all.
 */
export const handler = httpHandler({ params, query }, async ({ deps, ctx, params, query }) =>
  targetsView(deps.store, await getEnvironment(deps, ctx, params.env), query),
);
