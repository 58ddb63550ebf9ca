import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { registryNotification } from '#domain/artifacts/discovery-notify';
import { compose } from '../http/deps.ts';
import { tenantDeps } from '../http/tenant-deps.ts';
import { ConfiguredRegistrySync } from '../adapters/registry-credentials.ts';

/** This function's adapters: the store and the registries (a discovered version is published: its tags in the first environment's registries). */
const wiring = compose({ registry: () => new ConfiguredRegistrySync() });
import { logger, withLambdaContext } from '../adapters/observability.ts';
import { refusingDotSegments } from '../http/request.ts';

/**
 * POST /api/v1/registry/notifications/{tenant}/{artifact}/{link}: a registry's push notifications
 * (CNCF distribution's `notifications.endpoints`). No JWT: the link's own token (Authorization:
 * Bearer, compared in constant time) is the credential, bound to that tenant, artifact and link.
 */
export const handler = refusingDotSegments(
  withLambdaContext(async (event: APIGatewayProxyEventV2) => {
    const p = event.pathParameters ?? {};
    const body = event.body ? (event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body) : '';
    const auth = event.headers?.authorization ?? event.headers?.Authorization ?? '';
    // The tenant's own store (on AWS the tenant data role, confined to its keys), as every tenant route.
    const tenant = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(p.tenant ?? '') ? p.tenant! : null;
    const r = tenant
      ? await registryNotification(tenantDeps(wiring, tenant), { tenant: p.tenant ?? '', artifact: p.artifact ?? '', link: p.link ?? '' }, auth, body)
      : { status: 401, body: { error: { code: 'UNAUTHORIZED', message: "send the link's notification token: Authorization: Bearer <notifyToken>" } } };
    if (r.status >= 400) logger.warn('registry notification refused', { tenant: p.tenant, link: p.link, status: r.status, reason: r.body.error.message });
    else logger.info('registry notification', { tenant: p.tenant, link: p.link, ...r.body });
    return { statusCode: r.status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(r.body) };
  }),
);
