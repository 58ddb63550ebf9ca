import { decisionRecord } from '#domain/promotion/terms/decision-record';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params }, async ({ deps, ctx, params }) => decisionRecord(deps, ctx, params.id));
