import { listBundles } from '#domain/artifacts/bundles';
import { bundlesQuery as query } from '#domain/kernel/promotion-schemas';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ query }, async ({ deps, ctx, query }) => listBundles(deps, ctx, query.name));
