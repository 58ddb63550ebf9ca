import { deploymentGateBody as body } from '#domain/gitops/deployment-gate';
import { secretsFromEnv } from '../adapters/secrets.ts';
import { compose } from '../http/deps.ts';
import { httpHandler } from '../http/handler.ts';
import { envParams as params } from '../http/params.ts';

/** The tenant's secrets: only that each one the gate names exists is read. */
const wiring = compose({ secrets: secretsFromEnv });

/** Sets an environment's deployment gate; what GET answered may be sent back (its read-only fields are ignored). */
export const handler = httpHandler(
  { wiring, params, body, readOnly: ['environment', 'webhookUrl', 'updatedAt', 'updatedBy'] },
  // The use case on the first save (the function's other admin saves never need it).
  async ({ deps, ctx, params, body }) => (await import('#domain/gitops/deployment-gate-service')).putDeploymentGate(deps, ctx, params.env, body),
);
