import * as z from '#domain/kernel/zod';
import { page as query } from '#domain/kernel/schemas';
import { listSnapshots, snapshotView } from '#domain/config/snapshots';
import { envParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, query: z.strictObject(query.shape) }, async ({ deps, ctx, params, query }) => {
  const page = await listSnapshots(deps, ctx, params.env, query.limit, query.cursor);
  return { items: page.items.map(snapshotView), nextCursor: page.nextCursor };
});
