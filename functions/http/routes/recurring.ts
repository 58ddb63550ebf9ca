import { recurringPromotionResponse, recurringPromotionsList } from '../responses/recurring.ts';
import { v1, type Route } from './row.ts';

/**
 * Recurring promotions (domain/promotion/request/recurring.ts): a source → target promotion requested on a
 * calendar through the normal request path; admins write them (pause and resume: `paused` in the PUT).
 */
export const RECURRING_ROUTES: Route[] = [
  {
    method: 'GET',
    path: `${v1}/recurring-promotions`,
    handler: 'recurring-promotions-read',
    auth: 'jwt',
    role: 'viewer',
    summary: "The tenant's recurring promotions, by name, each with its last runs and next times",
    response: { schema: recurringPromotionsList },
  },
  {
    method: 'GET',
    path: `${v1}/recurring-promotions/{name}`,
    handler: 'recurring-promotions-read',
    auth: 'jwt',
    role: 'viewer',
    summary: 'One recurring promotion, with its last runs (promoted, or skipped and why) and next times',
    response: { schema: recurringPromotionResponse },
  },
  {
    method: 'PUT',
    path: `${v1}/recurring-promotions/{name}`,
    handler: 'recurring-promotions-put',
    auth: 'jwt',
    role: 'admin',
    env: { item: 'recurring' },
    summary:
      'Create or replace a recurring promotion and its schedule (a cron expression in a time zone, at most every 5 minutes; 400 naming the field), source and target adjacent environments of the line (422); at most STAGELINE_MAX_RECURRING_PROMOTIONS (20 by default) per tenant: one more is refused with 422 (delete one first); `paused` disables its schedule; `version` for optimistic locking',
    response: { schema: recurringPromotionResponse },
  },
  {
    method: 'DELETE',
    path: `${v1}/recurring-promotions/{name}`,
    handler: 'recurring-promotions-delete',
    auth: 'jwt',
    role: 'admin',
    env: { item: 'recurring' },
    summary: 'Remove a recurring promotion and delete its schedule (the promotions it requested stay)',
    status: 204,
  },
];
