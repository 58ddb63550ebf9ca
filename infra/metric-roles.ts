/**
 * How the metric reader (CloudWatch analysis, functions/adapters/metrics/cloudwatch.ts) reaches tenants' accounts:
 * it assumes the role a tenant registered with the tenant's external id (domain/verification/metric-accounts.ts),
 * and reads with that session. infra/adapters.ts grants the assumption with this condition; what the session
 * sends is authorised by the tenant's own policy, never by this stack.
 */

/** The external id the metric reader sends is `stageline:<tenant>` (domain/verification/metric-accounts.ts externalIdOf). */
export const METRIC_EXTERNAL_ID_PREFIX = 'stageline:';
/**
 * Tenants' metric roles are assumed only with an external id of that form, and never a role of this stack's own
 * account (one that trusts the account would otherwise be open to a tenant naming it).
 */
export const METRIC_ROLE_CONDITION = {
  StringLike: { 'sts:ExternalId': [`${METRIC_EXTERNAL_ID_PREFIX}*`] },
  StringNotEquals: { 'aws:ResourceAccount': ['${aws:PrincipalAccount}'] },
};

/**
 * Resources whose actions a session of a tenant's own role sends, authorised by the tenant's policy in its own
 * account: the stack grants nothing on them (test/infra/deploy.test.ts checks that it does not).
 */
export const GRANTED_BY_TENANTS: ReadonlySet<string> = new Set<string>(['tenantMetricSession', 'tenantAuditSession']);
