import * as z from '#domain/zod';
import { listAppKeys } from '#domain/app-keys';
import { envName } from '#domain/schemas';
import { httpHandler } from '../http/handler.ts';

const query = z.strictObject({ environment: z.optional(envName) });

export const handler = httpHandler({ query }, async ({ deps, ctx, query }) => listAppKeys(deps, ctx, query.environment));
