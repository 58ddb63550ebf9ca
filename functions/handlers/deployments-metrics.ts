import { deploymentMetrics } from '#domain/artifacts/deployments';
import { metricsQuery as query } from '#domain/kernel/schemas';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ query }, async ({ deps, ctx, query }) => deploymentMetrics(deps, ctx, query));
