/**
 * GET /health: liveness, no token, no data. A plain handler (no middleware, no adapters), so it
 * stays small and starts fast; the local gateway's readiness (503 until seeded) sits in front of it.
 */
export const handler = async (event?: { requestContext?: { requestId?: string } }) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...(event?.requestContext?.requestId ? { 'x-request-id': event.requestContext.requestId } : {}) },
  body: JSON.stringify({ status: 'ok', service: 'stageline' }),
});
