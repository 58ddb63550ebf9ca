import * as z from '../../../domain/kernel/zod.ts';
import { stampFields, time } from './common.ts';

/** What the git-target routes answer. */
export const gitTargetResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      environment: z.string(),
      repository: z.string(),
      branch: z.string(),
      file: z.string(),
      edit: z.enum(['yaml-path', 'kustomize-image', 'helm-values', 'json-path']).check(z.describe('how the value is written into the file')),
      path: z.string(),
      value: z.enum(['version', 'digest', 'version@digest']),
      tokenSecret: z.nullable(z.string()).check(z.describe('the name of the secret holding the push token (never its value)')),
      ...stampFields,
    })
    .check(z.meta({ id: 'GitTarget' })),
);
