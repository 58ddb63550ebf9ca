import * as z from 'zod';
import { open } from './common.ts';

/** The API's own answers: its error body, the gateway's message, the contract itself and the health check. */
/** The one error body of the API (functions/http/errors.ts writes it for every mapped error and for a 500). */
export const errorBody = /* @__PURE__ */ z
  .object({
    error: z
      .object({
        code: z.string().meta({ examples: ['VALIDATION_FAILED', 'UNAUTHENTICATED', 'FORBIDDEN', 'ENVIRONMENT_NOT_FOUND', 'VERSION_CONFLICT', 'CONCURRENT_MODIFICATION', 'RULE_VIOLATION', 'INTERNAL'] }),
        message: z.string().describe('What to fix'),
        issues: z.array(z.object({ path: z.string(), message: z.string() }).strict()).optional().describe('400: every validation issue'),
        requestId: z.string().optional().describe('500: quote it when reporting the error'),
      })
      .passthrough()
      .describe('more fields by code: what was not found, the methods allowed, the current digest, …'),
  })
  .strict()
  .meta({ id: 'Error' });

/** What the gateway answers itself, before any function runs (API Gateway's JWT authorizer, IAM auth, throttling; the local gateway alike). */
export const gatewayMessage = /* @__PURE__ */ z
  .object({ message: z.string().meta({ examples: ['Unauthorized', 'Forbidden', 'Too Many Requests', 'Request Entity Too Large', 'Internal Server Error'] }), requestId: z.string().optional() })
  .strict()
  .meta({ id: 'GatewayMessage' });

/** The contract itself (GET /api/v1/openapi.json). */
const openApiDocument = /* @__PURE__ */ z
  .object({
    openapi: z.literal('3.1.0'),
    info: z.object({ title: z.string(), version: z.string(), description: z.string() }).strict(),
    servers: z.array(z.object({ url: z.string() }).strict()),
    paths: z.record(z.string(), z.partialRecord(z.enum(['get', 'post', 'put', 'patch', 'delete']), open)).describe('path → method → operation'),
    webhooks: z.record(z.string(), open).describe('event name → the request Stageline sends to subscribed URLs'),
    components: z.object({ schemas: z.record(z.string(), open), responses: z.record(z.string(), open), securitySchemes: z.record(z.string(), open) }).strict(),
  })
  .strict()
  .meta({ id: 'OpenApiDocument' });

export const SERVICE_RESPONSES: Record<string, z.ZodType> = {
  openapi: openApiDocument,
  health: z.object({ status: z.literal('ok'), service: z.literal('stageline') }).strict(),
  // Stageline's one error shape, for routes whose declared errors are not in their success's format.
  error: errorBody,
};
