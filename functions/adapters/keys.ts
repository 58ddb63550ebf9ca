/**
 * The keys module: every entity of the single table, its keys and every
 * access pattern, in one place. `infra/` and the local stack build the table
 * (and its GSIs) from TABLE below, so the two cannot drift.
 *
 * Every partition key starts with `T#<tenant>#`, so an IAM policy with
 * `dynamodb:LeadingKeys` = `T#<tenant>#*` confines a principal to one tenant.
 * No access pattern scans.
 *
 * | entity            | pk                              | sk                    | access pattern |
 * |-------------------|---------------------------------|-----------------------|----------------|
 * | Environment       | T#t#ENV                         | ENV#<name>            | get by name; all of a tenant (≤ 20) sorted by position in code |
 * | PositionGuard     | T#t#ENV                         | POS#<nnn>             | keeps positions in the line unique (written in the same transaction) |
 * | Snapshot          | T#t#SNAP#<env>                  | S#<seq 10 digits>     | get by env+seq; history newest first |
 * | TreeNode          | T#t#NODE#<sha256 address>       | N                     | batch get by address (immutable, shared by snapshots) |
 * | ItemId            | T#t#ITEMID#<uuid>               | I                     | item id → kind + key |
 * | AuditHead         | T#t#AUDIT                       | HEAD                  | chain head: seq + hash (the condition that serialises appends) |
 * | AuditEntry        | T#t#AUDIT                       | E#<at ISO>#<seq 12>   | chain in order; time range (at never decreases along the chain) |
 * |   by entity (gsi1)| T#t#AUDIT#E#<type>#<id>         | <at>#<seq>            | history of one entity |
 * |   by actor (gsi2) | T#t#AUDIT#A#<actor>             | <at>#<seq>            | what one person did |
 *
 * Snapshot storage: an environment's config set is a content-addressed hash
 * trie (see domain/tree.ts). A snapshot item holds only the two root
 * references (configs, flags); nodes are written once under their sha256 and
 * shared by every snapshot and environment of the tenant that contains them.
 * Changing one key writes the leaf and its ancestors (depth ≈ log16(n/32)),
 * diffing reads only nodes under differing content digests, and moving an
 * environment to another snapshot is one conditional write of its `head`.
 */
export const TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  indexes: [
    { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    { name: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
  ],
} as const;

export const GSI_ENTITY = TABLE.indexes[0];
export const GSI_ACTOR = TABLE.indexes[1];

export interface Key {
  pk: string;
  sk: string;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const t = (tenant: string) => `T#${tenant}#`;

export const keys = {
  tenantPrefix: t,
  environment: (tenant: string, name: string): Key => ({ pk: `${t(tenant)}ENV`, sk: `ENV#${name}` }),
  environments: (tenant: string) => ({ pk: `${t(tenant)}ENV`, skPrefix: 'ENV#' }),
  position: (tenant: string, position: number): Key => ({ pk: `${t(tenant)}ENV`, sk: `POS#${pad(position, 3)}` }),
  snapshot: (tenant: string, env: string, seq: number): Key => ({ pk: `${t(tenant)}SNAP#${env}`, sk: `S#${pad(seq, 10)}` }),
  snapshots: (tenant: string, env: string) => ({ pk: `${t(tenant)}SNAP#${env}`, skPrefix: 'S#' }),
  node: (tenant: string, address: string): Key => ({ pk: `${t(tenant)}NODE#${address}`, sk: 'N' }),
  itemId: (tenant: string, id: string): Key => ({ pk: `${t(tenant)}ITEMID#${id}`, sk: 'I' }),
  auditHead: (tenant: string): Key => ({ pk: `${t(tenant)}AUDIT`, sk: 'HEAD' }),
  auditEntry: (tenant: string, at: string, seq: number) => ({
    pk: `${t(tenant)}AUDIT`,
    sk: `E#${at}#${pad(seq, 12)}`,
  }),
  auditEntries: (tenant: string) => ({ pk: `${t(tenant)}AUDIT`, skPrefix: 'E#' }),
  auditByEntity: (tenant: string, type: string, id: string) => `${t(tenant)}AUDIT#E#${type}#${id}`,
  auditByActor: (tenant: string, actor: string) => `${t(tenant)}AUDIT#A#${actor}`,
  auditIndexSort: (at: string, seq: number) => `${at}#${pad(seq, 12)}`,
};
