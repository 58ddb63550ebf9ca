import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CfnElement, CfnResource, CfnWaitConditionHandle, Validations, type App } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnUserPoolClient } from 'aws-cdk-lib/aws-cognito';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROLES } from '../../domain/access/auth.ts';
import { INSTANCE_ATTRIBUTES, TABLE } from '../../functions/adapters/keys.ts';
import { FALLBACK_HANDLER, ROUTES, WORKFLOW_HANDLERS, routeKey } from '../../functions/http/routes.ts';
import { FUNCTION_GROUPS, FUNCTIONS, functionOf, handlersOf } from '../../functions/http/topology.ts';
import { NAG_PACKS, createApp } from '../../infra/create-app.ts';
import { AlarmForwarderStack } from '../../infra/alarm-forwarder.ts';
import { REPO_ROOT } from '../../infra/function.ts';
import { STATE_MACHINES, aslPath, placeholdersIn } from '../../infra/state-machines.ts';
import { NOTIFY_ON } from '../../domain/notify/notifier.ts';
import { TENANT_LEADING_KEYS, READ_ACTIONS, WRITE_ACTIONS, checkFunctionGroups, dataAccessOf, servesAppKeys, startsFlows } from '../../infra/access.ts';
import { API_THROTTLE } from '../../infra/api.ts';
import { RESOURCE_BUDGET } from '../../infra/budget.ts';
import { CHECKPOINT_LOCK_DEFAULT } from '../../infra/context.ts';
import { APP_READ_CONCURRENCY, flagFrom } from '../../infra/context.ts';
import { NARROW_WRITES } from '../../infra/background-writes.ts';
import { bundleFunction } from '../../infra/bundle.ts';
import { stackNames } from '../../infra/names.ts';
import { trustPolicySize, TRUST_POLICY_QUOTA } from '../../infra/store.ts';
import type { StagelineStack } from '../../infra/stack.ts';

/** Bundling ~20 functions with esbuild dominates; the first synth takes tens of seconds. */
const SYNTH_TIMEOUT = 600_000;

/** Same context as `cdk synth` (feature flags and defaults from cdk.json). */
const cdkContext = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

/** A second app without bundling (fast), for checks that only need the template. */
const unbundled = (context: Record<string, unknown>) => createApp({ context: { ...cdkContext, ...context, 'aws:cdk:bundling-stacks': [] } });

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string; DependsOn?: string[] };
const AUTH_TYPE = { jwt: 'JWT', iam: 'AWS_IAM', none: 'NONE', app: 'NONE' } as const;

type Intrinsic = { 'Fn::GetAtt': [string, string] };
type ApiOperation = { security?: Record<string, string[]>[]; isDefaultRoute?: boolean; 'x-amazon-apigateway-integration': { $ref: string } };
type ApiBody = {
  openapi: string;
  paths: Record<string, Record<string, ApiOperation>>;
  components: {
    securitySchemes: Record<string, Record<string, unknown>>;
    'x-amazon-apigateway-integrations': Record<string, { uri: Intrinsic } & Record<string, unknown>>;
  };
};
/** The routes an API definition creates when API Gateway imports it: key, authorization type, the function's logical id. */
const routesOf = (body: ApiBody) =>
  Object.entries(body.paths).flatMap(([p, ops]) =>
    Object.entries(ops)
      .filter(([m]) => m !== 'parameters')
      .map(([m, op]) => {
        const scheme = op.security?.length ? body.components.securitySchemes[Object.keys(op.security[0]!)[0]!]! : undefined;
        const auth = !scheme
          ? 'NONE'
          : (scheme['x-amazon-apigateway-authorizer'] as { type?: string })?.type === 'jwt'
            ? 'JWT'
            : scheme['x-amazon-apigateway-authtype'] === 'awsSigv4'
              ? 'AWS_IAM'
              : '?';
        const integration = body.components['x-amazon-apigateway-integrations'][op['x-amazon-apigateway-integration'].$ref.split('/').pop()!]!;
        const key = op.isDefaultRoute ? '$default' : `${m.toUpperCase()} ${p}`;
        return { key, auth, functionId: integration.uri['Fn::GetAtt'][0] };
      }),
  );

let app: App;
let stack: StagelineStack;
let template: Template;

const only = (type: string): [string, Resource] => {
  const found = Object.entries(template.findResources(type)) as [string, Resource][];
  expect(found).toHaveLength(1);
  return found[0]!;
};

/** Lambda logical id per function name (the description is `Stageline <function>`; CDK's custom-resource function has none). */
const functionIds = () =>
  new Map(
    (Object.entries(template.findResources('AWS::Lambda::Function')) as [string, Resource][])
      .filter(([, r]) => String(r.Properties.Description).startsWith('Stageline '))
      .map(([id, r]) => [String(r.Properties.Description).replace(/^Stageline /, ''), id]),
  );

/** All IAM statements attached to a function's role. */
const statementsOf = (functionId: string): { Action: string | string[]; Resource: unknown }[] => {
  const fn = template.toJSON().Resources[functionId] as Resource;
  const roleId = fn.Properties.Role['Fn::GetAtt'][0];
  return (Object.values(template.findResources('AWS::IAM::Policy')) as Resource[])
    .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
};
const actionsOf = (functionId: string) => statementsOf(functionId).flatMap((s) => [s.Action].flat());

