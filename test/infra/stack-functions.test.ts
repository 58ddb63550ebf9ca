import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { App } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, WORKFLOW_HANDLERS } from '../../functions/http/routes.ts';
import { FUNCTION_GROUPS, FUNCTIONS, functionOf } from '../../functions/http/topology.ts';
import { STATE_MACHINES, aslPath, placeholdersIn } from '../../infra/state-machines.ts';
import { NOTIFY_ON } from '../../domain/notify/notifier.ts';
import { checkFunctionGroups, dataAccessOf } from '../../infra/access.ts';
import { bundleFunction } from '../../infra/bundle.ts';
import { SYNTH_TIMEOUT, actionsOf, flat, functionIds, only, statementsOf, synthesized, type Resource } from '../support/cdk-template.ts';

/** The stack's template (test/support/cdk-template.ts): the functions, the bus, the state machine, schedules and asynchronous invocations. */
let app: App;
let template: Template;

beforeAll(() => {
  ({ app, template } = synthesized());
}, SYNTH_TIMEOUT);

describe('functions', () => {
  it('has one Lambda per function (handlers of routes, fallback and state machine tasks; a group of read-only handlers), all arm64 on nodejs22.x, with TABLE_NAME where its bundle reaches the store', () => {
    const [tableId] = only('AWS::DynamoDB::Table');
    // Beside them, the deploy-time writer of the app client alone (the console's address, the tenants' providers kept: infra/identity.ts), bundled and run as they are.
    const others = Object.keys(template.findResources('AWS::Lambda::Function')).filter((id) => ![...functionIds().values()].includes(id));
    expect(others).toEqual([expect.stringMatching(/^ConsoleCallbackFunction/)]);
    const writer = template.toJSON().Resources[others[0]!];
    expect(writer.Properties.Description).toContain('console-callback');
    expect([writer.Properties.Architectures, writer.Properties.Runtime, writer.Properties.Handler]).toEqual([['arm64'], 'nodejs22.x', 'index.handler']);
    expect([...functionIds().keys()].sort()).toEqual([...FUNCTIONS].sort());
    const resources = template.toJSON().Resources;
    const storeless: string[] = [];
    for (const [name, id] of functionIds()) {
      const fn = resources[id];
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      expect(fn.Properties.LoggingConfig.LogGroup).toBeDefined();
      // The table's name only where the bundle holds the store's wiring (functions/http/deps.ts, which reads it), or the
      // pre-token trigger's one read of the group mapping (functions/adapters/group-mapping-reader.ts).
      const modules = bundleFunction(name, { traceSdk: false, reuseAny: true }).modules;
      const reachesStore = modules.has('functions/http/deps.ts') || modules.has('functions/adapters/group-mapping-reader.ts');
      expect(fn.Properties.Environment?.Variables?.TABLE_NAME, name).toEqual(reachesStore ? { Ref: tableId } : undefined);
      if (!reachesStore) storeless.push(name);
    }
    // Every function but a few open answers (health, the OpenAPI document, sign-in configuration, the dashboard page, the fallback).
    expect(storeless.length).toBeLessThan(8);
  });

  it('groups only handlers that need exactly the same permissions and settings: read-only ones of an area, the user admin routes, the inbound hooks, the promotion controls, the approver decisions and the saves that write secrets', () => {
    expect(() => checkFunctionGroups()).not.toThrow();
    for (const [group, members] of Object.entries(FUNCTION_GROUPS)) {
      // The write groups: the people routes, all admin, all needing the user pool's Admin* grants and nothing else that differs;
      // the inbound hooks (a registry's notifications, a pull-request host's webhook), public routes that authenticate the caller themselves.
      // the promotion controls (cancel, a rollout's halt/resume/confirm): deployer writes that answer or fail the flow's task tokens.
      const admin = group === 'users-admin';
      const hooks = group === 'inbound-hooks';
      const control = group === 'promotions-control';
      // the approver's decisions (approve, reject): approver writes that answer the approval's task token.
      const decide = group === 'promotions-decide';
      // the saves that write a tenant's secrets: admin writes that seal one they are given (environments, notification settings,
      // a manifest apply) or read whether each one named exists (a manifest apply, PUT …/git-target, the identity provider).
      const secretWriters = group === 'secret-writers';
      expect(dataAccessOf(group), group).toBe(admin || hooks || control || secretWriters || decide ? 'write' : 'read');
      for (const m of members) {
        expect(functionOf(m)).toBe(group);
        if (secretWriters) {
          expect(
            // (the identity provider connection's GET and DELETE too: its routes are one function, the only one with the user pool's identity provider grants;
            // and an environment's change-control rule's GET (viewer: the rule without its credential) and DELETE beside its PUT: one function, as the
            // tenant write role's trust policy is at IAM's quota of roles; so too an environment's deployment gate)
            ROUTES.filter((r) => r.handler === m).every(
              (r) =>
                r.auth === 'jwt' &&
                (r.role === 'admin' || (r.method === 'GET' && /\/(change-control|deployment-gate)$/.test(r.path))) &&
                (['POST', 'PUT', 'PATCH'].includes(r.method) ||
                  r.path.endsWith('/access/identity-provider') ||
                  /\/(change-control|deployment-gate)$/.test(r.path)),
            ),
            m,
          ).toBe(true);
          continue;
        }
        if (decide) {
          expect(
            ROUTES.filter((r) => r.handler === m).every((r) => r.auth === 'jwt' && r.role === 'approver' && r.method === 'POST'),
            m,
          ).toBe(true);
          continue;
        }
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
          ROUTES.filter((r) => r.handler === m).every((r) =>
            // The people group also serves SCIM (the tenant's SCIM token, checked in the function: no role).
            admin && r.auth === 'scim' ? r.role === null : (admin ? r.role === 'admin' : r.role === 'viewer' && r.method === 'GET') && r.auth === 'jwt',
          ),
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
      // the audit stream's shipper: each tenant's destinations a batch at a time, each send bounded at 15 s with its tries and acks
      else if (name === 'audit-ship') expect(timeout).toBe(300);
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

describe('state machine (promotions and rollbacks alike)', () => {
  const stepFunctionId = () => functionIds().get('promotion-step')!;
  /** The step function's version of this deploy (the machines' definitions name it). */
  const stepVersionId = () =>
    Object.entries(template.findResources('AWS::Lambda::Version')).find(([, v]) => (v as Resource).Properties.FunctionName.Ref === stepFunctionId())![0];
  const machines = () => Object.entries(template.findResources('AWS::StepFunctions::StateMachine')) as [string, Resource][];
  const promotionMachine = () => machines().find(([id]) => id.startsWith('PromotionStateMachine'))!;
  const waveMachine = () => machines().find(([id]) => id.startsWith('WaveStateMachine'))!;

  it('deploys the promotion machine (rollbacks are its executions) and the wave machine its large waves run as children of, each STANDARD from its ASL file unchanged with its placeholders substituted', () => {
    expect(Object.keys(STATE_MACHINES)).toEqual(['promotion', 'wave']);
    expect(machines()).toHaveLength(2);
    const [, wave] = waveMachine();
    expect(wave.Properties.StateMachineType).toBe('STANDARD');
    const waveAsl = readFileSync(aslPath('wave'), 'utf8');
    expect(readFileSync(path.join(app.synth().directory, `asset.${wave.Properties.DefinitionS3Location.Key}`), 'utf8')).toBe(waveAsl);
    expect(Object.keys(wave.Properties.DefinitionSubstitutions).sort()).toEqual(placeholdersIn(waveAsl));
    expect(wave.Properties.DefinitionSubstitutions.PromotionStepFunctionArn).toEqual({ Ref: stepVersionId() });
    const [, machine] = promotionMachine();
    expect(machine.Properties.StateMachineType).toBe('STANDARD');
    // DefinitionBody.fromFile: the file goes up unchanged as an asset; CloudFormation substitutes
    const asl = readFileSync(aslPath('promotion'), 'utf8');
    expect(machine.Properties.DefinitionS3Location).toEqual({ Bucket: expect.anything(), Key: expect.stringMatching(/\.json$/) });
    const staged = path.join(app.synth().directory, `asset.${machine.Properties.DefinitionS3Location.Key}`);
    expect(readFileSync(staged, 'utf8')).toBe(asl);
    expect(Object.keys(machine.Properties.DefinitionSubstitutions).sort()).toEqual(placeholdersIn(asl));
    expect(Object.keys(machine.Properties.DefinitionSubstitutions).sort()).toEqual([...STATE_MACHINES.promotion.substitutions].sort());
    expect(machine.Properties.DefinitionSubstitutions.PromotionStepFunctionArn).toEqual({ Ref: stepVersionId() });
    // No per-machine leftovers of the former rollback machine: one log group per machine.
    expect(Object.keys(template.findResources('AWS::Logs::LogGroup')).filter((id) => id.includes('StateMachine'))).toHaveLength(2);
    expect(Object.keys(template.toJSON().Resources).filter((id) => id.startsWith('Rollback'))).toEqual([]);
    expect(Object.keys(template.toJSON().Outputs ?? {}).filter((id) => id.includes('StateMachine'))).toEqual([
      'PromotionStateMachineAliasArn',
      'WaveStateMachineAliasArn',
      'PromotionStateMachineArn',
    ]);
  });

  it('upgrades lose nothing: each machine publishes a version per revision (retained), executions start through its live alias, and each version invokes the step version it was deployed with', () => {
    const resources = template.toJSON().Resources as Record<string, Resource>;
    const versions = Object.entries(template.findResources('AWS::StepFunctions::StateMachineVersion')) as [string, Resource][];
    const aliases = Object.entries(template.findResources('AWS::StepFunctions::StateMachineAlias')) as [string, Resource][];
    expect(versions).toHaveLength(2);
    expect(aliases).toHaveLength(2);
    for (const [machineId] of machines()) {
      // A new version whenever the machine's revision changes (its definition, so the step version it names).
      const [versionId, version] = versions.find(([, v]) => v.Properties.StateMachineArn.Ref === machineId)!;
      expect(version.Properties.StateMachineRevisionId).toEqual({ 'Fn::GetAtt': [machineId, 'StateMachineRevisionId'] });
      // Replaced or deleted by a deploy, a version stays: executions on it run on.
      expect(version.DeletionPolicy).toBe('Retain');
      expect((version as Resource & { UpdateReplacePolicy?: string }).UpdateReplacePolicy).toBe('Retain');
      const [, alias] = aliases.find(
        ([, a]) => JSON.stringify(a.Properties.RoutingConfiguration[0].StateMachineVersionArn) === JSON.stringify({ 'Fn::GetAtt': [versionId, 'Arn'] }),
      )!;
      expect(alias.Properties).toMatchObject({ Name: 'live', RoutingConfiguration: [{ Weight: 100 }] });
    }
    // The step function's version: a Lambda version of it, retained as well.
    const stepVersion = resources[stepVersionId()]!;
    expect(stepVersion.Type).toBe('AWS::Lambda::Version');
    expect(stepVersion.Properties.FunctionName).toEqual({ Ref: stepFunctionId() });
    expect(stepVersion.DeletionPolicy).toBe('Retain');
    // Every function that starts an execution starts it through the alias.
    const [, machine] = promotionMachine();
    for (const [name, id] of functionIds()) {
      const env = (resources[id]!.Properties.Environment?.Variables ?? {}) as Record<string, unknown>;
      for (const key of ['PROMOTION_STATE_MACHINE_ARN', 'WAVE_STATE_MACHINE_ARN'])
        if (env[key]) expect(flat(env[key]), `${name} ${key}`).toMatch(/:stateMachine:[^:]+:live$/);
    }
    expect(flat(machine.Properties.StateMachineName)).toMatch(/-promotion$/);
  });

  it('logs ALL events without execution data, and traces (cdk-nag SF1/SF2)', () => {
    for (const [, machine] of machines()) {
      expect(machine.Properties.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
      expect(machine.Properties.LoggingConfiguration.Destinations).toHaveLength(1);
      expect(machine.Properties.TracingConfiguration).toEqual({ Enabled: true });
    }
  });

  it('logs each machine to a log group named under /aws/vendedlogs/states/ (so CloudWatch Logs needs no resource policy statement per group)', () => {
    const groups = template.findResources('AWS::Logs::LogGroup') as Record<string, Resource>;
    for (const [id, machine] of machines()) {
      const groupId = machine.Properties.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
      expect(flat(groups[groupId]!.Properties.LogGroupName), id).toBe(`/aws/vendedlogs/states/${flat(machine.Properties.StateMachineName)}`);
    }
  });

  it('may invoke the promotion-step function and nothing else', () => {
    for (const [, machine] of machines()) {
      const roleId = machine.Properties.RoleArn['Fn::GetAtt'][0];
      const statements = (Object.values(template.findResources('AWS::IAM::Policy')) as Resource[])
        .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
      const invoke = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('lambda:')));
      // Its versions (each version of the machine names one; an old one's executions run on with the shared role).
      expect(invoke).toEqual([
        expect.objectContaining({ Action: 'lambda:InvokeFunction', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [stepFunctionId(), 'Arn'] }, ':*']] } }),
      ]);
      for (const st of statements) {
        if (st.Resource === '*')
          expect(
            [st.Action].flat().every((a) => a.startsWith('xray:') || a.startsWith('logs:')),
            JSON.stringify(st),
          ).toBe(true);
      }
    }
  });

  it('lets only functions whose code steers flows start executions or answer task tokens, on the promotion machine, and only the paths that let a wave go on start a wave (test/infra/deploy.test.ts checks each against its bundle)', () => {
    const [, machine] = promotionMachine();
    const resources = template.toJSON().Resources;
    const byName = `:stateMachine:${machine.Properties.StateMachineName as string}`;
    const waveByName = `:stateMachine:${waveMachine()[1].Properties.StateMachineName as string}`;
    for (const [name, id] of functionIds()) {
      const states = statementsOf(id).filter((st) => [st.Action].flat().some((a) => a.startsWith('states:')));
      const actions = [...new Set(states.flatMap((st) => [st.Action].flat()))].sort();
      const env = resources[id].Properties.Environment?.Variables ?? {};
      // by name: the machine depends on the step function, whose environment names schedule-fire, which starts flows
      const on = (machineName: string) => states.filter((st) => JSON.stringify(st.Resource).includes(machineName));
      for (const st of states)
        expect(
          [byName, waveByName].some((n) => JSON.stringify(st.Resource).includes(n)),
          name,
        ).toBe(true);
      // Only a wave is started on the wave machine; its tokens are the promotion machine's (the parent's).
      expect([...new Set(on(waveByName).flatMap((st) => [st.Action].flat()))], name).toEqual(on(waveByName).length ? ['states:StartExecution'] : []);
      expect(env.WAVE_STATE_MACHINE_ARN === undefined, name).toBe(!on(waveByName).length);
      const onPromotion = new Set(on(byName).flatMap((st) => [st.Action].flat()));
      expect(env.PROMOTION_STATE_MACHINE_ARN === undefined, name).toBe(!onPromotion.has('states:StartExecution'));
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
    // the step resumes its own task (a decision taken before the token was stored); it starts only a wave's child execution
    expect(actionsOfFn('promotion-step')).toEqual(['states:SendTaskFailure', 'states:SendTaskSuccess', 'states:StartExecution']);
    // a wave goes on (its child started with WaveStart's token) from the wave-start step, a resume, a start window's schedule
    expect(waveMachineStarters()).toEqual(['promotion-step', 'promotions-control', 'schedule-fire']);
    // a wave's child that ended without telling its parent: the parent's token failed, nothing else
    expect(actionsOfFn('wave-status')).toEqual(['states:SendTaskFailure']);
    expect(actionsOfFn('promotions-create')).toContain('states:StartExecution');
    // an approver's decision answers the approval's token (approve: success, reject: failure); it starts nothing
    expect(actionsOfFn('promotions-decide')).toEqual(['states:SendTaskFailure', 'states:SendTaskSuccess']);
    // an alarm asks the flow (fails its waiting tokens); it ends nothing itself, so it resumes and starts nothing
    expect(actionsOfFn('alarm-state')).toEqual(['states:SendTaskFailure']);
    expect(actionsOfFn('items-create')).toEqual([]);
    function waveMachineStarters() {
      return [...functionIds()]
        .filter(([, id]) => statementsOf(id).some((st) => JSON.stringify(st.Resource).includes(waveByName)))
        .map(([n]) => n)
        .sort();
    }
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
      'audit-ship',
      'auto-promote',
      'notifier',
      'registry-push',
      'schedule-fire',
      'stream',
      'wave-status',
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

describe('identity providers', () => {
  it('only the functions that save or remove a connection hold the user pool identity provider actions, on the user pool alone', () => {
    const IDP = [
      'cognito-idp:CreateIdentityProvider',
      'cognito-idp:UpdateIdentityProvider',
      'cognito-idp:DeleteIdentityProvider',
      'cognito-idp:DescribeIdentityProvider',
      'cognito-idp:DescribeUserPoolClient',
      'cognito-idp:UpdateUserPoolClient',
    ];
    const held: Record<string, string[]> = {};
    for (const [name, id] of functionIds()) {
      const actions = actionsOf(id).filter((a) => IDP.includes(a));
      if (actions.length) held[name] = [...new Set(actions)].sort();
    }
    // The connection's routes (GET, PUT, DELETE /access/identity-provider) are one function (functions/http/topology.ts).
    expect(held).toEqual({ 'secret-writers': [...IDP].sort() });
    const userPool = template.findResources('AWS::Cognito::UserPool');
    const poolArn = `<${Object.keys(userPool)[0]}.Arn>`;
    for (const s of statementsOf(functionIds().get('secret-writers')!)) {
      const actions = [s.Action].flat() as string[];
      if (actions.some((a) => IDP.includes(a))) expect(flat(s.Resource), JSON.stringify(s)).toBe(poolArn);
    }
    // The groups an identity provider sends are kept in the user pool's custom attribute its mapping writes.
    const schema = (Object.values(userPool)[0] as Resource).Properties.Schema as { Name: string; Mutable?: boolean }[];
    expect(schema.find((a) => a.Name === 'idp_groups')).toMatchObject({ Mutable: true });
  });
});
