import { analysisAttachments } from './targets.ts';
import type { Issue } from '../kernel/errors.ts';
import type { Environment } from '../kernel/model.ts';
import { IMPLICIT_TARGET } from '../kernel/target-schemas.ts';

/**
 * Where a CloudWatch analysis reads (domain/verification/metric-accounts.ts holds the registry of the tenant's
 * accounts): the rule every path that attaches one checks (environments, templates, the manifest), here because
 * it reads the environment's attachments and targets. Shapes only: config does not import verification.
 */

/** What of a template this rule reads: its name and, for CloudWatch, the account it names. */
export interface CloudWatchReader {
  name: string;
  provider: { type: string; account?: string };
}

/** What a tenant must set up before a CloudWatch analysis reads `account` (or, left out, a target without one). */
export const setUpAccount = (account: string | undefined) =>
  account
    ? `register a role of account ${account} (PUT /api/v1/metric-accounts or stageline metric-accounts set ${account} <role ARN>) whose trust policy requires your external id`
    : "give the target an `account` (or the template's provider an `account`) and register a role for it (PUT /api/v1/metric-accounts)";

/**
 * The CloudWatch analyses an environment attaches whose measured targets have no account with a registered
 * role: each names the attachment's field and the target. An analysis of the environment measures each of its
 * targets (the implicit one when none is declared); a wave's, that wave's; a wave's comparison, every target (the
 * changed ones and their controls); a target's, that target; the template's own
 * `account` wins over the target's. A pre-analysis measures the source environment: only a template's
 * `account` is checked here (its targets are checked when measured).
 */
export function cloudWatchAccountIssues(
  env: Pick<Environment, 'analysis' | 'preAnalysis' | 'targets' | 'rollout' | 'bakeSeconds'>,
  templates: readonly CloudWatchReader[],
  accounts: readonly { account: string }[] | undefined,
  field = 'body',
): Issue[] {
  const byName = new Map(templates.map((t) => [t.name, t]));
  const registered = new Set((accounts ?? []).map((a) => a.account));
  const targets = (env.targets ?? []) as readonly { name: string; wave: number; account?: string }[];
  const all = targets.length ? targets : [{ name: IMPLICIT_TARGET, wave: 1 }];
  const issues: Issue[] = [];
  for (const a of analysisAttachments(env, field)) {
    const t = byName.get(a.template);
    if (t?.provider.type !== 'cloudwatch') continue;
    const fixed = t.provider.account;
    const rel = a.path.slice(field.length + 1);
    const target = /^targets\.(\d+)\./.exec(rel);
    const wave = /^rollout\.waves\.(\d+)\.analysis\./.exec(rel);
    let measured: readonly { name: string; account?: string }[];
    if (rel.startsWith('preAnalysis.')) measured = fixed ? [{ name: 'the source environment', account: fixed }] : [];
    else if (target) measured = [all[Number(target[1])]!].filter(Boolean);
    else if (wave) measured = all.filter((x) => 'wave' in x && x.wave === env.rollout?.waves?.[Number(wave[1])]?.wave);
    else measured = all;
    for (const m of measured) {
      const account = fixed ?? m.account;
      if (account && registered.has(account)) continue;
      issues.push({
        path: a.path,
        message: account
          ? `CloudWatch template '${t.name}' reads account ${account} for target '${m.name}', which has no registered role: ${setUpAccount(account)}`
          : `CloudWatch template '${t.name}' has no account to read for target '${m.name}': ${setUpAccount(undefined)}`,
      });
    }
  }
  return issues;
}
