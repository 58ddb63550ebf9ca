import * as z from './zod.ts';
import { notReserved } from './reserved-keys.ts';
import { sha256Digest } from './schemas.ts';

/** The body of evidence attached to a promotion or a release (POST …/evidence): its type, and a payload of that type's shape. */

/** The smallest magnitude DynamoDB stores a number with (evidence is stored as native numbers). */
const MIN_STORED_MAGNITUDE = 1e-130;
/** A measurement: 0, or at least 1e-130 in magnitude (the OpenAPI document states it too). */
const measure = (n: z.ZodMiniNumber = z.number()) =>
  n.check(
    z.refine((v) => v === 0 || Math.abs(v) >= MIN_STORED_MAGNITUDE, { message: `must be 0 or at least ${MIN_STORED_MAGNITUDE} in magnitude` }),
    z.meta({ not: { exclusiveMinimum: -MIN_STORED_MAGNITUDE, exclusiveMaximum: MIN_STORED_MAGNITUDE, not: { const: 0 } } }),
  );

export const evidenceBody = /* @__PURE__ */ z.schema(() =>
  z.discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('test_results'),
      payload: z.strictObject({
        passed: z.number().check(z.int(), z.minimum(0)),
        failed: z.number().check(z.int(), z.minimum(0)),
        skipped: z._default(z.number().check(z.int(), z.minimum(0)), 0),
        suite: z.optional(z.string().check(z.maxLength(200))),
      }),
    }),
    z.strictObject({
      type: z.literal('security_scan'),
      payload: z.strictObject({
        critical: z.number().check(z.int(), z.minimum(0)),
        high: z.number().check(z.int(), z.minimum(0)),
        medium: z._default(z.number().check(z.int(), z.minimum(0)), 0),
        low: z._default(z.number().check(z.int(), z.minimum(0)), 0),
        signatureVerified: z.optional(z.boolean()),
        /** how the signature was checked, when the pipeline checked it (the CI action: the image, the key's fingerprint, the bundle) */
        signature: z.optional(
          z.strictObject({
            verifiedBy: z.string().check(z.maxLength(100)),
            image: z.string().check(z.maxLength(500)),
            key: sha256Digest,
            bundle: z.optional(sha256Digest),
            reason: z.optional(z.string().check(z.maxLength(500))),
          }),
        ),
        scanner: z.optional(z.string().check(z.maxLength(100))),
      }),
    }),
    z.strictObject({
      type: z.literal('cost_estimate'),
      payload: z.strictObject({ monthlyDelta: measure(), currency: z._default(z.string().check(z.length(3)), 'USD'), budget: z.optional(measure()) }),
    }),
    z.strictObject({
      type: z.literal('benchmark'),
      payload: z.strictObject({
        metric: z.string().check(z.minLength(1), z.maxLength(100)),
        value: measure(),
        baseline: measure(),
        tolerancePct: z._default(measure(z.number().check(z.minimum(0), z.maximum(1000))), 10),
        higherIsBetter: z._default(z.boolean(), false),
      }),
    }),
    z.strictObject({
      type: z.literal('policy'),
      payload: z.strictObject({ passed: z.boolean(), violations: z._default(z.array(z.string().check(z.maxLength(500))).check(z.maxLength(100)), []) }),
    }),
    z.strictObject({ type: z.literal('metrics'), payload: z.record(z.string().check(z.regex(/^[a-z][a-z0-9_]{0,63}$/), notReserved()), measure()) }),
    z.strictObject({
      type: z.literal('alarm'),
      payload: z.strictObject({
        name: z.string().check(z.minLength(1), z.maxLength(200)),
        state: z.enum(['OK', 'ALARM']),
        reason: z.optional(z.string().check(z.maxLength(500))),
      }),
    }),
  ]),
);
export type EvidenceBody = z.infer<typeof evidenceBody>;
