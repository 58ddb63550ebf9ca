import { evidenceBody as body } from '#domain/kernel/promotion-schemas';
import { addEvidence } from '#domain/promotion/terms/evidence';
import { snapshotParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, body, status: 201 }, async ({ deps, ctx, params, body }) =>
  addEvidence(deps, ctx, { snapshot: { environment: params.env, seq: params.seq } }, body),
);
