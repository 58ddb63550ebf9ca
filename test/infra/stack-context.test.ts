import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { FALLBACK_HANDLER } from '../../functions/http/routes.ts';
import { functionOf } from '../../functions/http/topology.ts';
import { servesAppKeys } from '../../infra/access.ts';
import { APP_READ_CONCURRENCY, ecrRepositoriesFrom, flagFrom } from '../../infra/context.ts';
import { bundleFunction } from '../../infra/bundle.ts';
import { REPO_ROOT } from '../../infra/function.ts';
import { stackNames } from '../../infra/names.ts';
import type { StagelineStack } from '../../infra/stack.ts';
import { SYNTH_TIMEOUT, flat, functionIds, mayOverlap, synthesized, unbundled, type Resource } from '../support/cdk-template.ts';

/** The stack's template (test/support/cdk-template.ts) beside stacks synthesized with other context: a second stack in the account, the context's settings. */
let stack: StagelineStack;
let template: Template;

beforeAll(() => {
  ({ stack, template } = synthesized());
}, SYNTH_TIMEOUT);

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
    // Tenants' secrets: only those of the tenant in the session tag (the tenant secrets role, test/infra/stack-iam.test.ts).
    expect(a.secrets.sort()).toEqual([
      expect.stringMatching(/:secret:stageline\/\$\{aws:PrincipalTag\/tenant\}\/\*$/),
      expect.stringMatching(/:secret:stageline\/\$\{aws:PrincipalTag\/tenant\}\/webhooks\/\*$/),
    ]);
    expect(b).toMatchObject({ bus: ['stageline-staging'], scheduleGroup: ['stageline-staging'], secretsPrefix: ['stageline-staging/'] });
    for (const key of Object.keys(a) as (keyof typeof a)[]) {
      expect(a[key].length, key).toBeGreaterThan(0);
      expect(b[key].length, key).toBe(a[key].length);
      const shared = a[key].flatMap((x) => b[key].filter((y) => mayOverlap(x, y)).map((y) => `${x} ~ ${y}`));
      expect(shared, key).toEqual([]);
    }
    expect(stackNames(stack)).toEqual({
      eventBus: 'stageline',
      scheduleGroup: 'stageline',
      secretsPrefix: 'stageline/',
      attestationKeyAliasPrefix: 'alias/stageline/tenant/',
    });
    expect(stackNames(second).attestationKeyAliasPrefix).toBe('alias/stageline-staging/tenant/');
    expect(() => unbundled({ stackName: 'stage line' })).toThrow(/context stackName/);
    expect(() => unbundled({ stackName: `S${'x'.repeat(64)}` })).toThrow(/context stackName/);
  });

  it("names each its login domain with a prefix Cognito takes (at most 63 characters with the account's 12 digits, no reserved word), distinct for long names that share a start", () => {
    /** The domain prefix as CloudFormation will make it, with a 12-digit account for the AccountId reference. */
    const prefixOf = (t: Template) => {
      const domain = Object.values(t.findResources('AWS::Cognito::UserPoolDomain'))[0]!.Properties.Domain as unknown;
      return flat(domain).replace(/\$\{AWS::AccountId\}|<AWS::AccountId>|\{"Ref":"AWS::AccountId"\}/g, '123456789012');
    };
    expect(prefixOf(template)).toBe('stageline-123456789012');
    const long = (name: string) => prefixOf(Template.fromStack(unbundled({ stackName: name }).stack));
    const fifty = `Stageline-${'a'.repeat(40)}`;
    const names = [`${fifty}-one`, `${fifty}-two`, `S${'x'.repeat(63)}`, 'Stageline-Amazon-Cognito-AWS', `Stageline-${'b'.repeat(40)}-`];
    const prefixes = names.map(long);
    for (const [i, p] of prefixes.entries()) {
      expect(p.length, names[i]).toBeLessThanOrEqual(63);
      expect(p, names[i]).toMatch(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/);
      expect(p, names[i]).not.toMatch(/aws|amazon|cognito/);
    }
    expect(new Set(prefixes).size).toBe(prefixes.length);
  }, 240_000);
});

