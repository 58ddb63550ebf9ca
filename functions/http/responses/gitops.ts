import * as z from 'zod';
import { stampFields, time } from './common.ts';

/** What the git-target routes answer. */
export const gitTargetResponse = /* @__PURE__ */ z
  .object({
    environment: z.string(),
    repository: z.string(),
    branch: z.string(),
    file: z.string(),
    path: z.string(),
    value: z.enum(['version', 'digest', 'version@digest']),
    tokenSecret: z.string().nullable().describe('the name of the secret holding the push token (never its value)'),
    ...stampFields,
  })
  .strict()
  .meta({ id: 'GitTarget' });

export const GITOPS_RESPONSES: Record<string, z.ZodType> = {
  'git-target': gitTargetResponse,
  'git-target-put': gitTargetResponse,
};
