import { deploymentMetrics } from '#domain/deployments';
import { metricsQuery as query } from '#domain/schemas';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ query }, async ({ deps, ctx, query }) => deploymentMetrics(deps, ctx, query));
