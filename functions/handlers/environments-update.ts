import { environmentView, updateEnvironment } from '#domain/environments';
import { updateEnvironment as body } from '#domain/schemas';
import { envParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, body }, async ({ deps, ctx, params, body }) =>
  environmentView(await updateEnvironment(deps, ctx, params.env, body)),
);
