/**
 * What a deployment is told at synth time: the CDK context keys (cdk.json, or
 * `npx cdk deploy -c key=value`), read and checked once (a malformed value fails the synth, not the
 * requests after deploy).
 *
 *   machinePrincipals  JSON list of {arn (glob), tenant, roles, name?} binding
 *                      IAM (SigV4) callers of the machine routes to a tenant.
 *                      Default '[]' (no machine may call). Example:
 *                      -c machinePrincipals='[{"arn":"arn:aws:sts::123456789012:assumed-role/ci-deploy/*","tenant":"acme","roles":["deployer"]}]'
 *   registryCredentialsSecret
 *                      Name or ARN of a Secrets Manager secret holding the
 *                      JSON list [{tenant, origin, username, password,
 *                      realmOrigins?}] (as REGISTRY_CREDENTIALS) for
 *                      cross-registry promotion. Only the functions that copy
 *                      or tag in registries may read it. Default: none
 *                      (public registries). An Amazon ECR origin is bound with
 *                      {tenant, origin, "ecr": true} (tokens from the token API).
 *   ecrRepositories    The Amazon ECR repositories those functions may pull from and
 *                      push to: a JSON list (or comma-separated) of repository ARNs,
 *                      a trailing * allowed (arn:aws:ecr:eu-west-1:123456789012:repository/web/*).
 *                      With it they may also call ecr:GetAuthorizationToken. Default: none.
 *   allowedOrigins     Browser origins allowed by CORS on /api/*, /ofrep/* and /health
 *                      (never the review pages or the dashboard): a comma-separated list
 *                      (or a JSON array in cdk.json), given to the functions as
 *                      CORS_ALLOWED_ORIGINS. Default '*', which is only fine for a dev
 *                      stage; set real origins elsewhere.
 *   reservedConcurrency
 *                      JSON {"api": n, "stream": n, "notifier": n, …}: reserved
 *                      concurrency so a flood on the API cannot starve the flow,
 *                      stream and notifier functions, and vice versa. "api" is
 *                      reserved for EACH API function (about 60): the synth prints
 *                      the total and fails when it leaves less than 100 of
 *                      accountConcurrency unreserved. Default none (new accounts
 *                      have too small a pool to reserve from).
 *   appReadConcurrency reserved concurrency of EACH app-read function (effective
 *                      config, OFREP), the two behind unauthenticated function URLs:
 *                      a flood of invalid keys is throttled there instead of taking
 *                      the account's pool from the API and the flows. Default: none
 *                      (a new account's pool may be 10, and Lambda keeps 100 of it
 *                      unreserved, so a first deploy must reserve nothing); a number
 *                      reserves that many for each (APP_READ_CONCURRENCY, 100, is the
 *                      recommended figure once the quota allows). Over it, reads are
 *                      throttled (AppReadThrottlesAlarm, either way). Counts in the 100-free check.
 *   checkpointLockMode the audit checkpoint bucket's Object Lock mode: COMPLIANCE by
 *                      default (production: nobody, the account root included, can
 *                      delete a checkpoint before its retention ends); GOVERNANCE for
 *                      a trial deploy that must be torn down (docs/operations/deploy-aws.md).
 *   checkpointRetentionDays
 *                      days a checkpoint stays locked: 3650 by default (production);
 *                      a trial deploy takes a short one (1).
 *   accountConcurrency the account's Lambda concurrent-executions quota the
 *                      reservations are checked against (default 1000).
 *   traceSdk           true: X-Ray subsegments around every AWS SDK call and
 *                      outbound HTTPS request (Powertools Tracer). Default false:
 *                      Lambda's active tracing only, and no Tracer in the bundles
 *                      (it adds about 120 KiB and 30–50 ms of init to every function).
 *   slackSigningSecret Name or ARN of a Secrets Manager secret whose SecretString is
 *                      the Signing Secret of the deployment's one Slack app (README:
 *                      Slack). Only the two functions serving Slack's request URLs
 *                      may read it. Not under the stack's prefix of tenants' secrets
 *                      (infra/names.ts: stageline/ for the default stack Stageline,
 *                      <stack name lower case>/ for another; tenants' manifest secrets
 *                      live there). Default: none (Slack buttons and linking answer
 *                      401 "not set up"; messages and review links still work).
 *   notifyFrom         The SES identity (a verified address or domain) approval
 *                      emails come from. Without it, email deliveries are
 *                      recorded as failed with "no email sender is configured".
 *   alarmEmail         An address subscribed to the alarm topic. Default: none.
 *   stackName          The stack's name (infra/create-app.ts), default Stageline: a
 *                      second Stageline stack in the account is the app deployed with
 *                      another (-c stackName=StagelineStaging on each of its commands).
 *                      What it holds in account-wide namespaces is named after it,
 *                      lower case (infra/names.ts): its bus, schedule group and prefix
 *                      of tenants' secrets.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ROLES } from '../domain/access/auth.ts';
import { stackNames } from './names.ts';
import { alarmRegionsFrom, appReadConcurrencyFrom, checkpointLockFrom, ecrRepositoriesFrom } from './context-values.ts';

export { alarmRegionsFrom, APP_READ_CONCURRENCY, CHECKPOINT_LOCK_DEFAULT, ecrRepositoriesFrom } from './context-values.ts';

export interface MachinePrincipal {
  arn: string;
  tenant: string;
  roles: string[];
  name?: string;
}

/** Same rule as functions/http/principal.ts applies at runtime. */
const TENANT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * Fails the synth, not every machine request after deploy, when the list is
 * malformed. Mirrors the runtime schema in functions/http/principal.ts.
 */
