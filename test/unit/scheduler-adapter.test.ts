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

  it("creates a recurring cron() schedule in its time zone that stays, disabled while paused (a recurring promotion's calendar)", async () => {
    sched.on(CreateScheduleCommand).resolves({});
    await adapter().scheduleRecurring(
      'stageline-recur-acme-train',
      { cron: '0 9 * * 1-5', timeZone: 'Europe/Berlin', enabled: true },
      { tenant: 'acme', recurring: 'train' },
    );
    await adapter().scheduleRecurring(
      'stageline-recur-acme-train',
      { cron: '*/15 * * * *', timeZone: 'UTC', enabled: false },
      { tenant: 'acme', recurring: 'train' },
    );
    const [on, off] = sched.commandCalls(CreateScheduleCommand).map((c) => c.args[0].input);
    expect(on).toMatchObject({
      Name: 'stageline-recur-acme-train',
      ScheduleExpression: 'cron(0 9 ? * 2-6 *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      State: 'ENABLED',
      Target: { Arn: 'arn:fire', RoleArn: 'arn:role', Input: '{"tenant":"acme","recurring":"train"}' },
    });
    expect(on).not.toHaveProperty('ActionAfterCompletion');
    expect(off).toMatchObject({ ScheduleExpression: 'cron(0/15 * * * ? *)', ScheduleExpressionTimezone: 'UTC', State: 'DISABLED' });
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
