import { diffQuery as query } from '#domain/kernel/schemas';
import { diffEnvironments } from '#domain/config/snapshots';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ query }, async ({ deps, ctx, query }) => diffEnvironments(deps, ctx, query.source, query.target));
