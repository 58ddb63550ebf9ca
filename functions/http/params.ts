import * as z from '#domain/kernel/zod';
import { envName } from '#domain/kernel/schemas';
import { notReserved } from '#domain/kernel/reserved-keys';
import { RECURRING_NAME } from '#domain/kernel/promotion-model';

/** Path parameter schemas shared by the handlers. */
export const envParams = /* @__PURE__ */ z.object({ env: envName });
export const itemParams = /* @__PURE__ */ z.schema(() => z.object({ env: envName, id: z.uuid({ message: 'must be an item id (uuid)' }) }));
export const snapshotParams = /* @__PURE__ */ z.schema(() =>
  z.object({ env: envName, seq: z.pipe(z.string().check(z.regex(/^(0|[1-9][0-9]{0,8})$/, 'must be a snapshot number (0-999999999)')), z.transform(Number)) }),
);
export const optionalReason = /* @__PURE__ */ z.schema(() =>
  z.strictObject({ reason: z.optional(z.string().check(z.trim(), z.minLength(1), z.regex(/\S/, 'must not be blank'), z.maxLength(1000))) }),
);

export const promotionParams = /* @__PURE__ */ z.schema(() =>
  z.object({ id: z.string().check(z.regex(/^prm_[0-9a-z]{19}$/, 'must be a promotion id (prm_…)')) }),
);
export const freezeParams = /* @__PURE__ */ z.schema(() =>
  z.object({ id: z.string().check(z.regex(/^frz_[0-9a-z]{8,12}[0-9a-f]{8}$/, 'must be a freeze window id (frz_…)')) }),
);
/** The path parameter of the /recurring-promotions/{name} routes. */
export const recurringParams = /* @__PURE__ */ z.schema(() =>
  z.object({ name: z.string().check(z.regex(RECURRING_NAME, 'must be a recurring promotion name: lower-case letters, digits and dashes'), notReserved()) }),
);
export const ruleParams = /* @__PURE__ */ z.schema(() => z.object({ id: z.string().check(z.regex(/^rule_[0-9a-f]{12}$/, 'must be a rule id (rule_…)')) }));
export const artifactParams = /* @__PURE__ */ z.schema(() =>
  z.object({ name: z.string().check(z.regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'must be an artifact name'), notReserved()) }),
);
export const artifactVersionParams = /* @__PURE__ */ z.schema(() =>
  z.extend(artifactParams, {
    version: z.string().check(z.regex(/^v?[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/, 'must be a semantic version')),
  }),
);
export const tagParams = /* @__PURE__ */ z.schema(() => z.extend(artifactParams, { tag: z.string().check(z.minLength(3), z.maxLength(200), notReserved()) }));
export const consumerParams = /* @__PURE__ */ z.schema(() =>
  z.extend(artifactParams, {
    consumer: z.string().check(z.regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'must be 1-100 characters: lower-case letters, digits, . _ -'), notReserved()),
  }),
);
export const userParams = /* @__PURE__ */ z.schema(() =>
  z.object({ id: z.string().check(z.minLength(1), z.maxLength(128), z.regex(/^[A-Za-z0-9-]+$/, 'must be a user id (the id GET /api/v1/users lists)')) }),
);

/** GET /api/v1/auth/config's query: `email` routes the sign-in to the identity provider of the address's domain (nothing else is taken). */
export const authConfigQuery = /* @__PURE__ */ z.schema(() =>
  z.object({
    email: z.optional(
      z
        .string()
        .check(
          z.trim(),
          z.toLowerCase(),
          z.maxLength(254, 'must be an email address of at most 254 characters'),
          z.email({ message: 'must be an email address (name@company.example)' }),
        ),
    ),
  }),
);
