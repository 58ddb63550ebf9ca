import type { AlarmReader } from '#domain/freeze/monitors';
import { onFirstUse } from './on-first-use.ts';

/*
 * One module per adapter loaded on first use (onFirstUse): a bundle reads only the `import()`s of
 * the modules it imports, so each function carries (as chunks) only the adapters it composes, and
 * infra/adapters.ts gives it only their env and IAM.
 */

/** CloudWatch alarm states of monitors (functions/adapters/cloudwatch-alarms.ts). */
export const alarmsOnFirstUse = (): AlarmReader =>
  onFirstUse<AlarmReader>(() => import('./cloudwatch-alarms.ts').then((m) => new m.CloudWatchAlarms()), { states: true });
