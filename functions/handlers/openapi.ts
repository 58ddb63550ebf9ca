import { withCors } from '../http/cors.ts';

/**
 * GET /api/v1/openapi.json: the checked-in contract (scripts/openapi.ts writes it; a test keeps it in sync);
 * GET /api/v1/manifest/schema.json: the manifest's JSON Schema, generated on that route's first request from
 * the manifest's zod schema (a chunk of its own: the contract's route never reads the manifest domain).
 *
 * In a bundle the contract is a build-time constant, brotli-compressed (STAGELINE_OPENAPI_DOCUMENT,
 * infra/bundle.ts): module init reads a ~70 KiB string instead of compiling a ~500 KiB object literal,
 * and the first request inflates it (a few ms). Elsewhere (the local gateway, tests) it is the file itself.
 */
let body: string | undefined;
let schema: string | undefined;

const contract = async (): Promise<string> =>
  (body ??= process.env.STAGELINE_OPENAPI_DOCUMENT
    ? (await import('node:zlib')).brotliDecompressSync(Buffer.from(process.env.STAGELINE_OPENAPI_DOCUMENT, 'base64')).toString('utf8')
    : JSON.stringify((await import('../http/openapi.json', { with: { type: 'json' } })).default));

export const handler = withCors(async (event?: { rawPath?: string; headers?: Record<string, string | undefined> }) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' },
  body: event?.rawPath?.endsWith('/manifest/schema.json')
    ? (schema ??= JSON.stringify((await import('#domain/manifest/document')).manifestJsonSchema()))
    : await contract(),
}));
