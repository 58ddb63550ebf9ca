import { environmentAnswer, updateEnvironment } from '#domain/config/environments';
import { updateEnvironment as body } from '#domain/kernel/schemas';
import { envParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler(
  { readOnly: ['name', 'snapshot', 'itemCount', 'lastAlarm', 'createdAt', 'createdBy', 'updatedAt', 'updatedBy'], params, body },
  async ({ deps, ctx, params, body }) => environmentAnswer(deps, ctx, await updateEnvironment(deps, ctx, params.env, body)),
);
