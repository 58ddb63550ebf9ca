import { createEnvironment, environmentView } from '#domain/config/environments';
import { createEnvironment as body } from '#domain/kernel/schemas';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ body, status: 201 }, async ({ deps, ctx, body }) => environmentView(await createEnvironment(deps, ctx, body)));
