import { environmentView, getEnvironment } from '#domain/config/environments';
import { envParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params }, async ({ deps, ctx, params }) => environmentView(await getEnvironment(deps, ctx, params.env)));
