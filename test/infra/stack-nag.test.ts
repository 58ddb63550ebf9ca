import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CfnElement, Validations, type App } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { NAG_PACKS } from '../../infra/create-app.ts';
import type { StagelineStack } from '../../infra/stack.ts';
import { SYNTH_TIMEOUT, only, synthesized, type Resource } from '../support/cdk-template.ts';

/** The synthesized app (test/support/cdk-template.ts) under the cdk-nag packs, and what its acknowledgements say. */
let app: App;
let stack: StagelineStack;
let template: Template;

beforeAll(() => {
  ({ app, stack, template } = synthesized());
}, SYNTH_TIMEOUT);

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
