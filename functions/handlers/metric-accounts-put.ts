import { metricAccountsBody, putMetricAccounts } from '#domain/verification/metric-accounts';
import { httpHandler } from '../http/handler.ts';

/** Replaces the tenant's metric accounts (checked: account ids, role ARNs of those accounts, one role per account). */
export const handler = httpHandler({ body: metricAccountsBody }, async ({ deps, ctx, body }) => putMetricAccounts(deps, ctx, body));
