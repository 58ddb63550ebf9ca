import * as z from '../../../domain/kernel/zod.ts';
import { time } from './common.ts';

/** What the app-key, effective-config and OFREP routes answer. */
export const appKey = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      id: z.string(),
      name: z.string(),
      environment: z.string(),
      prefix: z.nullable(z.string()),
      target: z.optional(z.string()).check(z.describe('the target the key reads as (only on keys scoped to one)')),
      status: z.enum(['active', 'rotating', 'revoked']).check(z.describe('rotating: a previous secret still works until previousSecretValidUntil')),
      createdAt: time,
      createdBy: z.string(),
      rotatedAt: z.nullable(time),
      previousSecretValidUntil: z.nullable(time),
      revokedAt: z.nullable(time),
      revokedBy: z.nullable(z.string()),
      lastUsedAt: z.nullable(time).check(z.describe('written at most once a minute')),
      version: z.number().check(z.int()),
    })
    .check(z.meta({ id: 'AppKey' })),
);
export const withSecret = /* @__PURE__ */ z.schema(() =>
  z.strictObject(z.extend(appKey, { key: z.string().check(z.describe('the key: shown this once, stored only as a hash')) }).shape),
);
const meta = /* @__PURE__ */ z.schema(() => z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])));
export const ofrepSuccess = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({ key: z.string(), value: z.unknown(), reason: z.enum(['STATIC', 'SPLIT']), variant: z.optional(z.string()), metadata: meta })
    .check(z.meta({ id: 'OfrepEvaluationSuccess' })),
);
const ofrepFailure = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      key: z.string(),
      errorCode: z.enum(['PARSE_ERROR', 'TARGETING_KEY_MISSING', 'INVALID_CONTEXT', 'GENERAL', 'FLAG_NOT_FOUND']),
      errorDetails: z.string(),
    })
    .check(z.meta({ id: 'OfrepEvaluationFailure' })),
);

/** An OFREP error answer (400, 404): the one-flag route names the flag, the bulk route does not. */
export const ofrepError = /* @__PURE__ */ z.schema(() =>
  z.strictObject({ key: z.optional(z.string()), errorCode: ofrepFailure.shape.errorCode, errorDetails: z.string() }).check(z.meta({ id: 'OfrepError' })),
);

export const appKeysListResponse = /* @__PURE__ */ z.schema(() => z.strictObject({ items: z.array(appKey) }));
export const effectiveResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      environment: z.string(),
      target: z.optional(z.string()).check(z.describe("the target read (the key's, or ?target=): only when one is; its head and parameters")),
      snapshot: z.strictObject({ seq: z.number().check(z.int()), digest: z.string() }),
      prefix: z.nullable(z.string()),
      configs: z.record(z.string(), z.unknown()).check(z.describe('key → value')),
      flags: z.record(z.string(), z.unknown()).check(z.describe('key → value (a rollout as {"$rollout": {variants, weights}})')),
    })
    .check(z.meta({ id: 'EffectiveConfig' })),
);
export const ofrepBulkResponse = /* @__PURE__ */ z.schema(() => z.strictObject({ flags: z.array(z.union([ofrepSuccess, ofrepFailure])) }));
export const ofrepConfigurationResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    name: z.string(),
    capabilities: z.object({
      cacheInvalidation: z.object({ polling: z.object({ enabled: z.boolean(), minPollingIntervalMs: z.number() }) }),
      flagEvaluation: z.object({ supportedTypes: z.array(z.string()) }),
    }),
  }),
);
