/** Context values of infra/context.ts that have rules of their own (read and checked there, once). */

const ECR_REPOSITORY_ARN = /^arn:aws(?:-[a-z]+)*:ecr:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:repository\/[a-z0-9][a-z0-9._/-]*\*?$/;

/** `ecrRepositories`: repository ARNs (a trailing * allowed), never a wildcard account, region or service-wide "*". */
export function ecrRepositoriesFrom(raw: unknown): string[] {
  if (raw === undefined || raw === null || raw === '') return [];
  const list = (
    Array.isArray(raw) ? raw.map(String) : String(raw).trim().startsWith('[') ? (JSON.parse(String(raw)) as unknown[]).map(String) : String(raw).split(',')
  )
    .map((a) => a.trim())
    .filter(Boolean);
  for (const arn of list) {
    if (!ECR_REPOSITORY_ARN.test(arn))
      throw new Error(`ecrRepositories: '${arn}' is not an ECR repository ARN (arn:aws:ecr:<region>:<account>:repository/<name>, a trailing * allowed)`);
  }
  return list;
}

/** The recommended reserved concurrency of EACH app-read function (the unauthenticated function URLs: effective config, OFREP), once the account's quota allows it: `-c appReadConcurrency=100`. Nothing is reserved unless told. */
export const APP_READ_CONCURRENCY = 100;

/** The checkpoint bucket's Object Lock for production: compliance mode, ten years (checkpointLockMode, checkpointRetentionDays). */
export const CHECKPOINT_LOCK_DEFAULT = { mode: 'COMPLIANCE', days: 3650 } as const;

/** appReadConcurrency: a positive integer (per app-read function), or "none" (the default: a first deploy into a new account reserves nothing). */
export function appReadConcurrencyFrom(raw: unknown): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (raw === 'none') return undefined;
  const n = typeof raw === 'number' ? raw : /^\d+$/.test(String(raw)) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`context appReadConcurrency must be a positive integer (reserved for each app-read function) or "none"; got ${JSON.stringify(raw)}`);
  return n;
}

/** checkpointLockMode and checkpointRetentionDays: the checkpoint bucket's Object Lock (default CHECKPOINT_LOCK_DEFAULT). */
export function checkpointLockFrom(mode: unknown, days: unknown): { mode: 'COMPLIANCE' | 'GOVERNANCE'; days: number } {
  const m = mode ?? CHECKPOINT_LOCK_DEFAULT.mode;
  if (m !== 'COMPLIANCE' && m !== 'GOVERNANCE') throw new Error(`context checkpointLockMode must be COMPLIANCE or GOVERNANCE; got ${JSON.stringify(mode)}`);
  const d =
    days === undefined || days === null ? CHECKPOINT_LOCK_DEFAULT.days : typeof days === 'number' ? days : /^\d+$/.test(String(days)) ? Number(days) : NaN;
  // S3 takes up to 100 years of default retention.
  if (!Number.isInteger(d) || d < 1 || d > 36_500)
    throw new Error(`context checkpointRetentionDays must be a whole number of days from 1 to 36500; got ${JSON.stringify(days)}`);
  return { mode: m, days: d };
}

const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d$/;

/**
 * Context `alarmRegions` (regions whose alarms targets watch: a comma-separated list or a JSON array) and
 * `homeRegion` (the region the Stageline stack deploys to, needed to forward to it: the stack itself is
 * region-agnostic). Null when no region is named.
 */
export function alarmRegionsFrom(rawRegions: unknown, rawHome: unknown): { home: string; regions: string[] } | null {
  if (rawRegions === undefined || rawRegions === null || rawRegions === '') return null;
  const list = Array.isArray(rawRegions)
    ? rawRegions
    : typeof rawRegions === 'string' && rawRegions.trim().startsWith('[')
      ? (JSON.parse(rawRegions) as unknown[])
      : String(rawRegions).split(',');
  const regions = [...new Set(list.map((r) => String(r).trim()).filter(Boolean))];
  const bad = regions.filter((r) => !REGION.test(r));
  if (bad.length) throw new Error(`context alarmRegions must be AWS regions (e.g. eu-west-1,ap-southeast-2); got ${JSON.stringify(bad)}`);
  if (typeof rawHome !== 'string' || !REGION.test(rawHome))
    throw new Error(`context alarmRegions needs homeRegion, the region this stack deploys to (e.g. -c homeRegion=us-east-1); got ${JSON.stringify(rawHome)}`);
  return { home: rawHome, regions: regions.filter((r) => r !== rawHome) };
}
