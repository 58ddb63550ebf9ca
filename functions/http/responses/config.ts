import * as z from '../../../domain/kernel/zod.ts';
import { digest, time } from './common.ts';
import { environmentResponse } from './environments.ts';

/** What the config item, snapshot and diff routes answer. */
export const itemResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      id: z.string(),
      kind: z.enum(['config', 'flag']),
      key: z.string(),
      value: z.unknown(),
      description: z.string(),
      version: z.number().check(z.int()),
      updatedAt: time,
      updatedBy: z.string(),
    })
    .check(z.meta({ id: 'Item' })),
);

export const snapshot = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      id: z.string().check(z.describe('<environment>@<seq>')),
      environment: z.string(),
      seq: z.number().check(z.int()),
      digest,
      parentSeq: z.nullable(z.number().check(z.int())),
      itemCount: z.number().check(z.int()),
      configCount: z.number().check(z.int()),
      flagCount: z.number().check(z.int()),
      createdAt: time,
      createdBy: z.string(),
      change: z.strictObject({
        action: z.enum(['create', 'set', 'delete', 'batch', 'restore']),
        keys: z.array(z.string()),
        count: z.number().check(z.int()),
        restoredFrom: z.optional(z.number().check(z.int())),
      }),
      reason: z.optional(z.string()),
    })
    .check(z.meta({ id: 'Snapshot' })),
);

const keyed = /* @__PURE__ */ z.schema(() => z.strictObject({ kind: z.enum(['config', 'flag']), key: z.string(), value: z.unknown() }));
/** An environment diff: what promoting source onto target would change. */
export const diff = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      sourceEnvironment: z.string(),
      targetEnvironment: z.string(),
      sourceSnapshot: z.strictObject({ seq: z.number().check(z.int()), digest }),
      targetSnapshot: z.strictObject({ seq: z.number().check(z.int()), digest }),
      added: z.array(keyed),
      modified: z.array(z.strictObject({ kind: z.enum(['config', 'flag']), key: z.string(), sourceValue: z.unknown(), targetValue: z.unknown() })),
      removed: z.array(keyed),
      unchanged: z.number().check(z.int()),
    })
    .check(z.meta({ id: 'Diff' })),
);

/** An environment against the environments it comes after: one diff each (source: the predecessor). */
export const predecessorDiffResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    environment: z.string(),
    after: z.array(z.string()).check(z.describe('the environments it comes after (its after, or the one before it by position); [] for the first')),
    afterMode: z.enum(['all', 'any']),
    diffs: z
      .array(diff)
      .check(z.describe('one per predecessor (only the one named by against, when given): what promoting it onto this environment would change')),
  }),
);

export const snapshotsListResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({ items: z.array(snapshot), nextCursor: z.optional(z.nullable(z.string())) }),
);
export const itemsListResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({ items: z.array(itemResponse), nextCursor: z.optional(z.nullable(z.string())) }),
);
export const itemsBatchResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    environment: z.string(),
    snapshot: z
      .strictObject({ seq: z.number().check(z.int()), digest })
      .check(z.describe('the snapshot the batch made (or the current one when nothing changed)')),
    created: z.number().check(z.int()),
    updated: z.number().check(z.int()),
    deleted: z.number().check(z.int()),
    unchanged: z.number().check(z.int()),
    notFound: z.number().check(z.int()),
  }),
);
export const snapshotDiffResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    from: z.strictObject({ id: z.string().check(z.describe('<environment>@<seq>')), digest }),
    to: z.strictObject({ id: z.string(), digest }),
    added: z.array(keyed),
    modified: z.array(z.strictObject({ kind: z.enum(['config', 'flag']), key: z.string(), fromValue: z.unknown(), toValue: z.unknown() })),
    removed: z.array(keyed),
    unchanged: z.number().check(z.int()),
  }),
);
