import * as z from '#domain/kernel/zod';
import { addFreezeWindow, createFreezeWindow as body } from '#domain/freeze/windows';
import { envName } from '#domain/kernel/schemas';
import { httpHandler } from '../http/handler.ts';
import { compose } from '../http/deps.ts';
import { schedulerOnFirstUse } from '../adapters/scheduler-on-first-use.ts';

/** This function's adapters: the store and the scheduler (a window's next edge fires Freeze Started / Freeze Ended). */
const wiring = compose({ scheduler: () => schedulerOnFirstUse() });

const params = z.object({ env: z.optional(envName) });

export const handler = httpHandler({ wiring, params, body, status: 201 }, async ({ deps, ctx, params, body }) => addFreezeWindow(deps, ctx, body, params.env));