beforeAll(() => {
  ({ app, stack } = createApp({ context: cdkContext }));
  // Synthesizes (bundling every function) and runs the cdk-nag plugin: an
  // unacknowledged nag error makes this throw with the report.
  template = Template.fromStack(stack);
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

  it("adds the console (the API's /dashboard) to the app client's callback and logout addresses once the API exists, sending every setting the client has (UpdateUserPoolClient sets them all)", () => {
    const [clientId, client] = only('AWS::Cognito::UserPoolClient');
    const [apiId] = only('AWS::ApiGatewayV2::Api');
    const [, update] = only('Custom::AWS');
    // The client names no API (the API's JWT authorizer names the client: a cycle otherwise).
    expect(JSON.stringify(client.Properties)).not.toContain(apiId);
    const call = JSON.parse(flat(update.Properties.Create)) as { action: string; parameters: Record<string, unknown> };
    expect(JSON.parse(flat(update.Properties.Update))).toEqual(call);
    expect(call.action).toBe('updateUserPoolClient');
    const console_ = `https://<${apiId}>.execute-api.<AWS::Region>.<AWS::URLSuffix>/dashboard`;
    const { GenerateSecret: _secret, ...settings } = JSON.parse(
      JSON.stringify(client.Properties, (_k, v) =>
        v && typeof v === 'object' && !Array.isArray(v) && (v.Ref || v['Fn::GetAtt'] || v['Fn::Join']) ? flat(v) : v,
      ),
    );
    expect(call.parameters).toEqual({
      ...settings,
      ClientId: `<${clientId}>`,
      CallbackURLs: [console_, ...settings.CallbackURLs],
      LogoutURLs: [console_, ...settings.LogoutURLs],
    });
    expect(update.DependsOn).toEqual(expect.arrayContaining([clientId]));
  });

  it(
    "runs the console-callback update again whenever the app client is updated or replaced (CloudFormation's update of the client writes back only the template's addresses)",
    () => {
      /** The custom resource's properties, after a change to the client (CloudFormation runs it again when they differ). */
      const callAfter = (change?: (client: CfnUserPoolClient) => void) => {
        const { stack: s } = unbundled({});
        const client = s.node.findChild('Users').node.findChild('Client').node.defaultChild as CfnUserPoolClient;
        change?.(client);
        const found = Object.values(Template.fromStack(s).findResources('Custom::AWS')) as Resource[];
        expect(found).toHaveLength(1);
        return JSON.stringify(found[0]!.Properties);
      };
      const unchanged = callAfter();
      expect(callAfter()).toBe(unchanged);
      const changes: Record<string, (client: CfnUserPoolClient) => void> = {
        // Updates in place.
        'a token validity': (c) => c.addPropertyOverride('AccessTokenValidity', 30),
        'the client name': (c) => c.addPropertyOverride('ClientName', 'stageline'),
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

describe('functions', () => {
  it('has one Lambda per function (handlers of routes, fallback and state machine tasks; a group of read-only handlers), all arm64 on nodejs22.x, with TABLE_NAME where its bundle reaches the store', () => {
    const [tableId] = only('AWS::DynamoDB::Table');
    // Beside them, CDK's custom-resource function alone (the console's callback address on the app client: infra/identity.ts).
    const others = Object.keys(template.findResources('AWS::Lambda::Function')).filter((id) => ![...functionIds().values()].includes(id));
    expect(others).toEqual([expect.stringMatching(/^AWS679f53fac002430cb0da5b7982bd2287/)]);
    expect([...functionIds().keys()].sort()).toEqual([...FUNCTIONS].sort());
    const resources = template.toJSON().Resources;
    const storeless: string[] = [];
    for (const [name, id] of functionIds()) {
      const fn = resources[id];
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      expect(fn.Properties.LoggingConfig.LogGroup).toBeDefined();
      // The table's name only where the bundle holds the store's wiring (functions/http/deps.ts, which reads it).
      const reachesStore = bundleFunction(name, { traceSdk: false, reuseAny: true }).modules.has('functions/http/deps.ts');
      expect(fn.Properties.Environment?.Variables?.TABLE_NAME, name).toEqual(reachesStore ? { Ref: tableId } : undefined);
      if (!reachesStore) storeless.push(name);
    }
    // Every function but a few open answers (health, the OpenAPI document, sign-in configuration, the dashboard page, the fallback).
    expect(storeless.length).toBeLessThan(8);
  });

  it('groups only handlers that need exactly the same permissions and settings: read-only ones of an area, the user admin routes, and the inbound hooks', () => {
    expect(() => checkFunctionGroups()).not.toThrow();
    for (const [group, members] of Object.entries(FUNCTION_GROUPS)) {
      // The write groups: the people routes, all admin, all needing the user pool's Admin* grants and nothing else that differs;
      // the inbound hooks (a registry's notifications, a pull-request host's webhook), public routes that authenticate the caller themselves.
      // the promotion controls (cancel, a rollout's halt/resume/confirm): deployer writes that answer or fail the flow's task tokens.
      const admin = group === 'users-admin';
      const hooks = group === 'inbound-hooks';
      const control = group === 'promotions-control';
      expect(dataAccessOf(group), group).toBe(admin || hooks || control ? 'write' : 'read');
      for (const m of members) {
        expect(functionOf(m)).toBe(group);
        if (control) {
          expect(
            ROUTES.filter((r) => r.handler === m).every((r) => r.auth === 'jwt' && r.role === 'deployer' && ['POST', 'DELETE'].includes(r.method)),
            m,
          ).toBe(true);
          continue;
        }
        if (hooks) {
          expect(
            ROUTES.filter((r) => r.handler === m).every((r) => r.auth === 'none' && r.role === null && r.method === 'POST'),
            m,
          ).toBe(true);
          continue;
        }
        expect(
          ROUTES.filter((r) => r.handler === m).every((r) => (admin ? r.role === 'admin' : r.role === 'viewer' && r.method === 'GET') && r.auth === 'jwt'),
          m,
        ).toBe(true);
      }
    }
    // A write handler in a read group would be refused at synth, before it could borrow the read role.
    const groups = FUNCTION_GROUPS as Record<string, readonly string[]>;
    const saved = groups['rules-read'];
    groups['rules-read'] = [...saved!, 'rules-create'];
    try {
      expect(() => checkFunctionGroups()).toThrow(/rules-read mixes handlers/);
    } finally {
      groups['rules-read'] = saved!;
    }
  });

  it('gives MACHINE_PRINCIPALS only to the handler behind the IAM route', () => {
    const iamHandlers = new Set(ROUTES.filter((r) => r.auth === 'iam').map((r) => functionOf(r.handler)));
    const resources = template.toJSON().Resources;
    for (const [name, id] of functionIds()) {
      const env = resources[id].Properties.Environment?.Variables ?? {};
      if (iamHandlers.has(name)) expect(env.MACHINE_PRINCIPALS).toBe('[]');
      else expect(env.MACHINE_PRINCIPALS).toBeUndefined();
    }
  });

  it('gives state machine tasks no route', () => {
    const routed = new Set(ROUTES.map((r) => r.handler));
    for (const name of WORKFLOW_HANDLERS) expect(routed.has(name), name).toBe(false);
  });

  it('gives items-batch, artifacts-publish and manifest 29 s (10k items per batch; registry tags; a plan replayed over up to 1,000 promotions), the promotion step 6 min (registry copies), and everything else behind the API 10 s', () => {
    const resources = template.toJSON().Resources;
    for (const [name, id] of functionIds()) {
      const timeout = resources[id].Properties.Timeout;
      if (name === 'items-batch' || name === 'artifacts-publish' || name === 'manifest') expect(timeout, name).toBe(29);
      else if (name === 'promotion-step') expect(timeout).toBe(360);
      else if (name === 'stream' || name === 'registry-push') expect(timeout, name).toBe(60);
      // a registry's notifications and a pull-request host's webhook (its rebase pushes a branch)
      else if (name === 'inbound-hooks') expect(timeout).toBe(29);
      // every matching webhook subscription of an event at once, each attempt bounded at 10 s
      else if (name === 'webhook-deliver') expect(timeout).toBe(30);
      else expect(timeout, name).toBe(10);
    }
  });
});

describe('events', () => {
  it("has the stageline bus (the default stack's name); only the stream consumer (the outbox relay) gets EVENT_BUS_NAME and PutEvents on it", () => {
    const [busId, bus] = only('AWS::Events::EventBus');
    expect(bus.Properties.Name).toBe('stageline');
    const resources = template.toJSON().Resources;
    for (const [name, id] of functionIds()) {
      const writes = name === 'stream';
      expect(resources[id].Properties.Environment?.Variables?.EVENT_BUS_NAME, name).toEqual(writes ? { Ref: busId } : undefined);
      const putEvents = statementsOf(id).filter((s) => [s.Action].flat().includes('events:PutEvents'));
      expect(
        putEvents.map((s) => s.Resource),
        name,
      ).toEqual(writes ? [{ 'Fn::GetAtt': [busId, 'Arn'] }] : []);
    }
  });
});

describe('the stream consumer: audit chain anchoring and the event outbox', () => {
  it('reads the table stream through one filtered event source mapping with bisect, bounded retries and a DLQ', () => {
    const [, table] = only('AWS::DynamoDB::Table');
    expect(table.Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_IMAGE' });
    const [, esm] = only('AWS::Lambda::EventSourceMapping');
    expect(esm.Properties.FunctionName).toEqual({ Ref: functionIds().get('stream') });
    expect(esm.Properties).toMatchObject({
      BatchSize: 100,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      StartingPosition: 'TRIM_HORIZON',
      DestinationConfig: { OnFailure: { Destination: expect.anything() } },
    });
    const filter = JSON.parse(esm.Properties.FilterCriteria.Filters[0].Pattern);
    expect(filter).toEqual({ eventName: ['INSERT'], dynamodb: { NewImage: { entity: { S: ['AuditEntry', 'Evidence', 'Event'] } } } });
  });

  it('locks checkpoints as the context says: COMPLIANCE for 3650 days by default (production), GOVERNANCE with a short retention for a trial deploy that can be torn down', () => {
    const lockOf = (t: Template) =>
      (Object.values(t.findResources('AWS::S3::Bucket')) as Resource[]).find((b) => b.Properties.ObjectLockEnabled)!.Properties.ObjectLockConfiguration;
    expect(CHECKPOINT_LOCK_DEFAULT).toEqual({ mode: 'COMPLIANCE', days: 3650 });
    expect(lockOf(template)).toEqual({ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 3650 } } });
    // The trial deploy of docs/operations/deploy-aws.md.
    const trial = Template.fromStack(unbundled({ checkpointLockMode: 'GOVERNANCE', checkpointRetentionDays: '1' }).stack);
    expect(lockOf(trial)).toEqual({ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } });
    const guide = readFileSync(path.join(REPO_ROOT, 'docs/operations/deploy-aws.md'), 'utf8');
    expect(guide).toContain('-c checkpointLockMode=GOVERNANCE -c checkpointRetentionDays=1');
    expect(guide).toContain('--bypass-governance-retention');
    for (const [key, bad] of [
      ['checkpointLockMode', 'governance-ish'],
      ['checkpointLockMode', 'NONE'],
      ['checkpointRetentionDays', '0'],
      ['checkpointRetentionDays', '36501'],
      ['checkpointRetentionDays', 'ten'],
    ] as const)
      expect(() => unbundled({ [key]: bad }), `${key}=${bad}`).toThrow(new RegExp(key));
  });

  it('signs checkpoints with an ECC P-256 KMS key only the consumer may sign with, into an Object Lock bucket; verifiers get its public key', () => {
    const [keyId, key] = only('AWS::KMS::Key');
    expect(key.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    const bucket = Object.values(template.findResources('AWS::S3::Bucket')).find((b: any) => b.Properties.ObjectLockEnabled)! as Resource;
    expect(bucket.Properties.ObjectLockConfiguration).toEqual({
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: CHECKPOINT_LOCK_DEFAULT.mode, Days: CHECKPOINT_LOCK_DEFAULT.days } },
    });
    for (const [name, id] of functionIds()) {
      const actions = actionsOf(id);
      expect(actions.includes('kms:Sign'), name).toBe(name === 'stream');
      // The promotion step verifies the attestations an environment requires with the public half.
      expect(actions.includes('kms:GetPublicKey'), name).toBe(['stream', 'audit-verify', 'promotion-step'].includes(name));
      expect(
        actions.filter((a) => /^kms:(GenerateMac|VerifyMac|Verify|\*)$/.test(a)),
        name,
      ).toEqual([]);
      // Every KMS statement names the checkpoint key and nothing else.
      for (const st of statementsOf(id).filter((st) => [st.Action].flat().some((a: string) => a === 'kms:Sign' || a === 'kms:GetPublicKey'))) {
        expect(st.Resource, name).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
      }
      const env = (template.toJSON().Resources[id] as Resource).Properties.Environment?.Variables ?? {};
      expect(env.AUDIT_KEY_ID !== undefined, name).toBe(['stream', 'audit-verify', 'audit-export', 'promotion-step'].includes(name));
      expect(env.CHECKPOINT_BUCKET !== undefined, name).toBe(['stream', 'audit-verify', 'audit-export', 'promotion-step'].includes(name));
      expect(actions.includes('s3:PutObject'), name).toBe(name === 'stream');
      expect(
        actions.some((a) => a.startsWith('s3:Delete')),
        name,
      ).toBe(false);
    }
    expect(keyId).toBeTruthy();
  });
  it("lets only the stream consumer's role sign with the checkpoint key, by the key policy itself: the account root administers it and may verify, but can never sign (an admin of the account cannot forge checkpoints)", () => {
    const [, key] = only('AWS::KMS::Key');
    const resources = template.toJSON().Resources as Record<string, Resource>;
    const streamRole = resources[functionIds().get('stream')!]!.Properties.Role['Fn::GetAtt'][0];
    type KeyStatement = { Effect: string; Principal?: unknown; NotPrincipal?: unknown; Action?: string | string[]; NotAction?: unknown; Condition?: unknown };
    const statements = key.Properties.KeyPolicy.Statement as KeyStatement[];
    // An action pattern of the policy (kms:*, kms:S*, kms:Sign) grants the action when its glob matches it.
    const glob = (pattern: string) =>
      new RegExp(
        `^${pattern
          .split('*')
          .map((part) => part.replace(/[.?+^$()|[\]{}\\]/g, '\\$&'))
          .join('.*')}$`,
        'i',
      );
    const grants = (st: KeyStatement, action: string) => st.Effect === 'Allow' && [st.Action ?? []].flat().some((pattern) => glob(pattern).test(action));
    // Nothing granted by exclusion: an Allow with NotAction or NotPrincipal could grant kms:Sign without naming it.
    expect(
      statements.filter((st) => st.Effect === 'Allow' && (st.NotAction || st.NotPrincipal)),
      'Allow statements with NotAction/NotPrincipal',
    ).toEqual([]);
    const signers = statements.filter((st) => grants(st, 'kms:Sign'));
    expect(
      signers.map((st) => st.Principal),
      'the principals the key policy lets kms:Sign',
    ).toEqual([{ AWS: { 'Fn::GetAtt': [streamRole, 'Arn'] } }]);
    expect(
      signers.map((st) => [st.Action].flat()),
      "what the key policy grants the stream consumer's role",
    ).toEqual([['kms:Sign']]);
    // The account (its root: any IAM principal its own policies allow) and anyone: never sign, never hand out grants (a grant could sign).
    const isAccount = (p: unknown) =>
      p === '*' || JSON.stringify(p) === '{"AWS":"*"}' || JSON.stringify(p).includes(':root') || JSON.stringify(p) === '{"AWS":{"Ref":"AWS::AccountId"}}';
    const account = statements.filter((st) => st.Effect === 'Allow' && isAccount(st.Principal));
    expect(account.length, 'statements for the account').toBeGreaterThan(0);
    for (const forbidden of ['kms:Sign', 'kms:*', 'kms:CreateGrant']) {
      expect(
        account.filter((st) => grants(st, forbidden)).map((st) => st.Action),
        `the key policy lets the account ${forbidden}`,
      ).toEqual([]);
    }
    // ...and still administers it (no lockout: the key policy can be changed, the key retired) and may verify with it.
    for (const action of [
      'kms:PutKeyPolicy',
      'kms:GetKeyPolicy',
      'kms:DescribeKey',
      'kms:ScheduleKeyDeletion',
      'kms:CancelKeyDeletion',
      'kms:DisableKey',
      'kms:EnableKey',
      'kms:TagResource',
      'kms:GetPublicKey',
      'kms:Verify',
    ]) {
      expect(
        account.some((st) => grants(st, action)),
        `the account may ${action}`,
      ).toBe(true);
    }
  });
});

describe('state machine (promotions and rollbacks alike)', () => {
  const stepFunctionId = () => functionIds().get('promotion-step')!;
  const machines = () => Object.entries(template.findResources('AWS::StepFunctions::StateMachine')) as [string, Resource][];
  const promotionMachine = () => machines().find(([id]) => id.startsWith('PromotionStateMachine'))!;

  it('deploys ONE STANDARD machine, from its ASL file unchanged with its placeholders substituted; rollbacks are its executions', () => {
    expect(Object.keys(STATE_MACHINES)).toEqual(['promotion']);
    expect(machines()).toHaveLength(1);
    const [, machine] = promotionMachine();
    expect(machine.Properties.StateMachineType).toBe('STANDARD');
    // DefinitionBody.fromFile: the file goes up unchanged as an asset; CloudFormation substitutes
    const asl = readFileSync(aslPath('promotion'), 'utf8');
    expect(machine.Properties.DefinitionS3Location).toEqual({ Bucket: expect.anything(), Key: expect.stringMatching(/\.json$/) });
    const staged = path.join(app.synth().directory, `asset.${machine.Properties.DefinitionS3Location.Key}`);
    expect(readFileSync(staged, 'utf8')).toBe(asl);
    expect(Object.keys(machine.Properties.DefinitionSubstitutions).sort()).toEqual(placeholdersIn(asl));
    expect(Object.keys(machine.Properties.DefinitionSubstitutions).sort()).toEqual([...STATE_MACHINES.promotion.substitutions].sort());
    expect(machine.Properties.DefinitionSubstitutions.PromotionStepFunctionArn).toEqual({ 'Fn::GetAtt': [stepFunctionId(), 'Arn'] });
    // No per-machine leftovers of the former rollback machine: one log group, one role for the flow.
    expect(Object.keys(template.findResources('AWS::Logs::LogGroup')).filter((id) => id.includes('StateMachine'))).toHaveLength(1);
    expect(Object.keys(template.toJSON().Resources).filter((id) => id.startsWith('Rollback'))).toEqual([]);
    expect(Object.keys(template.toJSON().Outputs ?? {}).filter((id) => id.includes('StateMachine'))).toEqual(['PromotionStateMachineArn']);
  });

  it('logs ALL events without execution data, and traces (cdk-nag SF1/SF2)', () => {
    for (const [, machine] of machines()) {
      expect(machine.Properties.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
      expect(machine.Properties.LoggingConfiguration.Destinations).toHaveLength(1);
      expect(machine.Properties.TracingConfiguration).toEqual({ Enabled: true });
    }
  });

  it('may invoke the promotion-step function and nothing else', () => {
    for (const [, machine] of machines()) {
      const roleId = machine.Properties.RoleArn['Fn::GetAtt'][0];
      const statements = (Object.values(template.findResources('AWS::IAM::Policy')) as Resource[])
        .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
      const invoke = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('lambda:')));
      expect(invoke).toEqual([expect.objectContaining({ Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [stepFunctionId(), 'Arn'] } })]);
      for (const st of statements) {
        if (st.Resource === '*')
          expect(
            [st.Action].flat().every((a) => a.startsWith('xray:') || a.startsWith('logs:')),
            JSON.stringify(st),
          ).toBe(true);
      }
    }
  });

  it('lets only functions whose code steers flows start executions or answer task tokens, on the one machine (test/infra/deploy.test.ts checks each against its bundle)', () => {
    const [, machine] = promotionMachine();
    const resources = template.toJSON().Resources;
    const byName = `:stateMachine:${machine.Properties.StateMachineName as string}`;
    for (const [name, id] of functionIds()) {
      const states = statementsOf(id).filter((st) => [st.Action].flat().some((a) => a.startsWith('states:')));
      const actions = [...new Set(states.flatMap((st) => [st.Action].flat()))].sort();
      const env = resources[id].Properties.Environment?.Variables ?? {};
      // by name: the machine depends on the step function, whose environment names schedule-fire, which starts flows
      for (const st of states) expect(JSON.stringify(st.Resource), name).toContain(byName);
      expect(env.PROMOTION_STATE_MACHINE_ARN === undefined, name).toBe(!actions.includes('states:StartExecution'));
      if (dataAccessOf(name) !== 'write') expect(actions, name).toEqual([]);
      expect(actions, name).not.toContain('states:SendTaskHeartbeat'); // no code sends heartbeats
    }
    const actionsOfFn = (n: string) =>
      [
        ...new Set(
          statementsOf(functionIds().get(n)!)
            .flatMap((st) => [st.Action].flat())
            .filter((a) => a.startsWith('states:')),
        ),
      ].sort();
    // the step resumes its own task (a decision taken before the token was stored); it starts nothing
    expect(actionsOfFn('promotion-step')).toEqual(['states:SendTaskFailure', 'states:SendTaskSuccess']);
    expect(actionsOfFn('promotions-create')).toContain('states:StartExecution');
    expect(actionsOfFn('promotions-approve')).toEqual(['states:SendTaskSuccess']);
    expect(actionsOfFn('items-create')).toEqual([]);
  });
});

