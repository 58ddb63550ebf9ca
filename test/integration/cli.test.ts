import { execFile, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
let t: TestStack;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  t = await startTestStack();
  const u = await t.users(t.tenant());
  await makeLine(t, u.admin);
  env = { ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: u.admin };
});
afterAll(() => t.stop());

const cliWith = (vars: NodeJS.ProcessEnv, ...args: string[]) =>
  run(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'cli', 'stageline.ts'), ...args], { env: vars, cwd: root });
const cli = (...args: string[]) => cliWith(env, ...args);
/** What --wait printed on stderr, a step a line. */
const steps = (stderr: string) =>
  stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

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
    const child = spawn(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'cli', 'stageline.ts'), 'login', '--browser', '--callback-port', String(port)], {
      env: vars,
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
      draft: false,
      autoMerge: true,
      reviewers: ['alice', 'bob'],
      labels: ['release', 'prod'],
    });

    // The API's validation, field by field, on stderr (exit 2); nothing changes.
    const bad = await cli('git-target', 'set', 'staging', '--api-token-secret', 'github-token').catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringMatching(/400 .*\n\s+body\.pullRequest\.tokenSecret: must be a secret name/) });
    await expect(cli('git-target', 'set', 'staging', '--pull-request', 'bitbucket')).rejects.toMatchObject({
      stderr: expect.stringMatching(/Allowed choices are github, gitlab/),
    });
    await expect(cli('git-target', 'set', 'staging', '--no-pull-request', '--draft')).rejects.toMatchObject({
      stderr: expect.stringContaining('--no-pull-request goes back to direct commits: drop --draft'),
    });
    expect((await stored()).version).toBe(3);
    // A new target in pull-request mode without its API token: the API names the missing field; without --repo the CLI says what it needs.
    await expect(
      cli('git-target', 'set', 'production', '--repo', 'http://127.0.0.1:9/deploy.git', '--file', 'p.yaml', '--path', 'image.tag', '--pull-request', 'gitlab'),
    ).rejects.toMatchObject({
      stderr: expect.stringMatching(/body\.pullRequest\.tokenSecret/),
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
    const login = spawn(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'cli', 'stageline.ts'), 'login', '--url', t.url], { env: vars, cwd: root });
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

