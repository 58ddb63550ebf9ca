import * as z from 'zod';
import { time } from './common.ts';

/** What the app-key, effective-config and OFREP routes answer. */
const appKey = /* @__PURE__ */ z
  .object({
    id: z.string(),
    name: z.string(),
    environment: z.string(),
    prefix: z.string().nullable(),
    status: z.enum(['active', 'rotating', 'revoked']).describe('rotating: a previous secret still works until previousSecretValidUntil'),
    createdAt: time,
    createdBy: z.string(),
    rotatedAt: time.nullable(),
    previousSecretValidUntil: time.nullable(),
    revokedAt: time.nullable(),
    revokedBy: z.string().nullable(),
    lastUsedAt: time.nullable().describe('written at most once a minute'),
    version: z.number().int(),
  })
  .strict()
  .meta({ id: 'AppKey' });
const withSecret = /* @__PURE__ */ appKey.extend({ key: z.string().describe('the key: shown this once, stored only as a hash') }).strict();
const meta = /* @__PURE__ */ z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));
const ofrepSuccess = /* @__PURE__ */ z
  .object({ key: z.string(), value: z.unknown(), reason: z.enum(['STATIC', 'SPLIT']), variant: z.string().optional(), metadata: meta })
  .strict()
  .meta({ id: 'OfrepEvaluationSuccess' });
const ofrepFailure = /* @__PURE__ */ z
  .object({ key: z.string(), errorCode: z.enum(['PARSE_ERROR', 'TARGETING_KEY_MISSING', 'INVALID_CONTEXT', 'GENERAL', 'FLAG_NOT_FOUND']), errorDetails: z.string() })
  .strict()
  .meta({ id: 'OfrepEvaluationFailure' });

/** An OFREP error answer (400, 404): the one-flag route names the flag, the bulk route does not. */
const ofrepError = /* @__PURE__ */ z
  .object({ key: z.string().optional(), errorCode: ofrepFailure.shape.errorCode, errorDetails: z.string() })
  .strict()
  .meta({ id: 'OfrepError' });

export const CONSUME_RESPONSES: Record<string, z.ZodType> = {
  'app-keys-list': z.object({ items: z.array(appKey) }).strict(),
  'app-keys-create': withSecret,
  'app-keys-rotate': withSecret,
  'app-keys-revoke': appKey,
  effective: z
    .object({
      environment: z.string(),
      snapshot: z.object({ seq: z.number().int(), digest: z.string() }).strict(),
      prefix: z.string().nullable(),
      configs: z.record(z.string(), z.unknown()).describe('key → value'),
      flags: z.record(z.string(), z.unknown()).describe('key → value (a rollout as {"$rollout": {variants, weights}})'),
    })
    .strict()
    .meta({ id: 'EffectiveConfig' }),
  ofrep: ofrepSuccess,
  'ofrep-error': ofrepError,
  'ofrep-bulk': z.object({ flags: z.array(z.union([ofrepSuccess, ofrepFailure])) }).strict(),
  'ofrep-configuration': z
    .object({
      name: z.string(),
      capabilities: z.object({
        cacheInvalidation: z.object({ polling: z.object({ enabled: z.boolean(), minPollingIntervalMs: z.number() }) }),
        flagEvaluation: z.object({ supportedTypes: z.array(z.string()) }),
      }),
    })
    .strict(),
};
