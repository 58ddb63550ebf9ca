import { changeCheckResponse, changeControlResponse } from '../responses/change.ts';
import { v1, type Route } from './row.ts';

/** Change control (domain/change): an environment's rule, and a look at a waiting promotion's change request. */
export const CHANGE_ROUTES: Route[] = [
  {
    method: 'GET',
    path: `${v1}/environments/{env}/change-control`,
    handler: 'change-control',
    auth: 'jwt',
    role: 'viewer',
    summary: "The environment's change-control rule (provider, instance URL, type, template, approved states; the credential's kind only)",
    response: { schema: changeControlResponse },
    startsFlows: false,
    // With its PUT, in the function that writes the tenant's secrets (functions/http/topology.ts).
    ownRole: true,
  },
  {
    method: 'PUT',
    path: `${v1}/environments/{env}/change-control`,
    handler: 'change-control-put',
    auth: 'jwt',
    role: 'admin',
    env: { path: 'env' },
    summary:
      "Promotions into this environment wait for an approved change request in the tenant's tool (servicenow), inside its planned window; a standard change's template is looked up at save; credentials left out are kept",
    response: { schema: changeControlResponse },
    startsFlows: false,
    // It seals the credential it is given: with the other writers of a tenant's secrets (functions/http/topology.ts).
    ownRole: true,
  },
  {
    method: 'DELETE',
    path: `${v1}/environments/{env}/change-control`,
    handler: 'change-control',
    auth: 'jwt',
    role: 'admin',
    env: { path: 'env' },
    summary: 'Stop change control for this environment (promotions already waiting keep their request)',
    status: 204,
    startsFlows: false,
    ownRole: true,
  },
  {
    method: 'POST',
    path: `${v1}/promotions/{id}/change-request/check`,
    handler: 'promotions-change-check',
    auth: 'jwt',
    role: 'deployer',
    env: { promotion: 'id' },
    summary: "Look at a waiting promotion's change request now (it goes on at once when the request is approved inside its window)",
    response: { schema: changeCheckResponse },
  },
];
