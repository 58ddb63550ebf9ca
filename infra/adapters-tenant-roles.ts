/**
 * Part of THE adapter table (infra/adapters.ts): the adapters that act in a tenant's own AWS account, with a session of
 * the role the tenant set up there (assumed with the tenant's external id, infra/metric-roles.ts): what the session
 * sends is authorised by the tenant's policy, never by this stack.
 */

import type { AdapterDecl, Grant, Resource } from './adapter-types.ts';
import { METRIC_ROLE_CONDITION } from './metric-roles.ts';

const on = (resource: Resource, ...actions: string[]): Grant => ({ actions, on: resource });

export const TENANT_ROLE_ADAPTERS: AdapterDecl[] = [
  {
    // CloudWatch analysis: the promotion step assumes the role the tenant registered for the target's account (with the
    // tenant's external id, infra/metric-roles.ts) and reads with that session: GetMetricData is authorised in that account.
    module: 'functions/adapters/metrics/cloudwatch.ts',
    calls: {
      'metrics.query': {
        commands: {
          AssumeRole: [{ actions: ['sts:AssumeRole'], on: 'tenantMetricRoles', condition: METRIC_ROLE_CONDITION }],
          GetMetricData: [on('tenantMetricSession', 'cloudwatch:GetMetricData')],
        },
      },
    },
    notDeployed: { CLOUDWATCH_ENDPOINT: 'local and tests: another CloudWatch-protocol server, whose STS answers the AssumeRole' },
  },
  {
    // The audit stream's S3 destination: the shipper assumes the role the tenant set up in its own account (with the tenant's
    // external id, and the tenant as a session tag) and writes the tenant's bucket with that session.
    module: 'functions/adapters/siem/s3.ts',
    always: {
      commands: {
        AssumeRole: [
          { actions: ['sts:AssumeRole'], on: 'tenantAuditRoles', condition: METRIC_ROLE_CONDITION },
          // Tagging is authorised apart from the assumption (no external id in its context): never a role of this account.
          { actions: ['sts:TagSession'], on: 'tenantAuditRoles', condition: { StringNotEquals: METRIC_ROLE_CONDITION.StringNotEquals } },
        ],
        PutObject: [on('tenantAuditSession', 's3:PutObject')],
      },
    },
  },
];