describe('scheduled promotions', () => {
  it("lets EventBridge Scheduler invoke only schedule-fire, and write handlers manage only stageline-* schedules in the stack's own group", () => {
    const fireId = functionIds().get('schedule-fire')!;
    const roles = Object.entries(template.findResources('AWS::IAM::Role')).filter(([, r]) =>
      JSON.stringify((r as Resource).Properties.AssumeRolePolicyDocument).includes('scheduler.amazonaws.com'),
    );
    expect(roles).toHaveLength(1);
    const [roleId] = roles[0]!;
    const statements = (Object.values(template.findResources('AWS::IAM::Policy')) as Resource[])
      .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string; Resource: unknown }[]);
    // Invoke schedule-fire (and the webhook delivery function, for retries), and send what keeps failing to the schedules' DLQ.
    expect(statements).toEqual([
      expect.objectContaining({
        Action: 'lambda:InvokeFunction',
        Resource: [{ 'Fn::GetAtt': [fireId, 'Arn'] }, { 'Fn::GetAtt': [functionIds().get('webhook-deliver'), 'Arn'] }],
      }),
      expect.objectContaining({
        Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^ScheduleDlq/), 'Arn'] },
      }),
    ]);
    // Only this account's schedules may use the role (confused deputy).
    const trust = JSON.stringify((template.toJSON().Resources[roleId] as Resource).Properties.AssumeRolePolicyDocument);
    expect(trust).toContain('aws:SourceAccount');
    expect(trust).toContain('aws:SourceArn');
    expect(trust).toContain(':schedule-group/stageline"');
    expect(only('AWS::Scheduler::ScheduleGroup')[1].Properties.Name).toBe('stageline');
    const scheduling = new Set<string>();
    for (const [name, id] of functionIds()) {
      const sched = statementsOf(id).filter((st) => [st.Action].flat().some((a) => a.startsWith('scheduler:')));
      for (const st of sched) expect(JSON.stringify(st.Resource), name).toContain('schedule/stageline/stageline-*');
      if (sched.some((st) => [st.Action].flat().includes('scheduler:CreateSchedule'))) scheduling.add(name);
      if (dataAccessOf(name) !== 'write') expect(sched, name).toEqual([]);
    }
    // The step parks a frozen promotion until the window ends (freeze "wait"); the notifier makes reminders;
    // schedule-fire re-arms a promotion's deadline (the sweeper).
    for (const name of ['promotion-step', 'notifier', 'schedule-fire', 'promotions-schedule', 'promotions-create'])
      expect(scheduling.has(name), name).toBe(true);
    expect(scheduling.has('items-create')).toBe(false);
  });
});

