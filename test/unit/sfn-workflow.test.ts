import {
  ExecutionAlreadyExists,
  InvalidToken,
  SFNClient,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { SfnWorkflow, executionArn, executionName, sfnWorkflowFromEnv } from '../../functions/adapters/sfn-workflow.ts';

const sfn = mockClient(SFNClient);
afterEach(() => sfn.reset());

const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:PromotionStateMachine-abc';
const workflow = () =>
  new SfnWorkflow({
    promotionStateMachineArn: MACHINE,
    client: new SFNClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
  });
const meta = { $metadata: {} };

describe('SfnWorkflow (aws-sdk-client-mock)', () => {
  it('names executions after tenant and promotion: valid characters, ≤ 80, distinct', () => {
    const a = executionName({ tenant: 'acme', promotionId: '01J9Z7QK2M' });
    expect(a).toMatch(/^acme-01J9Z7QK2M-[0-9a-f]{16}$/);
    expect(executionName({ tenant: 'acme', promotionId: '01J9Z7QK2M' })).toBe(a);
    expect(executionName({ tenant: 'globex', promotionId: '01J9Z7QK2M' })).not.toBe(a);
    const long = executionName({ tenant: 't'.repeat(64), promotionId: 'p/with:odd chars'.repeat(10) });
    expect(long.length).toBeLessThanOrEqual(80);
    expect(long).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(executionName({ tenant: 'a_', promotionId: 'b' })).not.toBe(executionName({ tenant: 'a', promotionId: '_b' }));
  });

  it('starts one execution per promotion; a repeated start returns the same ARN', async () => {
    const name = executionName({ tenant: 'acme', promotionId: 'p1' });
    const arn = `arn:aws:states:eu-west-1:123456789012:execution:PromotionStateMachine-abc:${name}`;
    expect(executionArn(MACHINE, name)).toBe(arn);
    // Started through the live alias (or a version), the execution's ARN names the machine alone.
    expect(executionArn(`${MACHINE}:live`, name)).toBe(arn);
    expect(executionArn(`${MACHINE}:7`, name)).toBe(arn);
    sfn
      .on(StartExecutionCommand)
      .resolvesOnce({ executionArn: arn, startDate: new Date() })
      .rejects(new ExecutionAlreadyExists({ message: 'exists', ...meta }));
    expect(await workflow().start({ tenant: 'acme', promotionId: 'p1', approvalTimeoutSeconds: 86_410 })).toBe(arn);
    expect(await workflow().start({ tenant: 'acme', promotionId: 'p1', approvalTimeoutSeconds: 86_410 })).toBe(arn);
    const inputs = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    expect(inputs).toHaveLength(2);
    for (const i of inputs) expect(i).toEqual({ stateMachineArn: MACHINE, name, input: '{"tenant":"acme","promotionId":"p1","approvalTimeoutSeconds":86410}' });
  });

  it("starts nothing without the state machine ARN (one machine runs promotions and rollbacks: the former rollback machine's variable is not read)", async () => {
    await expect(sfnWorkflowFromEnv({}).start({ tenant: 'acme', promotionId: 'p1', approvalTimeoutSeconds: 86_410 })).rejects.toThrow(
      /PROMOTION_STATE_MACHINE_ARN/,
    );
    // The variable of the former rollback machine starts nothing.
    await expect(
      sfnWorkflowFromEnv({ ROLLBACK_STATE_MACHINE_ARN: MACHINE }).start({ tenant: 'acme', promotionId: 'p1', approvalTimeoutSeconds: 86_410 }),
    ).rejects.toThrow(/PROMOTION_STATE_MACHINE_ARN/);
    expect(sfn.commandCalls(StartExecutionCommand)).toEqual([]);
  });

  it('sends task success/failure; dead tokens answer false, other errors throw', async () => {
    sfn
      .on(SendTaskSuccessCommand)
      .resolvesOnce({})
      .rejectsOnce(new TaskDoesNotExist({ message: 'gone', ...meta }))
      .rejectsOnce(new TaskTimedOut({ message: 'late', ...meta }))
      .rejects(new Error('boom'));
    sfn
      .on(SendTaskFailureCommand)
      .resolvesOnce({})
      .rejects(new InvalidToken({ message: 'bad', ...meta }));
    const wf = workflow();
    expect(await wf.sendTaskSuccess('t', { next: 'execute' })).toBe(true);
    expect(await wf.sendTaskSuccess('t', { next: 'execute' })).toBe(false);
    expect(await wf.sendTaskSuccess('t', { next: 'execute' })).toBe(false);
    await expect(wf.sendTaskSuccess('t', { next: 'execute' })).rejects.toThrow('boom');
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]!.args[0].input).toEqual({ taskToken: 't', output: '{"next":"execute"}' });
    expect(await wf.sendTaskFailure('t', 'Rejected', 'not today')).toBe(true);
    expect(await wf.sendTaskFailure('t', 'Rejected', 'x'.repeat(40_000))).toBe(false);
    expect(sfn.commandCalls(SendTaskFailureCommand)[0]!.args[0].input).toEqual({ taskToken: 't', error: 'Rejected', cause: 'not today' });
    expect(sfn.commandCalls(SendTaskFailureCommand)[1]!.args[0].input.cause).toHaveLength(32_768);
  });
});
