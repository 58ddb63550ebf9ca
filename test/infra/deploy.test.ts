/**
 * Deploy checks: would the first `cdk deploy` succeed, and does every deployed function have what
 * its code calls? No AWS account is needed: the synthesized template is read (creation order,
 * cfn-lint) and compared with what each function's bundle contains (infra/bundle.ts,
 * infra/adapters.ts). `npx vitest run test/infra/deploy.test.ts` runs them alone.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FALLBACK_HANDLER } from '../../functions/http/routes.ts';
import { FUNCTIONS, functionOf } from '../../functions/http/topology.ts';
import { ADAPTERS, OPTIONAL_RESOURCES, TENANT_SECRET_SESSION, type Resource } from '../../infra/adapters.ts';
import { GRANTED_BY_TENANTS } from '../../infra/metric-roles.ts';
import { needsOf } from '../../infra/bundle-needs.ts';
import { bundleFunction } from '../../infra/bundle.ts';
import { createApp } from '../../infra/create-app.ts';
import { missingDependencies, type Resources } from '../support/template-order.ts';
import { REPO_ROOT } from '../../infra/function.ts';
import { CONSOLE_CALLBACK, CONSOLE_CALLBACK_ACTIONS } from '../../infra/identity.ts';
import { declaredVariables } from '../../functions/configuration/reference.ts';

/** Bundling ~55 functions dominates; on a busy two-core machine it takes minutes. */
const SYNTH_TIMEOUT = 600_000;
const cdkContext = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

let resources: Resources;
let templateFile: string;

beforeAll(() => {
  const { app, stack } = createApp({ context: cdkContext });
  const assembly = app.synth();
  templateFile = path.join(assembly.directory, stack.templateFile);
  resources = (JSON.parse(readFileSync(templateFile, 'utf8')) as { Resources: Resources }).Resources;
}, SYNTH_TIMEOUT);

// ---------------------------------------------------------------------------------------------
// 1. Creation order: a resource that names another by a string must come after it.

