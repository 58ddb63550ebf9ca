import { appKeyParams as params, revokeAppKey } from '#domain/access/app-keys';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params }, async ({ deps, ctx, params }) => revokeAppKey(deps, ctx, params.id));
