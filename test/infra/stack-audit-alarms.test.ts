import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { NAG_PACKS } from '../../infra/create-app.ts';
import { AlarmForwarderStack } from '../../infra/alarm-forwarder.ts';
import { REPO_ROOT } from '../../infra/function.ts';
import { CHECKPOINT_LOCK_DEFAULT } from '../../infra/context.ts';
import { SYNTH_TIMEOUT, actionsOf, functionIds, only, statementsOf, synthesized, unbundled, type Resource } from '../support/cdk-template.ts';

/** The stack's template (test/support/cdk-template.ts): the audit chain's stream consumer and anchor tick, alarms and who they reach. */
let app: App;
let template: Template;

beforeAll(() => {
  ({ app, template } = synthesized());
}, SYNTH_TIMEOUT);

describe('the stream consumer: audit chain anchoring and the event outbox', () => {
  it('reads the table stream through filtered event source mappings with bisect, bounded retries and a DLQ: the consumer, and the audit stream shipper (the chain head alone)', () => {
    const [, table] = only('AWS::DynamoDB::Table');
    expect(table.Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_IMAGE' });
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')) as Resource[];
    expect(mappings.map((m) => m.Properties.FunctionName.Ref).sort()).toEqual([functionIds().get('audit-ship'), functionIds().get('stream')].sort());
    const esm = mappings.find((m) => m.Properties.FunctionName.Ref === functionIds().get('stream'))!;
    const ship = mappings.find((m) => m.Properties.FunctionName.Ref === functionIds().get('audit-ship'))!;
    expect(ship.Properties).toMatchObject({
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 5,
      StartingPosition: 'TRIM_HORIZON',
      DestinationConfig: { OnFailure: { Destination: expect.anything() } },
    });
    expect(JSON.parse(ship.Properties.FilterCriteria.Filters[0].Pattern)).toEqual({
      eventName: ['INSERT', 'MODIFY'],
      dynamodb: { NewImage: { entity: { S: ['ChainHead'] } } },
    });
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
      // Every KMS statement names the checkpoint key, or tenants' attestation keys by the tag each carries (they are made at
      // run time: test/infra/stack-kms.test.ts holds their conditions to what the adapter sends).
      for (const st of statementsOf(id).filter((st) => [st.Action].flat().some((a: string) => a === 'kms:Sign' || a === 'kms:GetPublicKey'))) {
        const tagged = (st as { Condition?: Record<string, Record<string, unknown>> }).Condition?.StringEquals?.['aws:ResourceTag/stageline:purpose'];
        if (JSON.stringify(st.Resource).includes(':key/*')) expect(tagged, name).toEqual(['tenant-attestation']);
        else expect(st.Resource, name).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
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

describe('someone is told', () => {
  it('alarms to one SNS topic: failed/timed-out executions, function errors and throttles, API 5xx, every DLQ holding a message, a lagging stream consumer, a promotion stuck past its deadline', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Resource[];
    const [topicId] = only('AWS::SNS::Topic');
    for (const a of alarms) expect(a.Properties.AlarmActions, a.Properties.AlarmDescription).toEqual([{ Ref: topicId }]);
    const described = alarms.map((a) => a.Properties.AlarmDescription as string);
    expect(described.filter((d) => d.includes('execution failed'))).toEqual([
      'A promotion or rollback execution failed or timed out',
      "A wave's child execution failed, timed out or was stopped (its promotion rolled back)",
    ]);
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

describe("the audit stream's drain", () => {
  it('invokes the audit shipper every few minutes with {"drain": true} (within the lag alarm\'s 5-minute period), with a DLQ, and its async failures go to the on-failure destination', () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule')) as Resource[];
    const drains = rules.filter((r) => JSON.stringify(r.Properties.Targets ?? []).includes(functionIds().get('audit-ship')!));
    expect(drains).toHaveLength(1);
    const minutes = Number(/^rate\((\d+) minutes?\)$/.exec(drains[0]!.Properties.ScheduleExpression)?.[1]);
    expect(minutes).toBeGreaterThanOrEqual(1);
    expect(minutes).toBeLessThan(5);
    expect(drains[0]!.Properties.Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': [functionIds().get('audit-ship'), 'Arn'] },
        Input: JSON.stringify({ drain: true }),
        DeadLetterConfig: { Arn: expect.anything() },
      }),
    ]);
    const configs = Object.values(template.findResources('AWS::Lambda::EventInvokeConfig')) as Resource[];
    const own = configs.find((c) => JSON.stringify(c.Properties.FunctionName).includes(functionIds().get('audit-ship')!));
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

  it('refuses at synth a stack deployed from another region than homeRegion (the forwarded alarms would land on a bus with no rule), and the template itself refuses another region at deploy', () => {
    const forwarding = { alarmRegions: 'eu-west-1', homeRegion: 'us-east-1' };
    const before = process.env.CDK_DEFAULT_REGION;
    try {
      // The deploying profile's region, as the CDK CLI tells the app (CDK_DEFAULT_REGION).
      process.env.CDK_DEFAULT_REGION = 'eu-central-1';
      expect(() => unbundled(forwarding)).toThrow(/homeRegion is us-east-1.*eu-central-1/);
      process.env.CDK_DEFAULT_REGION = 'us-east-1';
      const { stack: home } = unbundled(forwarding);
      // A synthesized template deployed elsewhere anyway (another profile, a pipeline): CloudFormation refuses it before any resource.
      const rules = Template.fromStack(home).toJSON().Rules as Record<string, { Assertions: { Assert: unknown; AssertDescription: string }[] }>;
      const assertions = Object.values(rules ?? {}).flatMap((r) => r.Assertions);
      expect(assertions).toContainEqual({
        Assert: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] },
        AssertDescription: expect.stringMatching(/homeRegion us-east-1/),
      });
      // Without forwarding, the stack stays region-agnostic: no such rule, whatever the profile's region.
      process.env.CDK_DEFAULT_REGION = 'eu-central-1';
      expect(Template.fromStack(unbundled({}).stack).toJSON().Rules ?? {}).not.toHaveProperty('HomeRegion');
    } finally {
      if (before === undefined) delete process.env.CDK_DEFAULT_REGION;
      else process.env.CDK_DEFAULT_REGION = before;
    }
  });
});
