import { Option, type Command } from 'commander';
import { collect, fail, int, values, q } from '../context.ts';
import type { Environment } from '../answers.ts';
import { api } from '../http.ts';
import { out } from '../output.ts';

type CiGate = NonNullable<Environment['ciGate']>;

/** A CI gate as people read it (get and set print the same lines). */
export const describeCiGate = (env: string, g: CiGate | null) =>
  !g
    ? `${env}: no CI gate`
    : [
        `${env}: a promotion executes only after ${
          g.host === 'github' ? `GitHub Actions workflow ${g.workflow} of ${g.repository}` : `a GitLab pipeline of ${g.repository}`
        } succeeds on ${g.ref} (looked at every ${g.pollSeconds} s, failed after ${g.timeoutMinutes} min)`,
        ...(g.inputs.length ? [`  ${g.host === 'github' ? 'inputs' : 'variables'}: ${g.inputs.map((i) => `${i.name}=${i.value}`).join(', ')}`] : []),
        g.app
          ? `  GitHub App ${g.app.id}${g.app.apiUrl ? ` at ${g.app.apiUrl}` : ''}; key in secret ${g.app.privateKeySecret}`
          : `  GitLab ${g.gitlab?.apiUrl ?? 'gitlab.com'}; token in secret ${g.gitlab?.tokenSecret}`,
      ].join('\n');

/** The body of `ci-gate set`: the flags over the stored gate (what is left out is kept). Credentials are tenant secrets, named here. */
export function ciGateBody(v: typeof values, cur: CiGate | null): CiGate {
  const host = (v.host ?? cur?.host ?? 'github') as CiGate['host'];
  if (host !== 'github' && host !== 'gitlab') fail('--host is github or gitlab');
  const same = cur?.host === host;
  const repository = v.repository ?? cur?.repository;
  if (!repository) fail('a new CI gate needs --repository');
  const inputs = v.input
    ? v.input.map((i) => {
        const at = i.indexOf('=');
        return at > 0 ? { name: i.slice(0, at), value: i.slice(at + 1) } : fail(`--input '${i}' is not NAME=VALUE, e.g. release={{release}}`);
      })
    : (cur?.inputs ?? []);
  const apiUrl = v['api-url'] === undefined ? (same ? ((cur?.app ?? cur?.gitlab)?.apiUrl ?? null) : null) : v['api-url'] || null;
  const base = {
    host,
    repository: repository!,
    ref: v.ref ?? cur?.ref ?? 'main',
    inputs,
    timeoutMinutes: values.timeout ?? cur?.timeoutMinutes ?? 60,
    pollSeconds: v.poll ?? cur?.pollSeconds ?? 60,
  };
  if (host === 'github') {
    const workflow = v.workflow ?? (same ? cur?.workflow : undefined);
    const id = v['app-id'] ?? (same ? cur?.app?.id : undefined);
    const privateKeySecret = v['key-secret'] ?? (same ? cur?.app?.privateKeySecret : undefined);
    if (!workflow || !id || !privateKeySecret) fail('a GitHub CI gate needs --workflow, --app-id and --key-secret');
    return { ...base, workflow: workflow!, app: { id: id!, apiUrl, privateKeySecret: privateKeySecret! }, gitlab: null };
  }
  const tokenSecret = (v['token-secret'] || undefined) ?? (same ? cur?.gitlab?.tokenSecret : undefined);
  if (!tokenSecret) fail('a GitLab CI gate needs --token-secret');
  return { ...base, workflow: null, app: null, gitlab: { apiUrl, tokenSecret: tokenSecret! } };
}

/** CI gates: a pipeline run (a GitHub Actions workflow, a GitLab pipeline) that must succeed before a promotion into an environment executes. */
export function registerCiGate(program: Command): void {
  const ci = program
    .command('ci-gate')
    .description("an environment's CI gate (a GitHub Actions workflow or GitLab pipeline that must succeed before a promotion into it executes)");
  ci.command('get')
    .argument('<env>')
    .action(async (envName: string) => {
      const r = await api<Environment>('GET', `/api/v1/environments/${q(envName)}`);
      out(r.ciGate, () => console.log(describeCiGate(r.name, r.ciGate)));
    });
  ci.command('set')
    .description('run a pipeline before every promotion into <env> executes (admin); an existing gate keeps what you leave out')
    .argument('<env>')
    .option('--host <github|gitlab>', 'where the pipeline runs (default github)')
    .option('--repository <path>', "the GitHub repository (owner/name) or the GitLab project's full path")
    .option('--workflow <file>', 'GitHub: the workflow to dispatch (its file name, e.g. e2e.yml, or id)')
    .option('--ref <branch>', 'the branch or tag the run starts on (default main)')
    .option(
      '--input <NAME=VALUE>',
      'an input (GitLab: a variable); {{release}}, {{promotion}}, {{environment}}, {{source}}, {{digest}} are filled in (repeat)',
      collect,
    )
    .option('--app-id <id>', "GitHub: the App's id (Actions read and write)")
    .option('--api-url <url>', "GitHub Enterprise Server's API, or the GitLab host ('' for github.com or gitlab.com)")
    .option('--key-secret <NAME>', "GitHub: the tenant secret holding the App's private key (purpose github-app-key)")
    .option('--token-secret <NAME>', 'GitLab: the tenant secret holding a token that may run pipelines (purpose gitlab-token)')
    .addOption(new Option('--timeout <minutes>', 'a run not ended this long after it started fails the promotion (default 60)').argParser(int('--timeout')))
    .addOption(new Option('--poll <seconds>', 'how often the run is looked at (default 60, at least 10)').argParser(int('--poll')))
    .action(async (envName: string) => {
      const cur = await api<Environment>('GET', `/api/v1/environments/${q(envName)}`);
      const r = await api<Environment>('PATCH', `/api/v1/environments/${q(envName)}`, { version: cur.version, ciGate: ciGateBody(values, cur.ciGate) });
      out(r.ciGate, () => console.log(describeCiGate(r.name, r.ciGate)));
    });
  ci.command('remove')
    .argument('<env>')
    .action(async (envName: string) => {
      const cur = await api<Environment>('GET', `/api/v1/environments/${q(envName)}`);
      const r = await api<Environment>('PATCH', `/api/v1/environments/${q(envName)}`, { version: cur.version, ciGate: null });
      out({ removed: envName }, () => console.log(describeCiGate(r.name, null)));
    });
}
