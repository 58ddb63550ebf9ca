import { getEnvironment } from '#domain/config/environments';
import { targetsView } from '#domain/config/targets';
import { envParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

/** GET …/environments/{env}/targets: the environment's waves, each target with the version it runs. */
export const handler = httpHandler({ params }, async ({ deps, ctx, params }) => targetsView(deps.store, await getEnvironment(deps, ctx, params.env)));