function machinePrincipalsFrom(raw: unknown): MachinePrincipal[] {
  let value: unknown;
  try {
    value = typeof raw === 'string' ? JSON.parse(raw) : (raw ?? []);
  } catch {
    value = undefined; // reported below, naming the context key
  }
  const ok =
    Array.isArray(value) &&
    value.every(
      (m: Partial<MachinePrincipal> | null) =>
        !!m &&
        typeof m.arn === 'string' &&
        m.arn.length > 0 &&
        typeof m.tenant === 'string' &&
        TENANT.test(m.tenant) &&
        (m.name === undefined || typeof m.name === 'string') &&
        Array.isArray(m.roles) &&
        m.roles.length > 0 &&
        m.roles.every((r) => (ROLES as readonly string[]).includes(r)),
    );
  if (!ok) {
    throw new Error(`context machinePrincipals must be a JSON list of {arn, tenant, roles: (${ROLES.join('|')})[], name?}; got ${JSON.stringify(raw)}`);
  }
  return value as MachinePrincipal[];
}

/** A boolean context value: true/false, or the strings 'true'/'false' (`-c key=true`); anything else fails the synth. */
export function flagFrom(raw: unknown, key: string): boolean {
  if (raw === undefined || raw === false || raw === 'false') return false;
  if (raw === true || raw === 'true') return true;
  throw new Error(`context ${key} must be true or false; got ${JSON.stringify(raw)}`);
}

/** `-c reservedConcurrency='{"api":20,"stream":2,"notifier":5}'`: per-function caps; unknown keys or non-positive numbers fail the synth. */
export type Concurrency = ReturnType<typeof concurrencyFrom>;

function concurrencyFrom(raw: unknown): Partial<Record<'api' | 'stream' | 'notifier' | 'promotion-step' | 'schedule-fire' | 'auto-promote', number>> {
  if (raw === undefined || raw === null) return {};
  const value = typeof raw === 'string' ? JSON.parse(raw) : raw;
  const keys = ['api', 'stream', 'notifier', 'promotion-step', 'schedule-fire', 'auto-promote'];
  if (!value || typeof value !== 'object' || Object.entries(value).some(([k, v]) => !keys.includes(k) || !Number.isInteger(v) || (v as number) < 1)) {
    throw new Error(`context reservedConcurrency must be a JSON object of positive integers keyed by ${keys.join(', ')}; got ${JSON.stringify(raw)}`);
  }
  return value;
}

function positiveFrom(raw: unknown, key: string, fallback: number): number {
  if (raw === undefined || raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`context ${key} must be a positive integer; got ${JSON.stringify(raw)}`);
  return n;
}

function originsFrom(raw: unknown): string[] {
  if (raw === undefined || raw === null) return ['*'];
  const list = Array.isArray(raw) ? raw.map(String) : String(raw).split(',');
  const origins = list.map((o) => o.trim()).filter(Boolean);
  return origins.length ? origins : ['*'];
}

/** A secret the stack is given by name or ARN: its ARN, and the ARNs a grant on it names (a name matches any version suffix). */
export interface GivenSecret {
  value: string;
  arns: string[];
}

/**
 * The deployment's one Slack app: its signing secret is deployment configuration, read only by the
 * function behind Slack's request URLs (its bundle holds functions/adapters/slack-app.ts).
 */
function slackSecretFrom(scope: Construct, id: string | undefined): GivenSecret | undefined {
  const prefix = stackNames(Stack.of(scope)).secretsPrefix;
  if (id && (id.startsWith(prefix) || id.includes(`:secret:${prefix}`))) {
    throw new Error(
      `slackSigningSecret '${id}': name it outside ${prefix} (this stack's tenants' manifest secrets live there, and manifest apply may read ${prefix}*)`,
    );
  }
  if (!id) return undefined;
  if (id.startsWith('arn:')) return { value: id, arns: [id] };
  return {
    value: id,
    arns: [
      Stack.of(scope).formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${id}-??????`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
    ],
  };
}

/** Every context key the stack reads, checked. */
export function contextOf(scope: Construct) {
  const get = (key: string) => scope.node.tryGetContext(key) as unknown;
  return {
    machinePrincipals: machinePrincipalsFrom(get('machinePrincipals')),
    allowedOrigins: originsFrom(get('allowedOrigins')),
    concurrency: concurrencyFrom(get('reservedConcurrency')),
    /** Reserved for EACH app-read function (effective config, OFREP: open function URLs); undefined: none. */
    appReadConcurrency: appReadConcurrencyFrom(get('appReadConcurrency')),
    /** The audit checkpoint bucket's Object Lock: COMPLIANCE for 3650 days unless a trial deploy says otherwise. */
    checkpointLock: checkpointLockFrom(get('checkpointLockMode'), get('checkpointRetentionDays')),
    /** The account's concurrent executions quota (Service Quotas, Lambda): reservations must leave 100 of it unreserved. */
    accountConcurrency: positiveFrom(get('accountConcurrency'), 'accountConcurrency', 1000),
    traceSdk: flagFrom(get('traceSdk'), 'traceSdk'),
    /** Registry credentials for cross-registry promotion live in a secret, never in requests or code. */
    registrySecretId: get('registryCredentialsSecret') as string | undefined,
    /** The ECR repositories registry copies pull from and push to (ARNs); none: no ECR access at all. */
    ecrRepositories: ecrRepositoriesFrom(get('ecrRepositories')),
    slackSecret: slackSecretFrom(scope, get('slackSigningSecret') as string | undefined),
    notifyFrom: get('notifyFrom') as string | undefined,
    alarmEmail: get('alarmEmail') as string | undefined,
  };
}

export type StackContext = ReturnType<typeof contextOf>;
