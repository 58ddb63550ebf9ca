import { createHmac } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliWith, spawnCli } from '../support/cli.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';
import { localSecretVariable } from '../../functions/adapters/secrets.ts';

// The CLI's own set-up and administration: tenants and users, signing in, configs, git targets, notifications, Slack.
// Promotions through the CLI are in cli-promotions.test.ts.
let t: TestStack;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  t = await startTestStack();
  const tenant = t.tenant();
  // The secrets the git targets name exist for the tenant (a target naming a missing secret is refused at save).
  process.env[localSecretVariable(tenant, 'git-token', 'GITOPS_TOKEN')!] = 'cli-admin-push-token';
  process.env[localSecretVariable(tenant, 'github-token', 'GITHUB_TOKEN')!] = 'cli-admin-github-token';
  process.env[localSecretVariable(tenant, 'git-webhook', 'GITHUB_HOOK')!] = 'cli-admin-hook-secret';
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  env = { ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: u.admin };
});
afterAll(() => t.stop());

const cli = (...args: string[]) => cliWith(env, ...args);

describe('CLI: a tenant onboarded without the AWS console', () => {
  it('a platform operator creates a tenant; its admin signs in, invites, changes roles and removes users, all with the CLI', async () => {
    const home = (name: string) => ({
      ...process.env,
      STAGELINE_URL: t.url,
      STAGELINE_TOKEN: '',
      XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), `stageline-${name}-`)),
    });
    const pat = home('pat');
    const id = `cli-${Date.now().toString(36)}`;
    expect((await cliWith(pat, 'login', '--user', 'pat@platform.example')).stdout).toContain('as pat@platform.example (tenant platform)');
    expect((await cliWith(pat, 'tenants', 'create', id, '--admin', `ada@${id}.test`, '--name', 'Initech')).stdout.trim()).toBe(
      `tenant ${id} (Initech) created; ada@${id}.test invited as its admin`,
    );
    const ada = home('ada');
    await cliWith(ada, 'login', '--user', `ada@${id}.test`);
    expect((await cliWith(ada, 'users', 'invite', `carl@${id}.test`, '--role', 'approver')).stdout).toMatch(
      new RegExp(`^invited carl@${id}\\.test as approver \\(INVITED\\)`),
    );
    await cliWith(ada, 'users', 'invite', `dev@${id}.test`, '--role', 'deployer', 'viewer');
    expect((await cliWith(ada, 'users', 'roles', `carl@${id}.test`, '--role', 'approver', 'deployer')).stdout.trim()).toBe(
      `carl@${id}.test now holds approver, deployer`,
    );
    const listed = JSON.parse((await cliWith(ada, 'users', 'list', '--json')).stdout) as { items: { email: string; roles: string[] }[] };
    expect(listed.items.map((u) => `${u.email}=${u.roles.join('+')}`)).toEqual([
      `ada@${id}.test=admin`,
      `carl@${id}.test=approver+deployer`,
      `dev@${id}.test=deployer+viewer`,
    ]);
    await cliWith(ada, 'users', 'remove', `dev@${id}.test`);
    expect((await cliWith(ada, 'users', 'list')).stdout).not.toContain(`dev@${id}.test`);
    // Refusals say why and exit 2: yourself, a stranger, a non-operator creating a tenant.
    await expect(cliWith(ada, 'users', 'roles', `ada@${id}.test`, '--role', 'viewer')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('another admin'),
    });
    await expect(cliWith(ada, 'users', 'remove', 'nobody@x.test')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('no user nobody@x.test') });
    await expect(cliWith(ada, 'tenants', 'create', `${id}-2`, '--admin', `z@${id}.test`)).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('platform-admin'),
    });
    await expect(cliWith(home('nobody'), 'login', '--user', 'nobody@nowhere.test')).rejects.toMatchObject({ code: 3 });
  });
});

