import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { workflowOnFirstUse } from '../adapters/workflow-on-first-use.ts';
import { schedulerOnFirstUse } from '../adapters/scheduler-on-first-use.ts';
import { DeploymentHostCalls } from '../adapters/deployment-hosts.ts';
import { compose } from '../http/deps.ts';
import { tenantDeps } from '../http/tenant-deps.ts';
import { secretsFromEnv } from '../adapters/secrets.ts';
import { logger, withLambdaContext } from '../adapters/observability.ts';
import { refusingDotSegments } from '../http/request.ts';

/**
 * This function's adapters: the store, the tenant's secrets (the webhook secret; the App's key or GitLab token when a run
 * is answered at once), the hosts' calls, and the workflow and scheduler (a gated run's promotion starts its flow).
 */
const wiring = compose({
  secrets: secretsFromEnv,
  deploymentHosts: () => new DeploymentHostCalls(),
  workflow: workflowOnFirstUse,
  scheduler: () => schedulerOnFirstUse(),
});

/**
 * The hook's use case, loaded on the first gate hook: it requests promotions (the request domain, some 60 KiB), which
 * the function's other hooks (a registry's push, a pull request's changes) never do.
 */
let loaded: Promise<typeof import('#domain/promotion/request/pipeline-gate')> | undefined;
const gateHook = async () => (await (loaded ??= import('#domain/promotion/request/pipeline-gate'))).deploymentGateHook;

/**
 * POST /api/v1/deployment-gates/{host}/{tenant}: a GitHub App's webhook, or a GitLab project's. No JWT: the signature
 * (X-Hub-Signature-256) or token (X-Gitlab-Token) made with one of the tenant's deployment gates' webhook secrets is the
 * credential, bound to that tenant (domain/promotion/request/pipeline-gate.ts).
 */
export const handler = refusingDotSegments(
  withLambdaContext(async (event: APIGatewayProxyEventV2) => {
    const p = event.pathParameters ?? {};
    const body = event.body ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8') : Buffer.alloc(0);
    const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const tenant = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(p.tenant ?? '') ? p.tenant! : null;
    const host = p.host === 'github' || p.host === 'gitlab' ? p.host : null;
    const r = !host
      ? { status: 404, body: { error: { code: 'NOT_FOUND', message: 'no such host: github or gitlab' } } }
      : tenant
        ? await (
            await gateHook()
          )(tenantDeps(wiring, tenant), { host, tenant, headers, body })
        : { status: 401, body: { error: { code: 'UNAUTHORIZED', message: 'the webhook does not verify' } } };
    if (r.status >= 400)
      logger.warn('deployment gate hook refused', { tenant: p.tenant, status: r.status, reason: 'error' in r.body ? r.body.error.message : '' });
    else
      logger.info('deployment gate hook', {
        tenant: p.tenant,
        status: r.status,
        ...('runId' in r.body ? { runId: r.body.runId, promotionId: r.body.promotionId } : {}),
      });
    return { statusCode: r.status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(r.body) };
  }),
);
