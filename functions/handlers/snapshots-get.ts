import { getSnapshot, snapshotView } from '#domain/config/snapshots';
import { snapshotParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params }, async ({ deps, ctx, params }) => snapshotView(await getSnapshot(deps, ctx, params.env, params.seq)));
