import { environmentView, listEnvironments } from '#domain/config/environments';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({}, async ({ deps, ctx }) => {
  const all = await listEnvironments(deps, ctx);
  return { items: all.map((env) => environmentView(env, all)) };
});
