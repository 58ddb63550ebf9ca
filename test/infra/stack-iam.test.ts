import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { INSTANCE_ATTRIBUTES } from '../../functions/adapters/keys.ts';
import { FALLBACK_HANDLER, ROUTES, WORKFLOW_HANDLERS } from '../../functions/http/routes.ts';
import { FUNCTIONS, handlersOf } from '../../functions/http/topology.ts';
import { REPO_ROOT } from '../../infra/function.ts';
import { TENANT_LEADING_KEYS, READ_ACTIONS, WRITE_ACTIONS, dataAccessOf } from '../../infra/access.ts';
import { NARROW_READS, NARROW_WRITES } from '../../infra/background-writes.ts';
import { bundleFunction } from '../../infra/bundle.ts';
import { trustPolicySize, TRUST_POLICY_BUDGET, TRUST_POLICY_QUOTA } from '../../infra/store.ts';
import { SYNTH_TIMEOUT, actionsOf, flat, functionIds, statementsOf, synthesized, type Resource } from '../support/cdk-template.ts';

/** The stack's template (test/support/cdk-template.ts): least privilege, the tenant-fenced roles and the secrets key. */
let template: Template;

beforeAll(() => {
  ({ template } = synthesized());
}, SYNTH_TIMEOUT);

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
    const secretsRoleId = Object.keys(template.toJSON().Resources).find((id) => /^TenantSecretsRole[0-9A-F]{8}$/.test(id));
    const secretsRoleRef = JSON.stringify({ 'Fn::GetAtt': [secretsRoleId, 'Arn'] });
    for (const [name, id] of functionIds()) {
      const dynamo = actionsOf(id)
        // The stream's readers: its consumer and the audit stream's shipper (a second event source mapping of the same stream).
        .filter((a) => a.startsWith('dynamodb:') && !((name === 'stream' || name === 'audit-ship') && streamReads.includes(a)))
        .sort();
      const access = dataAccessOf(name);
      const background = (WORKFLOW_HANDLERS as readonly string[]).includes(name);
      // A background function whose writes are few and known writes with only those actions (infra/background-writes.ts; checked below).
      const writes = NARROW_WRITES[name] ? NARROW_WRITES[name]!.flatMap((w) => w.actions) : WRITE_ACTIONS;
      // A background function that only reads a few items (infra/background-writes.ts NARROW_READS) holds only those actions.
      const narrowReads = NARROW_READS[name]?.actions;
      const expected = narrowReads ?? (background ? { none: [], read: READ_ACTIONS, write: [...new Set([...READ_ACTIONS, ...writes])] }[access] : []);
      expect(dynamo, name).toEqual([...expected].sort());
      const assuming = statementsOf(id).filter((st) => [st.Action].flat().includes('sts:AssumeRole'));
      // Tenants' metric roles (CloudWatch analysis): only with an external id of the metric reader's form (the customers' trust
      // policies require their tenant's), never a role of the platform's own account.
      const metricRoles = assuming.filter((st) => JSON.stringify(st.Condition ?? null).includes('sts:ExternalId'));
      for (const st of metricRoles) {
        expect(st.Condition, name).toEqual({
          StringLike: { 'sts:ExternalId': ['stageline:*'] },
          StringNotEquals: { 'aws:ResourceAccount': ['${aws:PrincipalAccount}'] },
        });
        expect([st.Action].flat(), name).toEqual(['sts:AssumeRole']);
      }
      // The tenant secrets role (its own test below): every function whose bundle touches tenants' secrets, background ones too.
      const assume = assuming
        .filter((st) => !metricRoles.includes(st))
        .map((st) => ({ ...st, Resource: [st.Resource].flat().filter((r) => JSON.stringify(r) !== secretsRoleRef) }))
        .filter((st) => st.Resource.length);
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

  it('uses a "*" resource only where AWS has no resource-level permissions (X-Ray, the stream\'s ListStreams, making a tagged KMS key)', () => {
    for (const id of functionIds().values()) {
      for (const s of statementsOf(id) as { Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> }[]) {
        // dynamodb:ListStreams (the stream consumer's event source mapping) has no resource-level permissions either.
        if (s.Resource === '*')
          expect(
            [s.Action].flat().every(
              (a) =>
                a.startsWith('xray:') ||
                a === 'dynamodb:ListStreams' ||
                // A tenant's attestation key being made (no resource yet), only with the tag that marks it as one.
                ((a === 'kms:CreateKey' || a === 'kms:TagResource') &&
                  s.Condition?.StringEquals?.['aws:RequestTag/stageline:purpose']?.toString() === 'tenant-attestation'),
            ),
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

  it('lets only the execution roles of the API functions that assume a tenant-fenced role assume it, named by their role ids (and tagged stageline-api, with a tenant session tag); no cycle', () => {
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
            (st) =>
              [st.Action].flat().includes('sts:AssumeRole') &&
              [st.Resource].flat().some((r) => JSON.stringify(r) === JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] })),
          ),
        );
      expect(assumers.length, id).toBeGreaterThan(0);
      // The account, for the sessions of exactly those roles (aws:userid is `<role id>:<session>`).
      expect(flat(trust[0]!.Principal.AWS), id).toBe('arn:<AWS::Partition>:iam::<AWS::AccountId>:root');
      const sessions = [trust[0]!.Condition.StringLike['aws:userid']].flat().map(flat);
      expect(sessions.sort(), id).toEqual(assumers.map((r) => `<${r}.RoleId>:*`).sort());
      expect(trust[0]!.Action.sort(), id).toEqual(['sts:AssumeRole', 'sts:TagSession']);
      expect(trust[0]!.Condition, id).toEqual({
        StringEquals: { 'aws:PrincipalTag/stageline-api': 'true' },
        StringLike: { 'aws:RequestTag/tenant': '?*', 'aws:userid': expect.any(Array) },
      });
      for (const r of assumers) expect(all()[r]!.Properties.Tags, r).toEqual(expect.arrayContaining([{ Key: 'stageline-api', Value: 'true' }]));
      // Within its budget (three quarters of IAM's 2,048 characters), as the synth's own check models it.
      expect(trustPolicySize(assumers.length), id).toBeLessThanOrEqual(TRUST_POLICY_BUDGET);
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

  it('keeps each tenant-fenced role’s trust policy within 1,536 characters (three quarters of IAM’s default quota), every value at its longest', () => {
    // As IAM counts it (no white space), each template value at its longest: a role ARN with a 64-character name (CloudFormation's
    // longest generated name), a role's unique id (AROA and 17 characters), the `aws` partition, a 12-digit account.
    const longest = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(longest);
      if (!v || typeof v !== 'object') return v;
      const o = v as Record<string, any>;
      if (o.Ref === 'AWS::Partition') return 'aws';
      if (o.Ref === 'AWS::AccountId') return '123456789012';
      if (o['Fn::GetAtt']?.[1] === 'Arn') return `arn:aws:iam::123456789012:role/${'x'.repeat(64)}`;
      if (o['Fn::GetAtt']?.[1] === 'RoleId') return `AROA${'X'.repeat(17)}`;
      if (o['Fn::Join']) return (longest(o['Fn::Join'][1]) as string[]).join(o['Fn::Join'][0]);
      if (Object.keys(o).some((k) => k === 'Ref' || k.startsWith('Fn::'))) throw new Error(`a value the test cannot size: ${JSON.stringify(o)}`);
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, longest(x)]));
    };
    const roles = Object.keys(all()).filter((id) => /^Tenant(Read|Write|AppRead|Secrets)Role[0-9A-F]{8}$/.test(id));
    expect(roles).toHaveLength(4);
    const sizes = roles.map((id) => [id, JSON.stringify(longest(all()[id]!.Properties.AssumeRolePolicyDocument)).length] as const);
    console.log(`trust policy characters at their longest (IAM's quota ${TRUST_POLICY_QUOTA}):\n${sizes.map(([id, n]) => `  ${id}: ${n}`).join('\n')}`);
    for (const [id, n] of sizes) expect(n, id).toBeLessThanOrEqual(TRUST_POLICY_BUDGET);
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

  it("lets the pre-token trigger only read the table: GetItem and Query of the tenants' identity provider connection, group mapping and SCIM partitions (no index, no write), and nothing else its bundle does not use", () => {
    const id = functionIds().get('pre-token')!;
    const roleId = all()[id]!.Properties.Role['Fn::GetAtt'][0];
    const dynamo = roleStatements(roleId).filter((st) => [st.Action].flat().some((a: string) => a.startsWith('dynamodb:')));
    expect(dynamo).toHaveLength(1);
    expect([dynamo[0]!.Action].flat()).toEqual(['dynamodb:GetItem', 'dynamodb:Query']);
    // IAM fences the partition key only (no condition names a sort key): the three kinds of partition its keys are in.
    expect(dynamo[0]!.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['T#*#PEOPLE', 'T#*#TENANT', 'T#*#SCIM'] } });
    expect([dynamo[0]!.Resource].flat()).toHaveLength(1);
    expect(JSON.stringify(dynamo[0]!.Resource)).not.toContain('/index/');
    // Its other statements: logs and tracing only (no other AWS service its bundle does not call).
    const others = roleStatements(roleId)
      .flatMap((st) => [st.Action].flat() as string[])
      .filter((a) => !a.startsWith('dynamodb:') && !a.startsWith('xray:') && !a.startsWith('logs:'));
    expect(others).toEqual([]);
    // The user pool invokes it as its pre-token-generation trigger, V2_0 (the access token's claims too).
    const pools = Object.values(all()).filter((r) => r.Type === 'AWS::Cognito::UserPool');
    expect(pools).toHaveLength(1);
    const config = pools[0]!.Properties.LambdaConfig.PreTokenGenerationConfig;
    expect(config.LambdaVersion).toBe('V2_0');
    expect(config.LambdaArn).toEqual({ 'Fn::GetAtt': [id, 'Arn'] });
    // Its environment: the table's name (its one read) and what every function gets, no adapter's settings (no secret, bus, machine).
    const vars = Object.keys(all()[id]!.Properties.Environment?.Variables ?? {});
    expect(vars).toContain('TABLE_NAME');
    expect(vars.filter((v) => /SECRET|BUS|MACHINE|PREFIX|ARN|URL/.test(v))).toEqual([]);
  });

  it("lets no function's own role touch a tenant's secret: every read, write and delete goes through the tenant secrets role, fenced to the tenant in its session tag", () => {
    const secretActions = (st: { Action: string | string[] }) => [st.Action].flat().filter((a) => a.startsWith('secretsmanager:') || a === '*');
    const tenantSecretResource = (r: unknown) => /:secret:stageline\//.test(JSON.stringify(r));
    const roleOf = (name: string) => all()[functionIds().get(name)!]!.Properties.Role['Fn::GetAtt'][0] as string;
    // 1. No function role (nor any role but the tenant secrets role) holds a Secrets Manager action on the tenants' prefix.
    const [secretsRoleId] = Object.keys(all()).filter((id) => /^TenantSecretsRole[0-9A-F]{8}$/.test(id));
    expect(secretsRoleId).toBeDefined();
    for (const [roleId] of Object.entries(all()).filter(([id, r]) => r.Type === 'AWS::IAM::Role' && id !== secretsRoleId)) {
      const onTenantSecrets = roleStatements(roleId).filter(
        (st) => secretActions(st).length && [st.Resource].flat().some((r) => r === '*' || tenantSecretResource(r)),
      );
      expect(onTenantSecrets, roleId).toEqual([]);
    }
    // 2. The tenant secrets role: each statement on the secrets of the tenant in the session tag alone; a new secret only tagged with it.
    const statements = roleStatements(secretsRoleId!);
    expect(statements.length).toBeGreaterThan(0);
    const actions: string[] = [];
    for (const st of statements) {
      actions.push(...[st.Action].flat());
      for (const r of [st.Resource].flat())
        expect(JSON.stringify(r), JSON.stringify(st)).toMatch(/:secret:stageline\/\$\{aws:PrincipalTag\/tenant\}\/(\*|webhooks\/\*)"/);
      if ([st.Action].flat().includes('secretsmanager:CreateSecret'))
        expect(st.Condition).toEqual({
          StringEquals: { 'aws:RequestTag/stageline:tenant': ['${aws:PrincipalTag/tenant}'] },
          'ForAllValues:StringEquals': { 'aws:TagKeys': ['stageline:tenant'] },
        });
    }
    expect([...new Set(actions)].sort()).toEqual([
      'secretsmanager:CreateSecret',
      'secretsmanager:DeleteSecret',
      'secretsmanager:GetSecretValue',
      'secretsmanager:PutSecretValue',
      'secretsmanager:TagResource',
    ]);
    // 3. Assumed only with a tenant session tag, by exactly the roles of the functions whose bundle touches tenants' secrets.
    const trust = all()[secretsRoleId!]!.Properties.AssumeRolePolicyDocument.Statement as {
      Principal: { AWS: unknown };
      Action: string[];
      Condition: unknown;
    }[];
    expect(trust).toHaveLength(1);
    expect(trust[0]!.Action).toEqual(['sts:AssumeRole', 'sts:TagSession']);
    // The account, for the sessions of exactly those roles (aws:userid is `<role id>:<session>`), with the tenant tag.
    const condition = trust[0]!.Condition as { StringLike: Record<string, unknown> };
    expect(condition).toEqual({ StringLike: { 'aws:RequestTag/tenant': '?*', 'aws:userid': expect.any(Array) } });
    expect(JSON.stringify(trust[0]!.Principal.AWS)).toMatch(/:root"/);
    const trusted = [condition.StringLike['aws:userid']]
      .flat()
      .map((p) => (p as { 'Fn::Join': [string, [{ 'Fn::GetAtt': [string, string] }, string]] })['Fn::Join'][1][0]['Fn::GetAtt'][0])
      .sort();
    const secretModules = ['functions/adapters/secrets.ts', 'functions/adapters/webhook-secrets.ts'];
    const touching = FUNCTIONS.filter((name) => {
      const bundle = bundleFunction(name, { traceSdk: false, reuseAny: true });
      return secretModules.some((m) => bundle.modules.has(m));
    });
    console.log(`functions that reach tenants' secrets through the tenant secrets role (${touching.length}): ${touching.join(', ')}`);
    // secret-writers: the function that runs manifest apply, PUT …/git-target and the other saves of secrets (functions/http/topology.ts).
    expect(touching).toEqual(expect.arrayContaining(['promotion-step', 'secret-writers', 'webhook-deliver']));
    expect(trusted).toEqual([...new Set(touching.map(roleOf))].sort());
    for (const name of touching) {
      const id = functionIds().get(name)!;
      expect(all()[id]!.Properties.Environment.Variables.TENANT_SECRETS_ROLE_ARN, name).toEqual({ 'Fn::GetAtt': [secretsRoleId, 'Arn'] });
      const assume = statementsOf(id).filter((st) =>
        [st.Resource].flat().some((r) => JSON.stringify(r) === JSON.stringify({ 'Fn::GetAtt': [secretsRoleId, 'Arn'] })),
      );
      expect(assume.flatMap((st) => [st.Action].flat()).sort(), name).toEqual(['sts:AssumeRole', 'sts:TagSession']);
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
    // Only functions/adapters/secret-box.ts seals or opens (no other module calls AES-GCM on a tenant secret)…
    const source = (dir: string): string[] =>
      readdirSync(path.join(REPO_ROOT, dir), { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('.ts'))
        .map((f) => path.join(dir, f));
    const ciphers = [...source('functions'), ...source('domain')].filter((f) =>
      /createCipheriv|createDecipheriv/.test(readFileSync(path.join(REPO_ROOT, f), 'utf8')),
    );
    expect(ciphers).toEqual(['functions/adapters/secret-box.ts']);
    // …and a function holds the key exactly when its bundle carries it: sealed values stay sealed through the store and the
    // domain, sealed where a secret is written, opened where it is used (the webhook-gate caller, the Slack sender, the review guard).
    const roleOf = (name: string) => all()[functionIds().get(name)!]!.Properties.Role['Fn::GetAtt'][0] as string;
    const sealing = FUNCTIONS.filter((name) =>
      bundleFunction(name, { traceSdk: false, reuseAny: true }).modules.has('functions/adapters/secret-box.ts'),
    ).sort();
    const byRole = new Map<string, string[]>();
    for (const name of FUNCTIONS) byRole.set(roleOf(name), [...(byRole.get(roleOf(name)) ?? []), name]);
    console.log(
      `roles that may read the secrets key ${keyId} (${readers.length} roles; ${sealing.length} of ${FUNCTIONS.length} functions bundle secret-box.ts):\n${readers.map((r) => `  ${r}: ${(byRole.get(r) ?? ['(no function)']).join(', ')}`).join('\n')}`,
    );
    expect(sealing).toEqual([
      'audit-ship', // opens the audit stream destinations' secrets (a HEC token, OTLP headers) to ship to the SIEM
      'notifier', // opens the Slack and Teams webhooks to post
      'promotion-step', // opens a webhook gate's secret to sign the call, and a change-control credential (domain/promotion/run/change-hold.ts)
      'promotions-rebase', // runs the gates again; voids and opens again a change request
      'review', // the review page's nonces (functions/review/guard.ts)
      'schedule-fire', // opens a change-control credential to look at a waiting promotion's change request
      // seals what it is given: environments create/update (the webhook gates' secrets), notification settings (the Slack
      // and Teams webhooks), manifest apply (the secrets it resolved), the audit stream's destinations, PUT …/change-control;
      // with PUT …/git-target and the identity provider
      'secret-writers',
    ]);
    expect(handlersOf('secret-writers')).toEqual(
      expect.arrayContaining(['environments-create', 'environments-update', 'notifications-put', 'manifest-apply', 'audit-destinations-put']),
    );
    // Every reader is a function role, and every function on it bundles the box; every function bundling it can read it.
    for (const r of readers)
      expect(
        byRole.get(r)?.every((name) => sealing.includes(name)),
        r,
      ).toBe(true);
    expect([...new Set(sealing.map(roleOf))].sort()).toEqual(readers);
    expect(readers.some((r) => /^Tenant|^SchedulerRole|^ApiInvokeRole|^PromotionStateMachine/.test(r))).toBe(false);
    // The key's ARN is in the environment of exactly those functions.
    const withKey = FUNCTIONS.filter((name) => all()[functionIds().get(name)!]!.Properties.Environment?.Variables?.SECRETS_KEY_SECRET_ARN !== undefined).sort();
    expect(withKey).toEqual(sealing);
  });
});
