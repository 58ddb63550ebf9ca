import { deploymentHistory } from '#domain/artifacts/deployments';
import { historyQuery as query } from '#domain/kernel/schemas';
import { httpHandler, WithHeaders } from '../http/handler.ts';

/** A plain array, newest first; the next page's cursor travels in X-Next-Cursor. */
export const handler = httpHandler({ query }, async ({ deps, ctx, query }) => {
  const page = await deploymentHistory(deps, ctx, query.environment, query.limit, query.cursor, query.target);
  return new WithHeaders(page.items, page.nextCursor ? { 'x-next-cursor': page.nextCursor } : {});
});