describe('creation order', () => {
  it('makes every resource that names another by a string (route keys, function, group, log group, bucket names) depend on it', () => {
    expect(missingDependencies(resources)).toEqual([]);
  });

  it("catches a stage throttling routes it does not depend on (the first deploy failed with NotFoundException); the routes are the API body's, so the stage depends on the API", () => {
    const stageId = Object.keys(resources).find((id) => resources[id]!.Type === 'AWS::ApiGatewayV2::Stage')!;
    const broken = structuredClone(resources);
    delete broken[stageId]!.DependsOn;
    broken[stageId]!.Properties!.ApiId = 'an-api-created-elsewhere';
    expect(missingDependencies(broken).filter((p) => p.startsWith(stageId)).length).toBe(Object.keys(resources[stageId]!.Properties!.RouteSettings).length);
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Each function has exactly what its bundle needs: env and IAM actions, on the right resources.

/** Every variable the configuration declares (functions/configuration.ts, with its reference text): who sets it, and which modules read it. */
const DECLARED = new Map(declaredVariables().map((d) => [d.name, d]));

/**
 * Environment every function (or a named one) gets for reasons other than an AWS adapter: the template may
 * set one only on a function whose bundle holds a module the configuration says reads it.
 */
const NOT_ADAPTER_ENV: Record<string, string> = {
  TABLE_NAME: 'the table, through the store (infra/store-actions.ts grants its actions)',
  MACHINE_PRINCIPALS: 'configuration of the IAM route (functions/http/principal.ts)',
  PUBLIC_URL: 'the notifier links to the API (functions/http/deps.ts)',
  DEPLOYMENT_ACCOUNT: 'monitors must be alarms of this account, for functions whose bundle holds the monitor checks: checked below',
  DEPLOYMENT_REGION: 'monitors must be alarms of this region, for functions whose bundle holds the monitor checks: checked below',
  CORS_ALLOWED_ORIGINS: 'the allowedOrigins context, for functions whose bundle holds the CORS helper (functions/http/cors.ts): checked below',
};

/** Actions granted for reasons other than an AWS adapter's commands. */
const notAdapterAction = (a: string) =>
  a.startsWith('xray:') || // tracing: ACTIVE
  a.startsWith('dynamodb:') || // the store: infra/store-actions.ts, checked in stack.test.ts
  a.startsWith('sqs:'); // an on-failure destination (the stream's event source mapping, an asynchronous invocation's): checked below

/** How a resource appears in the template, so an env value or a statement can be checked to name the right one. */
const RESOURCE_IN_TEMPLATE: Record<Resource, (id: string, r: Resources[string]) => boolean> = {
  promotionMachine: (id, r) => r.Type === 'AWS::StepFunctions::StateMachine' && id.startsWith('PromotionStateMachine'),
  waveMachine: (id, r) => r.Type === 'AWS::StepFunctions::StateMachine' && id.startsWith('WaveStateMachine'),
  stagelineSchedules: () => false, // a name pattern, checked as text below
  scheduleGroup: (_id, r) => r.Type === 'AWS::Scheduler::ScheduleGroup',
  schedulerRole: (_id, r) => r.Type === 'AWS::IAM::Role' && JSON.stringify(r.Properties!.AssumeRolePolicyDocument).includes('scheduler.amazonaws.com'),
  scheduleTarget: (_id, r) => r.Type === 'AWS::Lambda::Function' && r.Properties!.Description === 'Stageline schedule-fire',
  scheduleDlq: (id, r) => r.Type === 'AWS::SQS::Queue' && id.startsWith('ScheduleDlq'),
  eventBus: (_id, r) => r.Type === 'AWS::Events::EventBus',
  auditKey: (_id, r) => r.Type === 'AWS::KMS::Key',
  attestationKeys: () => false, // tenants' keys are made at run time: a name pattern, checked as text below
  attestationKeyAliases: () => false, // a name pattern, checked as text below
  attestationKeyAliasPrefix: () => false, // the stack's prefix, checked as text below
  // The signing function's own role (test/infra/stack-kms.test.ts checks it is the stream consumer's).
  attestationSigner: (_id, r) => r.Type === 'AWS::IAM::Role',
  newKmsKeys: () => false, // "*" (CreateKey has no resource), checked as text below
  checkpointBucket: (_id, r) => r.Type === 'AWS::S3::Bucket' && !!r.Properties!.ObjectLockEnabled,
  checkpointObjects: (_id, r) => r.Type === 'AWS::S3::Bucket' && !!r.Properties!.ObjectLockEnabled,
  secretsKey: (id, r) => r.Type === 'AWS::SecretsManager::Secret' && id.startsWith('SecretsKey'),
  tenantSecrets: () => false, // a name pattern, checked as text below
  tenantSecretsRole: (id) => id.startsWith('TenantSecretsRole'),
  secretsPrefix: () => false, // the stack's prefix, checked as text below
  registrySecret: () => false,
  ecrAuthorization: () => false, // "*" (the token API has no resource), named by context at deploy time
  ecrRepositories: () => false, // named by context at deploy time
  userPool: (_id, r) => r.Type === 'AWS::Cognito::UserPool',
  emailIdentity: () => false,
  tenantDataRole: (id) => id.startsWith('TenantReadRole') || id.startsWith('TenantWriteRole') || id.startsWith('TenantAppReadRole'),
  jwtIssuer: (_id, r) => r.Type === 'AWS::Cognito::UserPool',
  jwtAudience: (_id, r) => r.Type === 'AWS::Cognito::UserPoolClient',
  loginDomain: (_id, r) => r.Type === 'AWS::Cognito::UserPoolDomain',
  slackSigningSecret: () => false, // named by context at deploy time
  webhookTarget: (_id, r) => r.Type === 'AWS::Lambda::Function' && r.Properties!.Description === 'Stageline webhook-deliver',
  webhookSecrets: () => false, // a name pattern, checked as text below
  monitoredAlarms: () => false, // a name pattern, checked as text below
  tenantMetricRoles: () => false, // any account's roles, checked as text below
  tenantMetricSession: () => false, // the tenant's account: never granted by the stack
  tenantAuditRoles: () => false, // any account's roles, checked as text below
  tenantAuditSession: () => false, // the tenant's account: never granted by the stack
  deploymentRegion: () => false, // the stack's region (a pseudo parameter)
};
const NAME_PATTERNS: Partial<Record<Resource, string>> = {
  // The default stack's names (infra/names.ts): its own schedule group and prefix of tenants' secrets.
  stagelineSchedules: ':schedule/stageline/stageline-*',
  tenantSecrets: ':secret:stageline/${aws:PrincipalTag/tenant}/*',
  secretsPrefix: '"stageline/"',
  webhookSecrets: ':secret:stageline/${aws:PrincipalTag/tenant}/webhooks/*',
  monitoredAlarms: ':alarm:*',
  attestationKeys: ':key/*',
  attestationKeyAliases: ':alias/stageline/tenant/*',
  attestationKeyAliasPrefix: '"alias/stageline/tenant/"',
  newKmsKeys: '"*"',
  tenantMetricRoles: ':iam::*:role/*',
  tenantAuditRoles: ':iam::*:role/*',
  deploymentRegion: 'AWS::Region',
  promotionMachine: ':stateMachine:Stageline-promotion',
  waveMachine: ':stateMachine:Stageline-wave',
};

/** Does this template value (an env value, a statement's Resource) name the resource? */
function names(value: unknown, resource: Resource): boolean {
  const text = JSON.stringify(value);
  const pattern = NAME_PATTERNS[resource];
  if (pattern && text.includes(pattern)) return true;
  return Object.entries(resources).some(([id, r]) => RESOURCE_IN_TEMPLATE[resource](id, r) && (text.includes(`"${id}"`) || text.includes(`${id}.`)));
}

/** The deploy-time writer of the app client (infra/identity.ts setConsoleUrl): the function whose role may write the client and is no handler's. */
const consoleCallbackId = () => {
  const ids = [...functionIds().values()];
  const found = Object.keys(resources).filter(
    (id) => resources[id]!.Type === 'AWS::Lambda::Function' && !ids.includes(id) && String(resources[id]!.Properties!.Description).includes(CONSOLE_CALLBACK),
  );
  expect(found).toHaveLength(1);
  return found[0]!;
};

const functionIds = () =>
  new Map(
    Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function' && String(r.Properties!.Description).startsWith('Stageline '))
      .map(([id, r]) => [String(r.Properties!.Description).replace(/^Stageline /, ''), id]),
  );

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };
const statementsOf = (functionId: string): Statement[] => {
  const roleId = resources[functionId]!.Properties!.Role['Fn::GetAtt'][0];
  return Object.values(resources)
    .filter(
      (p) =>
        (p.Type === 'AWS::IAM::Policy' || p.Type === 'AWS::IAM::ManagedPolicy') && (p.Properties!.Roles as { Ref: string }[]).some((r) => r.Ref === roleId),
    )
    .flatMap((p) => p.Properties!.PolicyDocument.Statement as Statement[]);
};

/**
 * Functions that schedule themselves, given their own ARN at run time (an environment value naming
 * itself would be a cycle): schedule-fire re-arms sweeps, webhook-deliver schedules its retries.
 * Each handler must take its ARN from its invocation and pass it to the adapter as the schedules'
 * target (instead of the variable), or its schedules would fail at run time.
 */
const SELF_TARGETS: { fn: string; env: string }[] = [
  { fn: 'schedule-fire', env: 'SCHEDULE_TARGET_ARN' },
  { fn: 'webhook-deliver', env: 'WEBHOOK_TARGET_ARN' },
];
const passesOwnArn = (fn: string) => {
  const text = readFileSync(path.join(REPO_ROOT, 'functions', 'handlers', `${fn}.ts`), 'utf8');
  // The handler keeps its invocation's ARN and gives it to the scheduler: as the target, or as the getter of a scheduler made on first use.
  return text.includes('ownArn ??= context?.invokedFunctionArn') && (text.includes('targetArn: ownArn') || text.includes('() => ownArn'));
};

/**
 * The queues a function's failures go to: the on-failure destinations of its event source mappings
 * and of its asynchronous invocations (EventInvokeConfig). CDK grants the role sqs:SendMessage (with
 * GetQueueAttributes and GetQueueUrl) on each; no code of the bundle sends to them, Lambda does.
 */
const onFailureQueuesOf = (functionId: string) =>
  new Set(
    Object.values(resources)
      .filter(
        (r) => (r.Type === 'AWS::Lambda::EventSourceMapping' || r.Type === 'AWS::Lambda::EventInvokeConfig') && r.Properties!.FunctionName?.Ref === functionId,
      )
      .map((r) => r.Properties!.DestinationConfig?.OnFailure?.Destination?.['Fn::GetAtt']?.[0] as string | undefined)
      .filter((id): id is string => !!id),
  );

/** Compares one function's template entry with its bundle; returns what is wrong. */
function compare(name: string, fnId: string): string[] {
  const bundle = bundleFunction(name, { traceSdk: false, reuseAny: true });
  const needs = needsOf(bundle);
  const problems: string[] = [];
  const env = (resources[fnId]!.Properties!.Environment?.Variables ?? {}) as Record<string, unknown>;
  for (const [key, resource] of needs.env) {
    if (SELF_TARGETS.some((t) => t.fn === name && t.env === key)) {
      if (!passesOwnArn(name)) problems.push(`${name}: its bundle reads ${key} (its own ARN), and its handler does not pass the ARN of its invocation instead`);
      continue;
    }
    if (!(key in env)) {
      if (!OPTIONAL_RESOURCES.has(resource)) problems.push(`${name}: its bundle reads ${key} (${resource}), the template does not set it`);
    } else if (!names(env[key], resource)) problems.push(`${name}: ${key} is ${JSON.stringify(env[key])}, not the ${resource}`);
  }
  for (const key of Object.keys(env)) {
    if (needs.env.has(key)) continue;
    const declared = DECLARED.get(key);
    if (declared?.origin !== 'stack') problems.push(`${name}: the template sets ${key}, which the configuration does not declare as set by the stack`);
    else if (!(key in NOT_ADAPTER_ENV) || !declared.readBy.some((m) => bundle.modules.has(m)))
      problems.push(`${name}: the template sets ${key}, which nothing in its bundle reads`);
  }
  const statements = statementsOf(fnId);
  const granted = new Set(statements.flatMap((s) => [s.Action].flat()).filter((a) => !notAdapterAction(a)));
  const needed = new Set<string>();
  for (const g of needs.grants) {
    // Sent with a session of a tenant's own role (authorised in its account): the function's role must not hold it.
    if (GRANTED_BY_TENANTS.has(g.on)) continue;
    // Sent with a session of the tenant secrets role, which holds it (test/infra/stack-iam.test.ts): the function's role must not.
    if (TENANT_SECRET_SESSION.has(g.on)) continue;
    for (const action of g.actions) {
      needed.add(action);
      const on = statements.filter(
        (s) => [s.Action].flat().includes(action) && names(s.Resource, g.on) && JSON.stringify(s.Condition ?? null) === JSON.stringify(g.condition ?? null),
      );
      if (on.length === 0 && !OPTIONAL_RESOURCES.has(g.on))
        problems.push(`${name}: its bundle needs ${action} on the ${g.on}, the role does not grant it there`);
    }
  }
  for (const a of granted) if (!needed.has(a)) problems.push(`${name}: the role grants ${a}, which no code in its bundle calls`);
  // SQS actions are granted for an on-failure destination of the function, and on nothing else.
  const destinations = onFailureQueuesOf(fnId);
  for (const s of statements.filter((st) => [st.Action].flat().some((a) => a.startsWith('sqs:')))) {
    const queues = [s.Resource].flat().map((r) => (r as { 'Fn::GetAtt'?: [string, string] })?.['Fn::GetAtt']?.[0]);
    if (!queues.every((q) => q && destinations.has(q)))
      problems.push(
        `${name}: the role grants ${[s.Action].flat().join(', ')} on ${JSON.stringify(s.Resource)}, which is not an on-failure destination of the function`,
      );
  }
  // A port the code calls must have its adapter in the bundle (or it fails at run time: "this function has no … adapter").
  for (const decl of ADAPTERS) {
    for (const call of Object.keys(decl.calls ?? {})) {
      const port = call.split('.')[0]!;
      const implemented = ADAPTERS.some((d) => bundle.modules.has(d.module) && Object.keys(d.calls ?? {}).some((c) => c.startsWith(`${port}.`)));
      if (bundle.calls.has(call) && !implemented) problems.push(`${name}: its code calls ${call}, and no adapter of ${port} is bundled`);
    }
  }
  return problems;
}

describe('each function has what its bundle calls, and nothing more', () => {
  it('matches every function: env vars and IAM actions on the right resources, per the adapters in its bundle', () => {
    const ids = functionIds();
    expect([...ids.keys()].sort()).toEqual([...FUNCTIONS].sort());
    expect(FUNCTIONS.flatMap((name) => compare(name, ids.get(name)!))).toEqual([]);
    // The one other function: the deploy-time writer of the app client (infra/identity.ts setConsoleUrl).
    const others = Object.keys(resources).filter((id) => resources[id]!.Type === 'AWS::Lambda::Function' && ![...ids.values()].includes(id));
    expect(others).toEqual([consoleCallbackId()]);
  });

  it("gives the deploy-time writer of the app client (console-callback) exactly the calls its code makes, on the user pool, its own log group, and no environment; CloudFormation invokes it with the client's settings", () => {
    const fnId = consoleCallbackId();
    const fn = resources[fnId]!;
    expect(fn.Properties!.Environment).toBeUndefined();
    // The commands its source sends (the handler and every module of its bundle but the SDK), as IAM actions: exactly its role's.
    const bundle = bundleFunction(CONSOLE_CALLBACK, { traceSdk: false, reuseAny: true });
    const sent = new Set<string>();
    for (const m of [...bundle.modules].filter((m) => /^(functions|domain)\//.test(m)))
      for (const [, command] of readFileSync(path.join(REPO_ROOT, m), 'utf8').matchAll(/new ([A-Z]\w+)Command\(/g)) sent.add(`cognito-idp:${command}`);
    expect([...sent].sort()).toEqual([...CONSOLE_CALLBACK_ACTIONS].sort());
    const statements = statementsOf(fnId);
    const pool = Object.keys(resources).find((id) => resources[id]!.Type === 'AWS::Cognito::UserPool')!;
    const cognito = statements.filter((st) => [st.Action].flat().some((a) => a.startsWith('cognito-idp:')));
    expect(cognito).toHaveLength(1);
    expect([cognito[0]!.Action].flat().sort()).toEqual([...CONSOLE_CALLBACK_ACTIONS].sort());
    expect(cognito[0]!.Resource).toEqual({ 'Fn::GetAtt': [pool, 'Arn'] });
    const logs = statements.filter((st) => !cognito.includes(st));
    expect([...new Set(logs.flatMap((st) => [st.Action].flat()))].sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    for (const st of logs) expect(st.Resource).toEqual({ 'Fn::GetAtt': [fn.Properties!.LoggingConfig.LogGroup.Ref, 'Arn'] });
    // Invoked by CloudFormation (its ServiceToken), after the client, with the client's settings, the console's address and the client's digest.
    const custom = Object.entries(resources).filter(([, r]) => r.Type === 'Custom::ConsoleCallback');
    expect(custom).toHaveLength(1);
    const [, resource] = custom[0]!;
    expect(resource.Properties!.ServiceToken).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
    expect(Object.keys(resource.Properties!).sort()).toEqual(['ClientDigest', 'ConsoleUrl', 'ServiceToken', 'Settings']);
    const client = Object.keys(resources).find((id) => resources[id]!.Type === 'AWS::Cognito::UserPoolClient')!;
    expect(resource.DependsOn).toEqual(expect.arrayContaining([client, fn.Properties!.Role['Fn::GetAtt'][0]]));
    // CDK's own custom-resource function (one SDK call, which could not keep the tenants' providers) is gone.
    expect(Object.values(resources).filter((r) => r.Type === 'Custom::AWS')).toEqual([]);
  });

  it('gives CORS_ALLOWED_ORIGINS (cdk.json allowedOrigins) to exactly the functions whose bundle holds the CORS helper: the fallback (preflights) and the open routes, never the review pages', () => {
    const ids = functionIds();
    const holders = FUNCTIONS.filter((name) => bundleFunction(name, { traceSdk: false, reuseAny: true }).modules.has('functions/http/cors.ts'));
    const given = FUNCTIONS.filter((name) => 'CORS_ALLOWED_ORIGINS' in (resources[ids.get(name)!]!.Properties!.Environment?.Variables ?? {}));
    expect(given).toEqual(holders);
    expect(holders).toEqual(expect.arrayContaining([functionOf(FALLBACK_HANDLER), functionOf('ofrep'), functionOf('health'), functionOf('openapi')]));
    expect(holders).not.toContain(functionOf('review'));
    for (const name of given)
      expect(resources[ids.get(name)!]!.Properties!.Environment.Variables.CORS_ALLOWED_ORIGINS, name).toBe(String(cdkContext.allowedOrigins));
  });

  it('gives DEPLOYMENT_ACCOUNT and DEPLOYMENT_REGION to exactly the functions whose bundle checks monitors (a manifest with monitors failed on AWS without them)', () => {
    const ids = functionIds();
    const holders = FUNCTIONS.filter((name) => bundleFunction(name, { traceSdk: false, reuseAny: true }).modules.has('domain/freeze/monitors.ts'));
    for (const key of ['DEPLOYMENT_ACCOUNT', 'DEPLOYMENT_REGION']) {
      const given = FUNCTIONS.filter((name) => key in (resources[ids.get(name)!]!.Properties!.Environment?.Variables ?? {}));
      expect(given, key).toEqual(holders);
    }
    expect(holders).toEqual(
      expect.arrayContaining([
        functionOf('environments-create'),
        functionOf('environments-update'),
        'promotion-step',
        'manifest',
        functionOf('manifest-apply'),
      ]),
    );
  });

  it('gives the promotion step what a freeze "wait" needs to schedule its resume', () => {
    const id = functionIds().get('promotion-step')!;
    const env = resources[id]!.Properties!.Environment.Variables;
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['SCHEDULE_TARGET_ARN', 'SCHEDULER_ROLE_ARN']));
    const actions = statementsOf(id).flatMap((s) => [s.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'iam:PassRole']));
  });

  it('reports a missing env var, env nothing in the bundle reads, a missing action, an action no code calls and a queue that is not its on-failure destination', () => {
    const id = functionIds().get('promotion-step')!;
    const saved = structuredClone(resources);
    try {
      const vars = resources[id]!.Properties!.Environment.Variables;
      delete vars.SCHEDULER_ROLE_ARN;
      // An adapter's variable whose adapter is not in the bundle, a configuration variable read by a module the step does not
      // bundle (the CORS helper), and a name the configuration does not declare.
      Object.assign(vars, { USER_POOL_ID: 'pool', CORS_ALLOWED_ORIGINS: '*', STAGELINE_TYPO: '1' });
      const policy = Object.values(resources).find(
        (p) => p.Type === 'AWS::IAM::Policy' && JSON.stringify(p.Properties!.Roles).includes(resources[id]!.Properties!.Role['Fn::GetAtt'][0]),
      )!;
      const st = policy.Properties!.PolicyDocument.Statement as Statement[];
      const i = st.findIndex((s) => [s.Action].flat().includes('iam:PassRole'));
      // An action no code of the step calls (it starts wave executions: StartExecution is its own now).
      st.splice(i, 1, { Action: 'states:StopExecution', Resource: '*' });
      // SQS is recognised only on the function's own on-failure destinations: the schedules' DLQ is not the step's.
      const scheduleDlq = Object.keys(resources).find((k) => k.startsWith('ScheduleDlq') && resources[k]!.Type === 'AWS::SQS::Queue')!;
      st.push({ Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [scheduleDlq, 'Arn'] } });
      const problems = compare('promotion-step', id);
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.stringContaining('reads SCHEDULER_ROLE_ARN'),
          'promotion-step: the template sets USER_POOL_ID, which nothing in its bundle reads',
          'promotion-step: the template sets CORS_ALLOWED_ORIGINS, which nothing in its bundle reads',
          'promotion-step: the template sets STAGELINE_TYPO, which the configuration does not declare as set by the stack',
          expect.stringContaining('needs iam:PassRole on the schedulerRole'),
          expect.stringContaining('grants states:StopExecution, which no code'),
          expect.stringContaining('grants sqs:SendMessage on {"Fn::GetAtt":["ScheduleDlq'),
        ]),
      );
    } finally {
      resources = saved;
    }
  });
});

