import * as z from '#domain/kernel/zod';

/** What the /analysis-templates routes answer. A template is the tenant's document (domain/verification/template.ts): open beyond the fields every one has. */
export const analysisTemplateResponse = /* @__PURE__ */ z.schema(() =>
  z
    .looseObject({
      name: z.string(),
      provider: z.looseObject({ type: z.enum(['prometheus', 'cloudwatch', 'datadog', 'web']) }).check(z.describe('where the measurement is read from')),
      args: z.array(z.looseObject({ name: z.string(), value: z.optional(z.string()) })),
      initialDelaySeconds: z.number().check(z.int()),
      intervalSeconds: z.number().check(z.int()),
      count: z.number().check(z.int()),
      successCondition: z.optional(z.string()),
      failureCondition: z.optional(z.string()),
    })
    .check(z.meta({ id: 'AnalysisTemplate' })),
);

export const analysisTemplateWithVersion = /* @__PURE__ */ z.schema(() =>
  z.looseObject({
    ...analysisTemplateResponse.shape,
    version: z.number().check(z.int(), z.describe("the version of the tenant's templates (send it back to change them: optimistic locking)")),
  }),
);

export const analysisTemplatesList = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    templates: z.array(analysisTemplateResponse),
    version: z.number().check(z.int(), z.describe("the version of the tenant's templates (0: none saved yet)")),
  }),
);

/** What /metric-accounts answers: the registered accounts, the list's version and the external id every role's trust policy requires. */
export const metricAccountsResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    accounts: z.array(z.strictObject({ account: z.string(), roleArn: z.string() })),
    version: z.number().check(z.int(), z.describe('the version of the list (0: none saved yet)')),
    externalId: z
      .string()
      .check(z.describe("the external id Stageline sends when it assumes a role: each role's trust policy must require it (sts:ExternalId)")),
  }),
);
