import { snapshotDiffQuery as query } from '#domain/schemas';
import { diffSnapshots } from '#domain/snapshots';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ query }, async ({ deps, ctx, query }) => diffSnapshots(deps, ctx, query.from, query.to));
