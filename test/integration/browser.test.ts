import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { visible } from '../../domain/kernel/display.ts';
import { approveIfAsked, waitFor, waitForToken } from '../support/promotions.ts';
import { accessibility, openConsoleAs, useConsoleStack } from '../support/console.ts';
import { lineTargets } from '../support/line.ts';
import { makeLine } from '../support/stack.ts';
import { startGitServer } from '../support/git-server.ts';
import { startGitHubStandin } from '../support/github-standin.ts';
import { localSecretVariable } from '../../functions/adapters/secrets.ts';
import { overrideConfig } from '../../functions/configuration-overrides.ts';
import { DynamoStore, documentClient } from '../../functions/adapters/dynamo-store.ts';
import { LOCAL_REGION, localCredentials } from '../../local/dynamodb.ts';

/**
 * As a person would: Debian's Chromium (installed by `npm test`'s prereqs), driven by playwright-core,
 * against the real local stack. No browser download; screenshots go to test-output/.
 */
const OUT = join(process.cwd(), 'test-output');
const { t, browser } = useConsoleStack({ out: OUT });

async function waitingPromotion() {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { email: { recipients: [], approvers: true } } });
  await t.call('POST', '/api/v1/environments/staging/configs', { token: u.admin, body: { key: 'query.timeout', value: '180s' } });
  const p = await t.call('POST', '/api/v1/promotions', {
    token: u.deployer,
    body: { sourceEnvironment: 'staging', targetEnvironment: 'production', notes: 'longer timeout for reports' },
  });
  await waitForToken(t, u.viewer, p.body.id);
  await t.stack.stream.idle();
  return { tenant, u, id: p.body.id as string };
}

