import { deploymentGateHookResponse, deploymentGateResponse, gitHookResponse, gitTargetResponse } from '../responses/gitops.ts';
import { errorBody } from '../responses/service.ts';
import { v1, type Route } from './row.ts';

/** GitOps delivery: where promotions into an environment are committed (domain/gitops). Setting a git target never touches a promotion's flow. */
export const GITOPS_ROUTES: Route[] = [
  {
    method: 'GET',
    path: `${v1}/environments/{env}/git-target`,
    handler: 'git-target',
    auth: 'jwt',
    role: 'viewer',
    summary: "The environment's git target (repository, branch, file, path; the token's secret name only)",
    response: { schema: gitTargetResponse },
    startsFlows: false,
  },
  {
    method: 'PUT',
    path: `${v1}/environments/{env}/git-target`,
    handler: 'git-target-put',
    auth: 'jwt',
    role: 'admin',
    env: { path: 'env' },
    summary:
      'Commit promoted versions to a file in a git repository (YAML/JSON path, e.g. image.tag); version to change it; every secret it names must exist for the tenant (422 naming it)',
    response: { schema: gitTargetResponse },
    startsFlows: false,
    // It reads the tenant's secrets (that each one named exists): with the manifest apply, in a function of its own role.
    ownRole: true,
  },
  {
    method: 'DELETE',
    path: `${v1}/environments/{env}/git-target`,
    handler: 'git-target',
    auth: 'jwt',
    role: 'admin',
    env: { path: 'env' },
    summary: 'Stop committing promotions of this environment to git',
    status: 204,
    startsFlows: false,
  },
  {
    method: 'POST',
    path: `${v1}/gitops/hooks/{tenant}/{env}`,
    handler: 'git-hook',
    auth: 'none',
    role: null,
    summary:
      "The pull-request host's webhook (GitHub: pull_request, check_run, check_suite, status; GitLab: merge request and pipeline events), verified with the git target's webhook secret",
    headers: {
      'X-Hub-Signature-256': 'GitHub: sha256=<HMAC-SHA256 of the body with the webhook secret>',
      'X-GitHub-Event': 'GitHub: the event name',
      'X-Gitlab-Token': 'GitLab: the webhook secret',
      'X-Gitlab-Event': 'GitLab: the event name',
    },
    response: {
      schema: gitHookResponse,
      errors: {
        202: { description: 'Verified, but about no pull request Stageline opened for this environment', schema: gitHookResponse },
        400: { description: 'Not a JSON object, or no repository named in it', schema: errorBody },
        401: { description: 'The signature (GitHub) or token (GitLab) is not the webhook secret’s', schema: errorBody },
        404: {
          description:
            "No git target in pull-request mode with a webhook secret for this tenant and environment, or the payload's repository is not that target's",
          schema: errorBody,
        },
        413: { description: 'The request is larger than the body limit', schema: errorBody },
      },
    },
    timeout: 29,
    ownRole: true,
  },
  // Deployment gates: a pipeline's deploy job waits on Stageline (GitHub's custom deployment protection rules; domain/gitops/deployment-gate.ts).
  {
    method: 'GET',
    path: `${v1}/environments/{env}/deployment-gate`,
    handler: 'deployment-gate',
    auth: 'jwt',
    role: 'viewer',
    summary:
      "The environment's deployment gate: the GitHub repository environment whose deploy jobs wait on Stageline, the App and the webhook URL (secrets by name only)",
    response: { schema: deploymentGateResponse },
    startsFlows: false,
    // With its PUT, in the function that reads the tenant's secrets (functions/http/topology.ts).
    ownRole: true,
  },
  {
    method: 'PUT',
    path: `${v1}/environments/{env}/deployment-gate`,
    handler: 'deployment-gate-put',
    auth: 'jwt',
    role: 'admin',
    env: { path: 'env' },
    summary:
      "Gate a GitHub repository environment's deploy jobs on promotions into this environment (a GitHub App's deployment protection rule); the secrets it names must exist for the tenant; version to change it",
    response: { schema: deploymentGateResponse },
    startsFlows: false,
    // It checks that the secrets it names exist: with the other writers of a tenant's secrets (functions/http/topology.ts).
    ownRole: true,
  },
  {
    method: 'DELETE',
    path: `${v1}/environments/{env}/deployment-gate`,
    handler: 'deployment-gate',
    auth: 'jwt',
    role: 'admin',
    env: { path: 'env' },
    summary: 'Stop answering GitHub for this environment (remove the protection rule on GitHub too, or its jobs wait until GitHub times them out)',
    status: 204,
    startsFlows: false,
    ownRole: true,
  },
  {
    method: 'POST',
    path: `${v1}/deployment-gates/{host}/{tenant}`,
    handler: 'deployment-gate-hook',
    auth: 'none',
    role: null,
    summary:
      "The host's webhook ({host}: github, a GitHub App's deployment_protection_rule events; gitlab, a project's deployment events): verified with a gate's webhook secret, it requests the promotion a waiting deploy job needs (or joins the one on its way) and answers the host when it ends",
    headers: {
      'X-Hub-Signature-256': 'GitHub: sha256=<HMAC-SHA256 of the body with the webhook secret>',
      'X-GitHub-Event': 'GitHub: the event name (deployment_protection_rule; ping)',
      'X-Gitlab-Token': 'GitLab: the webhook secret',
      'X-Gitlab-Event': 'GitLab: the event name (Deployment Hook)',
    },
    status: 201,
    response: {
      schema: deploymentGateHookResponse,
      errors: {
        200: { description: 'GitHub asked about this run before (a redelivery): the same answer, nothing requested again', schema: deploymentGateHookResponse },
        202: { description: 'Verified, but not an event Stageline gates on', schema: deploymentGateHookResponse },
        400: { description: 'Not JSON, or not what a deployment_protection_rule event carries', schema: errorBody },
        401: {
          description: "The signature (GitHub) or token (GitLab) is not made with any deployment gate's webhook secret of this tenant",
          schema: errorBody,
        },
        404: { description: "No such host, or no environment of this tenant is gated by the event's repository environment", schema: errorBody },
        413: { description: 'The request is larger than the body limit', schema: errorBody },
      },
    },
    timeout: 29,
    ownRole: true,
  },
];
