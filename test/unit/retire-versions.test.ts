import { DeleteFunctionCommand, LambdaClient, ListVersionsByFunctionCommand } from '@aws-sdk/client-lambda';
import {
  DeleteStateMachineVersionCommand,
  DescribeStateMachineAliasCommand,
  DescribeStateMachineCommand,
  ListExecutionsCommand,
  ListStateMachineAliasesCommand,
  ListStateMachineVersionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { describePlan, readVersions, retire, retirementPlan } from '../../scripts/retire-versions.ts';

/**
 * Retiring the versions a deploy left behind (scripts/retire-versions.ts, docs/operations/upgrading.md): a version of
 * a machine goes only when no alias routes to it and nothing runs on it; a step function version only when no kept
 * machine version invokes it.
 */
const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:stageline-promotion';
const STEP = 'arn:aws:lambda:eu-west-1:123456789012:function:stageline-step';
const definition = (n: number) => JSON.stringify({ States: { Decide: { Type: 'Task', Parameters: { FunctionName: `${STEP}:${n}` } } } });

const sfn = mockClient(SFNClient);
const lambda = mockClient(LambdaClient);
beforeEach(() => {
  sfn.reset();
  lambda.reset();
  sfn.on(ListStateMachineAliasesCommand).resolves({ stateMachineAliases: [{ stateMachineAliasArn: `${MACHINE}:live`, creationDate: new Date() }] });
  sfn.on(DescribeStateMachineAliasCommand).resolves({ routingConfiguration: [{ stateMachineVersionArn: `${MACHINE}:3`, weight: 100 }] });
  sfn
    .on(ListStateMachineVersionsCommand)
    .resolvesOnce({ stateMachineVersions: [3, 2].map((n) => ({ stateMachineVersionArn: `${MACHINE}:${n}`, creationDate: new Date() })), nextToken: 'more' })
    .resolves({ stateMachineVersions: [{ stateMachineVersionArn: `${MACHINE}:1`, creationDate: new Date() }] });
  // Version 2 still has an execution waiting for approval; version 1 has none.
  sfn.on(ListExecutionsCommand).resolves({ executions: [] });
  sfn.on(ListExecutionsCommand, { stateMachineArn: `${MACHINE}:2` }).resolves({
    executions: [{ executionArn: 'x', stateMachineArn: MACHINE, name: 'p', status: 'RUNNING', startDate: new Date() }],
  });
  for (const n of [1, 2, 3]) sfn.on(DescribeStateMachineCommand, { stateMachineArn: `${MACHINE}:${n}` }).resolves({ definition: definition(n + 10) });
  lambda
    .on(ListVersionsByFunctionCommand)
    .resolves({ Versions: ['$LATEST', '9', '11', '12', '13'].map((v) => ({ Version: v, FunctionArn: v === '$LATEST' ? STEP : `${STEP}:${v}` })) });
});

describe('retiring versions nothing runs on', () => {
  it('keeps the version the alias routes to and one with a running execution; retires the rest and the step versions only they named', async () => {
    const read = await readVersions(new SFNClient({}), new LambdaClient({}), [MACHINE]);
    expect(read.versions.map((v) => [v.arn.split(':').pop(), v.routed, v.running, v.invokes])).toEqual([
      ['3', true, 0, [`${STEP}:13`]],
      ['2', false, 1, [`${STEP}:12`]],
      ['1', false, 0, [`${STEP}:11`]],
    ]);
    const plan = retirementPlan(read.versions, read.functionVersions);
    expect(plan.keep.map((k) => k.why)).toEqual(['the live alias routes to it', '1 execution(s) running on it']);
    expect(plan.retire).toEqual([`${MACHINE}:1`]);
    // Version 9 was never named by a machine version (published by hand?): left alone.
    expect(plan.retireFunctions).toEqual([`${STEP}:11`]);
    expect(describePlan(plan, false)).toContain('(dry run: --apply deletes them)');
    expect(sfn.commandCalls(DeleteStateMachineVersionCommand)).toHaveLength(0);
    await retire(new SFNClient({}), new LambdaClient({}), plan);
    expect(sfn.commandCalls(DeleteStateMachineVersionCommand).map((c) => c.args[0].input)).toEqual([{ stateMachineVersionArn: `${MACHINE}:1` }]);
    expect(lambda.commandCalls(DeleteFunctionCommand).map((c) => c.args[0].input)).toEqual([{ FunctionName: 'stageline-step', Qualifier: '11' }]);
  });

  it('retires nothing while every old version still runs something, and says so', () => {
    const plan = retirementPlan(
      [
        { arn: `${MACHINE}:2`, routed: true, running: 0, invokes: [`${STEP}:2`] },
        { arn: `${MACHINE}:1`, routed: false, running: 3, invokes: [`${STEP}:1`] },
      ],
      [`${STEP}:1`, `${STEP}:2`],
    );
    expect(plan.retire).toEqual([]);
    expect(plan.retireFunctions).toEqual([]);
    expect(describePlan(plan, false)).toContain('nothing to retire');
  });
});
