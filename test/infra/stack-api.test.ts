import { CfnResource, CfnWaitConditionHandle } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnUserPoolClient } from 'aws-cdk-lib/aws-cognito';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROLES } from '../../domain/access/auth.ts';
import { TABLE } from '../../functions/adapters/keys.ts';
import { FALLBACK_HANDLER, ROUTES, routeKey } from '../../functions/http/routes.ts';
import { functionOf } from '../../functions/http/topology.ts';
import { createApp } from '../../infra/create-app.ts';
import { API_THROTTLE } from '../../infra/api.ts';
import { RESOURCE_BUDGET } from '../../infra/budget.ts';
import { SYNTH_TIMEOUT, cdkContext, flat, functionIds, only, routesOf, synthesized, unbundled, type ApiBody, type Resource } from '../support/cdk-template.ts';

/** The stack's template (test/support/cdk-template.ts): the table, the HTTP API and its users, throttling, app reads, size. */
let template: Template;

const AUTH_TYPE = { jwt: 'JWT', iam: 'AWS_IAM', none: 'NONE', app: 'NONE', scim: 'NONE' } as const;

beforeAll(() => {
  ({ template } = synthesized());
}, SYNTH_TIMEOUT);

describe('table', () => {
  it('is built from keys.ts TABLE: keys, GSIs (keys + filter attributes projected, never ALL), TTL', () => {
    const [, table] = only('AWS::DynamoDB::Table');
    expect(table.Properties.KeySchema).toEqual([
      { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
    ]);
    expect(table.Properties.GlobalSecondaryIndexes).toEqual(
      TABLE.indexes.map((i) => ({
        IndexName: i.name,
        KeySchema: [
          { AttributeName: i.partitionKey, KeyType: 'HASH' },
          { AttributeName: i.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...i.projected] },
      })),
    );
    expect(table.Properties.TimeToLiveSpecification).toEqual({ AttributeName: TABLE.ttlAttribute, Enabled: true });
    expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
  });

  it('is protected: PITR, deletion protection, retained on stack deletion', () => {
    const [, table] = only('AWS::DynamoDB::Table');
    expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(table.Properties.DeletionProtectionEnabled).toBe(true);
    expect(table.DeletionPolicy).toBe('Retain');
  });
});

describe('API routes', () => {
  /** The HTTP API is defined by its OpenAPI body (infra/api-definition.ts): routes, authorizers and integrations are no resources of their own. */
  const body = () => only('AWS::ApiGatewayV2::Api')[1].Properties.Body as ApiBody;
  const [poolId, clientId] = [() => only('AWS::Cognito::UserPool')[0], () => only('AWS::Cognito::UserPoolClient')[0]];

  it('has one route per ROUTES entry plus $default, in the API definition and not as resources of their own', () => {
    expect(Object.keys(template.findResources('AWS::ApiGatewayV2::Route'))).toEqual([]);
    expect(Object.keys(template.findResources('AWS::ApiGatewayV2::Integration'))).toEqual([]);
    expect(Object.keys(template.findResources('AWS::ApiGatewayV2::Authorizer'))).toEqual([]);
    expect(
      routesOf(body())
        .map((r) => r.key)
        .sort(),
    ).toEqual([...ROUTES.map(routeKey), '$default'].sort());
  });

  it('authorizes each route as the route table says, and sends it to its handler', () => {
    const fnIds = functionIds();
    const handlerOf = (fnId: string) => [...fnIds].find(([, id]) => id === fnId)?.[0];
    const routes = routesOf(body());
    for (const r of ROUTES) {
      const route = routes.find((x) => x.key === routeKey(r));
      expect(route, routeKey(r)).toBeDefined();
      expect(route!.auth, routeKey(r)).toBe(AUTH_TYPE[r.auth]);
      expect(handlerOf(route!.functionId), routeKey(r)).toBe(functionOf(r.handler));
    }
    const fallback = routes.find((x) => x.key === '$default')!;
    expect(fallback.auth).toBe('NONE');
    expect(handlerOf(fallback.functionId)).toBe(FALLBACK_HANDLER);
  });

  it('invokes with payload format 2.0 (handlers read APIGatewayProxyEventV2), through the invoke role, one integration per function', () => {
    const integrations = Object.values(body().components['x-amazon-apigateway-integrations']);
    const role = Object.keys(template.findResources('AWS::IAM::Role')).find((k) => k.startsWith('ApiInvokeRole'))!;
    for (const i of integrations) {
      expect(i).toEqual({
        type: 'aws_proxy',
        httpMethod: 'POST',
        uri: { 'Fn::GetAtt': [expect.any(String), 'Arn'] },
        payloadFormatVersion: '2.0',
        connectionType: 'INTERNET',
        credentials: { 'Fn::GetAtt': [role, 'Arn'] },
      });
    }
    expect(new Set(integrations.map((i) => i.uri['Fn::GetAtt'][0])).size).toBe(integrations.length);
  });

  it('has a JWT authorizer trusting the user pool and its client, and IAM (SigV4) for the machine routes', () => {
    const schemes = body().components.securitySchemes;
    expect(schemes.CognitoAuthorizer).toEqual({
      type: 'oauth2',
      flows: {},
      'x-amazon-apigateway-authorizer': {
        type: 'jwt',
        identitySource: '$request.header.Authorization',
        jwtConfiguration: { issuer: { 'Fn::GetAtt': [poolId(), 'ProviderURL'] }, audience: [{ Ref: clientId() }] },
      },
    });
    expect(schemes.SigV4).toEqual({ type: 'apiKey', name: 'Authorization', in: 'header', 'x-amazon-apigateway-authtype': 'awsSigv4' });
  });

  it('is an OpenAPI 3.0 document API Gateway imports whole or not at all (FailOnWarnings), with no CORS of its own', async () => {
    const [, api] = only('AWS::ApiGatewayV2::Api');
    expect(api.Properties.FailOnWarnings).toBe(true);
    // Name, ProtocolType and the rest come from the body: API Gateway refuses them beside it.
    expect(Object.keys(api.Properties).sort()).toEqual(['Body', 'FailOnWarnings', 'Tags']);
    expect(JSON.stringify(api.Properties.Body)).not.toContain('x-amazon-apigateway-cors');
    const { Validator } = await import('@seriousme/openapi-schema-validator');
    // Intrinsics stand where API Gateway gets strings: replace them to validate the shape.
    const plain = JSON.parse(
      JSON.stringify(api.Properties.Body, (_k, v) =>
        v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).some((k) => k === 'Ref' || k.startsWith('Fn::')) ? 'arn' : v,
      ),
    );
    const result = await new Validator().validate(plain);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(plain.openapi).toBe('3.0.1');
  });

  it('logs access on the auto-deployed $default stage', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('\\$context\\.requestId') },
    });
  });
});

