import { getItem } from '#domain/config/items';
import { itemParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params }, async ({ deps, ctx, params, route }) => getItem(deps, ctx, route.context!.kind!, params.env, params.id));
