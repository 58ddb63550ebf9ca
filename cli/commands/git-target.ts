import { Option, type Command } from 'commander';
import { collect, fail, values, q } from '../context.ts';
import type { GitTarget } from '../answers.ts';
import { api, fetchOrNull } from '../http.ts';
import { out } from '../output.ts';

/** A git target's pull-request mode as people read it: "through GitHub pull requests (api …, token secret GITHUB_TOKEN, …)". */
const describePullRequest = (pr: NonNullable<GitTarget['pullRequest']>) => {
  const facts = [
    pr.apiUrl ? `api ${pr.apiUrl}` : '',
    `token secret ${pr.tokenSecret}`,
    pr.appSlug ? `as the GitHub App ${pr.appSlug} (${pr.appSlug}[bot])` : '',
    pr.webhookSecret ? `webhook secret ${pr.webhookSecret}` : 'no webhook: polled',
    pr.draft ? 'draft' : '',
    pr.autoMerge ? 'auto-merge' : '',
    pr.reviewers.length ? `reviewers ${pr.reviewers.join(', ')}` : '',
    pr.labels.length ? `labels ${pr.labels.join(', ')}` : '',
  ].filter(Boolean);
  return `${pr.host === 'gitlab' ? 'GitLab merge requests' : 'GitHub pull requests'} (${facts.join(', ')})`;
};

/** A git target's path map as people read it: "api → envs/prod/api.yaml image.tag, worker → …". */
const describePaths = (t: GitTarget) =>
  Object.entries(t.paths ?? {})
    .map(([a, e]) => `${a} → ${e.file ?? t.file} ${e.edit && e.edit !== 'yaml-path' ? `${e.edit} ` : ''}${e.path}${e.value ? ` (${e.value})` : ''}`)
    .join(', ');

/** A git target as people read it (get and set print the same line). */
const describeTarget = (envName: string, t: GitTarget) =>
  `${envName}: promotions commit ${t.value} to ${t.repository} ${t.branch}:${t.file} (${t.edit === 'yaml-path' ? t.path : `${t.edit} ${t.path}`})${t.paths ? `; by artifact: ${describePaths(t)}` : ''}${t.tokenSecret ? `, pushing with secret ${t.tokenSecret}` : ''}${t.pullRequest ? `, through ${describePullRequest(t.pullRequest)}` : ''}, version ${t.version}`;

const EDITS = ['yaml-path', 'kustomize-image', 'helm-values', 'json-path'];

/**
 * The path map `git-target set` sends: the stored one with each `--map artifact=file:path[@edit]` set over it (an
 * entry given replaces that artifact's), none with --no-map. The file ends at the first `:` (a file name has none);
 * the path may hold one (a kustomize image name with a registry port). Built in a Map: artifact names are data.
 */
export function pathMapOf(given: string[] | false | undefined, cur: GitTarget['paths'] | undefined): Record<string, unknown> | null {
  if (given === false) return null;
  const map = new Map<string, unknown>(Object.entries(cur ?? {}));
  for (const spec of given ?? []) {
    const m = /^([^=]+)=([^:]+):(.+?)(?:@([a-z-]+))?$/.exec(spec);
    if (!m) fail(`--map ${spec}: write it artifact=file:path (or artifact=file:path@edit), e.g. api=envs/prod/api.yaml:image.tag`);
    const [, artifact, file, path, edit] = m;
    if (edit && !EDITS.includes(edit)) fail(`--map ${spec}: the edit is one of ${EDITS.join(', ')}`);
    map.set(artifact!, { file, path, ...(edit ? { edit } : {}) });
  }
  return map.size ? Object.fromEntries(map) : null;
}

/**
 * The body of `git-target set`: the flags given over the stored target (the PUT replaces the whole
 * target, so what is not given is sent as it is stored: a set that changes one thing keeps the rest,
 * pull-request settings included). `--no-pull-request` goes back to direct commits, `--no-token-secret`
 * drops the push token; a list flag given (--reviewer, --label) replaces the stored list.
 */
