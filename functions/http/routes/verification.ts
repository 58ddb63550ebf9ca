import { analysisTemplatesList, analysisTemplateWithVersion, metricAccountsResponse } from '../responses/verification.ts';
import { v1, type Route } from './row.ts';

/**
 * Analysis templates (domain/verification): what a bake or a check measures and how it is judged, part of the
 * tenant's setup (admins write them; environments, waves and targets attach them by name).
 */
export const VERIFICATION_ROUTES: Route[] = [
  {
    method: 'GET',
    path: `${v1}/analysis-templates`,
    handler: 'analysis-templates-read',
    auth: 'jwt',
    role: 'viewer',
    summary: "The tenant's analysis templates, by name, with the version of the set",
    response: { schema: analysisTemplatesList },
  },
  {
    method: 'GET',
    path: `${v1}/analysis-templates/{name}`,
    handler: 'analysis-templates-read',
    auth: 'jwt',
    role: 'viewer',
    summary: 'One analysis template',
    response: { schema: analysisTemplateWithVersion },
  },
  {
    method: 'PUT',
    path: `${v1}/analysis-templates/{name}`,
    handler: 'analysis-templates-put',
    auth: 'jwt',
    role: 'admin',
    env: 'tenant',
    summary:
      'Create or replace an analysis template: its conditions compiled and its query placeholders checked (400 naming the field); `version` for optimistic locking',
    response: { schema: analysisTemplateWithVersion },
    startsFlows: false,
  },
  {
    method: 'DELETE',
    path: `${v1}/analysis-templates/{name}`,
    handler: 'analysis-templates-delete',
    auth: 'jwt',
    role: 'admin',
    env: 'tenant',
    summary: 'Remove an analysis template (409 while an environment, wave or target attaches it, or a promotion rolling out uses it)',
    status: 204,
    startsFlows: false,
  },
  {
    method: 'GET',
    path: `${v1}/metric-accounts`,
    handler: 'metric-accounts-read',
    auth: 'jwt',
    role: 'viewer',
    summary: "The AWS accounts CloudWatch analysis may read, each with the tenant's role there, and the external id those roles' trust policies require",
    response: { schema: metricAccountsResponse },
  },
  {
    method: 'PUT',
    path: `${v1}/metric-accounts`,
    handler: 'metric-accounts-put',
    auth: 'jwt',
    role: 'admin',
    env: 'tenant',
    summary:
      'Replace the metric accounts: a role per account (the role ARN of that account), assumed with the external id to read CloudWatch there; 422 when an attached CloudWatch analysis would lose its account; `version` for optimistic locking',
    response: { schema: metricAccountsResponse },
    startsFlows: false,
  },
];
