import * as z from 'zod';
import { digest, time } from './common.ts';
import { environmentResponse } from './environments.ts';

/** What the config item, snapshot and diff routes answer. */
export const itemResponse = /* @__PURE__ */ z
  .object({ id: z.string(), kind: z.enum(['config', 'flag']), key: z.string(), value: z.unknown(), description: z.string(), version: z.number().int(), updatedAt: time, updatedBy: z.string() })
  .strict()
  .meta({ id: 'Item' });

const snapshot = /* @__PURE__ */ z
  .object({
    id: z.string().describe('<environment>@<seq>'),
    environment: z.string(),
    seq: z.number().int(),
    digest,
    parentSeq: z.number().int().nullable(),
    itemCount: z.number().int(),
    configCount: z.number().int(),
    flagCount: z.number().int(),
    createdAt: time,
    createdBy: z.string(),
    change: z.object({ action: z.enum(['create', 'set', 'delete', 'batch', 'restore']), keys: z.array(z.string()), count: z.number().int(), restoredFrom: z.number().int().optional() }).strict(),
    reason: z.string().optional(),
  })
  .strict()
  .meta({ id: 'Snapshot' });

const keyed = /* @__PURE__ */ z.object({ kind: z.enum(['config', 'flag']), key: z.string(), value: z.unknown() }).strict();
/** An environment diff: what promoting source onto target would change. */
const diff = /* @__PURE__ */ z
  .object({
    sourceEnvironment: z.string(),
    targetEnvironment: z.string(),
    sourceSnapshot: z.object({ seq: z.number().int(), digest }).strict(),
    targetSnapshot: z.object({ seq: z.number().int(), digest }).strict(),
    added: z.array(keyed),
    modified: z.array(z.object({ kind: z.enum(['config', 'flag']), key: z.string(), sourceValue: z.unknown(), targetValue: z.unknown() }).strict()),
    removed: z.array(keyed),
    unchanged: z.number().int(),
  })
  .strict()
  .meta({ id: 'Diff' });

export const CONFIG_RESPONSES: Record<string, z.ZodType> = {
  'items-get': itemResponse,
  'items-create': itemResponse,
  'items-update': itemResponse,
  'snapshots-list': z.object({ items: z.array(snapshot), nextCursor: z.string().nullable().optional() }).strict(),
  'items-list': z.object({ items: z.array(itemResponse), nextCursor: z.string().nullable().optional() }).strict(),
  'snapshots-get': snapshot,
  'items-batch': z
    .object({
      environment: z.string(),
      snapshot: z.object({ seq: z.number().int(), digest }).strict().describe('the snapshot the batch made (or the current one when nothing changed)'),
      created: z.number().int(),
      updated: z.number().int(),
      deleted: z.number().int(),
      unchanged: z.number().int(),
      notFound: z.number().int(),
    })
    .strict(),
  'snapshots-restore': environmentResponse,
  'diff-snapshots': z
    .object({
      from: z.object({ id: z.string().describe('<environment>@<seq>'), digest }).strict(),
      to: z.object({ id: z.string(), digest }).strict(),
      added: z.array(keyed),
      modified: z.array(z.object({ kind: z.enum(['config', 'flag']), key: z.string(), fromValue: z.unknown(), toValue: z.unknown() }).strict()),
      removed: z.array(keyed),
      unchanged: z.number().int(),
    })
    .strict(),
  'diff-environments': diff,
};