describe('users', () => {
  it('carries an immutable tenant_id and one group per role', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      Schema: Match.arrayWith([Match.objectLike({ Name: 'tenant_id', AttributeDataType: 'String', Mutable: false })]),
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
    });
    const groups = Object.values(template.findResources('AWS::Cognito::UserPoolGroup')).map((g) => g.Properties.GroupName);
    expect(groups.sort()).toEqual([...ROLES, 'platform-admin'].sort());
  });

  it("adds the console (the API's /dashboard) to the app client's callback and logout addresses once the API exists, through our deploy-time writer sent every setting the client has (UpdateUserPoolClient sets them all, the identity providers too)", () => {
    const [clientId, client] = only('AWS::Cognito::UserPoolClient');
    const [apiId] = only('AWS::ApiGatewayV2::Api');
    const [, update] = only('Custom::ConsoleCallback');
    expect(Object.keys(template.findResources('Custom::AWS'))).toEqual([]);
    // The client names no API (the API's JWT authorizer names the client: a cycle otherwise).
    expect(JSON.stringify(client.Properties)).not.toContain(apiId);
    // Its function is ours (functions/handlers/console-callback.ts), invoked by CloudFormation itself.
    const fnId = update.Properties.ServiceToken['Fn::GetAtt'][0] as string;
    expect(String(template.toJSON().Resources[fnId].Properties.Description)).toContain('console-callback');
    expect(update.Properties.ConsoleUrl).toBeDefined();
    expect(flat(update.Properties.ConsoleUrl)).toBe(`https://<${apiId}>.execute-api.<AWS::Region>.<AWS::URLSuffix>/dashboard`);
    const { GenerateSecret: _secret, ...settings } = JSON.parse(
      JSON.stringify(client.Properties, (_k, v) =>
        v && typeof v === 'object' && !Array.isArray(v) && (v.Ref || v['Fn::GetAtt'] || v['Fn::Join']) ? flat(v) : v,
      ),
    );
    // The template's settings as JSON (their numbers and booleans kept: CloudFormation would pass them as strings), the client named.
    expect(JSON.parse(flat(update.Properties.Settings))).toEqual({ ...settings, ClientId: `<${clientId}>` });
    expect(settings.SupportedIdentityProviders).toEqual(['COGNITO']);
    expect(update.DependsOn).toEqual(expect.arrayContaining([clientId]));
  });

  it(
    "runs the console-callback writer again whenever the app client is updated or replaced (CloudFormation's update of the client writes back only the template's addresses and providers)",
    () => {
      /** The custom resource's properties, after a change to the client (CloudFormation runs it again when they differ). */
      const callAfter = (change?: (client: CfnUserPoolClient) => void) => {
        const { stack: s } = unbundled({});
        const client = s.node.findChild('Users').node.findChild('Client').node.defaultChild as CfnUserPoolClient;
        change?.(client);
        const found = Object.values(Template.fromStack(s).findResources('Custom::ConsoleCallback')) as Resource[];
        expect(found).toHaveLength(1);
        return JSON.stringify(found[0]!.Properties);
      };
      const unchanged = callAfter();
      expect(callAfter()).toBe(unchanged);
      const changes: Record<string, (client: CfnUserPoolClient) => void> = {
        // Updates in place.
        'a token validity': (c) => c.addPropertyOverride('AccessTokenValidity', 30),
        'the client name': (c) => c.addPropertyOverride('ClientName', 'stageline'),
        'its identity providers': (c) => c.addPropertyOverride('SupportedIdentityProviders', ['COGNITO', 'Google']),
        // Replacements: a property CloudFormation replaces the client for, and a new logical id.
        'a replacing property (GenerateSecret)': (c) => c.addPropertyOverride('GenerateSecret', true),
        'a new logical id': (c) => c.overrideLogicalId('UsersClientReplaced'),
      };
      for (const [what, change] of Object.entries(changes)) expect(callAfter(change), what).not.toBe(unchanged);
    },
    SYNTH_TIMEOUT,
  );

  it('does not let a user write their own tenant', () => {
    const [, client] = only('AWS::Cognito::UserPoolClient');
    expect(client.Properties.ReadAttributes).toContain('custom:tenant_id');
    expect(client.Properties.WriteAttributes).not.toContain('custom:tenant_id');
  });
});

