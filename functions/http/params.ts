import * as z from 'zod';
import { envName } from '#domain/schemas';

/** Path parameter schemas shared by the handlers. */
export const envParams = /* @__PURE__ */ z.object({ env: envName });
export const itemParams = /* @__PURE__ */ z.object({ env: envName, id: z.uuid({ message: 'must be an item id (uuid)' }) });
export const snapshotParams = /* @__PURE__ */ z.object({ env: envName, seq: z.string().regex(/^(0|[1-9][0-9]{0,8})$/, 'must be a snapshot number (0-999999999)').transform(Number) });
export const optionalReason = /* @__PURE__ */ z.object({ reason: z.string().trim().min(1).regex(/\S/, 'must not be blank').max(1000).optional() }).strict();

export const promotionParams = /* @__PURE__ */ z.object({ id: z.string().regex(/^prm_[0-9a-z]{19}$/, 'must be a promotion id (prm_…)') });
export const freezeParams = /* @__PURE__ */ z.object({ id: z.string().regex(/^frz_[0-9a-z]{8,12}[0-9a-f]{8}$/, 'must be a freeze window id (frz_…)') });
export const ruleParams = /* @__PURE__ */ z.object({ id: z.string().regex(/^rule_[0-9a-f]{12}$/, 'must be a rule id (rule_…)') });
export const artifactParams = /* @__PURE__ */ z.object({ name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'must be an artifact name') });
export const artifactVersionParams = /* @__PURE__ */ artifactParams.extend({ version: z.string().regex(/^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/, 'must be a semantic version') });
export const tagParams = /* @__PURE__ */ artifactParams.extend({ tag: z.string().min(3).max(200) });
export const consumerParams = /* @__PURE__ */ artifactParams.extend({ consumer: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'must be 1-100 characters: lower-case letters, digits, . _ -') });
