import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { Ctx } from '#domain/ports';
import { handler as artifactsEvidence } from '../../functions/handlers/artifacts-evidence.ts';
import { handler as artifactsPublish } from '../../functions/handlers/artifacts-publish.ts';
import { handler as bundlesCreate } from '../../functions/handlers/bundles-create.ts';
import { handler as itemsCreate } from '../../functions/handlers/items-create.ts';
import { handler as promotionsEvidence } from '../../functions/handlers/promotions-evidence.ts';
import { handler as promotionsValidate } from '../../functions/handlers/promotions-validate.ts';
import { handler as promotionsApprove } from '../../functions/handlers/promotions-approve.ts';
import { handler as promotionsCreate } from '../../functions/handlers/promotions-create.ts';
import { matchRoute } from '../../functions/http/router.ts';
import { routeKey } from '../../functions/http/routes.ts';
import { newInvocation } from './attribution.ts';
import type { Harness } from './harness.ts';

/** The API as a measurement calls it: API Gateway (payload v2) events to the real handlers, in process, each call an attributed invocation. */

type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<{ statusCode: number; body?: string } | void>;
const HANDLERS: Record<string, HttpHandler> = {
  'artifacts-evidence': artifactsEvidence as unknown as HttpHandler,
  // the bundle bench's set-up (bench/bundle-promotion.ts)
  'artifacts-publish': artifactsPublish as unknown as HttpHandler,
  'bundles-create': bundlesCreate as unknown as HttpHandler,
  'items-create': itemsCreate as unknown as HttpHandler,
  'promotions-evidence': promotionsEvidence as unknown as HttpHandler,
  'promotions-validate': promotionsValidate as unknown as HttpHandler,
  'promotions-create': promotionsCreate as unknown as HttpHandler,
  'promotions-approve': promotionsApprove as unknown as HttpHandler,
};

export interface User {
  tenant: string;
  sub: string;
  email: string;
  groups: string[];
}

const claimsOf = (u: User) => ({ sub: u.sub, email: u.email, 'custom:tenant_id': u.tenant, 'cognito:groups': `[${u.groups.join(' ')}]` });
export const ctxOf = (u: User): Ctx => ({
  principal: { tenant: u.tenant, id: u.sub, name: u.email, roles: u.groups as Ctx['principal']['roles'], kind: 'user' },
});

export async function api(
  b: Harness,
  user: User,
  method: 'POST',
  path: string,
  body: unknown,
  label: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const match = matchRoute(method, path);
  if (match.kind !== 'route') throw new Error(`no route ${method} ${path}`);
  const fn = HANDLERS[match.route.handler];
  if (!fn) throw new Error(`bench has no handler for ${match.route.handler}`);
  const requestId = randomUUID();
  const key = routeKey(match.route);
  const event = {
    version: '2.0',
    routeKey: key,
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    pathParameters: Object.keys(match.params).length ? match.params : undefined,
    body: JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'bench',
      domainName: 'bench.local',
      domainPrefix: 'bench',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' },
      requestId,
      routeKey: key,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
      authorizer: { jwt: { claims: claimsOf(user), scopes: null } },
    },
  } as unknown as APIGatewayProxyEventV2;
  const context = { awsRequestId: requestId, functionName: match.route.handler, getRemainingTimeInMillis: () => 29_000 } as unknown as Context;
  const inv = newInvocation(match.route.handler, label, 'api');
  const t0 = performance.now();
  const res = await b.attribution.run(inv, () => fn(event, context));
  inv.ms = performance.now() - t0;
  b.calls.push(inv);
  if (!res) throw new Error(`${label}: handler returned nothing`);
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {} };
}

export function expectStatus(r: { status: number; body: unknown }, status: number, what: string) {
  if (r.status !== status) throw new Error(`bench: ${what} answered ${r.status}: ${JSON.stringify(r.body)}`);
}
