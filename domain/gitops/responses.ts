import * as z from 'zod';

const time = /* @__PURE__ */ z.string().describe('ISO 8601, UTC');

export const gitTargetResponse = /* @__PURE__ */ z
  .object({
    environment: z.string(),
    repository: z.string(),
    branch: z.string(),
    file: z.string(),
    path: z.string(),
    value: z.enum(['version', 'digest', 'version@digest']),
    tokenSecret: z.string().nullable().describe('the name of the secret holding the push token (never its value)'),
    version: z.number().int(),
    createdAt: time,
    createdBy: z.string(),
    updatedAt: time,
    updatedBy: z.string(),
  })
  .strict()
  .meta({ id: 'GitTarget' });

export const GITOPS_RESPONSES: Record<string, z.ZodType> = {
  'git-target': gitTargetResponse,
  'git-target-put': gitTargetResponse,
};
