import { gitTargetResponse } from '../responses/gitops.ts';
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
    summary: 'Commit promoted versions to a file in a git repository (YAML/JSON path, e.g. image.tag); version to change it',
    response: { schema: gitTargetResponse },
    startsFlows: false,
  },
  {
    method: 'DELETE',
    path: `${v1}/environments/{env}/git-target`,
    handler: 'git-target',
    auth: 'jwt',
    role: 'admin',
    summary: 'Stop committing promotions of this environment to git',
    status: 204,
    startsFlows: false,
  },
];
