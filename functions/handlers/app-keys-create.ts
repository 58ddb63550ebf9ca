import { createAppKey, createAppKeyBody as body } from '#domain/access/app-keys';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ body, status: 201, showsSecret: true }, async ({ deps, ctx, body }) => createAppKey(deps, ctx, body));