describe('asynchronous invocations', () => {
  it('gives every function invoked asynchronously (a target of a rule, or invoked by the scheduler role) an on-failure destination: an SQS queue with a depth alarm, its role may send to', () => {
    const resources = template.toJSON().Resources as Record<string, Resource>;
    const names = new Map([...functionIds()].map(([name, id]) => [id, name]));
    const refOf = (v: unknown) => (v as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0];
    // Who is invoked asynchronously, read from the template: rule targets and what the scheduler role may invoke.
    const ruleTargets = (Object.values(template.findResources('AWS::Events::Rule')) as Resource[]).flatMap((r) =>
      (r.Properties.Targets as { Arn: unknown }[]).map((t) => refOf(t.Arn)),
    );
    const schedulerRole = Object.keys(template.findResources('AWS::IAM::Role')).find((id) =>
      JSON.stringify(resources[id]!.Properties.AssumeRolePolicyDocument).includes('scheduler.amazonaws.com'),
    )!;
    const scheduled = (Object.values(template.findResources('AWS::IAM::Policy')) as Resource[])
      .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === schedulerRole))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
      .filter((st) => [st.Action].flat().includes('lambda:InvokeFunction'))
      .flatMap((st) => [st.Resource].flat().map(refOf));
    const invokedAsync = [...new Set([...ruleTargets, ...scheduled])].filter((id): id is string => !!id && names.has(id));
    expect(invokedAsync.map((id) => names.get(id)).sort()).toEqual([
      'alarm-state',
      'auto-promote',
      'notifier',
      'registry-push',
      'schedule-fire',
      'stream',
      'webhook-deliver',
    ]);
    const configs = Object.values(template.findResources('AWS::Lambda::EventInvokeConfig')) as Resource[];
    const alarmed = new Set(
      (Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Resource[])
        .filter((a) => a.Properties.Namespace === 'AWS/SQS' && a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible')
        .map((a) => refOf(a.Properties.Dimensions[0].Value)),
    );
    const problems: string[] = [];
    for (const id of invokedAsync) {
      const name = names.get(id)!;
      const config = configs.filter((c) => c.Properties.FunctionName?.Ref === id);
      if (config.length !== 1) {
        problems.push(`${name}: ${config.length} AWS::Lambda::EventInvokeConfig (a handler error is retried by Lambda, then dropped)`);
        continue;
      }
      const { DestinationConfig, MaximumRetryAttempts, MaximumEventAgeInSeconds, Qualifier } = config[0]!.Properties;
      const queue = refOf(DestinationConfig?.OnFailure?.Destination);
      if (!queue || resources[queue]?.Type !== 'AWS::SQS::Queue')
        problems.push(`${name}: its on-failure destination is ${JSON.stringify(DestinationConfig?.OnFailure)}, not a queue of the stack`);
      else {
        if (!alarmed.has(queue)) problems.push(`${name}: its on-failure queue ${queue} has no depth alarm`);
        const sends = statementsOf(id).filter((st) => [st.Action].flat().includes('sqs:SendMessage') && [st.Resource].flat().some((r) => refOf(r) === queue));
        if (sends.length === 0) problems.push(`${name}: its role may not sqs:SendMessage to ${queue}`);
      }
      // Chosen on purpose per function (infra/stack.ts), not Lambda's defaults (2 retries, 6 h) by omission.
      if (MaximumRetryAttempts === undefined || MaximumEventAgeInSeconds === undefined)
        problems.push(`${name}: retries or maximum event age left to the defaults`);
      if (Qualifier !== '$LATEST')
        problems.push(`${name}: configured for ${Qualifier}, while the rules and schedules invoke the unqualified function ($LATEST)`);
    }
    expect(problems).toEqual([]);
  });
});

describe('notifications', () => {
  it('routes the notification events to the notifier with retries and a DLQ; only it sends email; the directory is read by who needs it', () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule')) as Resource[];
    const notify = rules.find((r) => JSON.stringify(r.Properties.EventPattern ?? null).includes('Approval Required'))!;
    expect(notify.Properties.EventPattern['detail-type']).toEqual([...NOTIFY_ON]);
    expect(notify.Properties.Targets[0]).toMatchObject({
      Arn: { 'Fn::GetAtt': [functionIds().get('notifier'), 'Arn'] },
      DeadLetterConfig: { Arn: expect.anything() },
      RetryPolicy: { MaximumRetryAttempts: 8 },
    });
    for (const [name, id] of functionIds()) {
      const actions = actionsOf(id);
      expect(actions.includes('cognito-idp:ListUsers'), name).toBe(['notifier', 'review', 'slack', 'users-admin'].includes(name));
      expect(
        actions.some((a) => a.startsWith('cognito-idp:Admin') && a !== 'cognito-idp:AdminListGroupsForUser'),
        name,
      ).toBe(name === 'users-admin');
      expect(
        actions.some((a) => a.startsWith('ses:')),
        name,
      ).toBe(false); // no notifyFrom in this synth: no sender, no permission
    }
  });
});

describe('passing roles', () => {
  it('lets a function pass the scheduler role to EventBridge Scheduler only (iam:PassedToService)', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy') as Record<string, Resource>).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Record<string, any>[],
    );
    const passes = statements.filter((st) => [st.Action].flat().includes('iam:PassRole'));
    expect(passes.length).toBeGreaterThan(0);
    for (const st of passes) expect([st.Condition?.StringEquals?.['iam:PassedToService']].flat(), JSON.stringify(st)).toEqual(['scheduler.amazonaws.com']);
  });
});

describe('alarms reach people, sealed data stays readable', () => {
  it('lets CloudWatch alarms of this account publish to the alarm topic (enforceSSL replaced the default policy with a Deny alone)', () => {
    const policies = Object.values(template.findResources('AWS::SNS::TopicPolicy')) as Resource[];
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as Record<string, any>[]);
    const allow = statements.find((st) => st.Effect === 'Allow' && JSON.stringify(st.Principal).includes('cloudwatch.amazonaws.com'));
    expect(allow, JSON.stringify(statements)).toBeDefined();
    expect([allow!.Action].flat()).toEqual(['sns:Publish']);
    expect(allow!.Condition.StringEquals['aws:SourceAccount']).toBeDefined();
    expect(JSON.stringify(allow!.Condition.ArnLike['aws:SourceArn'])).toContain(':alarm:');
    // The SSL Deny stays.
    expect(statements.some((st) => st.Effect === 'Deny' && JSON.stringify(st.Condition).includes('aws:SecureTransport'))).toBe(true);
  });

  it('retains the secrets key as it retains the table whose sealed data it opens', () => {
    const secrets = template.findResources('AWS::SecretsManager::Secret') as Record<string, Resource & { DeletionPolicy?: string }>;
    const key = Object.entries(secrets).find(([id]) => id.startsWith('SecretsKey'))![1];
    const table = Object.values(template.findResources('AWS::DynamoDB::GlobalTable') as Record<string, { DeletionPolicy?: string }>).concat(
      Object.values(template.findResources('AWS::DynamoDB::Table') as Record<string, { DeletionPolicy?: string }>),
    )[0]!;
    expect(table.DeletionPolicy).toBe('Retain');
    expect(key.DeletionPolicy).toBe('Retain');
  });
});

describe('runbook', () => {
  it('docs/operations/alarms.md says what each alarm of the template means and what to do', () => {
    const runbook = readFileSync(path.join(import.meta.dirname, '..', '..', 'docs', 'operations', 'alarms.md'), 'utf8');
    const alarms = Object.keys(template.findResources('AWS::CloudWatch::Alarm')).map((id) => id.replace(/[0-9A-F]{8}$/, ''));
    expect(alarms.length).toBeGreaterThan(5);
    const missing = alarms.filter((a) => !runbook.includes(`\`${a}\``) && !(/DepthAlarm$/.test(a) && runbook.includes('`…DlqDepthAlarm`')));
    expect(missing, 'alarms the runbook does not explain').toEqual([]);
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
    expect(resources.filter((r) => r.Type === 'AWS::IAM::Role').length).toBeLessThanOrEqual(39); // + the console-callback custom resource's
    expect(resources.filter((r) => r.Type === 'AWS::Lambda::Permission').length).toBeLessThanOrEqual(10); // the anchor tick rule's, the app-read function URLs' (InvokeFunctionUrl and InvokeFunction, as function URLs need both)…
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

describe('someone is told', () => {
  it('alarms to one SNS topic: failed/timed-out executions, function errors and throttles, API 5xx, every DLQ holding a message, a lagging stream consumer, a promotion stuck past its deadline', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Resource[];
    const [topicId] = only('AWS::SNS::Topic');
    for (const a of alarms) expect(a.Properties.AlarmActions, a.Properties.AlarmDescription).toEqual([{ Ref: topicId }]);
    const described = alarms.map((a) => a.Properties.AlarmDescription as string);
    expect(described.filter((d) => d.includes('execution failed'))).toEqual(['A promotion or rollback execution failed or timed out']);
    for (const want of [
      'A promotion or rollback execution failed',
      'Lambda function errors',
      'Lambda throttles',
      'The API answered 5xx',
      'The stream consumer is more than 5 minutes behind',
      'A promotion was stuck past its deadline',
    ]) {
      expect(
        described.some((d) => d.startsWith(want)),
        want,
      ).toBe(true);
    }
    const queues = Object.keys(template.findResources('AWS::SQS::Queue'));
    expect(queues.length).toBeGreaterThanOrEqual(4);
    const depth = alarms.filter((a) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible');
    expect(depth.map((a) => a.Properties.Dimensions[0].Value['Fn::GetAtt'][0]).sort()).toEqual(queues.sort());
    // The sweeper's metric (functions/adapters/metrics.ts sweptPromotions) is the one alarmed on.
    const stuck = alarms.find((a) => String(a.Properties.AlarmDescription).startsWith('A promotion was stuck'))!;
    expect(stuck.Properties).toMatchObject({ Namespace: 'Stageline', MetricName: 'PromotionsSwept', Dimensions: [{ Name: 'service', Value: 'stageline' }] });
  });

  it('gives the one-time schedules a DLQ the scheduler role may send to', () => {
    const resources = template.toJSON().Resources;
    for (const [name, id] of functionIds()) {
      const env = resources[id].Properties.Environment?.Variables ?? {};
      if (env.SCHEDULE_TARGET_ARN) expect(env.SCHEDULE_DLQ_ARN, name).toBeDefined();
    }
  });
});

describe('identities', () => {
  it('signs users in case-insensitively (one person, one identity for separation of duties)', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', { UsernameConfiguration: { CaseSensitive: false } });
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

describe('auto-promotion and outbound guard', () => {
  it('routes the auto-promotion triggers to the auto-promote function, with a dead-letter queue', () => {
    const fnId = functionIds().get('auto-promote')!;
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['stageline'], 'detail-type': ['Evidence Added', 'Deployment Recorded', 'Promotion Completed'] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] }, DeadLetterConfig: Match.anyValue(), RetryPolicy: Match.anyValue() })],
    });
  });

  it('never allows loopback outbound calls in the deployed stack (local mode only)', () => {
    for (const [name, id] of functionIds()) {
      const vars = template.toJSON().Resources[id].Properties.Environment?.Variables ?? {};
      expect(vars.STAGELINE_ALLOW_LOOPBACK_OUTBOUND, name).toBeUndefined();
    }
  });
});