describe('CLI: promote, status, list, rollback, approve, reject (floe style)', () => {
  let u: Awaited<ReturnType<TestStack['users']>>;
  let tenant: string;
  let as: (...args: string[]) => ReturnType<typeof cli>;
  const digest = (c: string) => `sha256:${c.repeat(64)}`;
  const publish = async (version: string, c: string) => {
    const r = await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version, digest: digest(c) } });
    expect(r.status).toBe(201);
  };

  beforeAll(async () => {
    // a tenant of its own, so the audit count above stays as it is
    tenant = t.tenant();
    u = await t.users(tenant);
    await makeLine(t, u.admin);
    const vars = { ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: u.deployer };
    as = (...args) => cliWith(vars, ...args);
  });

  it('promote <version> --wait moves an artifact; promote status prints every environment in line order', async () => {
    await publish('v1.2.3', 'a');
    const promoted = await as('promote', 'v1.2.3', '--from', 'dev', '--to', 'staging', '--artifact', 'platform', '--wait');
    expect(promoted.stdout).toMatch(/^prm_\w+\s+platform@v1\.2\.3\s+dev → staging\s+COMPLETED$/m);
    // Each step as it happened, though staging has no bake (so no poll sees it executing for long).
    expect(steps(promoted.stderr).slice(1)).toEqual([
      expect.stringMatching(/^created by deployer@\S+: waiting to start$/),
      'validating: running the gates',
      'gates: ✓ policy_compliance · - tests · - security_scan · - cost_analysis · - performance_baseline',
      'approved: staging needs no approval',
      'executing: platform@v1.2.3 into staging',
      expect.stringMatching(/^done: COMPLETED, staging runs platform@v1\.2\.3 \(deployment \S+\)$/),
    ]);

    const { stdout } = await as('promote', 'status');
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^Environment\s+Version\s+Promoted At\s+Promoted By\s+Gates\s+Config/);
    expect(lines[1]).toMatch(/^-+\s+-+/);
    expect(lines[2]).toMatch(/^dev\s+v1\.2\.3-dev\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+deployer@\S+\s+none\s+dev@0/);
    expect(lines[3]).toMatch(/^staging\s+v1\.2\.3-staging\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+deployer@\S+\s+✓----\s+staging@0/);
    expect(lines[4]).toMatch(/^production\s+-\s+-\s+-\s+none\s+production@0/);
    expect(stdout).toContain('Pending Promotions: none');

    const only = await as('promote', 'status', '--env', 'staging');
    expect(only.stdout).not.toMatch(/^dev\s/m);
    expect(only.stdout).toMatch(/^staging\s/m);
  });

  it('publish creates <version>-dev and latest-dev; promote --to infers --from (the environment before it)', async () => {
    const published = await as('publish', '--artifact', 'platform', '--version', 'v2.0.0', '--digest', digest('e'), '--commit', 'abc123');
    expect(published.stdout).toContain(`platform@v2.0.0 published into dev: v2.0.0-dev, latest-dev → ${digest('e')}`);
    const promoted = await as('promote', 'v2.0.0', '--to', 'staging', '--artifact', 'platform', '--wait');
    expect(promoted.stdout).toMatch(/^prm_\w+\s+platform@v2\.0\.0\s+dev → staging\s+COMPLETED$/m);
    await expect(as('promote', 'v2.0.0', '--to', 'dev', '--artifact', 'platform')).rejects.toThrow(/'dev' is the first environment/);
    // floe's form names no artifact: the one the source environment runs (it runs exactly one here).
    await as('publish', '--artifact', 'platform', '--version', 'v2.0.1', '--digest', digest('f'));
    const floe = await as('promote', 'v2.0.1', '--to=staging', '--wait');
    expect(floe.stdout).toMatch(/^prm_\w+\s+platform@v2\.0\.1\s+dev → staging\s+COMPLETED$/m);
    await expect(as('promote', 'v2.0.1', '--to=production', '--sync-registries')).rejects.toThrow(/--sync-registries: 'production' lists no registries/);
    expect((await t.call('GET', '/api/v1/artifacts/platform/tags/latest-staging', { token: u.deployer })).body).toMatchObject({ version: 'v2.0.1' });
  });

  it('promote --config --dry-run prints the diff, the gates and the approval it would need, and writes nothing', async () => {
    await as('config', 'set', 'query.timeout', '"180s"', '--env', 'staging');
    const { stdout } = await as('promote', '--config', '--from', 'staging', '--to', 'production', '--dry-run');
    expect(stdout).toContain('Dry run: config set (FULL), staging → production');
    expect(stdout).toContain('+ config query.timeout = "180s"');
    expect(stdout).toContain('Gates: policy_compliance (blocking)');
    expect(stdout).toContain('Approval: 1 from approver/admin, not the requester');
    expect(stdout).toContain('Nothing was changed (dry run).');
    const list = await t.call('GET', '/api/v1/promotions?target=production', { token: u.viewer });
    expect(list.body.items).toEqual([]);
  });

  it('promote --config --wait stops at the approval; status, approve and reject drive promotions by id', async () => {
    const waiting = await as('promote', '--config', '--from', 'staging', '--to', 'production', '--wait', '--notes', 'timeouts');
    expect(waiting.stdout).toMatch(/AWAITING_APPROVAL \(waiting for approval\)/);
    expect(waiting.stdout).toContain('approvals: 0 of 1 from approver/admin');
    const id = /^(prm_\w+)/.exec(waiting.stdout)![1]!;
    // --wait without a bake shows each step as it happened (on stderr), not only "following": the gates
    // with their verdicts, then who may approve.
    expect(steps(waiting.stderr)).toEqual([
      `following ${id} (Ctrl-C stops following, not the promotion)`,
      `created by deployer@${tenant}.test: waiting to start`,
      'validating: running the gates',
      'gates: ✓ policy_compliance · - tests · - security_scan · - cost_analysis · - performance_baseline',
      `waiting for approval: 1 from approver/admin, not the requester (deployer@${tenant}.test)`,
    ]);
    expect((await as('promote', 'status')).stdout).toContain(`- config:full@1 staging → production (waiting for 1 approval from approver/admin`);

    // --yes skips the question, not the review: the diff is printed, then the approval.
    const approved = await as('approve', id, '--comment', 'lgtm', '--yes', '--token', u.approver);
    expect(approved.stdout).toContain(`approver@`);
    expect(approved.stdout).toContain('changes: 1 key');
    expect(approved.stdout.indexOf('+ config query.timeout = "180s"')).toBeGreaterThan(-1);
    expect(approved.stdout.indexOf('+ config query.timeout')).toBeLessThan(approved.stdout.lastIndexOf(`✓ approver@`));
    await waitFor(t, u.viewer, id, ['COMPLETED']);
    const done = await as('status', id);
    expect(done.stdout).toMatch(new RegExp(`^${id}\\s+config:full@1\\s+staging → production\\s+COMPLETED$`, 'm'));
    expect(done.stdout).toMatch(/result: production@1 sha256:[0-9a-f]{64}/);

    await as('config', 'set', 'query.timeout', '"200s"', '--env', 'staging');
    const second = /^(prm_\w+)/.exec((await as('promote', '--config', '--from', 'staging', '--to', 'production', '--wait')).stdout)![1]!;
    const rejected = await as('reject', second, '--reason', 'not this week', '--token', u.approver);
    expect(rejected.stdout).toMatch(/REJECTED/);
    expect(rejected.stdout).toMatch(/rejected by \S+: not this week/);
  });

  it('list --env shows the versions that entered an environment, the current one marked; rollback --dry-run prints the impact', async () => {
    await publish('v1.2.4', 'b');
    const { stdout } = await as('list', '--env', 'dev', '--artifact', 'platform');
    expect(stdout).toContain('platform in dev: runs v1.2.4');
    expect(stdout).toMatch(/^\*\s+v1\.2\.4\s+v1\.2\.4-dev\s/m);
    expect(stdout).toMatch(/^\s+v1\.2\.3\s+v1\.2\.3-dev\s/m);
    // without --artifact: every artifact the environment runs
    expect((await as('list', '--env', 'dev')).stdout).toContain('platform in dev: runs v1.2.4');

    const impact = await as('rollback', 'v1.2.3', '--env', 'dev', '--artifact', 'platform', '--dry-run');
    expect(impact.stdout).toContain('Rollback of dev: platform v1.2.4 → v1.2.3');
    expect(impact.stdout).toContain('Affected data products: 0');
    expect(impact.stdout).toContain('Breaking changes: 0');
    expect(impact.stdout).toMatch(/Estimated downtime: \d+ (second|minute)/);
    expect(impact.stdout).toContain('Recommendation: SAFE to rollback');
    expect((await as('list', '--env', 'dev', '--artifact', 'platform')).stdout).toMatch(/^\*\s+v1\.2\.4\s/m); // a dry run changes nothing
  });

  it('prints the API error message and issues on stderr and exits 2 (3 when not authenticated)', async () => {
    const fails = (stderr: RegExp | string, ...args: string[]) =>
      expect(as(...args)).rejects.toMatchObject({
        code: 2,
        stdout: '',
        stderr: typeof stderr === 'string' ? expect.stringContaining(stderr) : expect.stringMatching(stderr),
      });
    await fails(/404 platform@v9\.9\.9 has not been published/, 'promote', 'v9.9.9', '--from', 'dev', '--to', 'staging', '--artifact', 'platform');
    await fails(
      /400 Request is invalid\n\s+body\.version: must be a semantic version/,
      'promote',
      'banana',
      '--from',
      'dev',
      '--to',
      'staging',
      '--artifact',
      'platform',
    );
    await fails(/422 Promotion goes forward only/, 'promote', '--config', '--from', 'production', '--to', 'dev', '--dry-run');
    await fails('say what to promote', 'promote', '--from', 'dev', '--to', 'staging');
    await fails("'production' runs no artifact yet: say which with --artifact", 'rollback', 'v1.0.0', '--env', 'production');
    await fails("required option '--reason <text>' not specified", 'reject', 'prm_x');
    await fails(/400 Request is invalid\n\s+path\.id: must be a promotion id/, 'approve', 'prm_x', '--yes');
    // A deployer reviews what an approval would change, then is refused it.
    const pending = JSON.parse((await as('promote', '--config', '--from', 'staging', '--to', 'production', '--json')).stdout).id as string;
    await expect(as('approve', pending, '--yes')).rejects.toMatchObject({
      code: 2,
      stdout: expect.stringContaining(`${pending}  config:full@`),
      stderr: expect.stringMatching(/403 This route needs the 'approver' role/),
    });
    // Not authenticated is its own exit code (3).
    await expect(as('promote', 'status', '--token', 'not-a-token')).rejects.toMatchObject({
      code: 3,
      stderr: expect.stringMatching(/401 Unauthorized\n.*STAGELINE_TOKEN/),
    });
    await fails("unknown option '--bogus'", 'promote', 'status', '--bogus');
    // A typo gets a suggestion; every command has its own help (exit 0), which lists its options.
    await fails('(Did you mean promote?)', 'promte', 'v1.2.3');
    await fails(
      "option '--timeout <seconds>' argument 'soon' is invalid",
      'promote',
      'v1',
      '--to',
      'staging',
      '--artifact',
      'platform',
      '--wait',
      '--timeout',
      'soon',
    );
    await fails(
      "option '--when-frozen <mode>' argument 'later' is invalid. Allowed choices are wait, fail",
      'promote',
      'v1',
      '--to',
      'staging',
      '--artifact',
      'platform',
      '--when-frozen',
      'later',
    );
    const help = await as('promote', '--help');
    expect(help.stdout).toContain('Usage: stageline promote [options] [command] [version]');
    expect(help.stdout).toMatch(/--when-frozen <mode>\s+inside a freeze window/);
    expect((await as('--help')).stdout).toMatch(/Exit codes:\n\s+0\s+ok/);
  });

  it('status shows the approvals so far, how many are still needed and until when; --wait is quiet when not a terminal', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: { name: 'two', source_environment: 'staging', target_environment: 'production', required_approvers: 2 },
    });
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.deployer, body: { key: 'k', value: 1 } });
    const created = await cliWith(
      { ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: u.deployer },
      'promote',
      '--config',
      '--from',
      'staging',
      '--to',
      'production',
      '--wait',
      '--json',
    );
    expect(created.stderr).toBe('');
    const id = JSON.parse(created.stdout).id;
    await t.call('POST', `/api/v1/promotions/${id}/approve`, { token: u.approver, body: { comment: 'numbers look right' } });
    const shown = await cliWith({ ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: u.viewer }, 'status', id);
    expect(shown.stdout).toContain('approvals: 1 of 2 from approver/admin, 1 still needed');
    expect(shown.stdout).toContain(`✓ approver@${tenant}.test`);
    expect(shown.stdout).toContain('numbers look right');
  });
});

