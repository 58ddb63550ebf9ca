import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../local/measure/chromium.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visible } from '../../domain/kernel/display.ts';
import { waitFor, waitForToken } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';
import { DynamoStore, documentClient } from '../../functions/adapters/dynamo-store.ts';
import { LOCAL_REGION, localCredentials } from '../../local/dynamodb.ts';

/**
 * As a person would: Debian's Chromium (installed by `npm test`'s prereqs), driven by playwright-core,
 * against the real local stack. No browser download; screenshots go to test-output/.
 */
const OUT = join(process.cwd(), 'test-output');
let t: TestStack;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  t = await startTestStack();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

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

/** axe-core, run in the page (evaluate is not subject to the page's CSP): serious or critical violations. */
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
async function accessibility(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    const r = await (globalThis as any).axe.run((globalThis as any).document, { resultTypes: ['violations'] });
    return r.violations
      .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
      .map((v: any) => `${v.id}: ${v.help} (${v.nodes.map((n: any) => n.target.join(' ')).join(', ')})`);
  });
  return found as string[];
}

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
async function openAs(token: string, hash = '#/', viewport = { width: 1280, height: 800 }) {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${t.url}/dashboard#token=${token}`);
  await page.getByRole('link', { name: 'Pipeline' }).waitFor();
  if (hash !== '#/') await page.goto(`${t.url}/dashboard${hash}`);
  return { page, errors };
}

describe('the console, in a real browser', () => {
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
    const targets = [
      { name: 'canary', wave: 1 },
      { name: 'us-east-1', wave: 2 },
      { name: 'eu-west-1', wave: 2 },
      { name: 'cell-1', wave: 3 },
      { name: 'cell-2', wave: 3 },
      { name: 'cell-3', wave: 3 },
    ];
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
      expect(text).toMatch(/Waiting to enter staging.*validation failed.*blocked: tests failed/s);
      expect(text).toMatch(/Waiting to enter production.*awaiting approval.*waiting for 1 approval/s);
      expect(text).toMatch(/Last promotion.*rejected.*rejected by approver@\S+: freeze week/s);
      expect(await page.locator(`a[href="#/promotions/${blocked}"]`).count()).toBe(1);
      expect(await page.locator(`a[href="#/promotions/${rejected}"]`).count()).toBe(1);
      // Nothing scrolls sideways on a phone.
      expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth <= (globalThis as any).innerWidth)).toBe(true);
      expect(await accessibility(page)).toEqual([]);
      await page.screenshot({ path: join(OUT, `console-pipeline-${tag}.png`), fullPage: true });
      await page.getByRole('link', { name: blocked }).click();
      await expect.poll(() => main.textContent()).toContain('Blocked: tests —');
      expect(await accessibility(page)).toEqual([]);
      await page.screenshot({ path: join(OUT, `console-blocked-${tag}.png`), fullPage: true });
      expect(errors).toEqual([]);
      await page.close();
    }
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

  it('a deployer unblocks a promotion with evidence and validates it, and promotes one flag from the flags view', async () => {
    const { u, blocked } = await consoleTenant();
    await t.call('POST', '/api/v1/environments/dev/flags', { token: u.admin, body: { key: 'beta-search', value: true } });
    const { page, errors } = await openAs(u.deployer, `#/promotions/${blocked}`);
    const main = page.locator('main');
    await expect.poll(() => main.textContent(), { timeout: 15_000 }).toContain('Blocked: tests —');
    await page.getByLabel('Type').selectOption('test_results');
    await page.getByRole('button', { name: 'Attach' }).click();
    await expect.poll(() => page.locator('.notices').textContent()).toMatch(/Evidence \S+ \(test_results\) attached/);
    await page.getByRole('button', { name: 'Validate' }).click();
    expect((await waitFor(t, u.viewer, blocked, ['COMPLETED'])).status).toBe('COMPLETED');
    await expect.poll(() => main.textContent(), { timeout: 15_000 }).toMatch(/completed/);

    await page.goto(`${t.url}/dashboard#/flags`);
    await page.getByRole('button', { name: 'Promote beta-search from dev to staging' }).click();
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
});
