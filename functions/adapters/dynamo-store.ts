/**
 * The DynamoDB store: the areas of the single table (store/<area>.ts), composed in store/index.ts;
 * keys and index attributes in keys.ts.
 */
export { DynamoStore, dynamoStore, service, storeAreas, type Composed } from './store/index.ts';
export { documentClient, strip } from './store/base.ts';
export { eventsOf } from './store/outbox.ts';
export { openAuditEntry } from './store/audit.ts';