describe('CLI: every step of a promotion without curl', () => {
  it('a failed gate is fixed with evidence and validate; approve shows the diff first; watch, status, rollback --promotion and cancel finish the loop', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const staging = await t.call('GET', '/api/v1/environments/staging', { token: u.admin });
    expect(
      (await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: staging.body.version, gates: { tests: true } } })).status,
    ).toBe(200);
    const as = (token: string, ...args: string[]) => cliWith({ ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: token }, ...args);
    const id = (out: string) => /^(prm_\w+)/m.exec(out)![1]!;
    await as(u.deployer, 'config', 'set', 'query.timeout', '"30s"', '--env', 'dev');

    // The gate fails: exit 1, the reason and what to do next.
    const failed = await as(u.deployer, 'promote', '--config', '--to', 'staging', '--wait').catch((e: { code: number; stdout: string; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 1 });
    const first = id(failed.stdout);
    expect(failed.stdout).toMatch(/VALIDATION_FAILED[\s\S]*✗ Tests failed: no test results were attached \(this gate fails closed\)$/m);
    expect(failed.stdout).toContain(`Next: add what the gates missed (stageline evidence ${first} …), then validate again: stageline validate ${first} --wait`);
    expect(failed.stderr).toContain(`following ${first}`);
    expect((await as(u.viewer, 'promote', 'status')).stdout).toMatch(
      new RegExp(`^- config:full@1 dev → staging \\(Tests failed: no test results were attached \\(this gate fails closed\\)\\)  ${first}$`, 'm'),
    );

    expect((await as(u.deployer, 'evidence', first, '--type', 'test_results', '--payload', '{"passed":12,"failed":0}')).stdout).toMatch(
      new RegExp(`^evd_\\w+|^\\S+: test_results attached to ${first}`),
    );
    const validated = await as(u.deployer, 'validate', first, '--wait');
    expect(validated.stdout).toMatch(new RegExp(`^${first}\\s+config:full@1\\s+dev → staging\\s+COMPLETED$`, 'm'));
    expect(validated.stdout).toContain(`Next: to undo it: stageline rollback --promotion ${first} --reason … --dry-run`);

    // Into production: it waits for an approver, who sees what changes before approving.
    const waiting = await as(u.deployer, 'promote', '--config', '--from', 'staging', '--to', 'production', '--wait');
    const second = id(waiting.stdout);
    expect(waiting.stdout).toContain(`Next: ask an approver: stageline approve ${second}`);
    const listed = await as(u.viewer, 'promotions', 'list', '--status', 'pending');
    expect(listed.stdout).toMatch(new RegExp(`^${second}\\s+config:full@1\\s+staging → production\\s+AWAITING_APPROVAL \\(approval\\)`, 'm'));
    const shown = await as(u.viewer, 'promotions', 'show', second);
    expect(shown.stdout).toContain('changes: 1 key, ');
    expect(shown.stdout).toContain('+ config query.timeout = "30s"');
    expect(JSON.parse((await as(u.viewer, 'changes', second, '--json')).stdout)).toMatchObject({
      promotionId: second,
      total: 1,
      changes: [{ key: 'query.timeout', change: 'added', after: '"30s"' }],
    });
    const approved = await as(u.approver, 'approve', second, '--comment', 'ok');
    expect(approved.stdout.indexOf('+ config query.timeout = "30s"')).toBeGreaterThan(-1);
    expect(approved.stdout.indexOf('+ config query.timeout')).toBeLessThan(approved.stdout.lastIndexOf(second));
    const watched = await as(u.viewer, 'promotions', 'watch', second);
    expect(watched.stdout).toMatch(new RegExp(`^${second}\\s+config:full@1\\s+staging → production\\s+COMPLETED$`, 'm'));

    // Undo the staging promotion by its id: the impact first (a dry run changes nothing), then the rollback.
    const impact = await as(u.deployer, 'rollback', '--promotion', first, '--reason', 'undo the timeout', '--dry-run');
    expect(impact.stdout).toMatch(/^Rollback of staging: remove config query\.timeout/m);
    expect(impact.stdout).toContain('Nothing was changed (dry run).');
    // The rollback is a promotion of staging onto its own earlier content, run by the flow (no approval into staging).
    const undone = await as(u.deployer, 'rollback', '--promotion', first, '--reason', 'undo the timeout', '--wait');
    const rollback = /^(prm_\w+)\s+config:selective@\d+\s+rollback of staging\s+COMPLETED$/m.exec(undone.stdout)?.[1];
    expect(rollback, undone.stdout).toBeDefined();
    expect(JSON.parse((await as(u.viewer, 'promotions', 'show', first, '--json')).stdout).status).toBe('ROLLED_BACK');
    expect((await as(u.viewer, 'config', 'list', '--env', 'staging', '--json')).stdout).not.toContain('query.timeout');
    // The line's status does not hide it: staging's config was restored by that rollback, and says why.
    const line = JSON.parse((await as(u.viewer, 'promote', 'status', '--json')).stdout);
    expect(line.environments.find((e: any) => e.name === 'staging').config.restored).toEqual({ promotionId: rollback, reason: 'undo the timeout' });
    // …and as a person reads it: when, by which rollback, and why.
    const text = (await as(u.viewer, 'promote', 'status')).stdout;
    expect(text).toMatch(/^staging\s+.*staging@\d+ \(restored\)/m);
    expect(text).toMatch(new RegExp(`^Restored:\\n↺ staging: config staging@\\d+ restored \\S.* by rollback ${rollback} — undo the timeout$`, 'm'));

    // A promotion not wanted after all: cancelled, with the reason kept.
    await as(u.deployer, 'config', 'set', 'query.timeout', '"40s"', '--env', 'staging');
    const third = id((await as(u.deployer, 'promote', '--config', '--from', 'staging', '--to', 'production', '--wait')).stdout);
    expect((await as(u.deployer, 'cancel', third, '--reason', 'wrong week')).stdout).toMatch(new RegExp(`^${third}\\s.*CANCELLED`, 'm'));

    // --json errors are one JSON object on stderr with the exit code.
    const missing = await as(u.approver, 'approve', third, '--yes', '--json').catch((e: { code: number; stderr: string }) => e);
    expect(missing).toMatchObject({ code: 2 });
    expect(JSON.parse(missing.stderr.trim())).toMatchObject({ error: { httpStatus: 409, exitCode: 2, message: expect.stringContaining('it is CANCELLED') } });

    // Completion is written from the command tree.
    const completion = (await as(u.viewer, 'completion', 'bash')).stdout;
    expect(completion).toContain('"promotions") words="list show watch');
    expect(completion).toContain('complete -F _stageline stageline');
  });
});

