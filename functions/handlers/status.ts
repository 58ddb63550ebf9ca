import * as z from 'zod';
import { envName } from '#domain/schemas';
import { status } from '#domain/status';
import { httpHandler } from '../http/handler.ts';

const query = z.object({ env: envName.optional() }).strict();

export const handler = httpHandler({ query }, async ({ deps, ctx, query }) => status(deps, ctx, query.env));
