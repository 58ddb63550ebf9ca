import type { SecretPurpose, SecretResolver } from '#domain/kernel/ports';
import * as env from '../configuration.ts';
import { secretsClientFor } from './secrets-session.ts';

/**
 * The local name of a tenant's secret: `STAGELINE_SECRET_<TENANT>__<PURPOSE>__<NAME>`, tenant and purpose
 * upper-cased with dashes as underscores (acme's git push token GITOPS_TOKEN:
 * STAGELINE_SECRET_ACME__GIT_TOKEN__GITOPS_TOKEN). Per tenant and purpose, as on AWS: one tenant never
 * reads another's, and a reference of one kind never reads a secret of another. A tenant id with an
 * underscore has no local secrets (`a_b` and `a-b` would share names): null.
 */
export function localSecretVariable(tenant: string, purpose: SecretPurpose, name: string): string | null {
  if (tenant.includes('_')) return null;
  const up = (s: string) => s.toUpperCase().replace(/-/g, '_');
  return `STAGELINE_SECRET_${up(tenant)}__${up(purpose)}__${name}`;
}

/**
 * `${NAME}` references in documents (the manifest's Slack webhook and webhook-gate HMAC keys) and git
 * targets' tokens: on AWS the Secrets Manager secret `<prefix><tenant>/<purpose>/<NAME>`, the prefix the
 * stack's (SECRETS_PREFIX, infra/names.ts; `stageline/` when unset, the default stack's), read with a
 * session of the tenant secrets role tagged with that tenant (functions/adapters/secrets-session.ts): IAM
 * lets it read `<prefix><tenant>/*` of that tenant alone. Locally (no AWS) the tenant's environment
 * variable (localSecretVariable), whatever the prefix.
 */
export function secretsFromEnv(source?: env.Source): SecretResolver {
  if (!env.AWS_LAMBDA_FUNCTION_NAME(source)) {
    return {
      resolve: async (tenant, name, purpose) => {
        const variable = localSecretVariable(tenant, purpose, name);
        return (variable && env.localSecret(variable, source)) ?? null;
      },
    };
  }
  return {
    async resolve(tenant, name, purpose) {
      const [{ GetSecretValueCommand, ResourceNotFoundException }, client] = await Promise.all([
        import('@aws-sdk/client-secrets-manager'),
        secretsClientFor(tenant, source),
      ]);
      try {
        const r = await client.send(new GetSecretValueCommand({ SecretId: `${env.SECRETS_PREFIX(source)}${tenant}/${purpose}/${name}` }));
        return r.SecretString ?? null;
      } catch (err) {
        if (err instanceof ResourceNotFoundException) return null;
        throw err;
      }
    },
  };
}
