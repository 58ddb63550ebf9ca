import type { AuthType, Route } from '../functions/http/routes.ts';
import { routeKey } from '../functions/http/routes.ts';

/**
 * The HTTP API as an OpenAPI 3.0 document with API Gateway's extensions, built from the route table
 * (the rows the published OpenAPI document is generated from too): one path operation per route, its
 * authorization (the Cognito JWT authorizer, IAM/SigV4, or none) and its integration (the function of
 * its handler, invoked with the API's invoke role, payload 2.0), plus the $default route. API Gateway
 * creates the routes, integrations and the authorizer when it imports the document, so they are no
 * CloudFormation resources of their own: a route costs nothing of the stack's 500 (infra/budget.ts).
 *
 * Why not the published document (functions/http/openapi.json) itself: it is about 1 MB of schemas and
 * prose, the size of a whole template, and OpenAPI 3.1; API Gateway reads none of the schemas. This one
 * holds what API Gateway acts on, from the same rows.
 */

/** A function API Gateway invokes: its ARN and the role it invokes with (CDK tokens). */
export interface ApiIntegration {
  name: string;
  functionArn: string;
  credentialsArn: string;
}

export interface ApiDefinitionInput {
  routes: readonly Route[];
  /** the handler of the $default route (404/405 and CORS preflights) */
  fallbackHandler: string;
  /** the function (integration) serving a handler */
  integrationOf: (handler: string) => ApiIntegration;
  jwt: { issuer: string; audience: string[] };
  title: string;
  description: string;
}

/** Security scheme names: the JWT one is the authorizer's name in API Gateway. */
const SCHEME: Record<AuthType, string | null> = { jwt: 'CognitoAuthorizer', iam: 'SigV4', none: null, app: null, scim: null };

const pathParameters = (path: string) =>
  [...path.matchAll(/\{([^}+]+)\+?\}/g)].map((m) => ({ name: m[1]!, in: 'path', required: true, schema: { type: 'string' } }));

export function apiDefinition(input: ApiDefinitionInput): Record<string, unknown> {
  const integrations: Record<string, Record<string, unknown>> = {};
  const integrationRef = (handler: string) => {
    const i = input.integrationOf(handler);
    integrations[i.name] ??= {
      type: 'aws_proxy',
      httpMethod: 'POST',
      uri: i.functionArn,
      payloadFormatVersion: '2.0',
      connectionType: 'INTERNET',
      credentials: i.credentialsArn,
    };
    return { $ref: `#/components/x-amazon-apigateway-integrations/${i.name}` };
  };

  const paths: Record<string, Record<string, unknown>> = {};
  const seen = new Set<string>();
  for (const route of input.routes) {
    const key = routeKey(route);
    if (seen.has(key)) throw new Error(`the route table has ${key} twice`);
    seen.add(key);
    const scheme = SCHEME[route.auth];
    const parameters = pathParameters(route.path);
    (paths[route.path] ??= {})[route.method.toLowerCase()] = {
      ...(parameters.length ? { parameters } : {}),
      ...(scheme ? { security: [{ [scheme]: [] }] } : {}),
      responses: { default: { description: "the function's answer" } },
      'x-amazon-apigateway-integration': integrationRef(route.handler),
    };
  }
  // Whatever no route matches: unauthenticated, or API Gateway would answer 401 for a typo'd path.
  paths['/$default'] = {
    'x-amazon-apigateway-any-method': {
      isDefaultRoute: true,
      responses: { default: { description: "the function's answer" } },
      'x-amazon-apigateway-integration': integrationRef(input.fallbackHandler),
    },
  };

  return {
    openapi: '3.0.1',
    info: { title: input.title, description: input.description, version: '1' },
    paths,
    components: {
      securitySchemes: {
        // Clients send the Cognito *ID* token: it carries custom:tenant_id, cognito:groups and email, and its
        // `aud` is the client id checked here.
        [SCHEME.jwt!]: {
          type: 'oauth2',
          flows: {},
          'x-amazon-apigateway-authorizer': {
            type: 'jwt',
            identitySource: '$request.header.Authorization',
            jwtConfiguration: { issuer: input.jwt.issuer, audience: input.jwt.audience },
          },
        },
        // HTTP APIs have no resource policy, so IAM callers need execute-api:Invoke in this account;
        // MACHINE_PRINCIPALS then binds them to a tenant.
        [SCHEME.iam!]: { type: 'apiKey', name: 'Authorization', in: 'header', 'x-amazon-apigateway-authtype': 'awsSigv4' },
      },
      'x-amazon-apigateway-integrations': integrations,
    },
  };
}
