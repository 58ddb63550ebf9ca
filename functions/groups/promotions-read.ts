import { serveGroup } from '../http/group.ts';
import { handler as promotionsList } from '../handlers/promotions-list.ts';
import { handler as promotionsGet } from '../handlers/promotions-get.ts';
import { handler as promotionsDecision } from '../handlers/promotions-decision.ts';

/** One Lambda for the read-only routes of promotions (FUNCTION_GROUPS in functions/http/routes.ts). */
export const handler = serveGroup('promotions-read', {
  'promotions-list': promotionsList,
  'promotions-get': promotionsGet,
  'promotions-decision': promotionsDecision,
});
