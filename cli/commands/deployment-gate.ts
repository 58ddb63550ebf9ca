import type { Command } from 'commander';
import { fail, values, q } from '../context.ts';
import type { DeploymentGate } from '../answers.ts';
import { api, fetchOrNull } from '../http.ts';
import { out } from '../output.ts';

/** A gate as people read it (get and set print the same lines): what waits on what, and where GitHub must send its webhook. */
const describeGate = (g: DeploymentGate) =>
  [
    `${g.environment}: deploy jobs of ${g.repository}'s environment '${g.hostEnvironment}' wait on a promotion ${g.source ? `from ${g.source}` : 'from the environment before it'}${
      g.artifact ? ` of ${g.artifact} (the version published from the job's commit)` : ''
    }`,
    `  GitHub App ${g.app.id}${g.app.apiUrl ? ` at ${g.app.apiUrl}` : ''}; key in secret ${g.app.privateKeySecret}, webhook secret ${g.app.webhookSecret}`,
    `  the App's webhook URL: ${g.webhookUrl}`,
  ].join('\n');

/**
 * The body of `deployment-gate set`: the flags over the stored gate (what is left out is kept). The App's key and
 * webhook secret are never flags: they are tenant secrets, named here.
 */
export function deploymentGateBody(v: typeof values, cur: DeploymentGate | null): Record<string, unknown> {
  const repository = v.repository ?? cur?.repository;
  const hostEnvironment = v['github-environment'] ?? cur?.hostEnvironment;
  const id = v['app-id'] ?? cur?.app.id;
  const privateKeySecret = v['key-secret'] ?? cur?.app.privateKeySecret;
  const webhookSecret = v['webhook-secret'] ?? cur?.app.webhookSecret;
  if (!repository || !hostEnvironment || !id || !privateKeySecret || !webhookSecret)
    fail('a new gate needs --repository, --github-environment, --app-id, --key-secret and --webhook-secret');
  const kept = <T>(flag: string | undefined, stored: T | null | undefined) => (flag === undefined ? (stored ?? null) : flag === '' ? null : flag);
  return {
    repository,
    hostEnvironment,
    source: kept(v.source, cur?.source),
    artifact: kept(v.artifact, cur?.artifact),
    app: { id, apiUrl: kept(v['api-url'], cur?.app.apiUrl), privateKeySecret, webhookSecret },
    ...(cur ? { version: cur.version } : {}),
  };
}

/** Deployment gates: a pipeline's deploy job (a GitHub Actions environment) waits on a promotion into a Stageline environment. */
export function registerDeploymentGate(program: Command): void {
  const dg = program
    .command('deployment-gate')
    .description("an environment's deployment gate (GitHub Actions jobs of a repository environment wait on Stageline's promotion)");
  dg.command('get')
    .argument('<env>')
    .action(async (envName: string) => {
      const r = await api<DeploymentGate>('GET', `/api/v1/environments/${q(envName)}/deployment-gate`);
      out(r, () => console.log(describeGate(r)));
    });
  dg.command('set')
    .description("gate a GitHub repository environment's deploy jobs on promotions into <env> (admin); an existing gate keeps what you leave out")
    .argument('<env>')
    .option('--repository <owner/name>', 'the GitHub repository')
    .option('--github-environment <name>', 'the GitHub environment whose deployment protection rule is the App')
    .option('--source <env>', "where the promotion comes from (default: the environment before <env>; '' for the default)")
    .option('--artifact <name>', "promote this artifact at the version published from the job's commit ('' for the source's configuration)")
    .option('--app-id <id>', "the GitHub App's id")
    .option('--api-url <url>', "GitHub Enterprise Server's API, https://ghe.example.com/api/v3 ('' for api.github.com)")
    .option('--key-secret <NAME>', "the tenant secret holding the App's private key (purpose github-app-key)")
    .option('--webhook-secret <NAME>', "the tenant secret the App's webhooks are signed with (purpose git-webhook)")
    .action(async (envName: string) => {
      const cur = await fetchOrNull<DeploymentGate>(`/api/v1/environments/${q(envName)}/deployment-gate`);
      const r = await api<DeploymentGate>('PUT', `/api/v1/environments/${q(envName)}/deployment-gate`, deploymentGateBody(values, cur));
      out(r, () => console.log(describeGate(r)));
    });
  dg.command('remove')
    .argument('<env>')
    .action(async (envName: string) => {
      await api('DELETE', `/api/v1/environments/${q(envName)}/deployment-gate`);
      out({ removed: envName }, () => console.log(`${envName}: no deployment gate (remove the App's protection rule on GitHub too)`));
    });
}
