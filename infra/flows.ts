import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { ArnFormat, CfnOutput, RemovalPolicy, Validations, type Stack } from 'aws-cdk-lib';
import { noFunctionDlq } from './acknowledgements.ts';
import { logGroup } from './function.ts';
import { StackPart } from './part.ts';
import { aslPath, type SubstitutionKey } from './state-machines.ts';

/**
 * The promotion flow: statemachines/promotion.asl.json, one Standard state machine for promotions
 * and rollbacks alike (STATE_MACHINES; a rollback is a promotion record with `rollback` set), every
 * task calling the promotion-step function.
 *
 * Upgrades lose nothing (docs/operations/upgrading.md): each deploy that changes a definition or the step's code
 * publishes a version of the state machine (its definition naming the step function's version of that deploy, not
 * the function), and executions start through the `live` alias, which points at the newest. An execution runs to its
 * end on the version it started with, so on the step code it started with; old versions are retained (never deleted
 * by a deploy) and retired by `npm run retire-versions` once no execution runs on them.
 */
export class PromotionFlow extends StackPart {
  readonly machine: sfn.StateMachine;
  /**
   * Functions refer to the machine by its ARN built from the name, never by reference: the machine
   * depends on the step function, and the step's environment names schedule-fire, which starts flows.
   */
  readonly machineArn: string;
  /** A wave of many targets as a child execution (statemachines/wave.asl.json), started with the parent's WaveStart token. */
  readonly waveMachine: sfn.StateMachine;
  /** By name, as {@link machineArn}: the step function starts it and the machine invokes the step function. */
  readonly waveMachineArn: string;
  /** The `live` alias executions start through (by name, as {@link machineArn}): `<machineArn>:live`. */
  readonly aliasArn: string;
  /** The wave machine's `live` alias. */
  readonly waveAliasArn: string;

  constructor(stack: Stack, id: string, stepFn: lambda.Function) {
    super(stack, id);
    // The step function's version of this deploy (a new one whenever its code or configuration changed): the
    // definition names it, so a version of the machine runs the step code it was deployed with.
    const stepVersion = stepFn.currentVersion;
    // Kept when the next deploy makes another: executions of an older machine version still invoke it.
    stepVersion.applyRemovalPolicy(RemovalPolicy.RETAIN);
    const substitutions: Record<SubstitutionKey<'promotion'>, string> = { PromotionStepFunctionArn: stepVersion.functionArn };
    // Named, so the step function can be granted on its ARN without a dependency cycle
    // (machine -> function ARN -> function policy -> machine).
    const machineName = `${stack.stackName}-promotion`;
    const promotionLogs = logGroup(
      stack,
      'PromotionStateMachineLogs',
      logs.RetentionDays.THREE_MONTHS,
      "the promotion flow's execution events, without execution data (includeExecutionData: false)",
      vendedLogGroupName(machineName),
    );
    this.machine = new sfn.StateMachine(stack, 'PromotionStateMachine', {
      stateMachineName: machineName,
      definitionBody: sfn.DefinitionBody.fromFile(aslPath('promotion')),
      definitionSubstitutions: substitutions,
      // Standard: approvals wait for days, and each step must run exactly once.
      stateMachineType: sfn.StateMachineType.STANDARD,
      // Events only: execution data (inputs/outputs) stays out of the logs.
      logs: { destination: promotionLogs, level: sfn.LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    // The step function's versions: every version of the machine (an old one still running executions too, with the one
    // role all versions share) invokes the version it names; never the unqualified function.
    const stepVersions = `${stepFn.functionArn}:*`;
    this.machine.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [stepVersions] }));
    this.machineArn = stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: machineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    // Each wave of many targets its own execution, whose history is bounded by its batches (domain/promotion/rollout/wave-run.ts).
    const waveName = `${stack.stackName}-wave`;
    const waveSubstitutions: Record<SubstitutionKey<'wave'>, string> = { PromotionStepFunctionArn: stepVersion.functionArn };
    this.waveMachine = new sfn.StateMachine(stack, 'WaveStateMachine', {
      stateMachineName: waveName,
      definitionBody: sfn.DefinitionBody.fromFile(aslPath('wave')),
      definitionSubstitutions: waveSubstitutions,
      stateMachineType: sfn.StateMachineType.STANDARD,
      logs: {
        destination: logGroup(
          stack,
          'WaveStateMachineLogs',
          logs.RetentionDays.THREE_MONTHS,
          "the wave executions' events, without execution data (includeExecutionData: false)",
          vendedLogGroupName(waveName),
        ),
        level: sfn.LogLevel.ALL,
        includeExecutionData: false,
      },
      tracingEnabled: true,
    });
    this.waveMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [stepVersions] }));
    this.waveMachineArn = stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: waveName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    for (const m of [this.machine, this.waveMachine])
      Validations.of(m).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(stepFn.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
        reason:
          "The promotion step function's versions, one per deploy: each version of the machine invokes the one it was deployed with, and an execution started before a deploy runs on with the role every version shares.",
      });
    this.aliasArn = publishLive(stack, 'Promotion', this.machine, this.machineArn);
    this.waveAliasArn = publishLive(stack, 'Wave', this.waveMachine, this.waveMachineArn);
    noFunctionDlq(
      stepFn,
      "Invoked only by this state machine, synchronously (lambda:invoke tasks, RequestResponse): an error is the task's, retried and caught by the states' Retry and Catch (statemachines/promotion.asl.json); a function DLQ applies to asynchronous invocations only.",
    );
    // The "*" statements CDK adds to its role for `logs` and `tracingEnabled` are acknowledged on that policy, by what they hold (infra/acknowledgements.ts).
  }
}

/** The alias executions start through; versions are published to it. */
export const LIVE_ALIAS = 'live';

/**
 * Publishes a version of `machine` on every deploy that changes it (the version follows the machine's revision id)
 * and points the `live` alias at it; returns the alias's ARN, built by name. A version is retained when a deploy
 * replaces it, so executions that started on it run on.
 */
function publishLive(stack: Stack, id: string, machine: sfn.StateMachine, machineArn: string): string {
  const version = new sfn.CfnStateMachineVersion(stack, `${id}StateMachineVersion`, {
    stateMachineArn: machine.stateMachineArn,
    stateMachineRevisionId: machine.stateMachineRevisionId,
    description: 'Published by the deploy that made it; retired by npm run retire-versions once no execution runs on it.',
  });
  version.applyRemovalPolicy(RemovalPolicy.RETAIN);
  const alias = new sfn.CfnStateMachineAlias(stack, `${id}StateMachineAlias`, {
    name: LIVE_ALIAS,
    description: 'Where new executions start: the version of the latest deploy.',
    routingConfiguration: [{ stateMachineVersionArn: version.attrArn, weight: 100 }],
  });
  new CfnOutput(stack, `${id}StateMachineAliasArn`, { value: alias.attrArn });
  return `${machineArn}:${LIVE_ALIAS}`;
}

/**
 * A state machine's log group, named under `/aws/vendedlogs/` as Step Functions advises: log delivery's statement in
 * the account's CloudWatch Logs resource policy then covers every such group at once (`/aws/vendedlogs/*`) instead of
 * growing by one per group. That policy holds 5,120 characters for the whole account and region, so in a shared
 * account near it a first deploy with groups named otherwise fails.
 */
export const vendedLogGroupName = (machineName: string) => `/aws/vendedlogs/states/${machineName}`;
