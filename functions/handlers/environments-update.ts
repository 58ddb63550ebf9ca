import { environmentAnswer, updateEnvironment } from '#domain/config/environments';
import { updateEnvironment as body } from '#domain/kernel/schemas';
import { envParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';
import { compose } from '../http/deps.ts';
import { sealer } from '../adapters/secret-box.ts';

/** The store and the sealer: the webhook gates' secrets it is given are sealed here, where they are written. */
const wiring = compose({ sealer });

export const handler = httpHandler(
  { wiring, readOnly: ['name', 'snapshot', 'itemCount', 'lastAlarm', 'createdAt', 'createdBy', 'updatedAt', 'updatedBy'], params, body },
  async ({ deps, ctx, params, body }) => environmentAnswer(deps, ctx, await updateEnvironment(deps, ctx, params.env, body)),
);
