import { createEnvironment, environmentAnswer } from '#domain/config/environments';
import { createEnvironment as body } from '#domain/kernel/schemas';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ body, status: 201 }, async ({ deps, ctx, body }) =>
  environmentAnswer(deps, ctx, await createEnvironment(deps, ctx, body)),
);
