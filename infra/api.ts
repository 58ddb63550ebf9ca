import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Validations, type Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CfnStage,
  HttpApi,
  HttpIntegrationType,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpRoute,
  HttpRouteIntegration,
  HttpRouteKey,
  HttpStage,
  IntegrationCredentials,
  LogGroupLogDestination,
  PayloadFormatVersion,
  type HttpRouteIntegrationBindOptions,
  type HttpRouteIntegrationConfig,
  type IHttpRouteAuthorizer,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { FALLBACK_HANDLER, ROUTES, routeKey, SELF_AUTHENTICATED, type AuthType } from '../functions/http/routes.ts';
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
 * preflights: functions/http/cors.ts); the default stage with access logs and throttling.
 */
export class Api extends StackPart {
  readonly api: HttpApi;
  readonly stage: HttpStage;

  constructor(stack: Stack, id: string, identity: Identity, functions: Functions) {
    super(stack, id);
    // Clients send the Cognito *ID* token: it carries custom:tenant_id,
    // cognito:groups and email, and its `aud` is the client id checked here.
    const authorizers: Record<AuthType, IHttpRouteAuthorizer> = {
      jwt: new HttpJwtAuthorizer('CognitoAuthorizer', identity.userPool.userPoolProviderUrl, {
        jwtAudience: [identity.userPoolClient.userPoolClientId],
      }),
      // HTTP APIs have no resource policy, so IAM callers need execute-api:Invoke
      // in this account; MACHINE_PRINCIPALS then binds them to a tenant.
      iam: new HttpIamAuthorizer(),
      none: new HttpNoneAuthorizer(),
      // App-key routes: the handler checks the key (functions/http/app-read.ts); API Gateway lets them through.
      app: new HttpNoneAuthorizer(),
    };

    this.api = new HttpApi(stack, 'Api', {
      apiName: 'stageline',
      description: 'Stageline release promotion API',
      // The default stage is created below, because HttpApi cannot give its
      // own default stage access logging.
      createDefaultStage: false,
      // No corsPreflight: it would open every route (the review pages too) to the allowed origins.
      // The functions answer CORS for the paths meant to be read cross-origin (functions/http/cors.ts):
      // preflights reach the $default fallback, the others get the headers from the HTTP middleware.
    });

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
    // routeSettings is passed to CloudFormation as written, hence its PascalCase keys.
    const cfnStage = this.stage.node.defaultChild as CfnStage;
    cfnStage.routeSettings = Object.fromEntries(
      ROUTES.filter((r) => r.heavy).map((r) => [routeKey(r), { ThrottlingRateLimit: API_THROTTLE.heavyRate, ThrottlingBurstLimit: API_THROTTLE.heavyBurst }]),
    );

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
    const integrations = new Map<string, RoleInvokedLambda>();
    const integrationOf = (handler: string) => {
      const name = functionOf(handler);
      let integration = integrations.get(name);
      if (!integration) {
        const fn = functions.fn(name);
        if (!invokable.has(name)) {
          invokable.add(name);
          invokeRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] }));
          noFunctionDlq(
            fn,
            `${name} is invoked synchronously, by API Gateway (its routes' integration)${servesAppKeys(name) ? ' and at its function URL' : ''}: an error is answered to the caller and counted in the function's Errors (FunctionErrorsAlarm); a function DLQ applies to asynchronous invocations only.`,
          );
        }
        integration = new RoleInvokedLambda(`${pascal(name)}Integration`, fn.functionArn, invokeRole);
        integrations.set(name, integration);
      }
      return integration;
    };

    const routesByKey = new Map<string, HttpRoute>();
    for (const route of ROUTES) {
      const [created] = this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: integrationOf(route.handler),
        authorizer: authorizers[route.auth],
      });
      routesByKey.set(routeKey(route), created!);
      if (route.auth === 'none' || route.auth === 'app') {
        Validations.of(created!).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            route.auth === 'app'
              ? `${route.method} ${route.path} authenticates an app key in the function (Bearer or X-API-Key; only the SHA-256 of its secret is stored, checked in constant time against a consistent read of the key record).`
              : (SELF_AUTHENTICATED as readonly string[]).includes(route.handler)
                ? `${route.method} ${route.path} authenticates in the function (${route.summary}): a single-use link token whose hash is stored, Slack's request signature, a registry link's token whose hash is stored, or a pull-request host's webhook signature (HMAC-SHA256 with the tenant's webhook secret, or GitLab's token).`
                : `${route.method} ${route.path} is public on purpose (${route.summary}); it reads no tenant data.`,
        });
      }
    }

    // Whatever no route matches: the fallback answers 404 or 405 (with Allow)
    // from the same route table. It must be unauthenticated, or API Gateway
    // would answer 401 for a typo'd path.
    const fallback = new HttpRoute(stack, 'DefaultRoute', {
      httpApi: this.api,
      routeKey: HttpRouteKey.DEFAULT,
      integration: integrationOf(FALLBACK_HANDLER),
      authorizer: authorizers.none,
    });
    // The stage names routes by key in its RouteSettings: API Gateway refuses the stage unless those
    // routes exist already, so CloudFormation must create them first.
    for (const key of Object.keys(cfnStage.routeSettings as Record<string, unknown>)) {
      const route = routesByKey.get(key);
      if (!route) throw new Error(`the stage throttles ${key}, which is no route`);
      cfnStage.node.addDependency(route);
    }
    Validations.of(fallback).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason: 'The $default route only returns 404/405 computed from the static route table; it reads no data and has no table permissions.',
    });
  }
}

/** A Lambda proxy integration (payload 2.0) that API Gateway invokes with a role rather than through a permission on the function. */
class RoleInvokedLambda extends HttpRouteIntegration {
  constructor(
    id: string,
    private readonly functionArn: string,
    private readonly role: iam.IRole,
  ) {
    super(id);
  }

  bind(_options: HttpRouteIntegrationBindOptions): HttpRouteIntegrationConfig {
    return {
      type: HttpIntegrationType.AWS_PROXY,
      uri: this.functionArn,
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
      credentials: IntegrationCredentials.fromRole(this.role),
    };
  }
}
