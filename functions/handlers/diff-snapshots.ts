import { snapshotDiffQuery as query } from '#domain/kernel/schemas';
import { diffSnapshots } from '#domain/config/snapshots';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ query }, async ({ deps, ctx, query }) => diffSnapshots(deps, ctx, query.from, query.to));
