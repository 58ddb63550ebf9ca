import { recordDeployment } from '#domain/artifacts/deployments';
import { deploymentBody as body } from '#domain/kernel/schemas';
import { httpHandler, WithHeaders } from '../http/handler.ts';

/** 201 for a new record; 200 when the same record was already there (a replay) or changed status. */
export const handler = httpHandler(
  { body, status: 201, otherSuccess: { 200: 'The same record was already there (a replay), or its status changed' } },
  async ({ deps, ctx, body }) => {
    const { record, created } = await recordDeployment(deps, ctx, body);
    return new WithHeaders(record, {}, created ? 201 : 200);
  },
);