describe('CLI: sign in in a browser (authorization code + PKCE)', () => {
  it('prints the sign-in address, receives the code on its loopback listener and keeps the ID token', async () => {
    const vars = { ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: '', XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'stageline-browser-')) };
    const port = 40000 + Math.floor(Math.random() * 20000);
    const child = spawnCli(vars, ['login', '--browser', '--callback-port', String(port)], 'ignore');
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    for (let i = 0; i < 200 && !stderr.includes('waiting for the sign-in'); i++) await new Promise((r) => setTimeout(r, 50));
    const address = /Sign in in your browser:\n\s+(\S+)/.exec(stderr)?.[1];
    expect(address, stderr).toBeDefined();
    // The person: opens the page, chooses who they are; the browser follows the redirect to the CLI.
    const page = await fetch(address!);
    expect(await page.text()).toContain('carol@acme.example');
    const form = new URLSearchParams(new URL(address!).searchParams);
    form.set('email', 'carol@acme.example');
    const chosen = await fetch(`${t.url}/dev/oauth2/authorize`, {
      method: 'POST',
      body: form,
      redirect: 'manual',
      headers: { origin: t.url, 'sec-fetch-site': 'same-origin' },
    });
    const back = chosen.headers.get('location')!;
    expect(back).toMatch(new RegExp(`^http://localhost:${port}/callback\\?code=`));
    expect(await (await fetch(back.replace('localhost', '127.0.0.1'))).text()).toContain('Signed in');
    expect(await exited, stderr).toBe(0);
    expect(stdout).toContain('as carol@acme.example (tenant acme)');
    expect((await cliWith(vars, 'whoami')).stdout).toContain('carol@acme.example');
  });
});

