import { environmentView, listEnvironments } from '#domain/config/environments';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({}, async ({ deps, ctx }) => ({
  items: (await listEnvironments(deps, ctx)).map(environmentView),
}));
