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

/** What the deployment-gate routes answer (the secrets by name only). */
export const deploymentGateResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      environment: z.string(),
      host: z.enum(['github', 'gitlab']),
      repository: z.string().check(z.describe("owner/name on GitHub; the project's full path on GitLab")),
      hostEnvironment: z.string().check(z.describe("the host's environment whose deploy jobs wait on Stageline")),
      source: z.nullable(z.string()).check(z.describe('where the promotion comes from; null: the environment before it')),
      artifact: z
        .nullable(z.string())
        .check(z.describe("the artifact whose version published from the run's commit is promoted; null: the source's configuration")),
      app: z
        .nullable(
          z.strictObject({
            id: z.string(),
            apiUrl: z.nullable(z.string()),
            privateKeySecret: z.string().check(z.describe("the secret holding the App's private key (purpose github-app-key; never its value)")),
            webhookSecret: z.string().check(z.describe("the secret the App's webhooks are signed with (purpose git-webhook; never its value)")),
          }),
        )
        .check(z.describe('GitHub: the App; null for GitLab')),
      gitlab: z
        .nullable(
          z.strictObject({
            apiUrl: z.nullable(z.string()),
            tokenSecret: z.string().check(z.describe("the secret holding the approving user's token (purpose gitlab-token; never its value)")),
            webhookSecret: z.string().check(z.describe("the secret the project's webhook sends as its token (purpose git-webhook; never its value)")),
          }),
        )
        .check(z.describe('GitLab: the host and secrets; null for GitHub')),
      webhookUrl: z.string().check(z.describe("the URL to give the host as the webhook's URL (the GitHub App's, or the GitLab project's)")),
      version: z.number(),
      updatedAt: time,
      updatedBy: z.string(),
    })
    .check(z.meta({ id: 'DeploymentGate' })),
);

/** What the GitHub App's webhook answers. */
export const deploymentGateHookResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      event: z.string().check(z.describe('X-GitHub-Event')),
      ignored: z.optional(z.string()).check(z.describe('why nothing was done (202)')),
      environment: z.optional(z.string()),
      runId: z.optional(z.string()),
      promotionId: z.optional(z.nullable(z.string()).check(z.describe('the promotion the run waits on; null: refused (answer says why)'))),
      replayed: z.optional(z.boolean().check(z.describe('true: GitHub asked about this run before; nothing was requested again'))),
      answer: z.optional(
        z
          .nullable(z.strictObject({ state: z.enum(['approved', 'rejected']), comment: z.string(), at: time }))
          .check(z.describe('the review given to GitHub; null: the promotion has not ended yet')),
      ),
    })
    .check(z.meta({ id: 'DeploymentGateHookAnswer' })),
);
