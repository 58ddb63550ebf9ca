import * as z from 'zod';
import { listAppKeys } from '#domain/app-keys';
import { envName } from '#domain/schemas';
import { httpHandler } from '../http/handler.ts';

const query = z.object({ environment: envName.optional() }).strict();

export const handler = httpHandler({ query }, async ({ deps, ctx, query }) => listAppKeys(deps, ctx, query.environment));
