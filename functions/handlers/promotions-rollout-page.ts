import { rolloutPage } from '#domain/promotion/terms/rollout-view';
import { rolloutQuery as query } from '#domain/kernel/target-schemas';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

/** GET /promotions/{id}/rollout: one wave of a rollout a page at a time (wave, state, cursor, limit), with its counts per state. */
export const handler = httpHandler({ params, query }, async ({ deps, ctx, params, query }) => rolloutPage(deps, ctx, params.id, query));