/** From the local outbox page to the approval email of `to`, then its review link. */
async function openReviewFromOutbox(page: Page, to: string) {
  for (let i = 0; i < 100; i++) {
    await page.goto(`${t.url}/dev/outbox`);
    const mail = page.locator('article', { hasText: `to ${to}` }).getByRole('link', { name: /needs your approval/ });
    if (await mail.count()) {
      await mail.first().click();
      break;
    }
    await page.waitForTimeout(50);
  }
  await page.getByRole('link', { name: 'Review and approve' }).click();
  await page.waitForURL(/\/review\//);
}

describe('approving from an email, in a real browser', () => {
  it('outbox → approval email → review page → Approve → the promotion completes', async () => {
    const { tenant, u, id } = await waitingPromotion();
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } }); // a phone
    await openReviewFromOutbox(page, `approver@${tenant}.test`);
    await expect.poll(() => page.locator('h1').textContent()).toContain('needs your approval');
    expect(await page.locator('body').textContent()).toContain('query.timeout');
    await page.screenshot({ path: join(OUT, 'review-page.png'), fullPage: true });
    // Opening the page did nothing.
    expect((await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body.status).toBe('AWAITING_APPROVAL');
    await page.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Approved');
    expect((await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    // The link is spent.
    await page.goBack();
    await page.reload();
    expect(await page.locator('body').textContent()).toMatch(/already used|no longer waiting/);
    await page.close();
  });

  it('rejects with a reason from the review page', async () => {
    const { tenant, u, id } = await waitingPromotion();
    const page = await browser.newPage();
    await openReviewFromOutbox(page, `approver2@${tenant}.test`);
    await page.getByLabel(/Reject/).fill('the report cluster is being migrated this week');
    await page.getByRole('button', { name: 'Reject' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Rejected');
    expect((await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body).toMatchObject({
      status: 'REJECTED',
      rejection: { reason: 'the report cluster is being migrated this week' },
    });
    await page.close();
  });
});

/** A tenant with a line, a promotion blocked by its gates, one rejected, and one waiting for an approver. */
async function consoleTenant() {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  const staging = (await t.call('GET', '/api/v1/environments/staging', { token: u.admin })).body;
  await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: staging.version, gates: { tests: true } } });
  await t.call('POST', '/api/v1/environments/dev/configs', { token: u.admin, body: { key: 'query.timeout', value: '45s' } });
  const blocked = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
  await waitFor(t, u.viewer, blocked.body.id, ['VALIDATION_FAILED']);
  await t.call('POST', '/api/v1/environments/staging/configs', { token: u.admin, body: { key: 'query.timeout', value: '180s' } });
  const rejected = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
  await waitForToken(t, u.viewer, rejected.body.id);
  await t.call('POST', `/api/v1/promotions/${rejected.body.id}/reject`, { token: u.approver, body: { reason: 'freeze week' } });
  const waiting = await t.call('POST', '/api/v1/promotions', {
    token: u.deployer,
    body: { sourceEnvironment: 'staging', targetEnvironment: 'production', notes: 'longer timeout for reports' },
  });
  await waitForToken(t, u.viewer, waiting.body.id);
  return { tenant, u, blocked: blocked.body.id as string, rejected: rejected.body.id as string, waiting: waiting.body.id as string };
}

/** Opens the console with a token (the state a sign-in leaves; the sign-in itself is tested below). */
const openAs = (token: string, hash?: string, viewport?: { width: number; height: number }, timezoneId?: string) =>
  openConsoleAs(browser, t.url, token, hash, viewport, timezoneId);

describe('the console, in a real browser', () => {
  it('on an AWS-configured console a #token= link signs no one in (login CSRF): only the authorization code flow does; the token leaves the address', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    // The deployed auth-config's answer (functions/adapters/login.ts with the stack's LOGIN_DOMAIN_URL, JWT_ISSUER, JWT_AUDIENCE).
    const undo = overrideConfig({
      LOGIN_DOMAIN_URL: 'https://stageline-123456789012.auth.eu-west-1.amazoncognito.com',
      JWT_ISSUER: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_example',
      JWT_AUDIENCE: 'exampleclientid',
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${t.url}/dashboard#token=${u.admin}`);
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      expect(await page.getByRole('link', { name: 'Pipeline' }).count()).toBe(0);
      expect(await page.evaluate(() => Object.keys(sessionStorage).filter((k) => sessionStorage.getItem(k)?.includes('.')))).toEqual([]);
      expect(page.url()).not.toContain('token=');
      await page.close();
    } finally {
      undo();
    }
    // The local stack keeps its shortcut (its gateway answers 127.0.0.1 alone): the same link signs in there.
    const { page } = await openAs(u.viewer);
    expect(page.url()).not.toContain('token=');
    await page.close();
  });

  it('signs in with authorization code + PKCE on the local sign-in page, shows who is signed in, and signs out', async () => {
    const page = await browser.newPage();
    await page.goto(`${t.url}/dashboard`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/dev\/oauth2\/authorize\?/);
    expect(new URL(page.url()).searchParams.get('code_challenge_method')).toBe('S256');
    await page
      .getByRole('button', { name: /carol@acme\.example/ })
      .first()
      .click();
    await page.waitForURL(/\/dashboard/);
    await expect.poll(() => page.locator('header').textContent()).toContain('carol@acme.example');
    expect(new URL(page.url()).search).toBe(''); // the code does not stay in the address
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.close();
  });

  it("the pipeline shows an environment's targets by wave, a row per target with what it runs (the wave-1 target ahead); no serious accessibility violation", async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev', 'staging']);
    const targets = lineTargets();
    await t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'production', position: 5, targets } });
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.admin, body: { key: 'query.timeout', value: '45s' } });
    const store = new DynamoStore(
      documentClient({ endpoint: t.stack.dynamo.endpoint, region: LOCAL_REGION, credentials: localCredentials }),
      t.stack.tableName,
    );
    const [prod, dev] = [(await store.getEnvironment(tenant, 'production'))!, (await store.getEnvironment(tenant, 'dev'))!];
    // Wave 1 changed: what the flow writes for a target it has rolled out to.
    const head = {
      environment: 'production',
      target: 'canary',
      subject: 'config',
      snapshot: { ...dev.head, seq: prod.head.seq + 1 },
      base: prod.head.seq,
      promotionId: 'p-1',
      wave: 1,
      updatedAt: new Date().toISOString(),
      version: 1,
    };
    await store.commit(tenant, [{ kind: 'targetHead', head, expectedVersion: null }]);
    for (const [viewport, tag] of [
      [{ width: 1280, height: 800 }, 'wide'],
      [{ width: 390, height: 844 }, 'phone'],
    ] as const) {
      const { page, errors } = await openAs(u.viewer, '#/', viewport);
      const table = page.getByRole('table');
      await table.waitFor({ timeout: 15_000 });
      expect(await table.locator('caption').textContent()).toBe('6 targets in 3 waves');
      const rows = await table.locator('tbody tr').allTextContents();
      expect(rows).toHaveLength(6);
      expect(rows[0]).toMatch(new RegExp(`^1canaryproduction@${prod.head.seq + 1}.*ahead`));
      expect(rows[1]).toMatch(new RegExp(`^2us-east-1production@${prod.head.seq}`));
      expect(rows[1]).not.toContain('ahead');
      expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth <= (globalThis as any).innerWidth)).toBe(true);
      expect(await accessibility(page)).toEqual([]);
      await page.screenshot({ path: join(OUT, `console-targets-${tag}.png`), fullPage: true });
      expect(errors).toEqual([]);
      await page.close();
    }
  });

  it('the promotion page of a rollout: a row per target by wave with its state and timings; a deployer confirms the callback canary, halts and resumes; the canary alarm shows as its evidence; viewers and approvers see no buttons; no serious accessibility violation', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev']);
    const created = await t.call('POST', '/api/v1/environments', {
      token: u.admin,
      body: {
        name: 'production',
        position: 1,
        bakeSeconds: 1,
        targets: [
          ...lineTargets((name) =>
            name === 'canary'
              ? { monitors: [`arn:aws:cloudwatch:us-east-1:000000000000:alarm:${tenant}/canary-5xx`], confirm: { mode: 'callback', timeoutSeconds: 600 } }
              : {},
          ),
        ],
        // The canary bakes long enough for a halt to land before wave 2.
        rollout: { maxParallel: 2, waves: [{ wave: 1, bakeSeconds: 120 }] },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
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
    const alarm = `arn:aws:cloudwatch:us-east-1:000000000000:alarm:${tenant}/canary-5xx`;
    const event = {
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm State Change',
      account: '000000000000',
      region: 'us-east-1',
      time: new Date().toISOString(),
      resources: [alarm],
      detail: {
        alarmName: `${tenant}/canary-5xx`,
        state: { value: 'ALARM', reason: '5xx above 2% on the canary', timestamp: new Date().toISOString() },
        previousState: { value: 'OK' },
      },
    };
    expect((await t.call('POST', '/dev/events', { body: event })).status).toBe(202);
    expect((await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 20_000)).status).toBe('ROLLED_BACK');
    await expect
      .poll(async () => (await rowsOf(page))[0], { timeout: 15_000 })
      .toMatch(/canaryrolled back.*rolled back 20.*canary-5xx: 5xx above 2% on the canary/);
    expect((await rowsOf(page))[5]).toMatch(/^cell-3not started/); // wave 3 never started
    expect(await page.getByRole('button', { name: /^(Confirm|Halt|Resume)/ }).count()).toBe(0);
    expect(await accessibility(page)).toEqual([]);
    await page.screenshot({ path: join(OUT, 'console-rollout-rolled-back-1280.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the pipeline shows what waits and why, a blocked promotion and the last outcome; every id links to its page; no serious accessibility violation', async () => {
    const { u, blocked, rejected, waiting } = await consoleTenant();
    for (const [viewport, tag] of [
      [{ width: 1280, height: 800 }, 'wide'],
      [{ width: 390, height: 844 }, 'phone'],
    ] as const) {
      const { page, errors } = await openAs(u.viewer, '#/', viewport);
      const main = page.locator('main');
      await expect.poll(() => main.textContent(), { timeout: 15_000 }).toContain(waiting);
      const text = (await main.textContent()) ?? '';
      expect(text).toMatch(/Waiting to enter staging.*validation failed.*Tests failed: no test results were attached \(this gate fails closed\)/s);
      expect(text).toMatch(/Waiting to enter production.*awaiting approval.*waiting for 1 approval/s);
      expect(text).toMatch(/Last promotion.*rejected.*rejected by approver@\S+: freeze week/s);
      expect(await page.locator(`a[href="#/promotions/${blocked}"]`).count()).toBe(1);
      expect(await page.locator(`a[href="#/promotions/${rejected}"]`).count()).toBe(1);
      // Nothing scrolls sideways on a phone.
      expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth <= (globalThis as any).innerWidth)).toBe(true);
      expect(await accessibility(page)).toEqual([]);
      await page.screenshot({ path: join(OUT, `console-pipeline-${tag}.png`), fullPage: true });
      await page.getByRole('link', { name: blocked }).click();
      await expect
        .poll(() => main.textContent())
        .toContain('Tests failed: no test results were attached (this gate fails closed). Attach the missing evidence');
      expect(await accessibility(page)).toEqual([]);
      await page.screenshot({ path: join(OUT, `console-blocked-${tag}.png`), fullPage: true });
      expect(errors).toEqual([]);
      await page.close();
    }
  });

  it("a version an alarm put back reads 'Restored … by rollback <link> (why)' on its card, not as a deployment", async () => {
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
    const { page, errors } = await openAs(u.viewer, '#/');
    const card = page.locator('article', { has: page.locator('#stage-staging') });
    await expect.poll(() => card.textContent(), { timeout: 15_000 }).toContain('Restored platform v1.0.0 by rollback');
    const text = (await card.textContent()) ?? '';
    expect(text).toMatch(
      new RegExp(`Restored platform v1\\.0\\.0 by rollback ${bad} \\(post-deploy verification failed: alarm 'p99-latency' \\(p99 > 800 ms\\)\\)`),
    );
    expect(text).not.toContain('by stageline');
    expect(await card.locator(`a[href="#/promotions/${bad}"]`).count()).toBeGreaterThan(0);
    expect(await accessibility(page)).toEqual([]);
    // Insights: staging has a lead time of its own (it was "—" for every environment but the last).
    await page.goto(`${t.url}/dashboard#/insights`);
    const staging = page.locator('article', { has: page.locator('#ins-staging') });
    await expect.poll(() => staging.textContent(), { timeout: 15_000 }).toContain('Lead time');
    expect(await staging.locator('dt:text("Lead time") + dd').textContent()).toMatch(/^(under 1 min|\d+ min|[\d.]+ h)$/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a viewer sees no action; an approver sees the diff, approves, and the outcome stays on screen through refreshes', async () => {
    const { u, waiting } = await consoleTenant();
    const viewer = await openAs(u.viewer, `#/promotions/${waiting}`);
    await expect.poll(() => viewer.page.locator('main').textContent(), { timeout: 15_000 }).toContain('What it changes');
    expect(await viewer.page.getByRole('button', { name: /Approve|Reject|Cancel|Roll back/ }).count()).toBe(0);
    await viewer.page.close();
    // The requester (a deployer) may cancel but not approve.
    const requester = await openAs(u.deployer, `#/promotions/${waiting}`);
    await requester.page.getByRole('button', { name: 'Cancel promotion' }).waitFor();
    expect(await requester.page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    await requester.page.close();

    const { page, errors } = await openAs(u.approver, `#/promotions/${waiting}`);
    const main = page.locator('main');
    await expect.poll(() => main.textContent(), { timeout: 15_000 }).toMatch(/modified\s*query\.timeout\s*"45s"\s*"180s"|added\s*query\.timeout/);
    expect(await accessibility(page)).toEqual([]);
    await page.screenshot({ path: join(OUT, 'console-promotion-approver.png'), fullPage: true });
    await page.getByLabel('Comment (kept with the approval)').fill('numbers look right');
    await page.getByRole('button', { name: 'Approve' }).click();
    const notice = page.locator('.notices');
    await expect.poll(() => notice.textContent()).toContain(`Approved ${waiting} as approver@`);
    expect((await waitFor(t, u.viewer, waiting, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    // Two refreshes later (5 s each) the outcome is still there, and the page shows the new state.
    await expect.poll(() => main.textContent(), { timeout: 15_000 }).toMatch(/completed/);
    await page.waitForTimeout(5500);
    expect(await notice.textContent()).toContain(`Approved ${waiting}`);
    expect(await main.textContent()).toContain('numbers look right');
    await page.getByRole('button', { name: /^Dismiss/ }).click();
    expect(await page.locator('.notices').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('environment, insights, audit and settings views render for an admin with no serious accessibility violation', async () => {
    const { u } = await consoleTenant();
    for (const view of ['environments/production', 'flags', 'insights', 'audit', 'settings']) {
      const { page, errors } = await openAs(u.admin, `#/${view}`);
      const main = page.locator('main');
      await expect.poll(() => main.locator('h1').textContent(), { timeout: 15_000 }).toMatch(/production|Flags|Insights|Audit trail|Settings/);
      await expect.poll(() => main.textContent(), { timeout: 15_000 }).not.toContain('Loading…');
      expect(await accessibility(page), view).toEqual([]);
      await page.screenshot({ path: join(OUT, `console-${view.replace('/', '-')}.png`), fullPage: true });
      expect(errors, view).toEqual([]);
      await page.close();
    }
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

  it('every view, as every role, at 1280×800 and 390×844: no serious or critical accessibility violation', { timeout: 600_000 }, async () => {
    const { u, waiting } = await consoleTenant();
    // A flag that differs between dev and staging, so deployers and admins see its Promote button.
    await t.call('POST', '/api/v1/environments/dev/flags', { token: u.admin, body: { key: 'beta-search', value: true } });
    const views = ['#/', `#/promotions/${waiting}`, '#/environments/production', '#/flags', '#/insights', '#/audit', '#/settings'];
    for (const role of ['viewer', 'approver', 'deployer', 'admin'] as const) {
      for (const viewport of [
        { width: 1280, height: 800 },
        { width: 390, height: 844 },
      ]) {
        const { page, errors } = await openAs(u[role], '#/', viewport);
        const main = page.locator('main');
        for (const view of views) {
          const where = `${view} as ${role} at ${viewport.width}×${viewport.height}`;
          await page.goto(`${t.url}/dashboard${view}`);
          await expect.poll(() => main.locator('h1').count(), { timeout: 15_000, message: where }).toBeGreaterThan(0);
          await expect.poll(() => main.textContent(), { timeout: 15_000, message: where }).not.toContain('Loading…');
          if (view === '#/flags' && (role === 'deployer' || role === 'admin')) {
            // The button's name begins with what it shows (WCAG 2.5.3), then says which flag and where to.
            const button = page.getByRole('button', { name: 'Promote from dev (beta-search to staging)' });
            await button.waitFor();
            expect(await button.textContent()).toMatch(/^Promote from dev/);
          }
          expect(await accessibility(page), where).toEqual([]);
          // Each view as a deployer sees it, at both sizes, for a person to look at.
          if (role === 'deployer')
            await page.screenshot({
              path: join(OUT, `console-all-${view.replace(/^#\/?/, '').split('/')[0] || 'pipeline'}-${viewport.width}.png`),
              fullPage: true,
            });
        }
        expect(errors, role).toEqual([]);
        await page.close();
      }
    }
  });

  it("messages stay with the page and the promotion they happened on: an approver's outcome on one promotion is not shown on another", async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.admin, body: { key: 'query.timeout', value: '180s' } });
    const first = (await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } }))
      .body.id as string;
    await waitForToken(t, u.viewer, first);
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.admin, body: { key: 'batch.size', value: 10 } });
    const second = (await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } }))
      .body.id as string;
    await waitForToken(t, u.viewer, second);

    const { page, errors } = await openAs(u.approver, `#/promotions/${first}`);
    const main = page.locator('main');
    const notices = async () => ((await page.locator('.notices').count()) ? ((await page.locator('.notices').textContent()) ?? '') : '');
    await page.getByRole('button', { name: 'Reject', exact: true }).waitFor({ timeout: 15_000 });
    // On the first: a rejection without a reason is refused, then one with a reason is made.
    await page.getByRole('button', { name: 'Reject', exact: true }).click();
    await expect.poll(notices).toContain('A rejection needs a reason');
    // A comment typed here and not sent is this promotion's too.
    await page.getByLabel('Comment (kept with the approval)').fill('meant for the first');
    await page.getByLabel('Reason to reject (required to reject)').fill('not this week');
    await page.getByRole('button', { name: 'Reject', exact: true }).click();
    await expect.poll(notices).toContain(`Rejected ${first}`);
    await expect.poll(() => main.textContent(), { timeout: 15_000 }).toMatch(/rejected/);

    // To the second: none of that follows.
    await page.goto(`${t.url}/dashboard#/promotions/${second}`);
    await expect.poll(() => main.locator('code', { hasText: second }).count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Approve', exact: true }).waitFor({ timeout: 15_000 });
    expect(await notices()).toBe('');
    expect(await page.getByLabel('Reason to reject (required to reject)').inputValue()).toBe('');
    expect(await page.getByLabel('Comment (kept with the approval)').inputValue()).toBe('');
    await page.getByRole('button', { name: 'Approve', exact: true }).click();
    await expect.poll(notices).toContain(`Approved ${second} as approver@`);
    const here = await notices();
    expect(here).not.toContain(first);
    expect(here).not.toContain('A rejection needs a reason');
    await page.screenshot({ path: join(OUT, 'console-promotion-notices.png'), fullPage: true });

    // Back on the first, its own outcome is there, and not the second's.
    await page.goto(`${t.url}/dashboard#/promotions/${first}`);
    await expect.poll(() => main.locator('code', { hasText: first }).count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await expect.poll(notices).toContain(`Rejected ${first}`);
    expect(await notices()).not.toContain(second);
    // Another view shows neither.
    await page.goto(`${t.url}/dashboard#/`);
    await expect.poll(() => main.locator('h1').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    expect(await notices()).toBe('');
    expect(errors).toEqual([]);
    await page.close();
  });

  it("Insights: the chart's time axis spans the chosen range in the viewer's time zone, and the API is asked for that range", async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.admin, body: { key: 'query.timeout', value: '45s' } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    expect((await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');

    for (const timezoneId of ['America/Los_Angeles', 'Pacific/Auckland']) {
      const { page, errors } = await browser.newPage({ viewport: { width: 1280, height: 800 }, timezoneId }).then(async (page) => {
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        return { page, errors };
      });
      const asked: string[] = [];
      page.on('request', (r) => {
        if (r.url().includes('/platform/metrics')) asked.push(new URL(r.url()).searchParams.get('from') ?? '(none)');
      });
      await page.goto(`${t.url}/dashboard#token=${u.viewer}`);
      await page.getByRole('link', { name: 'Pipeline' }).waitFor();
      await page.goto(`${t.url}/dashboard#/insights`);
      /** The first day of a range of n days ending today, at midnight in the page's time zone; and the span as the page words it. */
      const expected = (n: number) =>
        page.evaluate((n) => {
          const now = new Date();
          const start = new Date(now.getFullYear(), now.getMonth(), now.getDate() - (n - 1));
          const day = (d: Date) => d.toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
          return { from: start.toISOString(), span: `${day(start)} – ${day(now)}` };
        }, n);
      const staging = page.locator('article', { has: page.getByRole('heading', { name: 'staging' }) });
      const span = staging.locator('.chart-span');
      for (const [range, days] of [
        ['90 days', 90],
        ['30 days', 30],
        ['1 year', 365],
      ] as const) {
        if (range !== '90 days') await page.getByLabel('Range').selectOption(range);
        const want = await expected(days);
        await expect.poll(() => asked.at(-1), { timeout: 15_000, message: `${range} in ${timezoneId}` }).toBe(want.from);
        // The axis (as the chart itself reports its x scale) runs from that first day to the end of today.
        await expect.poll(() => span.textContent(), { timeout: 15_000, message: `${range} in ${timezoneId}` }).toBe(want.span);
        await page.screenshot({ path: join(OUT, `console-insights-${days}-${timezoneId.replace('/', '-')}.png`), fullPage: true });
      }
      // Every request asked for a range that was shown: none for 90 days after 30 was chosen.
      expect(new Set(asked).size).toBe(3);
      await page.setViewportSize({ width: 390, height: 844 });
      await expect.poll(() => span.textContent(), { timeout: 15_000 }).toBe((await expected(365)).span);
      await page.screenshot({ path: join(OUT, `console-insights-phone-${timezoneId.replace('/', '-')}.png`), fullPage: true });
      expect(errors).toEqual([]);
      await page.close();
    }
  });

  it('shows control characters and bidi overrides in service text as escapes', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const prod = (await t.call('GET', '/api/v1/environments/production', { token: u.viewer })).body;
    expect(
      (
        await t.call('PATCH', '/api/v1/environments/production', {
          token: u.admin,
          body: { version: prod.version, displayName: 'Prod \u202Eevil\u202C\r\u001b[2K' },
        })
      ).status,
    ).toBe(200);
    const { page } = await openAs(u.viewer);
    await expect.poll(() => page.locator('main').textContent(), { timeout: 15_000 }).toContain(visible('Prod \u202Eevil\u202C\r\u001b[2K'));
    expect((await page.locator('main').textContent()) ?? '').not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
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
