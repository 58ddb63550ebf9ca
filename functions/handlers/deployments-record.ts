import { recordDeployment } from '#domain/deployments';
import { deploymentBody as body } from '#domain/schemas';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ body, status: 201 }, async ({ deps, ctx, body }) => (await recordDeployment(deps, ctx, body)).record);
