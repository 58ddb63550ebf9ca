import { lookAtChangeSoon } from '#domain/promotion/run/change-hold';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';
import { schedulerOnFirstUse } from '../adapters/scheduler-on-first-use.ts';
import { compose } from '../http/deps.ts';

/** The scheduler: the look is the held promotion's own schedule, moved to now (the function that looks holds the credential's key, this one does not). */
const wiring = compose({ scheduler: () => schedulerOnFirstUse() });

export const handler = httpHandler({ wiring, params, bodyOptional: true }, async ({ deps, ctx, params }) => lookAtChangeSoon(deps, ctx, params.id));
