import * as z from '../kernel/zod.ts';
import { auditEntry } from '../audit/audit.ts';
import { ROLE_ARN } from '../kernel/aws-names.ts';
import { cloudWatchAccountIssues } from '../config/cloudwatch-accounts.ts';
import { digestOf } from '../kernel/canonical.ts';
import { RuleViolation, ValidationFailed, VersionConflict, type Issue } from '../kernel/errors.ts';
import type { Ctx, Deps } from '../kernel/deps.ts';
import { retryOnConflict } from '../kernel/retry.ts';

/**
 * The AWS accounts a tenant lets CloudWatch analysis read, each with the IAM role (in that account) the
 * platform assumes to read it. A CloudWatch measurement reads only with a session of the role the tenant
 * registered for the measured target's account, assumed with the tenant's external id: the customer's trust
 * policy names that external id, so another tenant naming the same role is refused by AWS. Nothing a tenant
 * asks for is read with the platform's own credentials: an account without a role is refused at save and
 * at measurement. All of a tenant's accounts are one item, versioned as a whole.
 */

export const MAX_METRIC_ACCOUNTS = 50;
export const ACCOUNT_ID = /^[0-9]{12}$/;
/** An IAM role ARN (IAM's grammar): kernel/aws-names.ts's. */
export { ROLE_ARN };

export const accountId = () => z.string().check(z.regex(ACCOUNT_ID, 'must be a 12-digit AWS account id, e.g. 123456789012'));

export const metricAccount = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      account: accountId().check(z.describe('the AWS account whose CloudWatch metrics analysis reads')),
      roleArn: z
        .string()
        .check(
          z.maxLength(2048),
          z.regex(ROLE_ARN, 'must be an IAM role ARN, e.g. arn:aws:iam::123456789012:role/stageline-metrics'),
          z.describe("the role in that account Stageline assumes (with the tenant's external id) to read its metrics"),
        ),
    })
    .check(
      z.superRefine((a, ctx) => {
        const m = ROLE_ARN.exec(a.roleArn);
        if (m && m[2] !== a.account)
          ctx.addIssue({
            code: 'custom',
            path: ['roleArn'],
            message: `is a role of account ${m[2]}, not of ${a.account}: register a role of the account it reads`,
          });
      }),
    ),
);
export type MetricAccount = z.infer<typeof metricAccount>;

/** PUT /metric-accounts: the whole list; `version` the list's version read (0: none yet). */
export const metricAccountsBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    accounts: z.array(metricAccount).check(z.maxLength(MAX_METRIC_ACCOUNTS)),
    version: z
      .optional(z.number().check(z.int(), z.minimum(0)))
      .check(z.describe('the version of the list you read (GET answers it; 0: none yet): 409 when it changed since; left out: the latest')),
  }),
);
export type MetricAccountsBody = z.infer<typeof metricAccountsBody>;

/** The external id Stageline gives STS when it assumes a tenant's role: the customer's trust policy requires it. */
export const externalIdOf = (tenant: string) => `stageline:${tenant}`;

/** The role to assume for one account, as the metrics port is given it. */
export interface MetricRole {
  roleArn: string;
  externalId: string;
}

export interface MetricAccounts {
  accounts: MetricAccount[];
  version: number;
  /** the external id every role's trust policy must require */
  externalId: string;
}

export async function listMetricAccounts(deps: Deps, ctx: Ctx): Promise<MetricAccounts> {
  const stored = await deps.store.getMetricAccounts(ctx.principal.tenant);
  return { accounts: stored?.accounts ?? [], version: stored?.version ?? 0, externalId: externalIdOf(ctx.principal.tenant) };
}

/** Replaces the tenant's accounts (admin): one role per account; 409 on a stale version; 422 when an attached CloudWatch analysis would lose its account. */
export async function putMetricAccounts(deps: Deps, ctx: Ctx, body: MetricAccountsBody): Promise<MetricAccounts> {
  const { tenant } = ctx.principal;
  const seen = new Map<string, number>();
  const issues: Issue[] = [];
  body.accounts.forEach((a, i) => {
    const first = seen.get(a.account);
    if (first !== undefined)
      issues.push({ path: `body.accounts.${i}.account`, message: `account ${a.account} is already at accounts.${first}: one role per account` });
    else seen.set(a.account, i);
  });
  if (issues.length) throw new ValidationFailed(issues);
  const accounts = [...body.accounts].sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0));
  return retryOnConflict(deps.tunables, async () => {
    const [stored, envs, templates] = await Promise.all([
      deps.store.getMetricAccounts(tenant),
      deps.store.listEnvironments(tenant),
      deps.store.getAnalysisTemplates(tenant),
    ]);
    const current = stored?.version ?? 0;
    if (body.version !== undefined && body.version !== current)
      throw new VersionConflict(`The metric accounts are at version ${current}, not ${body.version}; read them again and reapply your change`, {
        currentVersion: current,
      });
    const lost = envs.flatMap((e) => cloudWatchAccountIssues(e, templates?.templates ?? [], accounts, `environments.${e.name}`));
    if (lost.length) throw new RuleViolation(`CloudWatch analyses attached would have no registered role for their account`, { issues: lost });
    await deps.store.commit(tenant, [
      { kind: 'metricAccounts', accounts, expectedVersion: stored ? stored.version : null },
      {
        kind: 'audit',
        entry: auditEntry(
          tenant,
          {
            actor: ctx.principal.id,
            actorName: ctx.principal.name,
            action: 'metric_accounts.put',
            // A tenant-level setting: the tenant's entry, its id naming the setting.
            entityType: 'tenant',
            entityId: 'metric-accounts',
            before: stored ? digestOf(stored.accounts) : null,
            after: digestOf(accounts),
            requestId: ctx.requestId,
          },
          deps.clock(),
        ),
      },
    ]);
    return { accounts, version: current + 1, externalId: externalIdOf(tenant) };
  });
}

export { cloudWatchAccountIssues, setUpAccount } from '../config/cloudwatch-accounts.ts';

/** The role registered for `account`, or null. */
export function roleFor(tenant: string, accounts: readonly MetricAccount[] | undefined, account: string): MetricRole | null {
  const a = (accounts ?? []).find((x) => x.account === account);
  return a ? { roleArn: a.roleArn, externalId: externalIdOf(tenant) } : null;
}

export type MetricAccountsOp = { kind: 'metricAccounts'; accounts: MetricAccount[]; expectedVersion: number | null };
