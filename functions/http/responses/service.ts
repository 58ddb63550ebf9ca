import * as z from '../../../domain/kernel/zod.ts';
import { open } from './common.ts';

/** The API's own answers: its error body, the gateway's message, the contract itself and the health check. */
/** The one error body of the API (functions/http/errors.ts writes it for every mapped error and for a 500). */
export const errorBody = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      error: z
        .looseObject({
          code: z.string().check(
            z.meta({
              examples: [
                'VALIDATION_FAILED',
                'UNAUTHENTICATED',
                'FORBIDDEN',
                'ENVIRONMENT_NOT_FOUND',
                'VERSION_CONFLICT',
                'CONCURRENT_MODIFICATION',
                'RULE_VIOLATION',
                'INTERNAL',
              ],
            }),
          ),
          message: z.string().check(z.describe('What to fix')),
          issues: z
            .optional(
              z.array(
                z.strictObject({
                  path: z
                    .string()
                    .check(
                      z.describe(
                        'The field as the request wrote it: a body field by its own name (`constraint`, `targets.0.name`), a parameter as `query.<name>` or `path.<name>`, a header as `header.<name>`, the whole body as `body`',
                      ),
                    ),
                  message: z.string(),
                }),
              ),
            )
            .check(z.describe('400: every validation issue')),
          requestId: z.optional(z.string()).check(z.describe('500: quote it when reporting the error')),
        })
        .check(z.describe('more fields by code: what was not found, the methods allowed, the current digest, …')),
    })
    .check(z.meta({ id: 'Error' })),
);

/** What the gateway answers itself, before any function runs (API Gateway's JWT authorizer, IAM auth, throttling; the local gateway alike). */
export const gatewayMessage = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      message: z.string().check(z.meta({ examples: ['Unauthorized', 'Forbidden', 'Too Many Requests', 'Request Entity Too Large', 'Internal Server Error'] })),
      requestId: z.optional(z.string()),
    })
    .check(z.meta({ id: 'GatewayMessage' })),
);

/** The contract itself (GET /api/v1/openapi.json). */
export const openApiDocument = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      openapi: z.literal('3.1.0'),
      info: z.strictObject({ title: z.string(), version: z.string(), description: z.string() }),
      servers: z.array(z.strictObject({ url: z.string() })),
      paths: z.record(z.string(), z.partialRecord(z.enum(['get', 'post', 'put', 'patch', 'delete']), open)).check(z.describe('path → method → operation')),
      webhooks: z.record(z.string(), open).check(z.describe('event name → the request Stageline sends to subscribed URLs')),
      components: z.strictObject({ schemas: z.record(z.string(), open), responses: z.record(z.string(), open), securitySchemes: z.record(z.string(), open) }),
    })
    .check(z.meta({ id: 'OpenApiDocument' })),
);

export const healthResponse = /* @__PURE__ */ z.schema(() => z.strictObject({ status: z.literal('ok'), service: z.literal('stageline') }));
export const authConfigResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    issuer: z.string().check(z.describe("the ID tokens' iss")),
    clientId: z.string().check(z.describe('the public app client (no secret): PKCE is required')),
    authorizationEndpoint: z.string(),
    tokenEndpoint: z.string(),
    logoutEndpoint: z.string(),
    scopes: z.array(z.string()),
    cliRedirectUri: z.string().check(z.describe('the loopback address `stageline login` receives the code on')),
    idTokenSigningAlg: z.enum(['RS256', 'ES256']).check(z.describe('how ID tokens are signed (RS256 by Cognito, ES256 by the local issuer)')),
    fragmentSignIn: z
      .boolean()
      .check(
        z.describe(
          'whether the console takes a token handed over in its address (#token=…): only on the local stack (loopback only), never on AWS, where a link could sign a person in as someone else',
        ),
      ),
    idpIdentifier: z.optional(
      z
        .nullable(z.string())
        .check(
          z.describe(
            "with ?email= only: the value to pass as the authorize request's idp_identifier (the address's domain, when a tenant's identity provider connection holds it: the sign-in goes to that provider), or null when no connection holds it (a domain nobody holds answers the same); never the provider's name, which names the tenant",
          ),
        ),
    ),
  }),
);
