import type { Command } from 'commander';
import { values, q } from '../context.ts';
import type { GitTarget } from '../answers.ts';
import { api, fetchOrNull } from '../http.ts';
import { out } from '../output.ts';

/** A git target as people read it (get and set print the same line). */
const describeTarget = (envName: string, t: GitTarget) =>
  `${envName}: promotions commit ${t.value} to ${t.repository} ${t.branch}:${t.file} (${t.edit === 'yaml-path' ? t.path : `${t.edit} ${t.path}`})${t.tokenSecret ? `, pushing with secret ${t.tokenSecret}` : ''}, version ${t.version}`;

/** GitOps: where promotions into an environment are committed */
export function registerGitTarget(program: Command): void {
  const gitTarget = program.command('git-target').description("an environment's git target (GitOps delivery)");
  gitTarget
    .command('get')
    .argument('<env>')
    .action(async (envName: string) => {
      const r = await api<GitTarget>('GET', `/api/v1/environments/${q(envName)}/git-target`);
      out(r, () => console.log(describeTarget(envName, r)));
    });
  gitTarget
    .command('set')
    .description('commit promoted versions into a YAML/JSON file, a kustomization or Helm values (admin)')
    .argument('<env>')
    .requiredOption('--repo <https url>', 'repository')
    .requiredOption('--file <path>', 'file in the repository, e.g. envs/production/values.yaml')
    .requiredOption('--path <keys>', 'where in the file, e.g. image.tag (kustomize-image: the image name)')
    .option('--edit <kind>', 'yaml-path | kustomize-image | helm-values | json-path', 'yaml-path')
    .option('--branch <name>', 'branch', 'main')
    .option('--value <what>', 'version | digest | version@digest', 'version')
    .option('--token-secret <NAME>', 'secret holding the push token (stageline/<tenant>/<NAME>; STAGELINE_SECRET_<NAME> locally)')
    .action(async (envName: string) => {
      const cur = await fetchOrNull<GitTarget>(`/api/v1/environments/${q(envName)}/git-target`);
      const body = {
        repository: values.repo,
        branch: values.branch,
        file: values.file,
        edit: values.edit,
        path: values.path,
        value: values.value,
        ...(values['token-secret'] ? { tokenSecret: values['token-secret'] } : {}),
        ...(cur ? { version: cur.version } : {}),
      };
      const r = await api<GitTarget>('PUT', `/api/v1/environments/${q(envName)}/git-target`, body);
      out(r, () => console.log(describeTarget(envName, r)));
    });
  gitTarget
    .command('remove')
    .argument('<env>')
    .action(async (envName: string) => {
      await api('DELETE', `/api/v1/environments/${q(envName)}/git-target`);
      out({ removed: envName }, () => console.log(`${envName}: no git target`));
    });
}
