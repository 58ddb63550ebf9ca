import document from '../http/openapi.json' with { type: 'json' };

/** GET /api/v1/openapi.json: the checked-in contract (scripts/openapi.ts writes it; a test keeps it in sync). */
const body = JSON.stringify(document);

export const handler = async () => ({ statusCode: 200, headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' }, body });
