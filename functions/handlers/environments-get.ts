import { environmentAnswer, getEnvironment } from '#domain/config/environments';
import { envParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params }, async ({ deps, ctx, params }) => environmentAnswer(deps, ctx, await getEnvironment(deps, ctx, params.env)));
