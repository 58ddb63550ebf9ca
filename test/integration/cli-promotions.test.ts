import { beforeAll, describe, expect, it } from 'vitest';
import { cliWith } from '../support/cli.ts';
import { waitFor } from '../support/promotions.ts';
import { rolledBackByAlarm } from '../support/scenarios.ts';
import { makeLine, useTestStack, type TestStack } from '../support/stack.ts';

// Promotions through the CLI: promote, status, list, approve, reject, rollback, evidence, validate, cancel.
// The CLI's set-up and administration are in cli-admin.test.ts.
const t = useTestStack();

/** What --wait printed on stderr, a step a line. */
const steps = (stderr: string) =>
  stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

describe('CLI: promote, status, list, rollback, approve, reject (floe style)', () => {
  let u: Awaited<ReturnType<TestStack['users']>>;
  let tenant: string;
  let as: (...args: string[]) => ReturnType<typeof cliWith>;
  const digest = (c: string) => `sha256:${c.repeat(64)}`;
  const publish = async (version: string, c: string) => {
    const r = await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version, digest: digest(c) } });
    expect(r.status).toBe(201);
  };

  beforeAll(async () => {
    // a tenant of its own, as every test of this file makes
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
      /400 Request is invalid\n\s+version: must be a semantic version/,
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
    const { u, bad } = await rolledBackByAlarm(t);
    const out = (await cliWith({ ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: u.viewer }, 'promote', 'status')).stdout;
    expect(out).toMatch(new RegExp(`^staging\\s+v1\\.0\\.0-staging\\s+[\\d-]+ [\\d:]+\\s+restored by rollback ${bad}\\s`, 'm'));
    expect(out).not.toMatch(/^staging\s.*\sstageline\s/m);
  });
});
