import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { waitFor, waitForToken } from '../support/promotions.ts';
import { accessibility, useConsoleStack } from '../support/console.ts';
import { consoleScenarios } from '../support/console-scenarios.ts';
import { makeLine } from '../support/stack.ts';
import { overrideConfig } from '../../functions/configuration-overrides.ts';

/**
 * As a person would: Debian's Chromium (installed by `npm test`'s prereqs), driven by playwright-core,
 * against the real local stack. No browser download; screenshots go to test-output/.
 * Here: signing in, and approving or rejecting (from an email's review page, in the console). The
 * console's views: browser-views.test.ts; a deployer's promotion page: browser-promotion.test.ts.
 */
const OUT = join(process.cwd(), 'test-output');
const { t, browser } = useConsoleStack({ out: OUT });
const { waitingPromotion, consoleTenant, openAs } = consoleScenarios(t, browser);

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
    await expect.poll(notices, { timeout: 15_000 }).toContain('A rejection needs a reason');
    // A comment typed here and not sent is this promotion's too.
    await page.getByLabel('Comment (kept with the approval)').fill('meant for the first');
    await page.getByLabel('Reason to reject (required to reject)').fill('not this week');
    await page.getByRole('button', { name: 'Reject', exact: true }).click();
    await expect.poll(notices, { timeout: 15_000 }).toContain(`Rejected ${first}`);
    await expect.poll(() => main.textContent(), { timeout: 15_000 }).toMatch(/rejected/);

    // To the second: none of that follows.
    await page.goto(`${t.url}/dashboard#/promotions/${second}`);
    await expect.poll(() => main.locator('code', { hasText: second }).count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Approve', exact: true }).waitFor({ timeout: 15_000 });
    expect(await notices()).toBe('');
    expect(await page.getByLabel('Reason to reject (required to reject)').inputValue()).toBe('');
    expect(await page.getByLabel('Comment (kept with the approval)').inputValue()).toBe('');
    await page.getByRole('button', { name: 'Approve', exact: true }).click();
    await expect.poll(notices, { timeout: 15_000 }).toContain(`Approved ${second} as approver@`);
    const here = await notices();
    expect(here).not.toContain(first);
    expect(here).not.toContain('A rejection needs a reason');
    await page.screenshot({ path: join(OUT, 'console-promotion-notices.png'), fullPage: true });

    // Back on the first, its own outcome is there, and not the second's.
    await page.goto(`${t.url}/dashboard#/promotions/${first}`);
    await expect.poll(() => main.locator('code', { hasText: first }).count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await expect.poll(notices, { timeout: 15_000 }).toContain(`Rejected ${first}`);
    expect(await notices()).not.toContain(second);
    // Another view shows neither.
    await page.goto(`${t.url}/dashboard#/`);
    await expect.poll(() => main.locator('h1').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    expect(await notices()).toBe('');
    expect(errors).toEqual([]);
    await page.close();
  });
});