describe('identities', () => {
  it('signs users in case-insensitively (one person, one identity for separation of duties)', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', { UsernameConfiguration: { CaseSensitive: false } });
  });

  it('keeps a person’s email until they verify a new one (a binding or an approval by email is never taken by changing one’s own)', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', { UserAttributeUpdateSettings: { AttributesRequireVerificationBeforeUpdate: ['email'] } });
  });
});

describe('throttling', () => {
  it('throttles the stage and, tighter, the heavy routes', () => {
    const stages = Object.values(template.findResources('AWS::ApiGatewayV2::Stage')) as Resource[];
    expect(stages).toHaveLength(1);
    const props = stages[0]!.Properties as { DefaultRouteSettings: Record<string, number>; RouteSettings: Record<string, Record<string, number>> };
    expect(props.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: API_THROTTLE.rate, ThrottlingBurstLimit: API_THROTTLE.burst });
    expect(props.RouteSettings['POST /api/v1/environments/{env}/items/batch']).toMatchObject({ ThrottlingRateLimit: API_THROTTLE.heavyRate });
    expect(props.RouteSettings['POST /api/v1/promotions']).toMatchObject({ ThrottlingBurstLimit: API_THROTTLE.heavyBurst });
  });
});

describe('app reads without API Gateway', () => {
  it('gives only the app-key functions a function URL, unauthenticated at the URL (the function checks the app key), with CORS for the web SDK', () => {
    const urls = Object.values(template.findResources('AWS::Lambda::Url')) as Resource[];
    const ids = new Map([...functionIds()].map(([name, id]) => [id, name]));
    const served = urls.map((u) => ids.get(u.Properties.TargetFunctionArn['Fn::GetAtt'][0])).sort();
    expect(served).toEqual(['effective', 'ofrep']);
    for (const u of urls) {
      expect(u.Properties.AuthType).toBe('NONE');
      expect(u.Properties.Cors).toMatchObject({
        AllowMethods: ['GET', 'POST'],
        ExposeHeaders: ['etag'],
        AllowHeaders: expect.arrayContaining(['x-api-key', 'authorization', 'if-none-match']),
      });
    }
  });
});

