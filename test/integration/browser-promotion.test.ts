import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { approveIfAsked, waitFor, waitForToken } from '../support/promotions.ts';
import { alarmArn, alarmEvent } from '../support/alarms.ts';
import { accessibility, useConsoleStack } from '../support/console.ts';
import { consoleScenarios } from '../support/console-scenarios.ts';
import { lineTargets, productionLine } from '../support/line.ts';
import { makeLine } from '../support/stack.ts';
import { startGitServer } from '../support/git-server.ts';
import { startGitHubStandin } from '../support/github-standin.ts';
import { localSecretVariable } from '../../functions/adapters/secrets.ts';

/**
 * The console's promotion page in Chromium (as browser.test.ts): a rollout a deployer confirms, halts
 * and resumes, a rollback, evidence that unblocks, a flag promoted, a pull request to merge.
 */
const OUT = join(process.cwd(), 'test-output');
const { t, browser } = useConsoleStack({ out: OUT });
const { waitingPromotion, consoleTenant, openAs } = consoleScenarios(t, browser);

describe('the console, in a real browser', () => {
  it('the promotion page of a rollout: a row per target by wave with its state and timings; a deployer confirms the callback canary, halts and resumes; the canary alarm shows as its evidence; viewers and approvers see no buttons; no serious accessibility violation', async () => {
    const tenant = t.tenant();
    const { u } = await productionLine(
      t,
      {
        bakeSeconds: 1,
        targets: [
          ...lineTargets((name) =>
            name === 'canary' ? { monitors: [alarmArn(`${tenant}/canary-5xx`)], confirm: { mode: 'callback', timeoutSeconds: 600 } } : {},
          ),
        ],
        // The canary bakes long enough for a halt to land before wave 2.
        rollout: { maxParallel: 2, waves: [{ wave: 1, bakeSeconds: 120 }] },
      },
      tenant,
    );
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
    const id = p.body.id as string;
    await approveIfAsked(t, u, id, ['EXECUTING']);
    await expect
      .poll(async () => (await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body.rollout?.waves[0].targets[0].state, { timeout: 20_000 })
      .toBe('CONFIRMING');

    const rowsOf = async (page: Page) => {
      const table = page.getByRole('table', { name: /6 targets in 3 waves/ });
      await table.waitFor({ timeout: 15_000 });
      return table.locator('tbody tr').allTextContents();
    };
    // Viewers and approvers see the rows and no rollout button.
    for (const token of [u.viewer, u.approver]) {
      const { page, errors } = await openAs(token, `#/promotions/${id}`);
      const rows = await rowsOf(page);
      expect(rows).toHaveLength(6);
      expect(rows[0]).toMatch(/^1bake 2m 00scanaryconfirming.*waits for the deployer's confirmation \(\d+m \d\ds left\)/);
      expect(rows[1]).toMatch(/^2bake 1sus-east-1pending/);
      expect(await page.getByRole('button', { name: /^(Confirm|Halt|Resume)/ }).count()).toBe(0);
      expect(errors).toEqual([]);
      await page.close();
    }

    const { page, errors } = await openAs(u.deployer, `#/promotions/${id}`);
    const main = page.locator('main');
    expect((await rowsOf(page))[0]).toContain('confirming');
    expect(await accessibility(page)).toEqual([]);
    await page.screenshot({ path: join(OUT, 'console-rollout-confirming-1280.png'), fullPage: true });
    // Only the callback target that waits has a Confirm button.
    expect(await page.getByRole('button', { name: /^Confirm/ }).count()).toBe(1);
    await page.getByRole('button', { name: 'Confirm canary' }).click();
    await expect.poll(() => page.locator('.notices').textContent()).toContain('Confirmed canary: baking.');
    await expect.poll(async () => (await rowsOf(page))[0], { timeout: 15_000 }).toMatch(/canarybaking.*by deployer@.*1m \d\ds left/);
    expect(await page.getByRole('button', { name: /^Confirm/ }).count()).toBe(0);
    expect((await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body.rollout.waves[0].targets[0]).toMatchObject({
      state: 'BAKING',
      confirmation: { mode: 'callback', by: `deployer@${tenant}.test` },
    });

    // Halt with a reason (before wave 2), then resume.
    await page.getByLabel(/Why halt/).fill('error budget review');
    await page.getByRole('button', { name: 'Halt before the next wave' }).click();
    await expect.poll(() => main.textContent(), { timeout: 15_000 }).toContain(`Halted by deployer@${tenant}.test`);
    expect(await main.textContent()).toContain('before wave 2: error budget review');
    expect((await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body.rollout).toMatchObject({
      phase: 'HALTED',
      halted: { reason: 'error budget review' },
    });
    await page.screenshot({ path: join(OUT, 'console-rollout-halted-1280.png'), fullPage: true });
    await page.getByRole('button', { name: 'Resume the rollout' }).click();
    await page.getByRole('button', { name: 'Halt before the next wave' }).waitFor({ timeout: 15_000 });
    expect((await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body.rollout).toMatchObject({ phase: 'ROLLING_OUT', halted: null });

    // A phone: each target reads as a short list; nothing scrolls sideways.
    const phone = await openAs(u.deployer, `#/promotions/${id}`, { width: 390, height: 844 });
    expect(await rowsOf(phone.page)).toHaveLength(6);
    await phone.page.getByRole('button', { name: 'Halt before the next wave' }).waitFor();
    expect(await phone.page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth <= (globalThis as any).innerWidth)).toBe(true);
    expect(await accessibility(phone.page)).toEqual([]);
    await phone.page.screenshot({ path: join(OUT, 'console-rollout-390.png'), fullPage: true });
    expect(phone.errors).toEqual([]);
    await phone.page.close();

    // The canary's alarm fires while it bakes: the rollout rolls back, and its row shows the evidence; no button is left.
    const alarm = alarmArn(`${tenant}/canary-5xx`);
    expect((await t.call('POST', '/dev/events', { body: alarmEvent(alarm, '5xx above 2% on the canary') })).status).toBe(202);
    expect((await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 20_000)).status).toBe('ROLLED_BACK');
    await expect
      .poll(async () => (await rowsOf(page))[0], { timeout: 15_000 })
      .toMatch(/canaryrolled back.*rolled back 20.*canary-5xx: 5xx above 2% on the canary/);
    // wave 3 never started (its row is written back by the rollback after the canary's, so read it again until it shows)
    await expect.poll(async () => (await rowsOf(page))[5], { timeout: 15_000 }).toMatch(/^cell-3not started/);
    expect(await page.getByRole('button', { name: /^(Confirm|Halt|Resume)/ }).count()).toBe(0);
    // What it did: the canary changed and was put back (never "Nothing deployed"); its row says when.
    const outcome = page.locator('section', { has: page.locator('#deliveries-title') });
    await expect.poll(() => outcome.textContent(), { timeout: 15_000 }).toMatch(/1 target changed \(canary\); all put back by the rollback\./);
    expect(await outcome.textContent()).not.toContain('Nothing deployed');
    // What it changed stays what it changed: production changing afterwards (an admin's break-glass) is not read into it.
    const hotfix = await t.call('POST', '/api/v1/environments/production/configs', {
      token: u.admin,
      headers: { 'x-break-glass-reason': 'INC-7 hotfix after the rollback' },
      body: { key: 'hotfix.after', value: 1 },
    });
    expect(hotfix.status, JSON.stringify(hotfix.body)).toBe(201);
    const changed = await t.call('GET', `/api/v1/promotions/${id}/changes`, { token: u.viewer });
    expect(changed.body.changes.map((c: any) => `${c.change} ${c.key}`)).toEqual(['added feature.x']);
    expect(await accessibility(page)).toEqual([]);
    await page.screenshot({ path: join(OUT, 'console-rollout-rolled-back-1280.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("a deployer's rollback of a production promotion is a rollback promotion that waits for an approver, and the page says so", async () => {
    const { u, id } = await waitingPromotion();
    await t.call('POST', `/api/v1/promotions/${id}/approve`, { token: u.approver, body: {} });
    expect((await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    const { page, errors } = await openAs(u.deployer, `#/promotions/${id}`);
    await page.getByLabel('Why (kept in the audit trail)').fill('timeout too long');
    await page.getByRole('button', { name: 'Show the impact' }).click();
    await page.getByRole('button', { name: 'Confirm the rollback' }).click();
    const notice = page.locator('.notices');
    await expect
      .poll(() => notice.textContent(), { timeout: 15_000 })
      .toMatch(new RegExp(`Rollback prm_\\w+ of what ${id} changed: (pending|validating|awaiting approval)\\.`));
    const rollback = /Rollback (prm_\w+)/.exec((await notice.textContent()) ?? '')![1]!;
    expect((await waitForToken(t, u.viewer, rollback)).status).toBe('AWAITING_APPROVAL');
    expect((await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body.status).toBe('COMPLETED');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a deployer unblocks a promotion with evidence and validates it, and promotes one flag from the flags view', async () => {
    const { u, blocked } = await consoleTenant();
    await t.call('POST', '/api/v1/environments/dev/flags', { token: u.admin, body: { key: 'beta-search', value: true } });
    const { page, errors } = await openAs(u.deployer, `#/promotions/${blocked}`);
    const main = page.locator('main');
    await expect
      .poll(() => main.textContent(), { timeout: 15_000 })
      .toContain('Tests failed: no test results were attached (this gate fails closed). Attach the missing evidence');
    await page.getByLabel('Type').selectOption('test_results');
    await page.getByRole('button', { name: 'Attach' }).click();
    await expect.poll(() => page.locator('.notices').textContent()).toMatch(/Evidence \S+ \(test_results\) attached/);
    await page.getByRole('button', { name: 'Validate' }).click();
    expect((await waitFor(t, u.viewer, blocked, ['COMPLETED'])).status).toBe('COMPLETED');
    await expect.poll(() => main.textContent(), { timeout: 15_000 }).toMatch(/completed/);

    await page.goto(`${t.url}/dashboard#/flags`);
    await page.getByRole('button', { name: 'Promote from dev (beta-search to staging)' }).click();
    await page.waitForURL(/#\/promotions\/prm_/);
    const id = /prm_\w+/.exec(page.url())![0];
    expect((await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body).toMatchObject({
      subject: { type: 'config', promotionType: 'SELECTIVE' },
      sourceEnvironment: 'dev',
      targetEnvironment: 'staging',
    });
    await expect.poll(() => main.textContent(), { timeout: 15_000 }).toMatch(/added\s*beta-search\s*flag/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the promotion page shows its pull request: the link, the merge state and a failing check, then merged', async () => {
    const g = await startGitServer('browser-push-token');
    const gh = await startGitHubStandin(g);
    try {
      const tenant = t.tenant();
      process.env[localSecretVariable(tenant, 'git-token', 'PUSH')!] = 'browser-push-token';
      process.env[localSecretVariable(tenant, 'github-token', 'GH')!] = 'browser-gh-token';
      process.env[localSecretVariable(tenant, 'git-webhook', 'HOOK')!] = 'browser-hook';
      const u = await t.users(tenant);
      await makeLine(t, u.admin);
      const fullName = `acme-${tenant}/deploy`;
      const repository = g.repo(fullName, { 'values.yaml': 'image:\n  tag: v0.9.0\n' });
      gh.allow('browser-gh-token', fullName);
      gh.hook(fullName, `${t.url}/api/v1/gitops/hooks/${tenant}/staging`, 'browser-hook');
      const put = await t.call('PUT', '/api/v1/environments/staging/git-target', {
        token: u.admin,
        body: {
          repository,
          branch: 'main',
          file: 'values.yaml',
          path: 'image.tag',
          tokenSecret: 'PUSH',
          pullRequest: { host: 'github', apiUrl: gh.url, tokenSecret: 'GH', webhookSecret: 'HOOK' },
        },
      });
      expect(put.status).toBe(200);
      await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: 'v1.2.3', digest: `sha256:${'d'.repeat(64)}` } });
      const p = await t.call('POST', '/api/v1/promotions', {
        token: u.deployer,
        body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version: 'v1.2.3' },
      });
      const id = p.body.id as string;
      let waiting: any;
      await expect
        .poll(async () => (waiting = (await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body).waitingFor, { timeout: 30_000 })
        .toBe('merge');
      expect(await gh.check(fullName, waiting.pullRequest.headSha, 'ci/test', 'failure')).toBe(200);

      const { page, errors } = await openAs(u.viewer, `#/promotions/${id}`);
      const main = page.locator('main');
      await expect.poll(() => main.textContent(), { timeout: 15_000 }).toContain('ci/test');
      const text = (await main.textContent())!;
      expect(text).toContain('waiting for pull request #1 to be merged on GitHub (blocked by its checks or reviews)');
      expect(text).toContain('✗ failed');
      expect(await page.getByRole('link', { name: 'pull request #1' }).getAttribute('href')).toBe(waiting.pullRequest.url);
      expect(await accessibility(page)).toEqual([]);
      await page.screenshot({ path: join(OUT, 'console-promotion-pull-request.png'), fullPage: true });

      expect(await gh.check(fullName, waiting.pullRequest.headSha, 'ci/test', 'success')).toBe(200);
      expect(await gh.merge(fullName, 1)).toBe(200);
      expect((await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED'], 30_000)).status).toBe('COMPLETED');
      await expect.poll(() => main.textContent(), { timeout: 15_000 }).toContain('Merged as');
      expect(await main.textContent()).toContain('✓ passed');
      expect(errors).toEqual([]);
      expect(gh.violations).toEqual([]);
      await page.close();
    } finally {
      await gh.stop();
      await g.close();
    }
  });
});
