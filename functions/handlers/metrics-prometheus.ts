import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { doraExport, parseScrapeToken, presentedScrapeToken, scrapeQuery, scrapeTenant } from '#domain/artifacts/dora-export';
import { Unauthenticated, ValidationFailed } from '#domain/kernel/errors';
import { logger, withLambdaContext } from '../adapters/observability.ts';
import { errorResponse } from '../http/errors.ts';
import { doraExposition } from '../http/prometheus.ts';
import { issuesOf, refusingDotSegments } from '../http/request.ts';
import { depsFor } from '../http/tenant-deps.ts';

/**
 * GET /api/v1/platform/metrics/prometheus: DORA's five for a Prometheus scrape, in the text exposition
 * format. No JWT: the tenant's metrics scrape token (`Authorization: Bearer slm.…`, Prometheus'
 * `authorization.credentials`) is the credential, and the tenant it names is the only one read
 * (domain/artifacts/dora-export.ts). 401 without it or with a wrong one; 400 for a window that is not one.
 */
const serve = refusingDotSegments(
  withLambdaContext(async (event: APIGatewayProxyEventV2) => {
    const requestId = event.requestContext?.requestId;
    try {
      const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
      const presented = presentedScrapeToken(headers);
      const parsed = presented ? parseScrapeToken(presented) : null;
      if (!parsed) throw new Unauthenticated('Send the tenant metrics scrape token: Authorization: Bearer slm.…');
      const deps = depsFor(parsed.tenant);
      const tenant = await scrapeTenant(deps, presented);
      const query = event.queryStringParameters ?? {};
      const q = scrapeQuery.safeParse(query);
      if (!q.success) throw new ValidationFailed(issuesOf('query', q.error, query));
      const out = await doraExposition(await doraExport(deps, tenant, q.data));
      return { statusCode: 200, headers: { 'content-type': out.contentType, 'cache-control': 'no-store' }, body: out.body };
    } catch (err) {
      const r = errorResponse(err, requestId);
      if (r.statusCode === 401) r.headers = { ...r.headers, 'www-authenticate': 'Bearer realm="stageline-metrics"' };
      if (r.statusCode >= 500) logger.error('metrics scrape failed', { error: String(err) });
      return r;
    }
  }),
);

/** The query it reads, for the document (scripts/openapi.ts reads a handler's spec). */
export const handler = Object.assign(serve, { spec: { query: scrapeQuery } });
