import type { WebhookSecret, WebhookSecretStore } from '#domain/webhooks/ports';
import * as env from '../configuration.ts';
import { secretsClientFor, TENANT_SECRET_TAG } from './secrets-session.ts';

/**
 * The Secrets Manager name of a subscription's signing secrets, under the stack's prefix of tenants' secrets
 * (SECRETS_PREFIX, infra/names.ts; `stageline/` when unset, the default stack's): the functions may touch only
 * `<prefix>*\/webhooks/*`.
 */
export const webhookSecretName = (tenant: string, id: string, prefix = env.SECRETS_PREFIX()) => `${prefix}${tenant}/webhooks/${id}`;

/**
 * AWS: one Secrets Manager secret per subscription, its value the JSON list of live secrets (the new
 * one first; a rotated one with its expiry). Created on first put, a new version on each rotation,
 * deleted (after the default recovery window) with the subscription. Each call goes through a session of
 * the tenant secrets role tagged with the subscription's tenant (functions/adapters/secrets-session.ts): IAM
 * lets it touch `<prefix><tenant>/webhooks/*` of that tenant alone, and create a secret only tagged with it.
 * The local stand-in is local/webhook-secrets.ts.
 */
export class SecretsManagerWebhookSecrets implements WebhookSecretStore {
  private sm(tenant: string) {
    return secretsClientFor(tenant);
  }

  async put(tenant: string, id: string, secrets: WebhookSecret[]): Promise<void> {
    const { PutSecretValueCommand, CreateSecretCommand, ResourceNotFoundException } = await import('@aws-sdk/client-secrets-manager');
    const sm = await this.sm(tenant);
    const SecretString = JSON.stringify(secrets);
    try {
      await sm.send(new PutSecretValueCommand({ SecretId: webhookSecretName(tenant, id), SecretString }));
    } catch (err) {
      if (!(err instanceof ResourceNotFoundException)) throw err;
      await sm.send(
        new CreateSecretCommand({
          Name: webhookSecretName(tenant, id),
          SecretString,
          Description: `Stageline webhook signing secrets (${tenant})`,
          Tags: [{ Key: TENANT_SECRET_TAG, Value: tenant }],
        }),
      );
    }
  }

  async get(tenant: string, id: string): Promise<WebhookSecret[]> {
    const { GetSecretValueCommand, ResourceNotFoundException } = await import('@aws-sdk/client-secrets-manager');
    try {
      const r = await (await this.sm(tenant)).send(new GetSecretValueCommand({ SecretId: webhookSecretName(tenant, id) }));
      return JSON.parse(r.SecretString ?? '[]') as WebhookSecret[];
    } catch (err) {
      if (err instanceof ResourceNotFoundException) return [];
      throw err;
    }
  }

  async remove(tenant: string, id: string): Promise<void> {
    const { DeleteSecretCommand, ResourceNotFoundException } = await import('@aws-sdk/client-secrets-manager');
    try {
      await (await this.sm(tenant)).send(new DeleteSecretCommand({ SecretId: webhookSecretName(tenant, id) }));
    } catch (err) {
      if (!(err instanceof ResourceNotFoundException)) throw err;
    }
  }
}
