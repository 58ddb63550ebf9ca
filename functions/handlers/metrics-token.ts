import { issueScrapeToken, scrapeTokenInfo } from '#domain/artifacts/dora-export';
import { httpHandler, WithHeaders } from '../http/handler.ts';

/** The tenant's metrics scrape token (admin): POST creates or replaces it (shown once), GET says when it was made. */
export const handler = httpHandler({ showsSecret: true }, async ({ deps, ctx, route }) => {
  if (route.method === 'POST') return new WithHeaders(await issueScrapeToken(deps, ctx), { 'cache-control': 'no-store' }, 201);
  return scrapeTokenInfo(deps, ctx);
});
