/**
 * The table's shape (its keys, TTL, stream and indexes) and every key's tenant prefix: what the store
 * base needs at init, apart from the key patterns (keys.ts, which re-exports these), which only the areas use.
 */
/**
 * Attributes the index queries filter on (promotions: source, target, subject; audit: entity type,
 * actor). Never a promotion's `status`: it changes at every step, and a projected attribute that
 * changes rewrites the item's entry in every index it sits in. Without it a status change moves only
 * the by-status entry (its key holds the status); the by-target and all entries are written once,
 * the active one at create and when it leaves. A status filter on another index is applied to the
 * items read from the table (the store base's page `keep`, store/base.ts).
 */
const INDEX_FILTERS = ['sourceEnvironment', 'targetEnvironment', 'subjectKey', 'entityType', 'actorName'] as const;

export const TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  /** the stream carries new images: its one consumer links audit entries and relays outbox events */
  streamView: 'NEW_IMAGE',
  /**
   * Every index projects only the keys and the attributes its queries filter on (INCLUDE), never
   * the whole item: a promotion is rewritten at every step and sits in up to four indexes, so an
   * ALL projection paid its full size once per index per write. Queries read the keys from the
   * index and the items from the table (BatchGetItem, see page in store/base.ts).
   */
  indexes: [
    { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk', projected: INDEX_FILTERS },
    { name: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk', projected: INDEX_FILTERS },
    { name: 'gsi3', partitionKey: 'gsi3pk', sortKey: 'gsi3sk', projected: INDEX_FILTERS },
    { name: 'gsi4', partitionKey: 'gsi4pk', sortKey: 'gsi4sk', projected: INDEX_FILTERS },
  ],
} as const;

export interface Key {
  pk: string;
  sk: string;
}

/** Every key of a tenant starts with this. */
export const tenantPrefix = (tenant: string) => `T#${tenant}#`;
