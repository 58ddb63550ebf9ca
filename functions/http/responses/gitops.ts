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
      paths: z
        .nullable(
          z.record(
            z.string(),
            z.strictObject({
              file: z.optional(z.string()),
              edit: z.optional(z.enum(['yaml-path', 'kustomize-image', 'helm-values', 'json-path'])),
              path: z.string(),
              value: z.optional(z.enum(['version', 'digest', 'version@digest'])),
            }),
          ),
        )
        .check(
          z.describe("where each artifact's value goes, by artifact name (what an entry leaves out is the target's); null: every artifact to file and path"),
        ),
      pullRequest: z
        .nullable(
          z.strictObject({
            host: z.enum(['github', 'gitlab']),
            apiUrl: z.nullable(z.string()),
            tokenSecret: z.string().check(z.describe("the name of the secret holding the host's API token (never its value)")),
            webhookSecret: z.nullable(z.string()).check(z.describe("the name of the secret the host's webhook is verified with")),
            appSlug: z
              .nullable(z.string())
              .check(z.describe('GitHub: the slug of the GitHub App whose installation token is used; its pull requests are opened by `<slug>[bot]`')),
            draft: z.boolean(),
            autoMerge: z.boolean(),
            reviewers: z.array(z.string()),
            labels: z.array(z.string()),
          }),
        )
        .check(z.describe('pull-request mode: the delivery is a pull request (merge request) into `branch`; null: a commit to it')),
      ...stampFields,
    })
    .check(z.meta({ id: 'GitTarget' })),
);

/** What the pull-request host's webhook answers: the promotions it looked at (their pull request's state and their status). */
export const gitHookResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      event: z.string().check(z.describe("the host's event name (X-GitHub-Event, X-Gitlab-Event)")),
      promotions: z.array(
        z.strictObject({
          id: z.string(),
          pullRequest: z.nullable(z.enum(['open', 'merged', 'closed'])),
          status: z.string(),
        }),
      ),
      ignored: z.optional(z.string()).check(z.describe('why nothing was looked at (202)')),
    })
    .check(z.meta({ id: 'GitHookAnswer' })),
);
