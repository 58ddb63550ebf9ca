import type { Command } from 'commander';
import { fail, values, q } from '../context.ts';
import type { DeploymentGate } from '../answers.ts';
import { api, fetchOrNull } from '../http.ts';
import { out } from '../output.ts';

/** A gate as people read it (get and set print the same lines): what waits on what, and where the host must send its webhook. */
const describeGate = (g: DeploymentGate) =>
  [
    `${g.environment}: deploy jobs of ${g.repository}'s environment '${g.hostEnvironment}' (${g.host === 'github' ? 'GitHub Actions' : 'GitLab'}) wait on a promotion ${
      g.source ? `from ${g.source}` : 'from the environment before it'
    }${g.artifact ? ` of ${g.artifact} (the version published from the job's commit)` : ''}`,
    g.app
      ? `  GitHub App ${g.app.id}${g.app.apiUrl ? ` at ${g.app.apiUrl}` : ''}; key in secret ${g.app.privateKeySecret}, webhook secret ${g.app.webhookSecret}`
      : `  GitLab ${g.gitlab?.apiUrl ?? 'gitlab.com'}; the approver's token in secret ${g.gitlab?.tokenSecret}, webhook secret ${g.gitlab?.webhookSecret}`,
    `  the ${g.host === 'github' ? "App's" : "project's"} webhook URL: ${g.webhookUrl}`,
  ].join('\n');

/**
 * The body of `deployment-gate set`: the flags over the stored gate (what is left out is kept). The App's key, the
 * GitLab token and the webhook secrets are never flags: they are tenant secrets, named here.
 */
export function deploymentGateBody(v: typeof values, cur: DeploymentGate | null): Record<string, unknown> {
  const host = v.host ?? cur?.host ?? 'github';
  if (host !== 'github' && host !== 'gitlab') fail('--host is github or gitlab');
  const repository = v.repository ?? cur?.repository;
  const hostEnvironment = v['host-environment'] ?? cur?.hostEnvironment;
  const kept = <T>(flag: string | undefined, stored: T | null | undefined) => (flag === undefined ? (stored ?? null) : flag === '' ? null : flag);
  const same = cur?.host === host;
  const webhookSecret = v['webhook-secret'] ?? (same ? (cur?.app ?? cur?.gitlab)?.webhookSecret : undefined);
  const apiUrl = kept(v['api-url'], same ? (cur?.app ?? cur?.gitlab)?.apiUrl : null);
  let creds: Record<string, unknown>;
  if (host === 'github') {
    const id = v['app-id'] ?? (same ? cur?.app?.id : undefined);
    const privateKeySecret = v['key-secret'] ?? (same ? cur?.app?.privateKeySecret : undefined);
    if (!repository || !hostEnvironment || !id || !privateKeySecret || !webhookSecret)
      fail('a new GitHub gate needs --repository, --host-environment, --app-id, --key-secret and --webhook-secret');
    creds = { app: { id, apiUrl, privateKeySecret, webhookSecret } };
  } else {
    const tokenSecret = v['token-secret'] || (same ? cur?.gitlab?.tokenSecret : undefined);
    if (!repository || !hostEnvironment || !tokenSecret || !webhookSecret)
      fail('a new GitLab gate needs --repository, --host-environment, --token-secret and --webhook-secret');
    creds = { gitlab: { apiUrl, tokenSecret, webhookSecret } };
  }
  return {
    host,
    repository,
    hostEnvironment,
    source: kept(v.source, cur?.source),
    artifact: kept(v.artifact, cur?.artifact),
    ...creds,
    ...(cur ? { version: cur.version } : {}),
  };
}

/** Deployment gates: a pipeline's deploy job (a GitHub Actions environment) waits on a promotion into a Stageline environment. */
export function registerDeploymentGate(program: Command): void {
  const dg = program
    .command('deployment-gate')
    .description("an environment's deployment gate (deploy jobs of a GitHub or GitLab environment wait on Stageline's promotion)");
  dg.command('get')
    .argument('<env>')
    .action(async (envName: string) => {
      const r = await api<DeploymentGate>('GET', `/api/v1/environments/${q(envName)}/deployment-gate`);
      out(r, () => console.log(describeGate(r)));
    });
  dg.command('set')
    .description("gate a GitHub or GitLab environment's deploy jobs on promotions into <env> (admin); an existing gate keeps what you leave out")
    .argument('<env>')
    .option('--host <github|gitlab>', 'where the pipeline runs (default github)')
    .option('--repository <path>', "the GitHub repository (owner/name) or the GitLab project's full path")
    .option(
      '--host-environment <name>',
      "the host's environment whose deploy jobs wait (GitHub: the App is its deployment protection rule; GitLab: Stageline's user approves it)",
    )
    .option('--source <env>', "where the promotion comes from (default: the environment before <env>; '' for the default)")
    .option('--artifact <name>', "promote this artifact at the version published from the job's commit ('' for the source's configuration)")
    .option('--app-id <id>', "the GitHub App's id")
    .option('--api-url <url>', "GitHub Enterprise Server's API (https://ghe.example.com/api/v3), or the GitLab host ('' for github.com or gitlab.com)")
    .option('--key-secret <NAME>', "GitHub: the tenant secret holding the App's private key (purpose github-app-key)")
    .option('--token-secret <NAME>', "GitLab: the tenant secret holding the approving user's token (purpose gitlab-token)")
    .option('--webhook-secret <NAME>', "the tenant secret the host's webhooks are signed with or send (purpose git-webhook)")
    .action(async (envName: string) => {
      const cur = await fetchOrNull<DeploymentGate>(`/api/v1/environments/${q(envName)}/deployment-gate`);
      const r = await api<DeploymentGate>('PUT', `/api/v1/environments/${q(envName)}/deployment-gate`, deploymentGateBody(values, cur));
      out(r, () => console.log(describeGate(r)));
    });
  dg.command('remove')
    .argument('<env>')
    .action(async (envName: string) => {
      await api('DELETE', `/api/v1/environments/${q(envName)}/deployment-gate`);
      out({ removed: envName }, () => console.log(`${envName}: no deployment gate (remove the protection rule or approval rule on the host too)`));
    });
}
