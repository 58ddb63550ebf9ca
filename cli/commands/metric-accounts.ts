import type { Command } from 'commander';
import type { MetricAccounts } from '../answers.ts';
import { api } from '../http.ts';
import { out, table } from '../output.ts';

const show = (r: MetricAccounts) => {
  console.log(`metric accounts, version ${r.version}; each role's trust policy must require sts:ExternalId ${r.externalId}`);
  if (r.accounts.length) table(r.accounts, ['account', 'roleArn']);
  else console.log('  none: CloudWatch analysis reads no account');
};

/** metric-accounts: the AWS accounts CloudWatch analysis reads, each with the tenant's role there. */
export function registerMetricAccounts(program: Command): void {
  const accounts = program
    .command('metric-accounts')
    .description('the AWS accounts CloudWatch analysis reads, each with the role Stageline assumes there (with your external id)');
  accounts
    .command('list')
    .description('the registered accounts and the external id their roles must require')
    .action(async () => {
      const r = await api<MetricAccounts>('GET', '/api/v1/metric-accounts');
      out(r, () => show(r));
    });
  accounts
    .command('set')
    .description("register (or replace) the role of an account (admin): the role's trust policy must require your external id")
    .argument('<account>', 'the 12-digit AWS account id')
    .argument('<roleArn>', 'the IAM role of that account, e.g. arn:aws:iam::123456789012:role/stageline-metrics')
    .action(async (account: string, roleArn: string) => {
      const cur = await api<MetricAccounts>('GET', '/api/v1/metric-accounts');
      const next = [...cur.accounts.filter((a) => a.account !== account), { account, roleArn }];
      const r = await api<MetricAccounts>('PUT', '/api/v1/metric-accounts', { accounts: next, version: cur.version });
      out(r, () => show(r));
    });
  accounts
    .command('remove')
    .description('remove the role of an account (admin): refused while a CloudWatch analysis attached reads it')
    .argument('<account>', 'the 12-digit AWS account id')
    .action(async (account: string) => {
      const cur = await api<MetricAccounts>('GET', '/api/v1/metric-accounts');
      const r = await api<MetricAccounts>('PUT', '/api/v1/metric-accounts', {
        accounts: cur.accounts.filter((a) => a.account !== account),
        version: cur.version,
      });
      out(r, () => show(r));
    });
}
