import { batchItems } from '#domain/config/items';
import { batchItems as body } from '#domain/kernel/schemas';
import { envParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, body, errors: [423, 503] }, async ({ deps, ctx, params, body }) => batchItems(deps, ctx, params.env, body));
