import { replayAuditDestination, replayBody as body } from '#domain/audit/stream';
import { httpHandler } from '../http/handler.ts';
import { destinationParams as params } from '../http/audit-params.ts';

/** Ships the chain again from a seq (and lets a failing destination ship again): 400 naming fromSeq for a seq not in the chain. */
export const handler = httpHandler({ params, body }, async ({ deps, ctx, params, body }) => replayAuditDestination(deps, ctx, params.name, body.fromSeq));
