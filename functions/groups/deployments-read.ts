import { serveGroup } from '../http/group.ts';
import { handler as deploymentsHistory } from '../handlers/deployments-history.ts';
import { handler as deploymentsMetrics } from '../handlers/deployments-metrics.ts';

/** One Lambda for the read-only routes of deployments (FUNCTION_GROUPS in functions/http/routes.ts). */
export const handler = serveGroup('deployments-read', {
  'deployments-history': deploymentsHistory,
  'deployments-metrics': deploymentsMetrics,
});
