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
import { FUNCTIONS } from '../../functions/http/routes.ts';
import { ADAPTERS, needsOf, OPTIONAL_RESOURCES, type Resource } from '../../infra/adapters.ts';
import { bundleFunction } from '../../infra/bundle.ts';
import { createApp } from '../../infra/create-app.ts';
import { REPO_ROOT } from '../../infra/function.ts';

/** Bundling ~55 functions dominates; on a busy two-core machine it takes minutes. */
const SYNTH_TIMEOUT = 600_000;
const cdkContext = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

type Resources = Record<string, { Type: string; Properties?: Record<string, any>; DependsOn?: string | string[] }>;
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

/** Properties by which AWS names a resource, per type: another resource naming it by this value needs it created first. */
const NAME_PROPERTIES: Record<string, string> = {
  'AWS::ApiGatewayV2::Route': 'RouteKey',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::Scheduler::ScheduleGroup': 'Name',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::S3::Bucket': 'BucketName',
  'AWS::StepFunctions::StateMachine': 'StateMachineName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::Events::EventBus': 'Name',
  'AWS::IAM::Role': 'RoleName',
  'AWS::SecretsManager::Secret': 'Name',
  'AWS::Cognito::UserPoolGroup': 'GroupName',
};

/**
 * Properties whose strings name nothing that must exist when the resource is created: used at run
 * time (policies, environment, patterns), free text, tags, and a resource's own name.
 */
const NOT_A_REFERENCE = new Set(['PolicyDocument', 'AssumeRolePolicyDocument', 'Policies', 'Environment', 'EventPattern', 'Description', 'AlarmDescription', 'Format', 'Tags', 'StageName']);

/** Every string (object keys too) and every intrinsic in a value, outside NOT_A_REFERENCE properties. */
function mentions(value: unknown, out = new Set<string>()): Set<string> {
  if (typeof value === 'string') out.add(value);
  else if (Array.isArray(value)) value.forEach((v) => mentions(v, out));
  else if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0]!.startsWith('Fn::')) out.add(JSON.stringify(value));
    for (const [k, v] of Object.entries(value)) {
      if (NOT_A_REFERENCE.has(k)) continue;
      out.add(k);
      mentions(v, out);
    }
  }
  return out;
}

/** Logical ids a resource depends on: DependsOn, Ref, Fn::GetAtt, and ${X} in Fn::Sub. */
function directDependencies(r: Resources[string]): Set<string> {
  const deps = new Set<string>([r.DependsOn ?? []].flat());
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'Ref' && typeof x === 'string') deps.add(x);
        else if (k === 'Fn::GetAtt') deps.add(Array.isArray(x) ? String(x[0]) : String(x).split('.')[0]!);
        else if (k === 'Fn::Sub') for (const [, id] of JSON.stringify(x).matchAll(/\$\{([A-Za-z0-9]+)[.}]/g)) deps.add(id!);
        walk(x);
      }
    }
  };
  walk(r.Properties);
  return deps;
}

/** Resources named by a string elsewhere in the template that the naming resource does not depend on (directly or not). */
export function missingDependencies(all: Resources): string[] {
  const names = new Map<string, string[]>();
  for (const [id, r] of Object.entries(all)) {
    const prop = NAME_PROPERTIES[r.Type];
    const name = prop ? r.Properties?.[prop] : undefined;
    if (name === undefined) continue;
    const key = typeof name === 'string' ? name : JSON.stringify(name);
    names.set(key, [...(names.get(key) ?? []), id]);
  }
  const direct = new Map(Object.entries(all).map(([id, r]) => [id, directDependencies(r)]));
  const reaches = (from: string, to: string) => {
    const seen = new Set<string>();
    const stack = [from];
    while (stack.length) {
      const id = stack.pop()!;
      if (id === to) return true;
      if (seen.has(id)) continue;
      seen.add(id);
      stack.push(...(direct.get(id) ?? []));
    }
    return false;
  };
  const problems: string[] = [];
  for (const [id, r] of Object.entries(all)) {
    for (const m of mentions(r.Properties)) {
      for (const named of names.get(m) ?? []) {
        if (named !== id && !reaches(id, named)) problems.push(`${id} (${r.Type}) names ${named} (${all[named]!.Type}) by ${JSON.stringify(m)} but does not depend on it`);
      }
    }
  }
  return problems;
}

