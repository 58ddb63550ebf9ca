import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliWith } from '../support/cli.ts';
import { approveIfAsked, waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * CloudWatch analysis reads only the tenant's own accounts, with the role the tenant registered for each
 * (GET/PUT /api/v1/metric-accounts): attaching a CloudWatch template where a measured target has no account
 * with a registered role is refused at save (422 naming the attachment and the target), and a measurement
 * that still meets one (a pre-analysis of the source environment) is an Error saying what to set up,
 * never a value read with the platform's own credentials.
 */
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

const ACCOUNT = '111122223333';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/stageline-metrics`;

const promotions = {
  provider: { type: 'cloudwatch', query: 'SELECT SUM(PromotionsCompleted) FROM SCHEMA("Stageline", environment) GROUP BY environment' },
  intervalSeconds: 1,
  count: 1,
  successCondition: 'result >= 0.0',
};

const issuesOf = (r: { body: any }) => (r.body.error.issues as { path: string; message: string }[]) ?? [];

async function setUp() {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin, ['dev']);
  expect((await t.call('PUT', '/api/v1/analysis-templates/promotions', { token: u.admin, body: promotions })).status).toBe(200);
  return { tenant, u };
}

describe('metric accounts', () => {
  it('are registered by admins and read by viewers, with the external id bound to the tenant; a role of another account or a bad ARN is refused naming the field', async () => {
    const { tenant, u } = await setUp();
    expect((await t.call('GET', '/api/v1/metric-accounts', { token: u.viewer })).body).toEqual({ accounts: [], version: 0, externalId: `stageline:${tenant}` });
    const body = { accounts: [{ account: ACCOUNT, roleArn: ROLE }] };
    expect((await t.call('PUT', '/api/v1/metric-accounts', { token: u.deployer, body })).status).toBe(403);
    const put = await t.call('PUT', '/api/v1/metric-accounts', { token: u.admin, body: { ...body, version: 0 } });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toEqual({ accounts: [{ account: ACCOUNT, roleArn: ROLE }], version: 1, externalId: `stageline:${tenant}` });
    expect((await t.call('GET', '/api/v1/metric-accounts', { token: u.viewer })).body.accounts).toEqual([{ account: ACCOUNT, roleArn: ROLE }]);
    expect((await t.call('PUT', '/api/v1/metric-accounts', { token: u.admin, body: { ...body, version: 0 } })).status).toBe(409);

    const other = await t.call('PUT', '/api/v1/metric-accounts', {
      token: u.admin,
      body: { accounts: [{ account: ACCOUNT, roleArn: 'arn:aws:iam::999988887777:role/stageline-metrics' }] },
    });
    expect(other.status).toBe(400);
    expect(issuesOf(other)[0]).toMatchObject({ path: 'accounts.0.roleArn' });
    expect(issuesOf(other)[0]!.message).toContain('account 999988887777, not of 111122223333');
    const bad = await t.call('PUT', '/api/v1/metric-accounts', {
      token: u.admin,
      body: { accounts: [{ account: '1234', roleArn: 'arn:aws:iam::111122223333:user/bob' }] },
    });
    expect(bad.status).toBe(400);
    expect(
      issuesOf(bad)
        .map((i) => i.path)
        .sort(),
    ).toEqual(['accounts.0.account', 'accounts.0.roleArn']);
    const twice = await t.call('PUT', '/api/v1/metric-accounts', { token: u.admin, body: { accounts: [body.accounts[0], body.accounts[0]] } });
    expect(twice.status).toBe(400);
    expect(issuesOf(twice)[0]!.path).toBe('accounts.1.account');
    const audit = await t.call('GET', '/api/v1/audit?entityType=tenant', { token: u.admin });
    expect(audit.body.items.map((e: any) => e.action)).toContain('metric_accounts.put');
  });

  it('refuses at save (422 naming the attachment and the target) a CloudWatch analysis of a target with no account, or with no role registered for it', async () => {
    const { u } = await setUp();
    const create = (targets: Record<string, unknown>[]) =>
      t.call('POST', '/api/v1/environments', {
        token: u.admin,
        body: { name: 'production', position: 1, bakeSeconds: 10, targets, analysis: [{ template: 'promotions' }] },
      });
    // The environment without targets: its implicit target names no account.
    const implicit = await t.call('POST', '/api/v1/environments', {
      token: u.admin,
      body: { name: 'production', position: 1, bakeSeconds: 10, analysis: [{ template: 'promotions' }] },
    });
    expect(implicit.status).toBe(422);
    expect(issuesOf(implicit)[0]).toMatchObject({ path: 'analysis.0.template' });
    expect(issuesOf(implicit)[0]!.message).toContain("no account to read for target 'default'");
    const noAccount = await create([{ name: 'eu-1', wave: 1, region: 'eu-west-1' }]);
    expect(noAccount.status).toBe(422);
    expect(noAccount.body.error.code).toBe('RULE_VIOLATION');
    expect(issuesOf(noAccount)[0]!.message).toContain("target 'eu-1'");
    const unregistered = await create([{ name: 'eu-1', wave: 1, region: 'eu-west-1', account: ACCOUNT }]);
    expect(unregistered.status).toBe(422);
    expect(issuesOf(unregistered)[0]!.message).toContain(`reads account ${ACCOUNT} for target 'eu-1', which has no registered role`);
    expect(issuesOf(unregistered)[0]!.message).toContain('/api/v1/metric-accounts');

    // A target's own analysis names that target.
    const own = await t.call('POST', '/api/v1/environments', {
      token: u.admin,
      body: {
        name: 'production',
        position: 1,
        bakeSeconds: 10,
        targets: [
          { name: 'eu-1', wave: 1, account: ACCOUNT },
          { name: 'us-1', wave: 1, analysis: [{ template: 'promotions' }] },
        ],
      },
    });
    expect(own.status).toBe(422);
    expect(issuesOf(own).map((i) => i.path)).toEqual(['targets.1.analysis.0.template']);

    expect((await t.call('PUT', '/api/v1/metric-accounts', { token: u.admin, body: { accounts: [{ account: ACCOUNT, roleArn: ROLE }] } })).status).toBe(200);
    const ok = await create([{ name: 'eu-1', wave: 1, region: 'eu-west-1', account: ACCOUNT }]);
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);

    // Removing the role while the analysis is attached: 422.
    const dropped = await t.call('PUT', '/api/v1/metric-accounts', { token: u.admin, body: { accounts: [] } });
    expect(dropped.status).toBe(422);
    expect(issuesOf(dropped)[0]!.path).toBe('environments.production.analysis.0.template');
    // Changing the attached template to read another account: 422.
    const moved = await t.call('PUT', '/api/v1/analysis-templates/promotions', {
      token: u.admin,
      body: { ...promotions, provider: { ...promotions.provider, account: '444455556666' } },
    });
    expect(moved.status).toBe(422);
    expect(issuesOf(moved)[0]!.message).toContain('reads account 444455556666');
  });

  it('measures nothing with the platform credentials: a pre-analysis of a source target with no account is an Error saying what to set up', async () => {
    const { u } = await setUp();
    const r = await t.call('POST', '/api/v1/environments', {
      token: u.admin,
      body: { name: 'production', position: 1, preAnalysis: [{ template: 'promotions', lookbackSeconds: 60 }] },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } })).status).toBe(201);
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    const id = p.body.id as string;
    await approveIfAsked(t, u, id, ['EXECUTING', 'COMPLETED', 'APPROVED', 'VALIDATION_FAILED']);
    await waitFor(t, u.viewer, id, ['VALIDATION_FAILED', 'AWAITING_APPROVAL', 'EXECUTING', 'COMPLETED'], 60_000);
    const d = (await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body;
    expect(d.status).toBe('VALIDATION_FAILED');
    const gate = d.gates.find((g: any) => g.gate === 'analysis:promotions');
    expect(gate).toMatchObject({ verdict: 'FAIL', blocking: true });
    expect(gate.measurements[0]).toMatchObject({ target: 'default', phase: 'Error', value: null });
    expect(gate.measurements[0].error).toContain('names no account to read');
  }, 90_000);

  it('stageline metric-accounts: set, list and remove, printing the external id the trust policies require; a role of another account fails naming the field', async () => {
    const { tenant, u } = await setUp();
    const env = { ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: u.admin, XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'stageline-metric-accounts-')) };
    const cli = (...args: string[]) => cliWith(env, ...args);
    const set = (await cli('metric-accounts', 'set', ACCOUNT, ROLE)).stdout;
    expect(set).toContain(`version 1; each role's trust policy must require sts:ExternalId stageline:${tenant}`);
    expect(set).toContain(ROLE);
    expect(JSON.parse((await cli('metric-accounts', 'list', '--json')).stdout)).toEqual({
      accounts: [{ account: ACCOUNT, roleArn: ROLE }],
      version: 1,
      externalId: `stageline:${tenant}`,
    });
    await expect(cli('metric-accounts', 'set', '444455556666', ROLE)).rejects.toMatchObject({ stderr: expect.stringContaining('accounts.1.roleArn') });
    expect((await cli('metric-accounts', 'remove', ACCOUNT)).stdout).toContain('none: CloudWatch analysis reads no account');
  });

  it('refuses the same through the manifest: plan and apply answer 422 naming the document field and the target', async () => {
    const { u } = await setUp();
    const document = (account?: string) =>
      JSON.stringify({
        artifacts: {
          promotion: {
            environment_settings: {
              dev: { bake_seconds: 10, targets: [{ name: 'eu-1', wave: 1, ...(account ? { account } : {}) }], analysis: [{ template: 'promotions' }] },
            },
          },
        },
      });
    const plan = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: document() } });
    expect(plan.status).toBe(422);
    expect(issuesOf(plan)[0]).toMatchObject({ path: 'document.artifacts.promotion.environment_settings.dev.analysis.0.template' });
    expect(issuesOf(plan)[0]!.message).toContain("target 'eu-1'");
    const apply = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: document(ACCOUNT) } });
    expect(apply.status).toBe(422);
    expect(issuesOf(apply)[0]!.message).toContain(`reads account ${ACCOUNT} for target 'eu-1', which has no registered role`);
    expect((await t.call('PUT', '/api/v1/metric-accounts', { token: u.admin, body: { accounts: [{ account: ACCOUNT, roleArn: ROLE }] } })).status).toBe(200);
    const ok = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: document(ACCOUNT) } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect((await t.call('GET', '/api/v1/environments/dev', { token: u.viewer })).body.targets[0]).toMatchObject({ name: 'eu-1', account: ACCOUNT });
  });
});
