/** The stored items' schema version and its attribute (store/schema.ts says how they are written and read; store/upgrades.ts upgrades older items). */
export const SCHEMA_ATTRIBUTE = 'sv';
export const SCHEMA_VERSION = 2;

type Item = Record<string, unknown>;

/** The version an item was written in (1: before items carried one). */
export const versionOf = (item: Item): number => (typeof item[SCHEMA_ATTRIBUTE] === 'number' ? (item[SCHEMA_ATTRIBUTE] as number) : 1);
