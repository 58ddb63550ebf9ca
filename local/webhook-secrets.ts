import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { WebhookSecret, WebhookSecretStore } from '#domain/webhooks/ports';
import { keys } from '../functions/adapters/keys.ts';
import { secretBox } from '../functions/adapters/secret-box.ts';

/**
 * The local stand-in for Secrets Manager's webhook signing secrets (functions/adapters/webhook-secrets.ts)
 * under npm start and in the tests: the same shape, the value sealed with the local secrets key
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
