import document from '../http/openapi.json' with { type: 'json' };
import { withCors } from '../http/cors.ts';

/**
 * GET /api/v1/openapi.json: the checked-in contract (scripts/openapi.ts writes it; a test keeps it in sync);
 * GET /api/v1/manifest/schema.json: the manifest's JSON Schema, generated on that route's first request from
 * the manifest's zod schema (a chunk of its own: the contract's route never reads the manifest domain).
 */
const body = JSON.stringify(document);
let schema: string | undefined;

export const handler = withCors(async (event?: { rawPath?: string; headers?: Record<string, string | undefined> }) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' },
  body: event?.rawPath?.endsWith('/manifest/schema.json')
    ? (schema ??= JSON.stringify((await import('#domain/manifest/document')).manifestJsonSchema()))
    : body,
}));
