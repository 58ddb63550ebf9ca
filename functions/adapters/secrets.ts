import type { SecretResolver } from '#domain/ports';
import { traced } from './tracing.ts';

/**
 * `${NAME}` references in documents (the manifest's Slack webhook and webhook-gate HMAC keys): on AWS the Secrets Manager
 * secret `stageline/<tenant>/<NAME>` (the function may read only `stageline/*`, and asks only for its
 * verified tenant's); locally (no AWS) the environment variable `STAGELINE_SECRET_<NAME>`.
 */
export function secretsFromEnv(env: NodeJS.ProcessEnv = process.env): SecretResolver {
  if (!env.AWS_LAMBDA_FUNCTION_NAME) return { resolve: async (_tenant, name) => env[`STAGELINE_SECRET_${name}`] ?? null };
  return {
    async resolve(tenant, name) {
      const { SecretsManagerClient, GetSecretValueCommand, ResourceNotFoundException } = await import('@aws-sdk/client-secrets-manager');
      try {
        const r = await traced(new SecretsManagerClient({})).send(new GetSecretValueCommand({ SecretId: `stageline/${tenant}/${name}` }));
        return r.SecretString ?? null;
      } catch (err) {
        if (err instanceof ResourceNotFoundException) return null;
        throw err;
      }
    },
  };
}