describe('CLI through the API', () => {
  it('sets configs, diffs two environments, lists environments and verifies the audit chain', async () => {
    await cli('config', 'set', 'query.timeout', '"180s"', '--env', 'staging');
    // production is protected: a direct change is an admin break-glass.
    await expect(cli('config', 'set', 'query.timeout', '"120s"', '--env', 'production')).rejects.toThrow(/protected environment/);
    await cli('config', 'set', 'query.timeout', '"120s"', '--env', 'production', '--break-glass', 'initial production value');
    await cli('config', 'set', 'new-ui', 'true', '--env', 'staging', '--flag');
    const diff = await cli('diff', '--source', 'staging', '--target', 'production');
    expect(diff.stdout).toContain('~ config query.timeout: "120s" -> "180s"');
    expect(diff.stdout).toContain('+ flag new-ui = true');
    const envs = await cli('env', 'list');
    expect(envs.stdout).toMatch(/0\s+dev/);
    await t.stack.stream.idle();
    expect((await cli('audit', 'verify')).stdout).toMatch(/chain intact: 6 entries linked; \d+ signed checkpoints, newest at 6/);
  });

  it('git-target set/get/remove print the target (not a promotion view); --json gives the API answer', async () => {
    const set = await cli(
      'git-target',
      'set',
      'staging',
      '--repo',
      'http://127.0.0.1:9/deploy.git',
      '--file',
      'envs/staging/values.yaml',
      '--path',
      'image.tag',
      '--token-secret',
      'GITOPS_TOKEN',
    );
    expect(set.stdout.trim()).toBe(
      'staging: promotions commit version to http://127.0.0.1:9/deploy.git main:envs/staging/values.yaml (image.tag), pushing with secret GITOPS_TOKEN, version 1',
    );
    const got = await cli('git-target', 'get', 'staging');
    expect(got.stdout.trim()).toBe(set.stdout.trim());
    expect(JSON.parse((await cli('git-target', 'get', 'staging', '--json')).stdout)).toMatchObject({
      repository: 'http://127.0.0.1:9/deploy.git',
      branch: 'main',
      version: 1,
    });
    // set again: the CLI sends the version it read, so a second set is a change, not a conflict.
    expect(
      (await cli('git-target', 'set', 'staging', '--repo', 'http://127.0.0.1:9/deploy.git', '--file', 'values.yaml', '--path', 'image.tag')).stdout,
    ).toMatch(/version 2$/m);
    // --edit: how the value is written (a kustomization's images entry here), named in what it prints.
    const kustomize = ['--file', 'envs/staging/kustomization.yaml', '--edit', 'kustomize-image', '--path', 'registry.example.com/team/platform'];
    expect((await cli('git-target', 'set', 'staging', '--repo', 'http://127.0.0.1:9/deploy.git', ...kustomize)).stdout).toContain(
      // the push token set with version 1 is kept: a set keeps what it does not name
      'main:envs/staging/kustomization.yaml (kustomize-image registry.example.com/team/platform), pushing with secret GITOPS_TOKEN, version 3',
    );
    expect((await cli('git-target', 'remove', 'staging')).stdout.trim()).toBe('staging: no git target');
    await expect(cli('git-target', 'get', 'staging')).rejects.toThrow(/404|no git target/i);
  });

  it('git-target set takes pull-request mode as flags; a partial set keeps what is stored; --no-pull-request goes back to direct commits; bad input names its field', async () => {
    const repo = ['--repo', 'http://127.0.0.1:9/deploy.git', '--file', 'envs/staging/values.yaml', '--path', 'image.tag', '--token-secret', 'GITOPS_TOKEN'];
    const pr = ['--pull-request', 'github', '--api-url', 'http://127.0.0.1:9/api/v3', '--api-token-secret', 'GITHUB_TOKEN', '--webhook-secret', 'GITHUB_HOOK'];
    const set = await cli('git-target', 'set', 'staging', ...repo, ...pr, '--draft', '--reviewer', 'alice', '--reviewer', 'bob', '--label', 'release');
    expect(set.stdout.trim()).toBe(
      'staging: promotions commit version to http://127.0.0.1:9/deploy.git main:envs/staging/values.yaml (image.tag), pushing with secret GITOPS_TOKEN, through GitHub pull requests (api http://127.0.0.1:9/api/v3, token secret GITHUB_TOKEN, webhook secret GITHUB_HOOK, draft, reviewers alice, bob, labels release), version 1',
    );
    const stored = async () => JSON.parse((await cli('git-target', 'get', 'staging', '--json')).stdout);
    expect((await stored()).pullRequest).toEqual({
      host: 'github',
      apiUrl: 'http://127.0.0.1:9/api/v3',
      tokenSecret: 'GITHUB_TOKEN',
      webhookSecret: 'GITHUB_HOOK',
      appSlug: null,
      draft: true,
      autoMerge: false,
      reviewers: ['alice', 'bob'],
      labels: ['release'],
    });

    // A set that changes the branch only keeps the file, the push token and the pull-request settings.
    await cli('git-target', 'set', 'staging', '--branch', 'release');
    expect(await stored()).toMatchObject({
      branch: 'release',
      file: 'envs/staging/values.yaml',
      tokenSecret: 'GITOPS_TOKEN',
      pullRequest: { host: 'github', tokenSecret: 'GITHUB_TOKEN', draft: true, reviewers: ['alice', 'bob'] },
      version: 2,
    });
    // A pull-request flag alone changes that setting, the rest of the mode as stored; a list given replaces the list.
    await cli('git-target', 'set', 'staging', '--auto-merge', '--no-draft', '--label', 'release', '--label', 'prod');
    expect((await stored()).pullRequest).toEqual({
      host: 'github',
      apiUrl: 'http://127.0.0.1:9/api/v3',
      tokenSecret: 'GITHUB_TOKEN',
      webhookSecret: 'GITHUB_HOOK',
      appSlug: null,
      draft: false,
      autoMerge: true,
      reviewers: ['alice', 'bob'],
      labels: ['release', 'prod'],
    });

    // The API's validation, field by field, on stderr (exit 2); nothing changes.
    const bad = await cli('git-target', 'set', 'staging', '--api-token-secret', 'github-token').catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringMatching(/400 .*\n\s+pullRequest\.tokenSecret: must be a secret name/) });
    await expect(cli('git-target', 'set', 'staging', '--pull-request', 'bitbucket')).rejects.toMatchObject({
      stderr: expect.stringMatching(/Allowed choices are github, gitlab/),
    });
    await expect(cli('git-target', 'set', 'staging', '--no-pull-request', '--draft')).rejects.toMatchObject({
      stderr: expect.stringContaining('--no-pull-request goes back to direct commits: drop --draft'),
    });
    // A secret the tenant does not have: 422 naming the field and the secret; nothing changes.
    await expect(cli('git-target', 'set', 'staging', '--token-secret', 'NOPE')).rejects.toMatchObject({
      stderr: expect.stringMatching(/422 .*\n\s+tokenSecret: the secret 'NOPE' does not exist for this tenant/),
    });
    expect((await stored()).version).toBe(3);
    // A new target in pull-request mode without its API token: the API names the missing field; without --repo the CLI says what it needs.
    await expect(
      cli('git-target', 'set', 'production', '--repo', 'http://127.0.0.1:9/deploy.git', '--file', 'p.yaml', '--path', 'image.tag', '--pull-request', 'gitlab'),
    ).rejects.toMatchObject({
      stderr: expect.stringMatching(/\bpullRequest\.tokenSecret/),
    });
    await expect(cli('git-target', 'set', 'production', '--pull-request', 'gitlab', '--api-token-secret', 'GITLAB_TOKEN')).rejects.toMatchObject({
      stderr: expect.stringContaining('a new git target needs --repo, --file and --path'),
    });
    await expect(
      cli('git-target', 'set', 'production', '--repo', 'http://127.0.0.1:9/deploy.git', '--file', 'p.yaml', '--path', 'image.tag', '--draft'),
    ).rejects.toMatchObject({
      stderr: expect.stringContaining('name the host with --pull-request github|gitlab'),
    });

    // --no-pull-request: direct commits again, the push token kept.
    const direct = await cli('git-target', 'set', 'staging', '--no-pull-request');
    expect(direct.stdout.trim()).toBe(
      'staging: promotions commit version to http://127.0.0.1:9/deploy.git release:envs/staging/values.yaml (image.tag), pushing with secret GITOPS_TOKEN, version 4',
    );
    expect((await stored()).pullRequest).toBeNull();
    // --no-token-secret: pushes without a token from now on (the rest kept).
    expect((await cli('git-target', 'set', 'staging', '--no-token-secret')).stdout.trim()).toBe(
      'staging: promotions commit version to http://127.0.0.1:9/deploy.git release:envs/staging/values.yaml (image.tag), version 5',
    );
    // A GitHub App's installation token: --app-slug names the app (its pull requests are by <slug>[bot]).
    expect(
      (await cli('git-target', 'set', 'staging', '--pull-request', 'github', '--api-token-secret', 'GITHUB_TOKEN', '--app-slug', 'stageline-app')).stdout,
    ).toContain('as the GitHub App stageline-app (stageline-app[bot])');
    expect((await stored()).pullRequest).toMatchObject({ host: 'github', tokenSecret: 'GITHUB_TOKEN', appSlug: 'stageline-app' });
    await cli('git-target', 'remove', 'staging');
  });

  it('notify set/get configures notifications (tenant-wide and per environment) and never prints the webhook secret back', async () => {
    await cli(
      'notify',
      'set',
      '--slack-webhook',
      'https://hooks.slack.com/services/T0/B0/topsecret',
      '--slack-channel',
      '#platform-ops',
      '--email',
      'ops@acme.example',
      '--approvers',
    );
    const got = (await cli('notify', 'get')).stdout;
    expect(got).toContain('https://hooks.slack.com/…');
    expect(got).toContain('ops@acme.example, the eligible approvers');
    expect(got).not.toContain('topsecret');
    await cli('notify', 'set', '--env', 'production', '--email', 'oncall@acme.example', '--events', 'approval-required,failed');
    expect((await cli('notify', 'get', '--env', 'production')).stdout).toMatch(/\(production\)[\s\S]*oncall@acme.example[\s\S]*approval-required, failed/);
    await expect(cli('notify', 'set', '--slack-webhook', 'http://169.254.169.254/latest')).rejects.toMatchObject({
      stderr: expect.stringContaining('slack.webhook'),
    });
  });

  it('slack: binds the workspace, gets a code for your own account, lists and unlinks the link made from Slack', async () => {
    await cli('notify', 'set', '--slack-webhook', 'https://hooks.slack.com/services/T0/B0/topsecret', '--slack-channel', '#ops', '--slack-team', 'T0CLI');
    expect((await cli('notify', 'get')).stdout).toContain('(workspace T0CLI: Approve/Reject in Slack)');
    const said = (await cli('slack', 'link')).stdout;
    const code = /\/stageline link (\S+)/.exec(said)![1]!;
    expect(said).toMatch(/Valid once, until .*; it links the Slack user who sends it to admin@/);
    // What Slack sends when the person types the command (signed with the deployment's secret).
    const body = new URLSearchParams({ team_id: 'T0CLI', user_id: 'U0CLI', command: '/stageline', text: `link ${code}` }).toString();
    const ts = String(Math.floor(Date.now() / 1000));
    const signature = `v0=${createHmac('sha256', t.stack.slackSigningSecret).update(`v0:${ts}:${body}`).digest('hex')}`;
    const linked = await t.call('POST', '/api/v1/slack/commands', {
      raw: body,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': signature },
    });
    expect(linked.body.text).toContain('Linked');
    expect((await cli('slack', 'links')).stdout).toMatch(/T0CLI\s+U0CLI\s+admin@/);
    expect((await cli('slack', 'unlink', 'T0CLI', 'U0CLI')).stdout).toContain('unlinked U0CLI in T0CLI');
    expect((await cli('slack', 'links')).stdout).not.toContain('U0CLI');
  });

  it('login keeps the URL and token (from stdin, mode 0600); whoami reads it; logout forgets it; 401 exits 3', async () => {
    const u = await t.users(t.tenant());
    const home = mkdtempSync(join(tmpdir(), 'stageline-config-'));
    const vars = { ...process.env, XDG_CONFIG_HOME: home, STAGELINE_URL: undefined, STAGELINE_TOKEN: undefined };
    const login = spawnCli(vars, ['login', '--url', t.url]);
    let said = '';
    login.stdout.on('data', (d) => (said += d));
    login.stdin.end(`${u.viewer}\n`);
    expect(await new Promise((r) => login.on('close', r))).toBe(0);
    expect(said).toMatch(/^logged in to http:\/\/127\.0\.0\.1:\d+ as viewer@ten-/);
    const file = join(home, 'stageline', 'config.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const who = await cliWith(vars, 'whoami');
    expect(who.stdout).toMatch(/viewer@ten-\S+ at http:.*: tenant ten-\S+, groups viewer, token expires /);
    expect((await cliWith(vars, 'env', 'list')).stdout).toMatch(/dev|Position/);
    await cliWith(vars, 'logout');
    const err = await cliWith({ ...vars, STAGELINE_URL: t.url }, 'env', 'list').catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(3);
    expect((err as { stderr: string }).stderr).toMatch(/401 .*stageline login/s);
  });

  it('prints the API error and exits non-zero on bad input', async () => {
    await expect(cli('config', 'set', 'bad key!', '1', '--env', 'dev')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('set.0.key') });
    await expect(cli('diff', '--source', 'dev')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining("required option '--target <env>' not specified"),
    });
  });
});
