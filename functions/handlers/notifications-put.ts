import * as z from '#domain/kernel/zod';
import { ValidationFailed } from '#domain/kernel/errors';
import { notificationSettingsBody as body, putNotificationSettings } from '#domain/notify/settings';
import { envName } from '#domain/kernel/schemas';
import { checkUrl, OutboundRefused } from '../adapters/outbound.ts';
import { httpHandler } from '../http/handler.ts';
import { compose } from '../http/deps.ts';
import { sealer } from '../adapters/secret-box.ts';

/** The store and the sealer: the Slack webhook it is given is sealed here, where it is written. */
const wiring = compose({ sealer });

const params = z.object({ env: z.optional(envName) });

export const handler = httpHandler({ wiring, readOnly: ['scope', 'updatedAt', 'updatedBy'], params, body }, async ({ deps, ctx, params, body, route }) => {
  // A webhook we could never post to is a configuration error now, not a silent drop later.
  for (const [path, url] of [
    ['body.slack.webhook', body.slack?.webhook],
    ['body.teams.webhook', body.teams?.webhook],
  ] as const) {
    if (!url) continue;
    try {
      checkUrl(url);
    } catch (err) {
      if (err instanceof OutboundRefused) throw new ValidationFailed([{ path, message: err.message }]);
      throw err;
    }
  }
  return putNotificationSettings(deps, ctx, route.context?.scope === 'environment' ? params.env! : 'tenant', body);
});
