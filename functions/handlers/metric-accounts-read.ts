import { listMetricAccounts } from '#domain/verification/metric-accounts';
import { httpHandler } from '../http/handler.ts';

/** The accounts the tenant registered a metric-reading role for, with the external id their trust policies require. */
export const handler = httpHandler({}, async ({ deps, ctx }) => listMetricAccounts(deps, ctx));
