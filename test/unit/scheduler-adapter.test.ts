import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBridgeScheduler } from '../../functions/adapters/scheduler.ts';

const sched = mockClient(SchedulerClient);
afterEach(() => sched.reset());
const adapter = () => new EventBridgeScheduler(new SchedulerClient({ region: 'us-east-1' }), 'arn:fire', 'arn:role');

describe('EventBridgeScheduler (aws-sdk-client-mock)', () => {
  it('creates a one-time at() schedule in UTC that deletes itself, targeting schedule-fire', async () => {
    sched.on(CreateScheduleCommand).resolves({});
    await adapter().scheduleOnce('stageline-acme-prm_1', new Date('2026-12-01T09:00:00.000Z'), { tenant: 'acme', promotionId: 'prm_1' });
    expect(sched.commandCalls(CreateScheduleCommand)[0]!.args[0].input).toMatchObject({
      Name: 'stageline-acme-prm_1',
      ScheduleExpression: 'at(2026-12-01T09:00:00)',
      ScheduleExpressionTimezone: 'UTC',
      ActionAfterCompletion: 'DELETE',
      Target: { Arn: 'arn:fire', RoleArn: 'arn:role', Input: '{"tenant":"acme","promotionId":"prm_1"}' },
    });
  });

  it('replaces an existing schedule, and ignores cancelling one that is gone', async () => {
    sched.on(CreateScheduleCommand).rejects(new ConflictException({ message: 'exists', Message: 'exists', $metadata: {} } as never));
    sched.on(UpdateScheduleCommand).resolves({});
    await adapter().scheduleOnce('s', new Date('2026-12-01T09:00:00Z'), { tenant: 't', promotionId: 'p' });
    expect(sched.commandCalls(UpdateScheduleCommand)).toHaveLength(1);
    sched.on(DeleteScheduleCommand).rejects(new ResourceNotFoundException({ message: 'gone', Message: 'gone', $metadata: {} } as never));
    await expect(adapter().cancel('s')).resolves.toBeUndefined();
  });
});
