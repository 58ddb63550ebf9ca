import { appKeyParams as params, rotateAppKey, rotateAppKeyBody as body } from '#domain/access/app-keys';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, body, showsSecret: true }, async ({ deps, ctx, params, body }) => rotateAppKey(deps, ctx, params.id, body));
