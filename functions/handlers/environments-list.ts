import { environmentView, listEnvironments } from '#domain/environments';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({}, async ({ deps, ctx }) => ({
  items: (await listEnvironments(deps, ctx)).map(environmentView),
}));
