import { createEnvironment, environmentAnswer } from '#domain/config/environments';
import { createEnvironment as body } from '#domain/kernel/schemas';
import { httpHandler } from '../http/handler.ts';
import { compose } from '../http/deps.ts';
import { sealer } from '../adapters/secret-box.ts';

/** The store and the sealer: the webhook gates' secrets it is given are sealed here, where they are written. */
const wiring = compose({ sealer });

export const handler = httpHandler({ wiring, body, status: 201 }, async ({ deps, ctx, body }) =>
  environmentAnswer(deps, ctx, await createEnvironment(deps, ctx, body)),
);
