import * as z from './zod.ts';

/** CloudWatch alarm ARNs, as monitors name them (domain/freeze/monitors.ts holds what monitors do). */

/** arn:aws:cloudwatch:<region>:<account>:alarm:<name> (names: 1-255 printable characters). */
const ALARM_ARN = /^arn:(aws|aws-cn|aws-us-gov):cloudwatch:([a-z]{2}(?:-[a-z]+)+-[0-9]):([0-9]{12}):alarm:([^\u0000-\u001f\u007f]{1,255})$/;

export const MAX_MONITORS = 10;

export interface AlarmRef {
  arn: string;
  region: string;
  account: string;
  name: string;
}

export function parseAlarmArn(arn: string): AlarmRef | null {
  const m = ALARM_ARN.exec(arn);
  return m ? { arn, region: m[2]!, account: m[3]!, name: m[4]! } : null;
}

export const monitors = /* @__PURE__ */ z.schema(() =>
  z
    .array(
      z.string().check(
        z.maxLength(400),
        z.refine((a) => parseAlarmArn(a) !== null, { message: 'must be a CloudWatch alarm ARN: arn:aws:cloudwatch:<region>:<account>:alarm:<name>' }),
        z.meta({
          pattern: ALARM_ARN.source,
          description:
            "A CloudWatch alarm ARN of this deployment's account and region, named under the tenant's namespace (<tenant>/<name>); another is refused with 400",
        }),
      ),
    )
    .check(
      z.maxLength(MAX_MONITORS),
      z.refine((a) => new Set(a).size === a.length, { message: 'monitors must be unique' }),
      z.describe(
        "CloudWatch alarm ARNs, unique, of this deployment's account and region, each alarm named <tenant>/<name>: another account, region or namespace is refused with 400",
      ),
    ),
);

/** Where this deployment runs: a monitor must be an alarm of the same account and region (the rule and DescribeAlarms see only those). */
