import type { AlarmReader, AlarmState } from '#domain/freeze/monitors';
import * as z from 'zod';
import { alarmStateChange } from '#domain/freeze/monitors';
import type { BusEvent } from './event-bus.ts';

/**
 * The local stand-in for DescribeAlarms, used under npm start when no CloudWatch-protocol server is
 * configured (CLOUDWATCH_ENDPOINT, e.g. moto_server, makes the stack use the AWS adapter instead).
 * It knows what the "CloudWatch Alarm State Change" events put on the local bus said; an alarm it
 * never heard of is INSUFFICIENT_DATA (which, as on AWS, does not block).
 */
export class LocalAlarms implements AlarmReader {
  private readonly known = new Map<string, AlarmState>();

  observe(e: BusEvent): void {
    const parsed = alarmStateChange.safeParse(e);
    if (!parsed.success) return;
    const d = parsed.data;
    for (const arn of d.resources)
      this.known.set(arn, {
        arn,
        name: d.detail.alarmName,
        state: d.detail.state.value,
        reason: d.detail.state.reason,
        updatedAt: d.detail.state.timestamp ?? d.time,
      });
  }

  async states(arns: string[]): Promise<AlarmState[]> {
    return arns.map(
      (arn) => this.known.get(arn) ?? { arn, name: arn.split(':alarm:')[1] ?? arn, state: 'INSUFFICIENT_DATA', reason: 'no state reported on the local bus' },
    );
  }
}

/** The default bus's AWS events a local user may put (POST /dev/events): CloudWatch alarm state changes and ECR pushes, never Stageline's own. */
export const LOCAL_AWS_EVENTS = { source: ['aws.cloudwatch'], 'detail-type': ['CloudWatch Alarm State Change'] };
export const LOCAL_ECR_EVENTS = { source: ['aws.ecr'], 'detail-type': ['ECR Image Action'] };
const ecrEvent = /* @__PURE__ */ z.object({
  source: z.literal('aws.ecr'),
  'detail-type': z.literal('ECR Image Action'),
  account: z.string(),
  region: z.string(),
  detail: z.record(z.string(), z.unknown()),
});

/**
 * `POST /dev/events` on the local gateway: `{ "source", "detail-type", "detail", "resources", "time" }` as
 * EventBridge would deliver it from the default bus; only LOCAL_AWS_EVENTS are taken (400 otherwise).
 */
export async function putAwsEvent(bus: { put(e: BusEvent & Record<string, unknown>): Promise<void> }, method: string, url: URL, body: Buffer) {
  if (url.pathname !== '/dev/events') return null;
  const answer = (status: number, value: unknown) => ({ status, type: 'application/json', body: JSON.stringify(value) });
  if (method !== 'POST') return answer(405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'POST an event' } });
  let e: unknown;
  try {
    e = JSON.parse(body.toString('utf8'));
  } catch {
    return answer(400, { error: { code: 'MALFORMED_JSON', message: 'the body must be one event as JSON' } });
  }
  const parsed = (e as { source?: unknown })?.source === 'aws.ecr' ? ecrEvent.safeParse(e) : alarmStateChange.safeParse(e);
  if (!parsed.success)
    return answer(400, {
      error: {
        code: 'VALIDATION_FAILED',
        message: `only "CloudWatch Alarm State Change" (aws.cloudwatch) and "ECR Image Action" (aws.ecr) events are taken: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      },
    });
  await bus.put({ ...(e as Record<string, unknown>), time: (e as { time?: string }).time ?? new Date().toISOString() } as BusEvent & Record<string, unknown>);
  return answer(202, { accepted: true });
}
