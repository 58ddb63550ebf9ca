import { predecessorDiffQuery as query } from '#domain/kernel/schemas';
import { diffPredecessors } from '#domain/config/snapshots';
import { httpHandler } from '../http/handler.ts';
import { envParams as params } from '../http/params.ts';

export const handler = httpHandler({ params, query }, async ({ deps, ctx, params, query }) => diffPredecessors(deps, ctx, params.env, query.against));
