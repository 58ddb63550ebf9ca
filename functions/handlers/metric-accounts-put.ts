import { metricAccountsBody, putMetricAccounts } from '#domain/verification/metric-accounts';
import { httpHandler } from '../http/handler.ts';

/** Replaces the tenant's metric accounts (checked: account ids, role ARNs of those accounts, one role per account); what GET answered writes back (its externalId is read-only). */
export const handler = httpHandler({ readOnly: ['externalId'], body: metricAccountsBody }, async ({ deps, ctx, body }) => putMetricAccounts(deps, ctx, body));