describe('least privilege', () => {
  it('grants each function only the table access its routes need: API functions only through the tenant-fenced roles, background functions directly', () => {
    const streamReads = ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'];
    const roles = Object.entries(template.findResources('AWS::IAM::Role')).filter(
      ([id]) => id.startsWith('TenantReadRole') || id.startsWith('TenantWriteRole'),
    ) as [string, Resource][];
    expect(roles).toHaveLength(2);
    const roleActions = (roleId: string) => {
      const st = (Object.values(template.findResources('AWS::IAM::Policy')) as Resource[])
        .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Condition?: unknown }[]);
      for (const x of st) expect(x.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [TENANT_LEADING_KEYS] } });
      return st.flatMap((x) => [x.Action].flat()).sort();
    };
    const [readId] = roles.find(([id]) => id.startsWith('TenantReadRole'))!;
    const [writeId] = roles.find(([id]) => id.startsWith('TenantWriteRole'))!;
    // App-key readers: the read role's actions, plus UpdateItem of an app key's lastUsedAt alone, and PutItem of an instance's item.
    const [appReadId] = Object.entries(template.findResources('AWS::IAM::Role')).find(([id]) => id.startsWith('TenantAppReadRole'))!;
    const appStatements = (Object.values(template.findResources('AWS::IAM::Policy')) as Resource[])
      .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === appReadId))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Condition?: Record<string, unknown> }[]);
    const update = appStatements.find((x) => [x.Action].flat().includes('dynamodb:UpdateItem'))!;
    expect(update.Condition).toMatchObject({
      'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'sk', 'lastUsedAt'] },
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [TENANT_LEADING_KEYS] },
    });
    // And PutItem of an application instance's item alone (a fleet target counts them), under the tenant's INST partitions.
    const put = appStatements.find((x) => [x.Action].flat().includes('dynamodb:PutItem'))!;
    expect([put.Action].flat()).toEqual(['dynamodb:PutItem']);
    expect(put.Condition).toMatchObject({
      'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...INSTANCE_ATTRIBUTES] },
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [TENANT_LEADING_KEYS.replace(/\*$/, 'INST#*')] },
    });
    expect(
      appStatements
        .filter((x) => x !== update && x !== put)
        .flatMap((x) => [x.Action].flat())
        .sort(),
    ).toEqual([...READ_ACTIONS].sort());
    const servesAppKeys = (fn: string) => ROUTES.some((r) => r.auth === 'app' && handlersOf(fn).includes(r.handler));
    expect(roleActions(readId)).toEqual([...READ_ACTIONS].sort());
    expect(roleActions(writeId)).toEqual([...READ_ACTIONS, ...WRITE_ACTIONS].sort());
    for (const [, role] of roles) {
      // Only this stack's API function roles, and only with a tenant session tag.
      expect(JSON.stringify(role.Properties.AssumeRolePolicyDocument)).toContain('aws:PrincipalTag/stageline-api');
      expect(JSON.stringify(role.Properties.AssumeRolePolicyDocument)).toContain('aws:RequestTag/tenant');
    }
    for (const [name, id] of functionIds()) {
      const dynamo = actionsOf(id)
        .filter((a) => a.startsWith('dynamodb:') && !(name === 'stream' && streamReads.includes(a)))
        .sort();
      const access = dataAccessOf(name);
      const background = (WORKFLOW_HANDLERS as readonly string[]).includes(name);
      // A background function whose writes are few and known writes with only those actions (infra/background-writes.ts; checked below).
      const writes = NARROW_WRITES[name] ? NARROW_WRITES[name]!.flatMap((w) => w.actions) : WRITE_ACTIONS;
      const expected = background ? { none: [], read: READ_ACTIONS, write: [...new Set([...READ_ACTIONS, ...writes])] }[access] : [];
      expect(dynamo, name).toEqual([...expected].sort());
      const assume = statementsOf(id).filter((st) => [st.Action].flat().includes('sts:AssumeRole'));
      if (background || access === 'none') expect(assume, name).toEqual([]);
      else
        expect(JSON.stringify(assume[0]!.Resource), name).toContain(
          servesAppKeys(name) && access === 'read' ? appReadId : access === 'read' ? readId : writeId,
        );
      if (!servesAppKeys(name)) expect(JSON.stringify(assume), name).not.toContain(appReadId);
      const env = template.toJSON().Resources[id].Properties.Environment?.Variables ?? {};
      expect(env.TENANT_DATA_ROLE_ARN === undefined, name).toBe(background || access === 'none');
    }
    expect(dataAccessOf('health')).toBe('none');
    expect(dataAccessOf(FALLBACK_HANDLER)).toBe('none');
    expect(dataAccessOf('environments-list')).toBe('read');
    expect(dataAccessOf('items-batch')).toBe('write');
    expect(dataAccessOf('promotion-step')).toBe('write');
  });

  it('uses a "*" resource only where AWS has no resource-level permissions (X-Ray, the stream\'s ListStreams, CloudWatch GetMetricData)', () => {
    for (const id of functionIds().values()) {
      for (const s of statementsOf(id)) {
        // dynamodb:ListStreams (the stream consumer's event source mapping) has no resource-level permissions either.
        if (s.Resource === '*')
          expect(
            [s.Action].flat().every((a) => a.startsWith('xray:') || a === 'dynamodb:ListStreams' || a === 'cloudwatch:GetMetricData'),
            JSON.stringify(s),
          ).toBe(true);
      }
    }
  });

  it('grants exactly the DynamoDB actions the store adapter sends', () => {
    const dir = path.join(REPO_ROOT, 'functions', 'adapters', 'store');
    const source = readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => readFileSync(path.join(dir, f), 'utf8'))
      .join('\n');
    expect(source).toMatch(/new TransactWriteCommand\(/);
    const byCommand: Record<string, string[]> = {
      Get: ['dynamodb:GetItem'],
      BatchGet: ['dynamodb:BatchGetItem'],
      Query: ['dynamodb:Query'],
      Scan: ['dynamodb:Scan'],
      Put: ['dynamodb:PutItem'],
      Update: ['dynamodb:UpdateItem'],
      Delete: ['dynamodb:DeleteItem'],
      BatchWrite: ['dynamodb:BatchWriteItem'],
      TransactGet: ['dynamodb:GetItem'],
      TransactWrite: [], // authorised per item, see below
    };
    const byTransactItem: Record<string, string> = {
      Put: 'dynamodb:PutItem',
      Update: 'dynamodb:UpdateItem',
      Delete: 'dynamodb:DeleteItem',
      ConditionCheck: 'dynamodb:ConditionCheckItem',
    };
    const needed = new Set<string>();
    for (const [, command] of source.matchAll(/new (\w+)Command\(/g)) {
      expect(byCommand, `unknown command ${command}Command`).toHaveProperty(command!);
      byCommand[command!]!.forEach((a) => needed.add(a));
    }
    for (const [, kind] of source.matchAll(/\b(Put|Update|Delete|ConditionCheck): \{/g)) needed.add(byTransactItem[kind!]!);
    expect([...needed].sort()).toEqual([...READ_ACTIONS, ...WRITE_ACTIONS].sort());
  });
});

