import * as z from '#domain/kernel/zod';
import { listAppKeys } from '#domain/access/app-keys';
import { envName } from '#domain/kernel/schemas';
import { httpHandler } from '../http/handler.ts';

const query = z.strictObject({ environment: z.optional(envName) });

export const handler = httpHandler({ query }, async ({ deps, ctx, query }) => listAppKeys(deps, ctx, query.environment));