describe('the deploy page', () => {
  it("lists the stack's outputs as the template has them, and states its resource count", () => {
    const page = readFileSync(path.join(REPO_ROOT, 'docs', 'operations', 'deploy-aws.md'), 'utf8');
    const stated = /^Outputs: ((?:`\w+`(?:,\s*|\.))+)/m.exec(page);
    expect(stated, 'a line "Outputs: `A`, `B`." on the page').not.toBeNull();
    const listed = [...stated![1]!.matchAll(/`(\w+)`/g)].map((m) => m[1]);
    const count = Object.keys(template.toJSON().Resources).length;
    expect(listed.sort(), `the template holds ${count} resources`).toEqual(Object.keys(template.toJSON().Outputs ?? {}).sort());
    const said = /the synthesized template holds <!-- stack:resources -->(\d+)<!-- \/stack --> resources/.exec(page);
    expect(said, 'the page states the resource count').not.toBeNull();
    // Written from the template by npm run docs (test/infra/stack-docs.test.ts holds every such figure).
    expect(Number(said![1]), `the template holds ${count} resources: run npm run docs`).toBe(count);
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

describe('Amazon ECR registries (ecrRepositories)', () => {
  it('lets exactly the functions whose bundle copies, attaches or checks signatures ask for ECR tokens, and pull (and push) only on the named repositories', () => {
    const repos = ['arn:aws:ecr:eu-west-1:123456789012:repository/web/*', 'arn:aws:ecr:eu-west-1:123456789012:repository/api'];
    const { stack: ecrStack } = unbundled({ registryCredentialsSecret: 'registry-credentials', ecrRepositories: repos.join(',') });
    const tpl = Template.fromStack(ecrStack);
    const all = tpl.toJSON().Resources as Record<string, Resource>;
    const ecrStatements = (fnId: string) => {
      const roleId = all[fnId]!.Properties.Role['Fn::GetAtt'][0];
      return Object.values(all)
        .filter((p) => p.Type === 'AWS::IAM::Policy' && (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
        .filter((st) => [st.Action].flat().some((a) => a.startsWith('ecr:')));
    };
    const pull = ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'];
    const push = ['ecr:CompleteLayerUpload', 'ecr:InitiateLayerUpload', 'ecr:PutImage', 'ecr:UploadLayerPart'];
    const ids = new Map(
      Object.entries(all)
        .filter(([, r]) => r.Type === 'AWS::Lambda::Function' && String(r.Properties.Description).startsWith('Stageline '))
        .map(([id, r]) => [String(r.Properties.Description).replace(/^Stageline /, ''), id]),
    );
    const granted = new Map<string, { token: boolean; repositories: string[] }>();
    for (const [name, id] of ids) {
      const st = ecrStatements(id);
      if (!st.length) continue;
      // The token API on "*" alone (AWS requires it; CDK merges it into the statement of X-Ray's actions on "*"), everything else on the named repositories alone.
      const token = st.filter((s) => s.Resource === '*');
      for (const s of token)
        expect(
          [s.Action].flat().filter((a) => a.startsWith('ecr:')),
          name,
        ).toEqual(['ecr:GetAuthorizationToken']);
      const onRepos = st.filter((s) => !token.includes(s));
      for (const s of onRepos) {
        expect([s.Resource].flat().sort(), name).toEqual([...repos].sort());
        expect(
          [s.Action].flat().every((a) => a.startsWith('ecr:')),
          name,
        ).toBe(true);
      }
      granted.set(name, { token: token.length > 0, repositories: onRepos.flatMap((s) => [s.Action].flat()).sort() });
    }
    // What each bundle does with a registry (infra/adapters.ts: the ecr-tokens module and its port calls).
    const expected = new Map<string, { token: boolean; repositories: string[] }>();
    for (const name of ids.keys()) {
      const bundle = bundleFunction(name, { traceSdk: false, reuseAny: true });
      if (!bundle.modules.has('functions/adapters/ecr-tokens.ts')) continue;
      const writes = bundle.calls.has('registry.sync') || bundle.calls.has('registry.attach');
      const reads = writes || bundle.calls.has('registry.verifySignature');
      if (reads) expected.set(name, { token: true, repositories: (writes ? [...pull, ...push] : pull).sort() });
    }
    console.log(`functions that may ask for ECR tokens (${expected.size}): ${[...expected.keys()].sort().join(', ')}`);
    expect(expected.size).toBeGreaterThan(0);
    expect(Object.fromEntries([...granted].sort())).toEqual(Object.fromEntries([...expected].sort()));
    // Without the context no function may touch ECR.
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).not.toContain('"ecr:');
  });

  it('refuses an ecrRepositories entry that is not a repository ARN (a wildcard account, region or "*")', () => {
    expect(ecrRepositoriesFrom('["arn:aws:ecr:eu-west-1:123456789012:repository/web"]')).toEqual(['arn:aws:ecr:eu-west-1:123456789012:repository/web']);
    expect(() => ecrRepositoriesFrom('*')).toThrow(/ecrRepositories: '\*' is not an ECR repository ARN/);
    expect(() => ecrRepositoriesFrom('arn:aws:ecr:*:123456789012:repository/web')).toThrow(/not an ECR repository ARN/);
    expect(() => ecrRepositoriesFrom('arn:aws:ecr:eu-west-1:*:repository/web')).toThrow(/not an ECR repository ARN/);
    expect(ecrRepositoriesFrom(undefined)).toEqual([]);
  });
});
