/**
 * The DynamoDB store: the areas of the single table (store/<area>.ts), composed in store/index.ts and,
 * as the functions run it, made on first use (store/on-first-use.ts); keys and index attributes in keys.ts.
 */
export { DynamoStore, dynamoStore } from './store/on-first-use.ts';
export { service, storeAreas, type Composed } from './store/index.ts';
export { documentClient, strip } from './store/base.ts';
export { eventsOf } from './store/outbox.ts';
export { openAuditEntry } from './store/audit.ts';
