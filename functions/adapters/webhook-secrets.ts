import type { WebhookSecret, WebhookSecretStore } from '#domain/webhooks/ports';
import * as env from '../configuration.ts';
import { traced } from './tracing.ts';

/**
 * The Secrets Manager name of a subscription's signing secrets, under the stack's prefix of tenants' secrets
 * (SECRETS_PREFIX, infra/names.ts; `stageline/` when unset, the default stack's): the functions may touch only
 * `<prefix>*\/webhooks/*`.
 */
export const webhookSecretName = (tenant: string, id: string, prefix = env.SECRETS_PREFIX()) => `${prefix}${tenant}/webhooks/${id}`;

/**
 * AWS: one Secrets Manager secret per subscription, its value the JSON list of live secrets (the new
 * one first; a rotated one with its expiry). Created on first put, a new version on each rotation,
 * deleted (after the default recovery window) with the subscription. The local stand-in is
 * local/webhook-secrets.ts.
 */
export class SecretsManagerWebhookSecrets implements WebhookSecretStore {
  private client: Promise<import('@aws-sdk/client-secrets-manager').SecretsManagerClient> | undefined;
  private sm() {
    this.client ??= import('@aws-sdk/client-secrets-manager').then(({ SecretsManagerClient }) => traced(new SecretsManagerClient({})));
    return this.client;
  }

  async put(tenant: string, id: string, secrets: WebhookSecret[]): Promise<void> {
    const { PutSecretValueCommand, CreateSecretCommand, ResourceNotFoundException } = await import('@aws-sdk/client-secrets-manager');
    const sm = await this.sm();
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
          Tags: [{ Key: 'stageline:tenant', Value: tenant }],
        }),
      );
    }
  }

  async get(tenant: string, id: string): Promise<WebhookSecret[]> {
    const { GetSecretValueCommand, ResourceNotFoundException } = await import('@aws-sdk/client-secrets-manager');
    try {
      const r = await (await this.sm()).send(new GetSecretValueCommand({ SecretId: webhookSecretName(tenant, id) }));
      return JSON.parse(r.SecretString ?? '[]') as WebhookSecret[];
    } catch (err) {
      if (err instanceof ResourceNotFoundException) return [];
      throw err;
    }
  }

  async remove(tenant: string, id: string): Promise<void> {
    const { DeleteSecretCommand, ResourceNotFoundException } = await import('@aws-sdk/client-secrets-manager');
    try {
      await (await this.sm()).send(new DeleteSecretCommand({ SecretId: webhookSecretName(tenant, id) }));
    } catch (err) {
      if (!(err instanceof ResourceNotFoundException)) throw err;
    }
  }
}
