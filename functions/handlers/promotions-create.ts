import { createPromotion, promotionView } from '#domain/promotion/service';
import * as z from 'zod';
import { createAgentPromotion, createArtifactPromotion, createConfigPromotion, createPromotion as anySubject } from '#domain/promotion/schemas';
import { httpHandler, WithHeaders } from '../http/handler.ts';

/**
 * Seed 000's /config/promotions takes only config promotions and, as the seed shows, leaves the
 * promotion waiting for `validate` unless autoStart is given; /promotions takes either subject
 * and starts the gates at once. A dry-run creates nothing: 200, not 201.
 */
export const handler = httpHandler({ body: anySubject, docBody: z.union([createConfigPromotion, createArtifactPromotion, createAgentPromotion]), status: 201 }, async ({ deps, ctx, body, route }) => {
  const seed000 = route.context?.subject === 'config';
  const input = seed000 ? { ...createConfigPromotion.parse(body), autoStart: body.autoStart ?? false } : body;
  const result = await createPromotion(deps, ctx, input);
  return 'dryRun' in result ? new WithHeaders(result, {}, 200) : promotionView(result);
});
