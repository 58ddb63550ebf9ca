import type * as z from '../../../domain/kernel/zod.ts';
import { ACCESS_RESPONSES } from './access.ts';
import { ARTIFACT_RESPONSES } from './artifacts.ts';
import { AUDIT_RESPONSES } from './audit.ts';
import { CONFIG_RESPONSES } from './config.ts';
import { CONSUME_RESPONSES } from './consume.ts';
import { ENVIRONMENT_RESPONSES } from './environments.ts';
import { GITOPS_RESPONSES } from './gitops.ts';
import { MANIFEST_RESPONSES } from './manifest.ts';
import { NOTIFICATION_RESPONSES } from './notifications.ts';
import { PROMOTION_RESPONSES } from './promotions.ts';
import { SERVICE_RESPONSES } from './service.ts';
import { WEBHOOK_RESPONSES } from './webhooks.ts';

export { FORMS } from './forms.ts';
export { errorBody, gatewayMessage } from './service.ts';
export { environmentResponse, statusResponse } from './environments.ts';
export { promotionDetailResponse, promotionResponse } from './promotions.ts';

/**
 * What the API answers: the response bodies of the routes, as zod schemas keyed by handler, one
 * file per area beside this one. The domain returns its own types; this is the HTTP contract.
 * scripts/openapi.ts publishes them in the OpenAPI document; the test stack checks every 2xx answer
 * against that document in every integration test, so the contract cannot drift from the code.
 * Objects are strict where the view is ours (a field added to a view must be added here); nested
 * documents that carry user data stay open.
 *
 * Keyed by handler, or by the name a route gives in `response.schema` (functions/http/routes.ts)
 * where one handler answers its routes differently. A route with neither (and no text answer
 * declared) is published with an open object, and test/unit/openapi.test.ts fails.
 */
export const RESPONSES: Record<string, z.ZodMiniType> = {
  ...ENVIRONMENT_RESPONSES,
  ...CONFIG_RESPONSES,
  ...PROMOTION_RESPONSES,
  ...ARTIFACT_RESPONSES,
  ...AUDIT_RESPONSES,
  ...MANIFEST_RESPONSES,
  ...NOTIFICATION_RESPONSES,
  ...SERVICE_RESPONSES,
  ...CONSUME_RESPONSES,
  ...WEBHOOK_RESPONSES,
  ...GITOPS_RESPONSES,
  ...ACCESS_RESPONSES,
};

/** The schema of a route's JSON answer: the one it names, else its handler's. */
export const responseOf = (route: { handler: string; response?: { schema?: string } }): z.ZodMiniType | undefined =>
  RESPONSES[route.response?.schema ?? route.handler];
