import { environmentView } from '#domain/environments';
import { restoreSnapshot as body } from '#domain/schemas';
import { restoreSnapshot } from '#domain/snapshots';
import { snapshotParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, body, errors: [423] }, async ({ deps, ctx, params, body }) =>
  environmentView(await restoreSnapshot(deps, ctx, params.env, params.seq, body.reason)),
);
