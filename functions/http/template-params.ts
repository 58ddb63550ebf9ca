import * as z from '#domain/kernel/zod';
import { templateName } from '#domain/verification/template';

/** The path parameter of the /analysis-templates/{name} routes. */
export const templateParams = /* @__PURE__ */ z.schema(() => z.object({ name: templateName }));
