import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { ArnFormat, type Stack } from 'aws-cdk-lib';
import { noFunctionDlq } from './acknowledgements.ts';
import { logGroup } from './function.ts';
import { StackPart } from './part.ts';
import { aslPath, type SubstitutionKey } from './state-machines.ts';

/**
 * The promotion flow: statemachines/promotion.asl.json, one Standard state machine for promotions
 * and rollbacks alike (STATE_MACHINES; a rollback is a promotion record with `rollback` set), every
 * task calling the promotion-step function.
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

  constructor(stack: Stack, id: string, stepFn: lambda.IFunction) {
    super(stack, id);
    const substitutions: Record<SubstitutionKey<'promotion'>, string> = { PromotionStepFunctionArn: stepFn.functionArn };
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
    // Only the unqualified function ARN the definition invokes (grantInvoke would add `:*`).
    this.machine.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [stepFn.functionArn] }));
    this.machineArn = stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: machineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    // Each wave of many targets its own execution, whose history is bounded by its batches (domain/promotion/rollout/wave-run.ts).
    const waveName = `${stack.stackName}-wave`;
    const waveSubstitutions: Record<SubstitutionKey<'wave'>, string> = { PromotionStepFunctionArn: stepFn.functionArn };
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
    this.waveMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [stepFn.functionArn] }));
    this.waveMachineArn = stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: waveName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    noFunctionDlq(
      stepFn,
      "Invoked only by this state machine, synchronously (lambda:invoke tasks, RequestResponse): an error is the task's, retried and caught by the states' Retry and Catch (statemachines/promotion.asl.json); a function DLQ applies to asynchronous invocations only.",
    );
    // The "*" statements CDK adds to its role for `logs` and `tracingEnabled` are acknowledged on that policy, by what they hold (infra/acknowledgements.ts).
  }
}

/**
 * A state machine's log group, named under `/aws/vendedlogs/` as Step Functions advises: log delivery's statement in
 * the account's CloudWatch Logs resource policy then covers every such group at once (`/aws/vendedlogs/*`) instead of
 * growing by one per group. That policy holds 5,120 characters for the whole account and region, so in a shared
 * account near it a first deploy with groups named otherwise fails.
 */
export const vendedLogGroupName = (machineName: string) => `/aws/vendedlogs/states/${machineName}`;