describe('cdk-nag', () => {
  // cdk-nag v3 is a policy-validation plugin: its findings are not
  // Annotations, so they are checked by running the packs the synth runs over the tree.
  const findings = () => NAG_PACKS.flatMap((Pack) => new Pack().validateScope(app).violations);

  it('runs the AwsSolutions, Serverless and NIST 800-53 R5 packs on every synth', () => {
    expect(NAG_PACKS.map((Pack) => new Pack().name)).toEqual(['AwsSolutions', 'Serverless', 'NIST.800.53.R5']);
  });

  it('has no unacknowledged AwsSolutions, Serverless or NIST 800-53 R5 errors', () => {
    const errors = findings().filter((v) => v.severity === 'error');
    expect(errors.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });

  it('has no unacknowledged AwsSolutions, Serverless or NIST 800-53 R5 warnings either', () => {
    expect(findings().map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });

  it('acknowledges findings on the resources they are true of, never app- or stack-wide', () => {
    for (const scope of [app, stack]) {
      expect(
        scope.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY),
        scope.node.path || 'app',
      ).toEqual([]);
    }
  });

  it('has no CDK error annotations', () => {
    expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
  });

  it('records no violations in the synthesized validation report', () => {
    const report = JSON.parse(readFileSync(path.join(app.synth().directory, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations?: unknown[] }[];
    };
    expect(report.pluginReports.flatMap((r) => r.violations ?? [])).toEqual([]);
  });
});

describe('cdk-nag acknowledgements say what is true of their resource', () => {
  /** The construct of a template resource. */
  const constructOf = (logicalId: string) => stack.node.findAll().find((c) => CfnElement.isCfnElement(c) && stack.getLogicalId(c) === logicalId)!;
  /** The reasons a rule is acknowledged with on a construct and its ancestors (cdk-nag honours any of them). */
  const reasonsFor = (c: IConstruct, rule: string): string[] => {
    const out: string[] = [];
    for (let cur: IConstruct | undefined = c; cur; cur = cur.node.scope) {
      for (const m of cur.node.metadata) {
        if (m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(m.data as Record<string, string>)) if (id.replace(/^annotation::/i, '') === rule) out.push(reason);
      }
    }
    return out;
  };

  it('acknowledges each policy\'s "*" statements (AwsSolutions-IAM5) with reasons naming every action they cover: the stream consumer\'s dynamodb:ListStreams is not "only X-Ray"', () => {
    const problems: string[] = [];
    const policies = Object.entries(template.toJSON().Resources as Record<string, Resource>).filter(
      ([, r]) => r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy',
    );
    let checked = 0;
    for (const [id, p] of policies) {
      const statements = p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[];
      const wildcard = [...new Set(statements.filter((st) => [st.Resource].flat().includes('*')).flatMap((st) => [st.Action].flat()))];
      if (!wildcard.length) continue;
      checked++;
      const reasons = reasonsFor(constructOf(id), 'AwsSolutions-IAM5[Resource::*]');
      if (!reasons.length) problems.push(`${id}: "*" for ${wildcard.join(', ')} is not acknowledged`);
      for (const reason of reasons) {
        const missing = wildcard.filter((a) => !reason.includes(a));
        if (missing.length) problems.push(`${id}: the reason "${reason}" covers ${missing.join(', ')} without naming it`);
      }
    }
    expect(checked).toBeGreaterThan(30);
    expect(problems).toEqual([]);
    const stream = Object.keys(template.findResources('AWS::IAM::Policy')).find((id) => id.startsWith('StreamFunctionServiceRoleDefaultPolicy'))!;
    expect(reasonsFor(constructOf(stream), 'AwsSolutions-IAM5[Resource::*]')).toEqual([
      expect.stringContaining('dynamodb:ListStreams (the DynamoDB event source mapping'),
    ]);
  });

  it('closes the cheap NIST 800-53 R5 gaps instead of acknowledging them: the checkpoint access-log bucket is versioned (a deleted log stays a noncurrent version)', () => {
    const logs = Object.entries(template.findResources('AWS::S3::Bucket')).find(([id]) => id.startsWith('CheckpointAccessLogs'))![1] as Resource;
    expect(logs.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(logs.Properties.LifecycleConfiguration.Rules[0]).toMatchObject({ ExpirationInDays: 365, NoncurrentVersionExpiration: { NoncurrentDays: 90 } });
    // Table: point-in-time recovery stays on (its backup-plan finding is acknowledged by it).
    expect(only('AWS::DynamoDB::Table')[1].Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });
});

/** A template value as text: Refs and attributes as <Id>, <Id.Attr>, joins joined. */
const flat = (v: unknown): string => {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(flat).join(',');
  const o = v as Record<string, any>;
  if (o?.Ref) return `<${o.Ref}>`;
  if (o?.['Fn::GetAtt']) return `<${[o['Fn::GetAtt']].flat().join('.')}>`;
  if (o?.['Fn::Join']) return o['Fn::Join'][1].map(flat).join(o['Fn::Join'][0]);
  return JSON.stringify(v);
};
/** Could a string match both patterns (`*` a wildcard)? Only when one's literal start is a start of the other's. */
const mayOverlap = (a: string, b: string) => {
  const [pa, pb] = [a.split('*')[0]!, b.split('*')[0]!];
  return a.includes('*') || b.includes('*') ? pa.startsWith(pb) || pb.startsWith(pa) : a === b;
};

describe('two Stageline stacks in one account', () => {
  /** What a stack holds in account-wide namespaces: its bus, schedule group, the schedules and secrets its roles may touch. */
  const scopes = (resources: Record<string, Resource>) => {
    const of = (type: string) => Object.values(resources).filter((r) => r.Type === type);
    const statements = of('AWS::IAM::Policy').flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const on = (service: string, match: string) => [
      ...new Set(
        statements
          .filter((st) => [st.Action].flat().some((a) => a.startsWith(service)))
          .flatMap((st) => [st.Resource].flat().map(flat))
          .filter((r) => r.includes(match)),
      ),
    ];
    const trust = of('AWS::IAM::Role')
      .map((r) => JSON.stringify(r.Properties.AssumeRolePolicyDocument))
      .find((d) => d.includes('scheduler.amazonaws.com'))!;
    return {
      bus: of('AWS::Events::EventBus').map((b) => b.Properties.Name as string),
      scheduleGroup: of('AWS::Scheduler::ScheduleGroup').map((g) => g.Properties.Name as string),
      schedules: on('scheduler:', ':schedule/'),
      schedulerTrust: [flat(JSON.parse(trust).Statement[0].Condition.ArnLike['aws:SourceArn'])],
      secrets: on('secretsmanager:', ':secret:'),
      secretsPrefix: [
        ...new Set(
          of('AWS::Lambda::Function')
            .map((f) => f.Properties.Environment?.Variables?.SECRETS_PREFIX as string | undefined)
            .filter((v): v is string => !!v),
        ),
      ],
    };
  };

  it("gives each its own bus, schedule group (the scheduler role's trust and the schedule grants in it) and Secrets Manager prefix: disjoint scopes", () => {
    const a = scopes(template.toJSON().Resources);
    // The second: the same app under another name (context stackName), synthesized with the same cdk-nag packs.
    const second = unbundled({ stackName: 'Stageline-Staging' }).stack;
    expect(second.stackName).toBe('Stageline-Staging');
    const b = scopes(Template.fromStack(second).toJSON().Resources);
    // The default stack keeps its names (the local stack's defaults and every deployed Stageline stack's).
    expect(a.bus).toEqual(['stageline']);
    expect(a.secretsPrefix).toEqual(['stageline/']);
    expect(a.secrets.sort()).toEqual([expect.stringMatching(/:secret:stageline\/\*$/), expect.stringMatching(/:secret:stageline\/\*\/webhooks\/\*$/)]);
    expect(b).toMatchObject({ bus: ['stageline-staging'], scheduleGroup: ['stageline-staging'], secretsPrefix: ['stageline-staging/'] });
    for (const key of Object.keys(a) as (keyof typeof a)[]) {
      expect(a[key].length, key).toBeGreaterThan(0);
      expect(b[key].length, key).toBe(a[key].length);
      const shared = a[key].flatMap((x) => b[key].filter((y) => mayOverlap(x, y)).map((y) => `${x} ~ ${y}`));
      expect(shared, key).toEqual([]);
    }
    expect(stackNames(stack)).toEqual({ eventBus: 'stageline', scheduleGroup: 'stageline', secretsPrefix: 'stageline/' });
    expect(() => unbundled({ stackName: 'stage line' })).toThrow(/context stackName/);
    expect(() => unbundled({ stackName: `S${'x'.repeat(64)}` })).toThrow(/context stackName/);
  });
});

describe('IAM hardening', () => {
  const all = () => template.toJSON().Resources as Record<string, Resource>;
  const policiesOfRole = (roleId: string) =>
    Object.values(all()).filter(
      (p) => (p.Type === 'AWS::IAM::Policy' || p.Type === 'AWS::IAM::ManagedPolicy') && (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId),
    );
  const roleStatements = (roleId: string) =>
    policiesOfRole(roleId).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as { Effect: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, any> }[],
    );

  it('lets only the execution roles of the API functions that assume a tenant-fenced role assume it, named by their ARNs (and tagged stageline-api, with a tenant session tag); no cycle', () => {
    const tenantRoles = Object.keys(all()).filter((id) => /^Tenant(Read|Write|AppRead)Role[0-9A-F]{8}$/.test(id));
    expect(tenantRoles).toHaveLength(3);
    for (const id of tenantRoles) {
      const trust = all()[id]!.Properties.AssumeRolePolicyDocument.Statement as {
        Principal: { AWS: unknown };
        Action: string[];
        Condition: Record<string, any>;
      }[];
      expect(trust, id).toHaveLength(1);
      // Whose policies let them assume it: exactly the roles the trust names.
      const assumers = Object.entries(all())
        .filter(([, r]) => r.Type === 'AWS::IAM::Role')
        .map(([roleId]) => roleId)
        .filter((roleId) =>
          roleStatements(roleId).some(
            (st) => [st.Action].flat().includes('sts:AssumeRole') && JSON.stringify(st.Resource) === JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] }),
          ),
        );
      expect(assumers.length, id).toBeGreaterThan(0);
      expect([trust[0]!.Principal.AWS].flat(), id).toEqual(expect.arrayContaining(assumers.map((r) => ({ 'Fn::GetAtt': [r, 'Arn'] }))));
      expect([trust[0]!.Principal.AWS].flat(), id).toHaveLength(assumers.length);
      expect(trust[0]!.Action.sort(), id).toEqual(['sts:AssumeRole', 'sts:TagSession']);
      expect(trust[0]!.Condition, id).toEqual({ StringEquals: { 'aws:PrincipalTag/stageline-api': 'true' }, StringLike: { 'aws:RequestTag/tenant': '?*' } });
      for (const r of assumers) expect(all()[r]!.Properties.Tags, r).toEqual(expect.arrayContaining([{ Key: 'stageline-api', Value: 'true' }]));
      // IAM's trust policy quota (2,048 characters by default), with role names at their longest.
      expect(trustPolicySize(assumers.length), id).toBeLessThanOrEqual(TRUST_POLICY_QUOTA);
    }
    // No dependency cycle: the trust depends on the execution roles, their policies on the tenant roles.
    const deps = (r: Resource & { DependsOn?: string | string[] }) => {
      const out = new Set<string>([r.DependsOn ?? []].flat());
      const walk = (v: unknown): void => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === 'object') {
          for (const [k, x] of Object.entries(v)) {
            if (k === 'Ref' && typeof x === 'string') out.add(x);
            else if (k === 'Fn::GetAtt') out.add([x].flat()[0] as string);
            else walk(x);
          }
        }
      };
      walk(r.Properties);
      return [...out].filter((d) => d in all());
    };
    const state = new Map<string, 'visiting' | 'done'>();
    const cycle: string[] = [];
    const visit = (id: string, trail: string[]): void => {
      if (state.get(id) === 'done' || cycle.length) return;
      if (state.get(id) === 'visiting') return void cycle.push(...trail.slice(trail.indexOf(id)), id);
      state.set(id, 'visiting');
      for (const d of deps(all()[id]!)) visit(d, [...trail, id]);
      state.set(id, 'done');
    };
    for (const id of Object.keys(all())) visit(id, []);
    expect(cycle).toEqual([]);
  });

  it('narrows alarm-state and registry-push to the write actions their code sends, on the kinds of items they write (dynamodb:LeadingKeys): no write to the whole table', () => {
    const writes = new Set(WRITE_ACTIONS);
    for (const name of ['alarm-state', 'registry-push']) {
      const roleId = all()[functionIds().get(name)!]!.Properties.Role['Fn::GetAtt'][0];
      const granted = roleStatements(roleId)
        .filter((st) => [st.Action].flat().some((a) => writes.has(a)))
        .map((st) => ({
          actions: [st.Action].flat().sort(),
          partitions: [st.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] ?? []].flat().sort() as string[],
        }));
      const byJson = (x: unknown, y: unknown) => JSON.stringify(x).localeCompare(JSON.stringify(y));
      expect(granted.sort(byJson), name).toEqual(
        NARROW_WRITES[name]!.map((w) => ({ actions: [...w.actions].sort(), partitions: [...w.partitions].sort() })).sort(byJson),
      );
      for (const g of granted) {
        expect(g.partitions.length, name).toBeGreaterThan(0);
        for (const p of g.partitions) expect(p, name).toMatch(/^T#\*#[A-Z]+/);
      }
      expect(
        granted.flatMap((g) => g.actions),
        name,
      ).not.toContain('dynamodb:BatchWriteItem');
    }
  });

  it('lets only the roles of functions whose bundle seals or unseals read the secrets key (the key sealing webhook and Slack secrets in the table)', () => {
    const [keyId] = Object.entries(template.findResources('AWS::SecretsManager::Secret')).find(([id]) => id.startsWith('SecretsKey'))!;
    const reads = (st: { Effect: string; Action: string | string[]; Resource: unknown }) =>
      st.Effect === 'Allow' &&
      [st.Action].flat().some((a) => /^(secretsmanager:(GetSecretValue|\*)|\*)$/.test(a)) &&
      [st.Resource].flat().some((r) => r === '*' || JSON.stringify(r).includes(`"${keyId}"`));
    const readers = Object.entries(all())
      .filter(([, r]) => r.Type === 'AWS::IAM::Role')
      .map(([roleId]) => roleId)
      .filter((roleId) => roleStatements(roleId).some(reads))
      .sort();
    // The modules that seal or unseal with the box (functions/adapters/secret-box.ts): the environments' and notification
    // settings' store areas, the review page's nonces.
    const source = (dir: string): string[] =>
      readdirSync(path.join(REPO_ROOT, dir), { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('.ts'))
        .map((f) => path.join(dir, f));
    const sealers = source('functions').filter((f) => /\bbox\.(seal|open)\(/.test(readFileSync(path.join(REPO_ROOT, f), 'utf8')));
    expect(sealers.sort()).toEqual(['functions/adapters/store/environments.ts', 'functions/adapters/store/notifications.ts', 'functions/review/guard.ts']);
    const roleOf = (name: string) => all()[functionIds().get(name)!]!.Properties.Role['Fn::GetAtt'][0] as string;
    const sealing = FUNCTIONS.filter((name) => sealers.some((m) => bundleFunction(name, { traceSdk: false, reuseAny: true }).modules.has(m)));
    const byRole = new Map<string, string[]>();
    for (const name of FUNCTIONS) byRole.set(roleOf(name), [...(byRole.get(roleOf(name)) ?? []), name]);
    console.log(
      `roles that may read the secrets key ${keyId}:\n${readers.map((r) => `  ${r}: ${(byRole.get(r) ?? ['(no function)']).join(', ')}`).join('\n')}`,
    );
    // Every reader is a function role, and every function on it seals or unseals; every sealing function can read it.
    for (const r of readers)
      expect(
        byRole.get(r)?.every((name) => sealing.includes(name)),
        r,
      ).toBe(true);
    expect([...new Set(sealing.map(roleOf))].sort()).toEqual(readers);
    expect(readers.some((r) => /^Tenant|^SchedulerRole|^ApiInvokeRole|^PromotionStateMachine/.test(r))).toBe(false);
  });
});

