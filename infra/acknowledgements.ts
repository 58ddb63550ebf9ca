import * as iam from 'aws-cdk-lib/aws-iam';
import { AspectPriority, Aspects, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * cdk-nag acknowledgements written from what a resource holds, so that each reason stays true of
 * the resource it is on as the stack changes (NAG_PACKS in infra/create-app.ts; test/infra/stack-nag.test.ts).
 */

/**
 * A function without a function DLQ: AwsSolutions' Serverless pack and NIST 800-53 R5 check the same
 * property (DeadLetterConfig), so both are acknowledged with the one reason: how the function is invoked,
 * and where what fails goes instead.
 */
export function noFunctionDlq(fn: IConstruct, reason: string): void {
  Validations.of(fn).acknowledge({ id: 'Serverless-LambdaDLQ', reason }, { id: 'NIST.800.53.R5-LambdaDLQ', reason });
}

/** Actions that support no resource-level permissions (so a statement must name "*"), and where they come from. */
const WILDCARD_ONLY: { actions: RegExp; why: string }[] = [
  { actions: /^xray:(PutTraceSegments|PutTelemetryRecords|GetSamplingRules|GetSamplingTargets)$/, why: 'X-Ray tracing (`tracing: ACTIVE`, `tracingEnabled`)' },
  {
    actions: /^kms:(CreateKey|TagResource)$/,
    why: "a tenant's attestation key made on its first attestation: CreateKey has no resource yet (the key is being made), and the tags given with it are authorised as TagResource at creation; both are conditioned on the request's tag (and CreateKey on the key spec and usage)",
  },
  {
    actions: /^ecr:GetAuthorizationToken$/,
    why: "an Amazon ECR registry's Basic credentials (a token of the function's own role, renewed before its 12 h expire); the pulls and pushes it allows are authorised on the repositories named by ecrRepositories",
  },
  { actions: /^dynamodb:ListStreams$/, why: "the DynamoDB event source mapping of the table's stream (the stream itself is granted by its ARN)" },
  {
    actions:
      /^logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups)$/,
    why: "the state machine's log delivery to its log group (CloudWatch Logs vended-log actions)",
  },
];

/**
 * Every IAM policy of the stack: its statements on "*" acknowledged (AwsSolutions-IAM5) with a reason
 * naming exactly the actions they hold and why each has no resource to name (an action outside
 * WILDCARD_ONLY on "*" fails the synth); and, an inline policy (CDK's DefaultPolicy of one role),
 * NIST 800-53 R5's IAMNoInlinePolicy. A read-only aspect: it reads each policy as synthesized, after
 * every grant and after CDK splits an oversized policy (reading a policy document earlier freezes it
 * before that split).
 */
export function acknowledgePolicies(stack: Stack): void {
  Aspects.of(stack).add({ visit: (node) => acknowledgePolicy(stack, node) }, { priority: AspectPriority.READONLY });
}

/** Policies already acknowledged (each synth of the app invokes the aspect again). */
const seen = new WeakSet<IConstruct>();

function acknowledgePolicy(stack: Stack, node: IConstruct): void {
  if ((!(node instanceof iam.Policy) && !(node instanceof iam.ManagedPolicy)) || seen.has(node)) return;
  seen.add(node);
  const doc = stack.resolve(node.document) as { Statement?: { Action: string | string[]; Resource?: unknown }[] };
  const wildcard = [...new Set((doc.Statement ?? []).filter((st) => [st.Resource].flat().includes('*')).flatMap((st) => [st.Action].flat()))].sort();
  if (wildcard.length) {
    const unexplained = wildcard.filter((a) => !WILDCARD_ONLY.some((w) => w.actions.test(a)));
    if (unexplained.length)
      throw new Error(`${node.node.path} grants ${unexplained.join(', ')} on "*": name the resources, or say in infra/acknowledgements.ts why they cannot be`);
    const parts = WILDCARD_ONLY.map((w) => ({ why: w.why, actions: wildcard.filter((a) => w.actions.test(a)) })).filter((p) => p.actions.length);
    Validations.of(node).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `Only these actions are on "*", and none supports resource-level permissions: ${parts.map((p) => `${p.actions.join(', ')} (${p.why})`).join('; ')}.`,
    });
  }
  if (node instanceof iam.Policy) {
    const cfn = node.node.defaultChild as iam.CfnPolicy;
    const role = node.node.scope;
    const attached = JSON.stringify([stack.resolve(cfn.roles) ?? [], stack.resolve(cfn.users) ?? [], stack.resolve(cfn.groups) ?? []]);
    if (!(role instanceof iam.Role) || attached !== JSON.stringify([[{ Ref: stack.getLogicalId(role.node.defaultChild as iam.CfnRole) }], [], []])) {
      throw new Error(`${node.node.path}: an inline policy not of its one role alone`);
    }
    Validations.of(node).acknowledge({
      id: 'NIST.800.53.R5-IAMNoInlinePolicy',
      reason: `CDK's policy of the one role ${role.node.path}: it holds that role's grants alone and is created, changed and deleted with it; a managed policy could be attached to other principals, which nothing here needs.`,
    });
  }
}