describe('creation order', () => {
  it('makes every resource that names another by a string (route keys, function, group, log group, bucket names) depend on it', () => {
    expect(missingDependencies(resources)).toEqual([]);
  });

  it('catches a stage throttling routes it does not depend on (the first deploy failed with NotFoundException)', () => {
    const stageId = Object.keys(resources).find((id) => resources[id]!.Type === 'AWS::ApiGatewayV2::Stage')!;
    const broken = structuredClone(resources);
    delete broken[stageId]!.DependsOn;
    expect(missingDependencies(broken).filter((p) => p.startsWith(stageId)).length).toBe(Object.keys(resources[stageId]!.Properties!.RouteSettings).length);
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Each function has exactly what its bundle needs: env and IAM actions, on the right resources.

/** Environment every function (or a named one) gets for reasons other than an AWS adapter. */
const NOT_ADAPTER_ENV: Record<string, string> = {
  TABLE_NAME: 'the table, through the store (infra/store-actions.ts grants its actions)',
  MACHINE_PRINCIPALS: 'configuration of the IAM route (functions/http/principal.ts)',
  PUBLIC_URL: 'the notifier links to the API (functions/http/deps.ts)',
};

/** Actions granted for reasons other than an AWS adapter's commands. */
const notAdapterAction = (a: string) =>
  a.startsWith('xray:') || // tracing: ACTIVE
  a.startsWith('dynamodb:') || // the store: infra/store-actions.ts, checked in stack.test.ts
  a.startsWith('sqs:'); // the stream consumer's on-failure destination (the event source mapping)

/** How a resource appears in the template, so an env value or a statement can be checked to name the right one. */
const RESOURCE_IN_TEMPLATE: Record<Resource, (id: string, r: Resources[string]) => boolean> = {
  promotionMachine: (_id, r) => r.Type === 'AWS::StepFunctions::StateMachine',
  stagelineSchedules: () => false, // a name pattern, checked as text below
  schedulerRole: (_id, r) => r.Type === 'AWS::IAM::Role' && JSON.stringify(r.Properties!.AssumeRolePolicyDocument).includes('scheduler.amazonaws.com'),
  scheduleTarget: (_id, r) => r.Type === 'AWS::Lambda::Function' && r.Properties!.Description === 'Stageline schedule-fire',
  scheduleDlq: (id, r) => r.Type === 'AWS::SQS::Queue' && id.startsWith('ScheduleDlq'),
  eventBus: (_id, r) => r.Type === 'AWS::Events::EventBus',
  auditKey: (_id, r) => r.Type === 'AWS::KMS::Key',
  checkpointBucket: (_id, r) => r.Type === 'AWS::S3::Bucket' && !!r.Properties!.ObjectLockEnabled,
  checkpointObjects: (_id, r) => r.Type === 'AWS::S3::Bucket' && !!r.Properties!.ObjectLockEnabled,
  secretsKey: (id, r) => r.Type === 'AWS::SecretsManager::Secret' && id.startsWith('SecretsKey'),
  tenantSecrets: () => false, // a name pattern, checked as text below
  registrySecret: () => false,
  userPool: (_id, r) => r.Type === 'AWS::Cognito::UserPool',
  emailIdentity: () => false,
  tenantDataRole: (id) => id.startsWith('TenantReadRole') || id.startsWith('TenantWriteRole'),
};
const NAME_PATTERNS: Partial<Record<Resource, string>> = {
  stagelineSchedules: ':schedule/default/stageline-*',
  tenantSecrets: ':secret:stageline/*',
  promotionMachine: ':stateMachine:Stageline-promotion',
};

/** Does this template value (an env value, a statement's Resource) name the resource? */
function names(value: unknown, resource: Resource): boolean {
  const text = JSON.stringify(value);
  const pattern = NAME_PATTERNS[resource];
  if (pattern && text.includes(pattern)) return true;
  return Object.entries(resources).some(([id, r]) => RESOURCE_IN_TEMPLATE[resource](id, r) && (text.includes(`"${id}"`) || text.includes(`${id}.`)));
}

const functionIds = () =>
  new Map(Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function').map(([id, r]) => [String(r.Properties!.Description).replace(/^Stageline /, ''), id]));

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };
const statementsOf = (functionId: string): Statement[] => {
  const roleId = resources[functionId]!.Properties!.Role['Fn::GetAtt'][0];
  return Object.values(resources)
    .filter((p) => (p.Type === 'AWS::IAM::Policy' || p.Type === 'AWS::IAM::ManagedPolicy') && (p.Properties!.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
    .flatMap((p) => p.Properties!.PolicyDocument.Statement as Statement[]);
};

/** The function given its own ARN at run time (an environment value naming itself would be a cycle). */
const SELF_TARGET = { fn: 'schedule-fire', env: 'SCHEDULE_TARGET_ARN' };

/** Compares one function's template entry with its bundle; returns what is wrong. */
function compare(name: string, fnId: string): string[] {
  const bundle = bundleFunction(name, { traceSdk: false, reuseAny: true });
  const needs = needsOf(bundle);
  const problems: string[] = [];
  const env = (resources[fnId]!.Properties!.Environment?.Variables ?? {}) as Record<string, unknown>;
  for (const [key, resource] of needs.env) {
    if (name === SELF_TARGET.fn && key === SELF_TARGET.env) continue;
    if (!(key in env)) {
      if (!OPTIONAL_RESOURCES.has(resource)) problems.push(`${name}: its bundle reads ${key} (${resource}), the template does not set it`);
    } else if (!names(env[key], resource)) problems.push(`${name}: ${key} is ${JSON.stringify(env[key])}, not the ${resource}`);
  }
  for (const key of Object.keys(env)) {
    if (!(key in NOT_ADAPTER_ENV) && !needs.env.has(key)) problems.push(`${name}: the template sets ${key}, which nothing in its bundle reads`);
  }
  const statements = statementsOf(fnId);
  const granted = new Set(statements.flatMap((s) => [s.Action].flat()).filter((a) => !notAdapterAction(a)));
  const needed = new Set<string>();
  for (const g of needs.grants) {
    for (const action of g.actions) {
      needed.add(action);
      const on = statements.filter((s) => [s.Action].flat().includes(action) && names(s.Resource, g.on) && JSON.stringify(s.Condition ?? null) === JSON.stringify(g.condition ?? null));
      if (on.length === 0 && !OPTIONAL_RESOURCES.has(g.on)) problems.push(`${name}: its bundle needs ${action} on the ${g.on}, the role does not grant it there`);
    }
  }
  for (const a of granted) if (!needed.has(a)) problems.push(`${name}: the role grants ${a}, which no code in its bundle calls`);
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
  });

  it('gives the promotion step what a freeze "wait" needs to schedule its resume', () => {
    const id = functionIds().get('promotion-step')!;
    const env = resources[id]!.Properties!.Environment.Variables;
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['SCHEDULE_TARGET_ARN', 'SCHEDULER_ROLE_ARN']));
    const actions = statementsOf(id).flatMap((s) => [s.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'iam:PassRole']));
  });

  it('reports a missing env var, a missing action and an action no code calls', () => {
    const id = functionIds().get('promotion-step')!;
    const saved = structuredClone(resources);
    try {
      delete resources[id]!.Properties!.Environment.Variables.SCHEDULER_ROLE_ARN;
      const policy = Object.values(resources).find((p) => p.Type === 'AWS::IAM::Policy' && JSON.stringify(p.Properties!.Roles).includes(resources[id]!.Properties!.Role['Fn::GetAtt'][0]))!;
      const st = policy.Properties!.PolicyDocument.Statement as Statement[];
      const i = st.findIndex((s) => [s.Action].flat().includes('iam:PassRole'));
      st.splice(i, 1, { Action: 'states:StartExecution', Resource: '*' });
      const problems = compare('promotion-step', id);
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.stringContaining('reads SCHEDULER_ROLE_ARN'),
          expect.stringContaining('needs iam:PassRole on the schedulerRole'),
          expect.stringContaining('grants states:StartExecution, which no code'),
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

  it('declares every command each adapter sends, with the action AWS authorises it by, and every env var it reads', () => {
    for (const decl of ADAPTERS) {
      const text = source(decl.module);
      const sent = [...new Set([...text.matchAll(/new (\w+)Command\(/g)].map((m) => m[1]!))].sort();
      const parts = [decl.always, ...Object.values(decl.calls ?? {})];
      const commands = Object.assign({}, ...parts.map((p) => p?.commands ?? {})) as Record<string, { actions: string[] }[]>;
      expect(Object.keys(commands).sort(), decl.module).toEqual(sent);
      for (const [command, grants] of Object.entries(commands)) {
        const actions = grants.flatMap((g) => g.actions);
        expect(actions.some((a) => a.split(':')[1] === command || a === ACTION_OF[command]), `${decl.module} ${command}: ${actions.join(', ')}`).toBe(true);
      }
      const read = [...new Set([...text.matchAll(/env\.([A-Z][A-Z0-9_]+)|env\[`([A-Z][A-Z0-9_]+)/g)].map((m) => m[1] ?? m[2]!))].sort();
      const declared = [...new Set([...parts.flatMap((p) => Object.keys(p?.env ?? {})), ...Object.keys(decl.notDeployed ?? {})])];
      const elsewhere = READ_ELSEWHERE[decl.module] ?? [];
      expect(read, decl.module).toEqual(declared.filter((k) => !elsewhere.includes(k)).sort());
      for (const k of elsewhere) expect(source('functions/http/deps.ts'), k).toContain(`process.env.${k}`);
    }
  });

  it('declares every adapter that uses an AWS SDK client (the store is infra/store-actions.ts)', () => {
    const dir = path.join(REPO_ROOT, 'functions', 'adapters');
    const clients = readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => /@aws-sdk\/client-(?!dynamodb)/.test(readFileSync(path.join(dir, f), 'utf8')))
      .map((f) => `functions/adapters/${f}`);
    expect(clients.filter((m) => !ADAPTERS.some((d) => d.module === m))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// 3. cfn-lint: what CloudFormation and the resource specifications say about the template.

describe('cfn-lint', () => {
  it('finds no error and no warning in the synthesized template (W3005, CDK\'s redundant DependsOn, is ignored)', () => {
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
