/**
 * GET /health: liveness, no token, no data. A plain handler (no middleware, no adapters), so it
 * stays small and starts fast; the local gateway's readiness (503 until seeded) sits in front of it.
 * Browsers of the allowed origins may read it (functions/http/cors.ts).
 */
import { withCors } from '../http/cors.ts';

export const handler = withCors(
  async (event?: { rawPath?: string; headers?: Record<string, string | undefined>; requestContext?: { requestId?: string } }) => ({
    statusCode: 200,
    headers: {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      ...(event?.requestContext?.requestId ? { 'x-request-id': event.requestContext.requestId } : {}),
    },
    body: JSON.stringify({ status: 'ok', service: 'stageline' }),
  }),
);
