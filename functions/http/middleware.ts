/** The middlewares every API handler runs in (functions/http/handler.ts): the error map, CORS, the access log. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { logger } from '../adapters/observability.ts';
import { writeStats } from '#domain/kernel/retry';
import { withCorsHeaders } from './cors.ts';
import { errorResponse, type HttpResult } from './errors.ts';

/** Every line a request writes carries its invocation's Lambda context (Powertools' middleware), the first of the chain. */
export const lambdaContext = () => injectLambdaContext(logger);

/**
 * Every response carries the request id; errors are mapped by the one error table, or by the answer of a
 * protocol that has its own error format (SCIM's Error messages: functions/http/scim.ts), given per handler.
 */
export const httpErrors = (
  answer: (err: unknown, requestId?: string) => HttpResult = errorResponse,
): middy.MiddlewareObj<APIGatewayProxyEventV2, HttpResult> => ({
  onError: (request) => {
    request.response = answer(request.error, request.context.awsRequestId);
  },
});

/** Answers (errors included) on paths open to browsers carry the CORS headers for allowed origins (functions/http/cors.ts); used first, so it runs after the error map. */
export const cors = (): middy.MiddlewareObj<APIGatewayProxyEventV2, HttpResult> => {
  const add = (request: middy.Request<APIGatewayProxyEventV2, HttpResult>) => {
    if (request.response) request.response = withCorsHeaders(request.event, request.response);
  };
  return { after: add, onError: add };
};

/** One structured access-log line per request (Powertools Logger, JSON; CloudWatch Logs Insights friendly); quiet under tests. */
export const accessLog = (): middy.MiddlewareObj<APIGatewayProxyEventV2, HttpResult> => {
  const line = async (request: middy.Request<APIGatewayProxyEventV2, HttpResult>) => {
    const internal = request.internal as { started?: number; retries?: number; givenUp?: number };
    const started = internal.started ?? Date.now();
    // Write conflicts of this request (the process serves one request at a time on Lambda).
    const retries = writeStats.retries - (internal.retries ?? writeStats.retries);
    const givenUp = writeStats.givenUp - (internal.givenUp ?? writeStats.givenUp);
    // Rare (a lost race): the metrics module is loaded then, not at every function's init.
    if (retries || givenUp) (await import('../adapters/metrics.ts')).writeConflicts(retries, givenUp);
    logger.info('request', {
      requestId: request.context?.awsRequestId,
      route: request.event.routeKey,
      status: request.response?.statusCode,
      ms: Date.now() - started,
      ...(retries ? { writeRetries: retries } : {}),
      tenant: (request.event.requestContext as { authorizer?: { jwt?: { claims?: Record<string, unknown> } } }).authorizer?.jwt?.claims?.['custom:tenant_id'],
    });
  };
  return {
    before: (request) => {
      Object.assign(request.internal, { started: Date.now(), retries: writeStats.retries, givenUp: writeStats.givenUp });
    },
    after: line,
    onError: line,
  };
};