describe('CLI: what a rollback put back', () => {
  it("promote status names the rollback that restored a version, not the engine that wrote it ('stageline')", async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const promote = async (v: string, c: string) => {
      await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: v, digest: `sha256:${c.repeat(64)}` } });
      const p = await t.call('POST', '/api/v1/promotions', {
        token: u.deployer,
        body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version: v },
      });
      return p.body.id as string;
    };
    expect((await waitFor(t, u.viewer, await promote('v1.0.0', '1'), ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: 1, bakeSeconds: 2 } });
    const bad = await promote('v1.1.0', '2');
    await waitFor(t, u.viewer, bad, ['EXECUTING']);
    await t.call('POST', `/api/v1/promotions/${bad}/evidence`, {
      token: u.deployer,
      body: { type: 'alarm', payload: { name: 'p99-latency', state: 'ALARM', reason: 'p99 > 800 ms' } },
    });
    expect((await waitFor(t, u.viewer, bad, ['ROLLED_BACK', 'COMPLETED', 'FAILED'], 20_000)).status).toBe('ROLLED_BACK');
    const out = (await cliWith({ ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: u.viewer }, 'promote', 'status')).stdout;
    expect(out).toMatch(new RegExp(`^staging\\s+v1\\.0\\.0-staging\\s+[\\d-]+ [\\d:]+\\s+restored by rollback ${bad}\\s`, 'm'));
    expect(out).not.toMatch(/^staging\s.*\sstageline\s/m);
  });
});
