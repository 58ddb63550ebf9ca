import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, waitForToken } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

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
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
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
  const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production', notes: 'longer timeout for reports' } });
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
    expect((await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body).toMatchObject({ status: 'REJECTED', rejection: { reason: 'the report cluster is being migrated this week' } });
    await page.close();
  });

  it('the dashboard shows the pending promotion and why it is blocked; a signed-in approver approves from it, a viewer cannot', async () => {
    const { tenant, u, id } = await waitingPromotion();
    const page = await browser.newPage();
    await page.goto(`${t.url}/dashboard#token=${u.viewer}`);
    const pending = page.locator('#pending');
    await expect.poll(() => pending.textContent(), { timeout: 15_000 }).toContain(id);
    expect(await pending.textContent()).toMatch(/waiting for 1 approval/i);
    await page.screenshot({ path: join(OUT, 'dashboard-pending.png'), fullPage: true });
    // A viewer's click gets the API's refusal, and nothing changes.
    await pending.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => page.locator('#msg').textContent()).toMatch(/Could not approve .*approver/);
    expect((await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body.status).toBe('AWAITING_APPROVAL');
    // The approver signs in on the same page and approves.
    await page.goto(`${t.url}/dashboard#token=${u.approver}`);
    await page.reload();
    await expect.poll(() => pending.textContent(), { timeout: 15_000 }).toContain(id);
    await pending.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => page.locator('#msg').textContent()).toContain(`Approved ${id}`);
    expect((await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    // The approver gets a one-time code for their own Slack account from the same page.
    await page.getByRole('button', { name: 'Link my Slack account' }).click();
    await expect.poll(() => page.locator('#msg').textContent()).toMatch(new RegExp(`In Slack, send: /stageline link ${tenant}\\.[0-9A-Z-]{14} .*approver@${tenant}\\.test`));
    await page.close();
  });

  it('the dashboard shows control characters and bidi overrides in service text as escapes (no reversed or erased text)', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const prod = (await t.call('GET', '/api/v1/environments/production', { token: u.viewer })).body;
    const spoof = 'Prod \u202Eevil\u202C\r\u001b[2K';
    expect((await t.call('PATCH', '/api/v1/environments/production', { token: u.admin, body: { version: prod.version, displayName: spoof } })).status).toBe(200);
    const page = await browser.newPage();
    await page.goto(`${t.url}/dashboard#token=${u.viewer}`);
    const table = page.locator('#status');
    await expect.poll(() => table.textContent(), { timeout: 15_000 }).toContain('Prod \\u202eevil\\u202c\\u000d\\u001b[2K');
    const text = (await table.textContent()) ?? '';
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    await page.close();
  });
});

describe('the dashboard webhooks view, in a real browser', () => {
  it('shows each subscription by host, its events, state and latest delivery outcomes, never a secret or the URL path; the CLI redelivers', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    // A real receiver: /up answers 200, /down 503.
    const receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(req.url!.startsWith('/down') ? 503 : 200).end());
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
    try {
      const make = async (url: string, events: string[], extra: Record<string, unknown> = {}) => {
        const r = await t.call('POST', '/api/v1/webhooks', { token: u.admin, body: { url, events, ...extra } });
        expect(r.status, JSON.stringify(r.body)).toBe(201);
        return r.body as { id: string; secret: string; version: number };
      };
      const up = await make(`${base}/up/PathToken123?sig=QueryToken456`, ['promotion.requested', 'promotion.failed'], { description: 'deploy bot' });
      const down = await make(`${base}/down/hook`, ['promotion.requested']);
      const off = await make(`${base}/up/off`, ['deployment.recorded'], { environment: 'production' });
      expect((await t.call('PATCH', `/api/v1/webhooks/${off.id}`, { token: u.admin, body: { version: off.version, enabled: false } })).status).toBe(200);
      // A promotion: its "requested" event goes to /up (200) and /down (503, retried later).
      await t.call('POST', '/api/v1/environments/dev/configs', { token: u.admin, body: { key: 'feature.x', value: 'on' } });
      expect((await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } })).status).toBe(201);
      const attempted = async (id: string) => ((await t.call('GET', `/api/v1/webhooks/${id}/deliveries`, { token: u.viewer })).body.items as { id: string; attempts: unknown[] }[]).find((d) => d.attempts.length);
      await expect.poll(() => attempted(up.id), { timeout: 20_000 }).toBeTruthy();
      await expect.poll(() => attempted(down.id), { timeout: 20_000 }).toBeTruthy();

      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      await page.goto(`${t.url}/dashboard#token=${u.viewer}`);
      const hooks = page.locator('#hooks-body');
      await expect.poll(() => hooks.locator('tr').count(), { timeout: 15_000 }).toBe(3);
      await expect.poll(() => hooks.textContent(), { timeout: 15_000 }).toMatch(/delivered · HTTP 200/);
      const rows = await hooks.locator('tr').allTextContents();
      const host = new URL(base).host;
      const row = (events: string) => rows.find((r) => r.includes(events)) ?? '';
      expect(row('promotion.requestedpromotion.failed')).toMatch(new RegExp(`^${host}${up.id}promotion\\.requestedpromotion\\.failedallactivedelivered · HTTP 200`));
      expect(row('deployment.recorded')).toBe(`${host}${off.id}deployment.recordedproductiondisablednone yet`);
      expect(rows.find((r) => r.includes('promotion.requested') && !r.includes('promotion.failed'))).toMatch(new RegExp(`^${host}${down.id}promotion\\.requestedallactive(pending|failed) · HTTP 503`));
      const text = (await page.locator('body').textContent()) ?? '';
      for (const secret of [up.secret, down.secret, off.secret, 'PathToken123', 'QueryToken456', '/down/hook']) expect(text).not.toContain(secret);
      await page.screenshot({ path: join(OUT, 'dashboard-webhooks.png'), fullPage: true });
      await page.close();

      // The CLI lists the log and redelivers (same webhook-id, one more attempt).
      const root = join(import.meta.dirname, '..', '..');
      const cli = (token: string, ...args: string[]) => promisify(execFile)(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'cli', 'stageline.ts'), ...args], { env: { ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: token }, cwd: root });
      const delivery = (await attempted(up.id))!;
      expect((await cli(u.viewer, 'webhooks', 'deliveries', up.id)).stdout).toMatch(new RegExp(`${delivery.id}\\s+promotion\\.requested\\s+delivered\\s+200`));
      await expect(cli(u.viewer, 'webhooks', 'redeliver', up.id, delivery.id)).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('403') });
      expect((await cli(u.deployer, 'webhooks', 'redeliver', up.id, delivery.id)).stdout).toBe(`${delivery.id}: redelivery under way\n`);
      await expect.poll(async () => (await attempted(up.id))!.attempts.length, { timeout: 20_000 }).toBe(2);
    } finally {
      await new Promise((r) => receiver.close(r));
    }
  });
});
