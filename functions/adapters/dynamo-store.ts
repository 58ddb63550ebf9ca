import type { Store } from '#domain/ports';
import { AppKeyStore } from './store/app-keys.ts';
import { DeliveryStore } from './store/webhooks.ts';

export { documentClient, eventsOf, openAuditEntry, strip } from './store/base.ts';

/**
 * DynamoDB implementation of the Store port (single table; keys and index attributes in keys.ts).
 * Split by area under store/, each area a layer of one class (base → environments → audit →
 * artifacts → deployments → promotions → notifications → idempotency → commit → app keys), so every method
 * keeps the shared client, transactions and paging without delegating.
 */
export class DynamoStore extends DeliveryStore implements Store {}
