import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { WebhookSecret, WebhookSecretStore } from '#domain/webhooks/ports';
import { keys } from './keys.ts';
import { secretBox } from './secret-box.ts';
import { traced } from './tracing.ts';

/** The Secrets Manager name of a subscription's signing secrets (the functions may touch only `stageline/*\/webhooks/*`). */
export const webhookSecretName = (tenant: string, id: string) => `stageline/${tenant}/webhooks/${id}`;

/**
 * AWS: one Secrets Manager secret per subscription, its value the JSON list of live secrets (the new
 * one first; a rotated one with its expiry). Created on first put, a new version on each rotation,
 * deleted (after the default recovery window) with the subscription.
 */
export class SecretsManagerWebhookSecrets implements WebhookSecretStore {
  private client: Promise<import('@aws-sdk/client-secrets-manager').SecretsManagerClient> | undefined;
  private sm() {
    this.client ??= import('@aws-sdk/client-secrets-manager').then((m) => traced(new m.SecretsManagerClient({})));
    return this.client;
  }

  async put(tenant: string, id: string, secrets: WebhookSecret[]): Promise<void> {
    const m = await import('@aws-sdk/client-secrets-manager');
    const sm = await this.sm();
    const SecretString = JSON.stringify(secrets);
    try {
      await sm.send(new m.PutSecretValueCommand({ SecretId: webhookSecretName(tenant, id), SecretString }));
    } catch (err) {
      if (!(err instanceof m.ResourceNotFoundException)) throw err;
      await sm.send(new m.CreateSecretCommand({ Name: webhookSecretName(tenant, id), SecretString, Description: `Stageline webhook signing secrets (${tenant})`, Tags: [{ Key: 'stageline:tenant', Value: tenant }] }));
    }
  }

  async get(tenant: string, id: string): Promise<WebhookSecret[]> {
    const m = await import('@aws-sdk/client-secrets-manager');
    try {
      const r = await (await this.sm()).send(new m.GetSecretValueCommand({ SecretId: webhookSecretName(tenant, id) }));
      return JSON.parse(r.SecretString ?? '[]') as WebhookSecret[];
    } catch (err) {
      if (err instanceof m.ResourceNotFoundException) return [];
      throw err;
    }
  }

  async remove(tenant: string, id: string): Promise<void> {
    const m = await import('@aws-sdk/client-secrets-manager');
    try {
      await (await this.sm()).send(new m.DeleteSecretCommand({ SecretId: webhookSecretName(tenant, id) }));
    } catch (err) {
      if (!(err instanceof m.ResourceNotFoundException)) throw err;
    }
  }
}

/**
 * The local stand-in (npm start, tests): the same shape, the value sealed with the local secrets key
 * (secret-box.ts, kept in the data folder outside the table) in an item of its own, as the local
 * stack keeps every other tenant secret. A reader of the table sees `enc:v1:…`.
 */
export class SealedWebhookSecrets implements WebhookSecretStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private async box() {
    const box = await secretBox();
    if (!box) throw new Error('no secrets key (STAGELINE_SECRETS_KEY) to seal webhook secrets with');
    return box;
  }

  async put(tenant: string, id: string, secrets: WebhookSecret[]): Promise<void> {
    const sealed = (await this.box()).seal(JSON.stringify(secrets));
    await this.db.send(new PutCommand({ TableName: this.table, Item: { ...keys.webhookSecret(tenant, id), entity: 'WebhookSecret', sealed } }));
  }

  async get(tenant: string, id: string): Promise<WebhookSecret[]> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.webhookSecret(tenant, id), ConsistentRead: true }));
    if (!r.Item) return [];
    return JSON.parse((await this.box()).open(String(r.Item.sealed))) as WebhookSecret[];
  }

  async remove(tenant: string, id: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: keys.webhookSecret(tenant, id) }));
  }
}