export function gitTargetSetBody(v: typeof values, cur: GitTarget | null): Record<string, unknown> {
  const repository = v.repo ?? cur?.repository;
  const file = v.file ?? cur?.file;
  const path = v.path ?? cur?.path;
  if (!cur && (!repository || !file || !path)) fail('a new git target needs --repo, --file and --path (an existing one keeps what you leave out)');
  const prFlags = ['api-url', 'api-token-secret', 'app-slug', 'webhook-secret', 'draft', 'auto-merge', 'reviewer', 'label'] as const;
  const given = prFlags.filter((f) => v[f] !== undefined);
  let pullRequest: Record<string, unknown> | null | undefined = cur?.pullRequest ?? null;
  if (v['pull-request'] === false) {
    if (given.length) fail(`--no-pull-request goes back to direct commits: drop ${given.map((f) => `--${f}`).join(', ')}`);
    pullRequest = null;
  } else if (v['pull-request'] || given.length) {
    const host = v['pull-request'] || cur?.pullRequest?.host;
    if (!host) fail(`${given.map((f) => `--${f}`).join(', ')} set pull-request mode: name the host with --pull-request github|gitlab`);
    const base = cur?.pullRequest;
    pullRequest = {
      host,
      apiUrl: v['api-url'] ?? base?.apiUrl ?? null,
      ...((v['api-token-secret'] ?? base?.tokenSecret) ? { tokenSecret: v['api-token-secret'] ?? base?.tokenSecret } : {}),
      webhookSecret: v['webhook-secret'] ?? base?.webhookSecret ?? null,
      appSlug: v['app-slug'] ?? base?.appSlug ?? null,
      draft: v.draft ?? base?.draft ?? false,
      autoMerge: v['auto-merge'] ?? base?.autoMerge ?? false,
      reviewers: v.reviewer ?? base?.reviewers ?? [],
      labels: v.label ?? base?.labels ?? [],
    };
  }
  const tokenSecret = v['token-secret'] === false ? null : (v['token-secret'] ?? cur?.tokenSecret ?? null);
  return {
    repository,
    branch: v.branch ?? cur?.branch ?? 'main',
    file,
    edit: v.edit ?? cur?.edit ?? 'yaml-path',
    path,
    value: v.value ?? cur?.value ?? 'version',
    tokenSecret,
    paths: pathMapOf(v.map, cur?.paths),
    pullRequest,
    ...(cur ? { version: cur.version } : {}),
  };
}

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
    .description(
      'commit promoted versions into a YAML/JSON file, a kustomization or Helm values, directly or through pull requests (admin); an existing target keeps what you leave out',
    )
    .argument('<env>')
    .option('--repo <https url>', 'repository (required for a new target)')
    .option('--file <path>', 'file in the repository, e.g. envs/production/values.yaml (required for a new target)')
    .option('--path <keys>', 'where in the file, e.g. image.tag (kustomize-image: the image name; required for a new target)')
    .option('--edit <kind>', 'yaml-path | kustomize-image | helm-values | json-path (new target: yaml-path)')
    .option('--branch <name>', 'branch (new target: main)')
    .option('--value <what>', 'version | digest | version@digest (new target: version)')
    .option(
      '--token-secret <NAME>',
      'secret holding the push token (stageline/<tenant>/git-token/<NAME>; STAGELINE_SECRET_<TENANT>__GIT_TOKEN__<NAME> locally)',
    )
    .option('--no-token-secret', 'push without a token')
    .option(
      '--map <artifact=file:path>',
      "where one artifact's value goes (a bundle's members each to their own; repeat; @edit after the path for another edit kind, e.g. worker=envs/prod/worker.json:image.tag@json-path)",
      collect,
    )
    .option('--no-map', 'drop the path map: every artifact to --file and --path')
    .addOption(
      new Option('--pull-request <host>', 'deliver through pull requests (GitHub) or merge requests (GitLab) into --branch instead of commits to it').choices([
        'github',
        'gitlab',
      ]),
    )
    .option('--no-pull-request', 'back to direct commits (drops the pull-request settings)')
    .option('--api-url <url>', "pull requests: the host's API (GitHub Enterprise https://ghe.example.com/api/v3; omit for github.com or gitlab.com)")
    .option('--api-token-secret <NAME>', 'pull requests: secret holding the API token (stageline/<tenant>/github-token/<NAME>, or gitlab-token)')
    .option('--app-slug <slug>', "pull requests on GitHub with a GitHub App's installation token: the app's slug (its pull requests are opened by <slug>[bot])")
    .option('--webhook-secret <NAME>', "pull requests: secret the host's webhook is signed with (stageline/<tenant>/git-webhook/<NAME>)")
    .option('--draft', 'pull requests: open them as drafts')
    .option('--no-draft', 'pull requests: not as drafts')
    .option('--auto-merge', 'pull requests: merge when the checks pass')
    .option('--no-auto-merge', 'pull requests: a person merges')
    .option('--reviewer <user>', 'pull requests: ask this user to review (repeat; replaces the stored list)', collect)
    .option('--label <label>', 'pull requests: a label (repeat; replaces the stored list)', collect)
    .action(async (envName: string) => {
      const cur = await fetchOrNull<GitTarget>(`/api/v1/environments/${q(envName)}/git-target`);
      const r = await api<GitTarget>('PUT', `/api/v1/environments/${q(envName)}/git-target`, gitTargetSetBody(values, cur));
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
