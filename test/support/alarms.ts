// The local stack's deployment: account 000000000000, region us-east-1 (local/stack.ts).

/** The ARN of a CloudWatch alarm of the local stack's account and region. */
export const alarmArn = (name: string) => `arn:aws:cloudwatch:us-east-1:000000000000:alarm:${name}`;

/** A CloudWatch alarm going to ALARM, as EventBridge delivers it (at `at`, now unless told). */
export const alarmEvent = (alarm: string, reason: string, at = new Date().toISOString()) => ({
  source: 'aws.cloudwatch',
  'detail-type': 'CloudWatch Alarm State Change',
  account: '000000000000',
  region: 'us-east-1',
  time: at,
  resources: [alarm],
  detail: { alarmName: alarm.split(':alarm:')[1], state: { value: 'ALARM', reason, timestamp: at }, previousState: { value: 'OK' } },
});
