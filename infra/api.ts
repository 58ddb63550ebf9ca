import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { CfnApi, CfnStage, HttpApi, HttpStage, LogGroupLogDestination, type IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Construct } from 'constructs';
import { FALLBACK_HANDLER, ROUTES, routeKey, type Route } from '../functions/http/routes.ts';
import { apiDefinition } from './api-definition.ts';
import { functionOf } from '../functions/http/topology.ts';
import { servesAppKeys } from './access.ts';
import { noFunctionDlq } from './acknowledgements.ts';
import { logGroup } from './function.ts';
import { pascal, type Functions } from './functions.ts';
import type { Identity } from './identity.ts';
import { StackPart } from './part.ts';

/** API throttling: the stage as a whole, and tighter limits on the heavy routes (the rows marked `heavy`). */
export const API_THROTTLE = { rate: 200, burst: 400, heavyRate: 20, heavyBurst: 40 } as const;

/**
 * The HTTP API: one route per entry of the route table (functions/http/routes.ts), each with its
 * authorizer, invoking its function; the $default fallback for everything else (404/405, and CORS
 * preflights: functions/http/cors.ts); the default stage with access logs and throttling. Routes,
 * authorizers and integrations are the API's OpenAPI body (infra/api-definition.ts), not resources.
 */
export class Api extends StackPart {
  readonly api: IHttpApi;
  readonly stage: HttpStage;

  constructor(stack: Stack, id: string, identity: Identity, functions: Functions, routes: readonly Route[] = ROUTES) {
    super(stack, id);

    // API Gateway invokes the functions with one role (the integrations' credentials) instead of a
    // resource-based permission on each function: ~60 fewer resources, and the grant lists exactly the
    // functions routes reach. The trust names the service alone, as AWS documents for integration
    // credentials: API Gateway does not send aws:SourceAccount or aws:SourceArn when it assumes an
    // integration's role, so such a condition would refuse every route (500). The confused deputy is
    // closed by iam:PassRole instead: only a principal of this account allowed to pass this role can
    // name it as an integration's credentials.
    const invokeRole = new iam.Role(stack, 'ApiInvokeRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      description: 'API Gateway invokes the API functions with this role',
    });
    const invokable = new Set<string>();
    const integrationOf = (handler: string) => {
      const name = functionOf(handler);
      const fn = functions.fn(name);
      if (!invokable.has(name)) {
        invokable.add(name);
        invokeRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] }));
        noFunctionDlq(
          fn,
          `${name} is invoked synchronously, by API Gateway (its routes' integration)${servesAppKeys(name) ? ' and at its function URL' : ''}: an error is answered to the caller and counted in the function's Errors (FunctionErrorsAlarm); a function DLQ applies to asynchronous invocations only.`,
        );
      }
      return { name: pascal(name), functionArn: fn.functionArn, credentialsArn: invokeRole.roleArn };
    };

    // The API is its OpenAPI definition (infra/api-definition.ts): API Gateway creates every route, its
    // authorizer (JWT: the Cognito ID token; IAM: SigV4; none, and app keys checked in the function) and its
    // integration when it imports the body, so none is a CloudFormation resource. FailOnWarnings: a definition
    // API Gateway would import only in part (a route dropped with a warning) fails the deploy instead.
    // Name, description and protocol come from the body (API Gateway refuses them beside it). No CORS in it:
    // it would open every route (the review pages too) to the allowed origins; the functions answer CORS for
    // the paths meant to be read cross-origin (functions/http/cors.ts).
    const scope = new Construct(stack, 'Api');
    const cfnApi = new CfnApi(scope, 'Resource', {
      failOnWarnings: true,
      body: apiDefinition({
        routes,
        fallbackHandler: FALLBACK_HANDLER,
        integrationOf,
        jwt: { issuer: identity.userPool.userPoolProviderUrl, audience: [identity.userPoolClient.userPoolClientId] },
        title: 'stageline',
        description: 'Stageline release promotion API',
      }),
    });
    // Routes with no authorizer at API Gateway, and why each is fine, for the reader of the stack: app-key routes
    // authenticate the key in the function (functions/http/app-read.ts); SELF_AUTHENTICATED handlers a single-use
    // link token, Slack's signature, a registry link's token or the tenant's SCIM token (functions/http/scim.ts); the rest read no tenant data; the $default
    // fallback answers 404/405 from the static route table. test/infra/stack-api.test.ts checks every route's type.
    this.api = HttpApi.fromHttpApiAttributes(stack, 'ApiRef', { httpApiId: cfnApi.ref, apiEndpoint: cfnApi.attrApiEndpoint });

    const accessLogs = logGroup(
      stack,
      'ApiAccessLogs',
      logs.RetentionDays.THREE_MONTHS,
      "the API's access log (a line per request: caller, route, path, status, latencies; a review link's path carries its single-use token until it is used or expires)",
    );
    this.stage = new HttpStage(stack, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      // Stage-wide throttling (per account and region, on top of API Gateway's own limits).
      throttle: { rateLimit: API_THROTTLE.rate, burstLimit: API_THROTTLE.burst },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        // JSON, one line per request; every value quoted because API Gateway
        // writes "-" for missing numbers. Caller = JWT subject or IAM ARN.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            time: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            method: '$context.httpMethod',
            path: '$context.path',
            routeKey: '$context.routeKey',
            status: '$context.status',
            latencyMs: '$context.responseLatency',
            integrationLatencyMs: '$context.integrationLatency',
            responseLength: '$context.responseLength',
            sub: '$context.authorizer.claims.sub',
            iamArn: '$context.identity.userArn',
            authorizerError: '$context.authorizer.error',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    // Heavier routes get tighter limits of their own (a 10k-item batch, promotion requests, rollbacks).
    // routeSettings is passed to CloudFormation as written, hence its PascalCase keys. The routes it names are
    // the API's (its body): the stage refers to the API, so CloudFormation creates it after them.
    const cfnStage = this.stage.node.defaultChild as CfnStage;
    cfnStage.routeSettings = Object.fromEntries(
      routes.filter((r) => r.heavy).map((r) => [routeKey(r), { ThrottlingRateLimit: API_THROTTLE.heavyRate, ThrottlingBurstLimit: API_THROTTLE.heavyBurst }]),
    );
  }
}
