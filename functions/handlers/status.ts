import * as z from '#domain/kernel/zod';
import { envName } from '#domain/kernel/schemas';
import { status } from '#domain/promotion/status';
import { httpHandler } from '../http/handler.ts';

const query = z.strictObject({ env: z.optional(envName) });

export const handler = httpHandler({ query }, async ({ deps, ctx, query }) => status(deps, ctx, query.env));