describe('the adapter table (infra/adapters.ts) says what each adapter sends and reads', () => {
  const source = (module: string) => readFileSync(path.join(REPO_ROOT, module), 'utf8');
  /** Env an adapter needs that is read where it is used (functions/http/deps.ts), not in its module. */
  const READ_ELSEWHERE: Record<string, string[]> = { 'functions/adapters/tenant-credentials.ts': ['TENANT_DATA_ROLE_ARN'] };
  /** Commands whose IAM action is not `<service>:<Command>`. */
  const ACTION_OF: Record<string, string> = { ListObjectsV2: 's3:ListBucket' };

  it('declares every command each adapter sends, with the action AWS authorises it by, and every env var it reads (its configuration accessors, env.NAME())', () => {
    for (const decl of ADAPTERS) {
      const text = source(decl.module);
      const sent = [...new Set([...text.matchAll(/new (\w+)Command\(/g)].map((m) => m[1]!))].sort();
      const parts = [decl.always, ...Object.values(decl.calls ?? {})];
      const commands = Object.assign({}, ...parts.map((p) => p?.commands ?? {})) as Record<string, { actions: string[] }[]>;
      expect(Object.keys(commands).sort(), decl.module).toEqual(sent);
      for (const [command, grants] of Object.entries(commands)) {
        const actions = grants.flatMap((g) => g.actions);
        expect(
          actions.some((a) => a.split(':')[1] === command || a === ACTION_OF[command]),
          `${decl.module} ${command}: ${actions.join(', ')}`,
        ).toBe(true);
      }
      // functions/configuration.ts: a module reads a variable only by its accessor, through the namespace (test/unit/configuration.test.ts).
      const read = [...new Set([...text.matchAll(/\benv\.([A-Z][A-Z0-9_]+)\(/g)].map((m) => m[1]!))].sort();
      const deployed = [...new Set(parts.flatMap((p) => Object.keys(p?.env ?? {})))];
      const declared = [...new Set([...deployed, ...Object.keys(decl.notDeployed ?? {})])];
      const elsewhere = READ_ELSEWHERE[decl.module] ?? [];
      expect(read, decl.module).toEqual(declared.filter((k) => !elsewhere.includes(k)).sort());
      for (const k of elsewhere) expect(source('functions/http/tenant-deps.ts'), k).toContain(`env.${k}(`);
      // The configuration agrees: what the table has the stack set is set by the stack; what it does not is set by someone else.
      for (const k of deployed) expect(DECLARED.get(k)?.origin, `${decl.module} ${k}`).toBe('stack');
      for (const k of Object.keys(decl.notDeployed ?? {})) expect(DECLARED.get(k)?.origin, `${decl.module} ${k}`).not.toBe('stack');
      for (const k of read) expect(DECLARED.get(k)?.readBy, `${decl.module} ${k}`).toContain(decl.module);
    }
  });

  it('declares every adapter that uses an AWS SDK client (the store is infra/store-actions.ts)', () => {
    const dir = path.join(REPO_ROOT, 'functions', 'adapters');
    // At any depth: an adapter may be a folder of modules (functions/adapters/oci/, store/).
    const clients = (readdirSync(dir, { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => /@aws-sdk\/client-(?!dynamodb)/.test(readFileSync(path.join(dir, f), 'utf8')))
      .map((f) => `functions/adapters/${f}`);
    expect(clients.filter((m) => !ADAPTERS.some((d) => d.module === m))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// 3. cfn-lint: what CloudFormation and the resource specifications say about the template.

describe('cfn-lint', () => {
  it("finds no error and no warning in the synthesized template (W3005, CDK's redundant DependsOn, is ignored)", () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'stageline-cfnlint-')), 'template.json');
    writeFileSync(out, readFileSync(templateFile));
    let report = '';
    try {
      report = execFileSync('cfn-lint', ['--format', 'parseable', '--ignore-checks', 'W3005', '--', out], { encoding: 'utf8' });
    } catch (err) {
      const e = err as { code?: string; stdout?: string; stderr?: string };
      // scripts/prereqs.sh (npm pretest) makes sure it is installed: never skipped.
      if (e.code === 'ENOENT') throw new Error('cfn-lint is not installed: pip install cfn-lint (scripts/prereqs.sh cfn-lint says so too)');
      report = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
    expect(report.trim().split('\n').filter(Boolean)).toEqual([]);
  });
});
