import * as z from '#domain/kernel/zod';
import { DESTINATION_NAME } from '#domain/audit/stream';

/** The path of an audit stream destination: its name. */
export const destinationParams = /* @__PURE__ */ z.schema(() =>
  z.object({ name: z.string().check(z.regex(DESTINATION_NAME, 'a destination name: lower case letters, digits and -, at most 63, e.g. splunk-prod')) }),
);
