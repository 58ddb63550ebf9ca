import * as z from 'zod';
import { addFreezeWindow, createFreezeWindow as body } from '#domain/freeze';
import { envName } from '#domain/schemas';
import { httpHandler } from '../http/handler.ts';

const params = z.object({ env: envName.optional() });

export const handler = httpHandler({ params, body, status: 201 }, async ({ deps, ctx, params, body }) => addFreezeWindow(deps, ctx, body, params.env));