describe('size', () => {
  it(`stays within the budget of ${RESOURCE_BUDGET} resources, clear of CloudFormation's 500 (routes, their integrations and authorizers are the API's OpenAPI body, not resources; one state machine for promotions and rollbacks; API Gateway invokes through one role; API functions with the same permissions share a role; read-only handlers of an area share a function)`, () => {
    const all = template.toJSON().Resources as Record<string, Resource>;
    const resources = Object.values(all);
    // 439 with a Route resource per route and an Integration per function (135 + 70 + the JWT authorizer); 239 with the API defined by its body (+5 for the console-callback custom resource, +1 AppReadThrottlesAlarm).
    expect(resources.length).toBeLessThanOrEqual(RESOURCE_BUDGET);
    // Roles: API functions share one per distinct set of needs, so roles follow distinct needs.
    expect(resources.filter((r) => r.Type === 'AWS::IAM::Role').length).toBeLessThanOrEqual(45); // + the audit stream's shipper's, + the wave state machine's and wave-status's, + the console-callback custom resource's, + the tenant secrets role, + Cognito's pre-token trigger, + auth-config's narrow read of the domain claims
    expect(resources.filter((r) => r.Type === 'AWS::Lambda::Permission').length).toBeLessThanOrEqual(13); // the WaveStatus rule's invoke of wave-status, the user pool's invoke of the pre-token trigger, the anchor tick rule's, the audit stream drain rule's, the app-read function URLs' (InvokeFunctionUrl and InvokeFunction, as function URLs need both)…
    // Every integration is invoked with the one role, and that role may invoke exactly the functions routes reach.
    const [, api] = Object.entries(all).find(([, r]) => r.Type === 'AWS::ApiGatewayV2::Api')!;
    const integrations = Object.values((api.Properties.Body as ApiBody).components['x-amazon-apigateway-integrations']);
    const role = Object.keys(all).find((k) => k.startsWith('ApiInvokeRole') && all[k]!.Type === 'AWS::IAM::Role')!;
    expect(integrations.every((i) => JSON.stringify(i.credentials) === JSON.stringify({ 'Fn::GetAtt': [role, 'Arn'] }))).toBe(true);
    const reached = new Set(integrations.map((i) => i.uri['Fn::GetAtt'][0]));
    // CDK moves what does not fit the role's inline policy into overflow managed policies: all of them count.
    const policies = resources.filter(
      (r) =>
        (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') &&
        JSON.stringify((r as any).Properties.Roles) === JSON.stringify([{ Ref: role }]),
    ) as any[];
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string; Resource: unknown }[]);
    expect([...new Set(statements.map((st) => st.Action))]).toEqual(['lambda:InvokeFunction']);
    const granted = new Set(statements.flatMap((st) => [st.Resource].flat()).map((r: any) => r['Fn::GetAtt'][0]));
    expect(granted).toEqual(reached);
    expect((all[role] as any).Properties.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({ Service: 'apigateway.amazonaws.com' });
    // No aws:SourceAccount / aws:SourceArn condition: API Gateway sends neither when it assumes an integration role (every route would answer 500).
    expect((all[role] as any).Properties.AssumeRolePolicyDocument.Statement[0].Condition).toBeUndefined();
  });

  it(
    'has room for 100 more routes: the same stack with 100 more rows in its route table stays within the budget (a route costs no resource)',
    () => {
      const handlers = [...new Set(ROUTES.map((r) => r.handler))];
      const extra = Array.from({ length: 100 }, (_, i) => ({
        ...ROUTES.find((r) => r.handler === handlers[i % handlers.length])!,
        path: `/api/v1/room/${i}/{id}`,
        heavy: undefined,
      }));
      const { stack: bigger } = createApp({ context: { ...cdkContext, 'aws:cdk:bundling-stacks': [] } }, { routes: [...ROUTES, ...extra] });
      const t = Template.fromStack(bigger).toJSON();
      const count = Object.keys(t.Resources).length;
      expect(routesOf((Object.values(t.Resources) as Resource[]).find((r) => r.Type === 'AWS::ApiGatewayV2::Api')!.Properties.Body).length).toBe(
        ROUTES.length + 101,
      );
      expect(count).toBe(Object.keys(template.toJSON().Resources).length);
      expect(count).toBeLessThanOrEqual(RESOURCE_BUDGET);
    },
    SYNTH_TIMEOUT,
  );

  it(
    'refuses to synthesize a stack above the budget (cdk synth fails, not the deploy)',
    () => {
      const { app: over, stack: overStack } = createApp({ context: { ...cdkContext, 'aws:cdk:bundling-stacks': [] } });
      const count = overStack.node.findAll().filter((c) => CfnResource.isCfnResource(c)).length;
      for (let i = count; i <= RESOURCE_BUDGET; i++) new CfnWaitConditionHandle(overStack, `Filler${i}`);
      expect(() => over.synth()).toThrow(new RegExp(`holds \\d+ resources, above the budget of ${RESOURCE_BUDGET}`));
    },
    SYNTH_TIMEOUT,
  );
});
