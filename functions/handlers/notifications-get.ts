import * as z from '#domain/kernel/zod';
import { getNotificationSettings } from '#domain/notify/settings';
import { envName } from '#domain/kernel/schemas';
import { httpHandler } from '../http/handler.ts';

const params = z.object({ env: z.optional(envName) });

export const handler = httpHandler({ params }, async ({ deps, ctx, params, route }) =>
  getNotificationSettings(deps, ctx, route.context?.scope === 'environment' ? params.env! : 'tenant'),
);
