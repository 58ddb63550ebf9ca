import { environmentAnswer } from '#domain/config/environments';
import { restoreSnapshot as body } from '#domain/kernel/schemas';
import { restoreSnapshot } from '#domain/config/snapshots';
import { snapshotParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, body, errors: [423] }, async ({ deps, ctx, params, body }) =>
  environmentAnswer(deps, ctx, await restoreSnapshot(deps, ctx, params.env, params.seq, body.reason)),
);
