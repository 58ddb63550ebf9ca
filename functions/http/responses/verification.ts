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
