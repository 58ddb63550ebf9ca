import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { pullRequestHook } from '#domain/promotion/deliver/pull-request-hook';
import { gitOnFirstUse } from '../adapters/git-on-first-use.ts';
import { workflowOnFirstUse } from '../adapters/workflow-on-first-use.ts';
import { compose } from '../http/deps.ts';
import { tenantDeps } from '../http/tenant-deps.ts';
import { secretsFromEnv } from '../adapters/secrets.ts';
import { logger, withLambdaContext } from '../adapters/observability.ts';
import { envName } from '#domain/kernel/schemas';
import { refusingDotSegments } from '../http/request.ts';

/**
 * This function's adapters: the store, the git writer (the pull-request host's API, and a rebase's push), the
 * workflow (a merged or closed pull request answers the flow's task token) and the tenant's secrets (the webhook secret).
 */
const wiring = compose({ git: gitOnFirstUse, workflow: workflowOnFirstUse, secrets: secretsFromEnv });

/**
 * POST /api/v1/gitops/hooks/{tenant}/{env}: the webhook of a pull-request host (GitHub, GitLab). No JWT:
 * the signature (X-Hub-Signature-256) or token (X-Gitlab-Token) made with the target's webhook secret is
 * the credential, bound to that tenant and environment (domain/promotion/deliver/pull-request-hook.ts).
 */
export const handler = refusingDotSegments(
  withLambdaContext(async (event: APIGatewayProxyEventV2) => {
    const p = event.pathParameters ?? {};
    const body = event.body ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8') : Buffer.alloc(0);
    const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const tenant = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(p.tenant ?? '') ? p.tenant! : null;
    const environment = envName.safeParse(p.env ?? '').success ? p.env! : null;
    const r =
      tenant && environment
        ? await pullRequestHook(tenantDeps(wiring, tenant), { tenant, environment, headers, body })
        : { status: 404, body: { error: { code: 'NOT_FOUND', message: 'no such tenant or environment' } } };
    if (r.status >= 400)
      logger.warn('git hook refused', { tenant: p.tenant, env: p.env, status: r.status, reason: 'error' in r.body ? r.body.error.message : '' });
    else logger.info('git hook', { tenant: p.tenant, env: p.env, ...r.body });
    return { statusCode: r.status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(r.body) };
  }),
);