describe('context', () => {
  it('passes machinePrincipals to the IAM route handler', () => {
    const principals = [{ arn: 'arn:aws:sts::123456789012:assumed-role/ci/*', tenant: 'acme', roles: ['deployer'] }];
    const { stack } = unbundled({ machinePrincipals: JSON.stringify(principals) });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Stageline items-batch',
      Environment: { Variables: Match.objectLike({ MACHINE_PRINCIPALS: JSON.stringify(principals) }) },
    });
  });

  it('rejects a malformed machinePrincipals at synth time', () => {
    expect(() => unbundled({ machinePrincipals: '[{"arn":"x","tenant":"t","roles":["root"]}]' })).toThrow(/machinePrincipals/);
    expect(() => unbundled({ machinePrincipals: '[{"arn":"x","tenant":"no spaces","roles":["deployer"]}]' })).toThrow(/machinePrincipals/);
    expect(() => unbundled({ machinePrincipals: '{"arn":"x"}' })).toThrow(/machinePrincipals/);
    expect(() => unbundled({ machinePrincipals: '[{"arn"' })).toThrow(/machinePrincipals/);
  });

  it('reserves concurrency from reservedConcurrency: a cap per API function, the stream and the notifier; none by default', () => {
    const { stack } = unbundled({ reservedConcurrency: '{"api":20,"stream":2,"notifier":5}', accountConcurrency: '5000' });
    const fns = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    const byName = (n: string) => Object.values(fns).find((f: any) => f.Properties.Description === `Stageline ${n}`) as Resource;
    expect(byName('items-create').Properties.ReservedConcurrentExecutions).toBe(20);
    expect(byName('stream').Properties.ReservedConcurrentExecutions).toBe(2);
    expect(byName('notifier').Properties.ReservedConcurrentExecutions).toBe(5);
    expect(byName('health').Properties.ReservedConcurrentExecutions).toBeUndefined();
    expect(byName('promotion-step').Properties.ReservedConcurrentExecutions).toBeUndefined();
    for (const [name, id] of functionIds())
      if (!servesAppKeys(name)) expect(template.toJSON().Resources[id].Properties.ReservedConcurrentExecutions, name).toBeUndefined();
    expect(() => unbundled({ reservedConcurrency: '{"everything":5}' })).toThrow(/reservedConcurrency/);
  });

  it('reserves nothing by default (a first deploy into a new account, whose pool may be 10, succeeds); appReadConcurrency caps the unauthenticated app-read functions; their throttles are alarmed either way', () => {
    const appReaders = [...functionIds()].filter(([name]) => servesAppKeys(name));
    expect(appReaders.map(([name]) => name).sort()).toEqual(['effective', 'ofrep']);
    const fns = template.toJSON().Resources as Record<string, Resource>;
    // No function reserves concurrency with the default context: PutFunctionConcurrency cannot fail for want of a pool.
    for (const [name, id] of functionIds()) expect(fns[id]!.Properties.ReservedConcurrentExecutions, name).toBeUndefined();
    const capped = Template.fromStack(unbundled({ appReadConcurrency: String(APP_READ_CONCURRENCY) }).stack).toJSON().Resources as Record<string, Resource>;
    for (const [name, id] of appReaders) expect(capped[id]!.Properties.ReservedConcurrentExecutions, name).toBe(APP_READ_CONCURRENCY);
    // One alarm on their Throttles, to the topic, naming each function.
    const alarm = (Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Resource[]).find((a) =>
      a.Properties.AlarmDescription.startsWith('An app-read function'),
    )!;
    expect(alarm).toBeDefined();
    const metrics = (alarm.Properties.Metrics as { MetricStat?: { Metric: { MetricName: string; Dimensions: { Value: unknown }[] } } }[]).filter(
      (m) => m.MetricStat,
    );
    expect(metrics.map((m) => m.MetricStat!.Metric.MetricName)).toEqual(['Throttles', 'Throttles']);
    expect(metrics.map((m) => (m.MetricStat!.Metric.Dimensions[0]!.Value as { Ref: string }).Ref).sort()).toEqual(appReaders.map(([, id]) => id).sort());
    expect(alarm.Properties.Threshold).toBe(1);
    // The context sets it (a number, or "none" for no reservation at all: a new account's pool), and refuses anything else.
    const byName = (t: Template, n: string) =>
      (Object.values(t.findResources('AWS::Lambda::Function')) as Resource[]).find((f) => f.Properties.Description === `Stageline ${n}`)!;
    const seven = Template.fromStack(unbundled({ appReadConcurrency: '7' }).stack);
    expect(byName(seven, 'ofrep').Properties.ReservedConcurrentExecutions).toBe(7);
    const none = Template.fromStack(unbundled({ appReadConcurrency: 'none' }).stack);
    expect(byName(none, 'ofrep').Properties.ReservedConcurrentExecutions).toBeUndefined();
    for (const bad of ['0', '-1', '2.5', 'lots']) expect(() => unbundled({ appReadConcurrency: bad }), bad).toThrow(/appReadConcurrency/);
  });

  it('fails the synth when the reservations would leave less than 100 of the account pool unreserved (api is per API function)', () => {
    expect(() => unbundled({ reservedConcurrency: '{"api":20,"stream":2,"notifier":5}' })).toThrow(
      /reserves \d+ executions in all \(20 for each of the \d+ API functions/,
    );
    // The documented example fits a default account (1,000).
    expect(() => unbundled({ reservedConcurrency: '{"api":5,"stream":2,"notifier":5,"promotion-step":10}' })).not.toThrow();
    expect(() => unbundled({ reservedConcurrency: '{"api":20,"stream":2,"notifier":5}', accountConcurrency: '5000' })).not.toThrow();
  });

  it('takes traceSdk as a boolean (the bundler keeps or drops the Tracer by it) and refuses anything else', () => {
    expect(flagFrom(undefined, 'traceSdk')).toBe(false);
    expect(flagFrom('true', 'traceSdk')).toBe(true);
    expect(flagFrom(false, 'traceSdk')).toBe(false);
    expect(() => flagFrom('yes', 'traceSdk')).toThrow(/traceSdk must be true or false/);
    expect(() => unbundled({ traceSdk: 'on' })).toThrow(/traceSdk must be true or false/);
    expect(() => unbundled({ traceSdk: 'true' })).not.toThrow();
  });

  it("gives the Slack app's signing secret (slackSigningSecret) to the Slack function alone, read-only, and refuses one under stageline/", () => {
    const { stack } = unbundled({ slackSigningSecret: 'stageline-slack-signing-secret' });
    const tpl = Template.fromStack(stack);
    const fns = tpl.findResources('AWS::Lambda::Function') as Record<string, Resource>;
    const withSecret = Object.values(fns).filter((f) => JSON.stringify(f.Properties.Environment ?? {}).includes('SLACK_SIGNING_SECRET_ARN'));
    expect(withSecret.map((f) => f.Properties.Description)).toEqual(['Stageline slack']);
    // Which roles may read it: only the Slack function's, and only to read.
    const reads = (Object.values(tpl.findResources('AWS::IAM::Policy')) as Resource[]).flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
        .filter((st) => JSON.stringify(st.Resource).includes('stageline-slack-signing-secret'))
        .map((st) => ({ roles: p.Properties.Roles, actions: [st.Action].flat() })),
    );
    const slackRole = withSecret[0]!.Properties.Role['Fn::GetAtt'][0];
    expect(reads.length).toBeGreaterThan(0);
    for (const r of reads) {
      expect(r.roles).toEqual([{ Ref: slackRole }]);
      expect(r.actions.every((a) => a === 'secretsmanager:GetSecretValue' || a === 'secretsmanager:DescribeSecret')).toBe(true);
    }
    expect(() => unbundled({ slackSigningSecret: 'stageline/slack' })).toThrow(/outside stageline\//);
    // Without it no function has the variable (Slack answers "not set up").
    expect(JSON.stringify(template.findResources('AWS::Lambda::Function'))).not.toContain('SLACK_SIGNING_SECRET_ARN');
  });

  it('configures no CORS on the API (it would open every route, /review too): the functions answer it, with the origins from allowedOrigins', () => {
    const { stack } = unbundled({ allowedOrigins: 'https://a.example, https://b.example' });
    const custom = Template.fromStack(stack);
    for (const t of [template, custom]) {
      const apis = Object.values(t.findResources('AWS::ApiGatewayV2::Api')) as Resource[];
      expect(apis).toHaveLength(1);
      expect(apis[0]!.Properties).not.toHaveProperty('CorsConfiguration');
    }
    const envOf = (name: string) => {
      const fn = (Object.values(custom.findResources('AWS::Lambda::Function')) as Resource[]).find((r) => r.Properties.Description === `Stageline ${name}`)!;
      return (fn.Properties.Environment?.Variables ?? {}) as Record<string, unknown>;
    };
    // The fallback answers preflights (OPTIONS matches no route); OFREP's function adds the headers to its answers.
    expect(envOf(functionOf(FALLBACK_HANDLER)).CORS_ALLOWED_ORIGINS).toBe('https://a.example,https://b.example');
    expect(envOf(functionOf('ofrep')).CORS_ALLOWED_ORIGINS).toBe('https://a.example,https://b.example');
  });
});

