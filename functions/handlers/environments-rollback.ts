// Placeholder until the environment rollback lands.
import { RouteNotFound } from '#domain/errors';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({}, async () => {
  throw new RouteNotFound('not implemented yet');
});
