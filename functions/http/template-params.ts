import * as z from '#domain/kernel/zod';
import { TEMPLATE_NAME } from '#domain/verification/template';
import { notReserved } from '#domain/kernel/reserved-keys';

/** The path parameter of the /analysis-templates/{name} routes. */
export const templateParams = /* @__PURE__ */ z.schema(() =>
  z.object({
    name: z.string().check(z.regex(TEMPLATE_NAME, 'must be an analysis template name: lower-case letters, digits and dashes'), notReserved()),
  }),
);
