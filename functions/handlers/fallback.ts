import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { MethodNotAllowed, RouteNotFound } from '#domain/kernel/errors';
import { deployedOrigins, preflight, withCorsHeaders } from '../http/cors.ts';
import { errorResponse } from '../http/errors.ts';
import { routerOf } from '../http/router.ts';
import { routePaths } from '../http/served-routes.ts';
import { dotSegmentAnswer, dotSegmentOf } from '../http/request.ts';

/** Every route's method and path (in a bundle, a build-time constant: not the route table itself). */
const matchRoute = routerOf(routePaths());

/**
 * API Gateway's $default route: tells an unknown path (404) from a wrong method (405) using the
 * route table's methods and paths. A browser's preflight (OPTIONS, which no route has) lands here too: it is answered
 * for the paths open to other origins (functions/http/cors.ts), and refused (403) elsewhere.
 */
export const handler = middy<APIGatewayProxyEventV2>().handler(async (event) => {
  const answer = preflight(event.requestContext.http.method, event.rawPath, event.headers ?? {}, deployedOrigins());
  if (answer) return answer;
  const dots = dotSegmentOf(event.rawPath);
  if (dots !== undefined) return withCorsHeaders(event, dotSegmentAnswer(dots));
  const m = matchRoute(event.requestContext.http.method, event.rawPath);
  const err =
    m.kind === 'method-not-allowed'
      ? new MethodNotAllowed(`${event.requestContext.http.method} is not allowed on ${event.rawPath}; use ${m.allowed.join(', ')}`, m.allowed)
      : new RouteNotFound(`No route for ${event.requestContext.http.method} ${event.rawPath}`);
  return withCorsHeaders(event, errorResponse(err));
});