describe('the audit anchor tick', () => {
  it('invokes the stream consumer once a minute with {"anchorTick": true}, with a DLQ, and its async failures go to the on-failure destination', () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule')) as Resource[];
    const tick = rules.filter((r) => r.Properties.ScheduleExpression === 'rate(1 minute)');
    expect(tick).toHaveLength(1);
    expect(tick[0]!.Properties.Targets).toHaveLength(1);
    expect(tick[0]!.Properties.Targets[0]).toMatchObject({
      Arn: { 'Fn::GetAtt': [functionIds().get('stream'), 'Arn'] },
      Input: JSON.stringify({ anchorTick: true }),
      DeadLetterConfig: { Arn: expect.anything() },
    });
    const configs = Object.values(template.findResources('AWS::Lambda::EventInvokeConfig')) as Resource[];
    const own = configs.find((c) => JSON.stringify(c.Properties.FunctionName).includes(functionIds().get('stream')!));
    expect(own?.Properties.DestinationConfig?.OnFailure?.Destination).toBeDefined();
  });
});

describe('monitors and discovery (default bus)', () => {
  it("sends CloudWatch alarms going to ALARM to alarm-state and ECR's successful pushes to registry-push, both on the default bus; only the promotion step may DescribeAlarms, on this account's alarms", () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule')) as Resource[];
    const alarm = rules.find((r) => JSON.stringify(r.Properties.EventPattern ?? null).includes('CloudWatch Alarm State Change'))!;
    expect(alarm.Properties.EventBusName).toBe('default');
    expect(alarm.Properties.EventPattern).toEqual({
      source: ['aws.cloudwatch'],
      'detail-type': ['CloudWatch Alarm State Change'],
      detail: { state: { value: ['ALARM'] } },
    });
    expect(alarm.Properties.Targets[0]).toMatchObject({
      Arn: { 'Fn::GetAtt': [functionIds().get('alarm-state'), 'Arn'] },
      DeadLetterConfig: { Arn: expect.anything() },
    });
    const ecr = rules.find((r) => JSON.stringify(r.Properties.EventPattern ?? null).includes('ECR Image Action'))!;
    expect(ecr.Properties.EventPattern).toEqual({
      source: ['aws.ecr'],
      'detail-type': ['ECR Image Action'],
      detail: { 'action-type': ['PUSH'], result: ['SUCCESS'] },
    });
    expect(ecr.Properties.EventBusName).toBe('default');
    expect(ecr.Properties.Targets[0]).toMatchObject({ Arn: { 'Fn::GetAtt': [functionIds().get('registry-push'), 'Arn'] } });
    for (const [name, id] of functionIds()) {
      const cw = statementsOf(id).filter((s) => [s.Action].flat().some((a) => a.startsWith('cloudwatch:Describe')));
      if (name === 'promotion-step') expect(JSON.stringify(cw[0]!.Resource)).toContain(':alarm:*');
      else expect(cw, name).toEqual([]);
    }
  });

  it("reads alarms in any region of this account (a target in eu-west-1 watches alarms there); with -c alarmRegions and -c homeRegion, a stack per region forwards its alarms to this stack's default bus, with a DLQ alarmed there, and passes cdk-nag", () => {
    const cw = statementsOf(functionIds().get('promotion-step')!).find((s) => [s.Action].flat().includes('cloudwatch:DescribeAlarms'))!;
    expect(JSON.stringify(cw.Resource)).toContain(':cloudwatch:*:');
    const { app: multi } = unbundled({ alarmRegions: 'eu-west-1, ap-southeast-2', homeRegion: 'us-east-1', alarmEmail: 'ops@example.com' });
    const forwarders = multi.node.children.filter((c): c is AlarmForwarderStack => c instanceof AlarmForwarderStack);
    expect(forwarders.map((f) => [f.stackName, f.region])).toEqual([
      ['Stageline-alarms-eu-west-1', 'eu-west-1'],
      ['Stageline-alarms-ap-southeast-2', 'ap-southeast-2'],
    ]);
    const t = Template.fromStack(forwarders[0]!);
    const rule = Object.values(t.findResources('AWS::Events::Rule'))[0] as Resource;
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.cloudwatch'],
      'detail-type': ['CloudWatch Alarm State Change'],
      detail: { state: { value: ['ALARM'] } },
    });
    expect(JSON.stringify(rule.Properties.Targets[0].Arn)).toContain(':events:us-east-1:');
    expect(JSON.stringify(rule.Properties.Targets[0].Arn)).toContain('event-bus/default');
    expect(rule.Properties.Targets[0].DeadLetterConfig).toEqual({ Arn: expect.anything() });
    expect(rule.Properties.Targets[0].RoleArn).toEqual(expect.anything());
    t.resourceCountIs('AWS::CloudWatch::Alarm', 1);
    t.resourceCountIs('AWS::SNS::Subscription', 1);
    const violations = NAG_PACKS.flatMap((Pack) => new Pack().validateScope(forwarders[0]!).violations);
    expect(violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    // Without alarmRegions: no forwarder; a bad region or a missing homeRegion is refused at synth.
    expect(app.node.children.some((c) => c instanceof AlarmForwarderStack)).toBe(false);
    expect(() => unbundled({ alarmRegions: 'eu-west-1' })).toThrow(/homeRegion/);
    expect(() => unbundled({ alarmRegions: 'mars-1', homeRegion: 'us-east-1' })).toThrow(/alarmRegions must be AWS regions/);
  });
});
