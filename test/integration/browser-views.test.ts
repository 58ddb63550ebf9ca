import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { visible } from '../../domain/kernel/display.ts';
import { waitFor } from '../support/promotions.ts';
import { accessibility, useConsoleStack } from '../support/console.ts';
import { consoleScenarios } from '../support/console-scenarios.ts';
import { lineTargets } from '../support/line.ts';
import { rolledBackByAlarm } from '../support/scenarios.ts';
import { makeLine } from '../support/stack.ts';
import { DynamoStore, documentClient } from '../../functions/adapters/dynamo-store.ts';
import { LOCAL_REGION, localCredentials } from '../../local/dynamodb.ts';

/**
 * The console's views in Chromium (as browser.test.ts), at a desk's and a phone's width: the pipeline,
 * an environment, flags, insights, audit and settings, as every role; no serious accessibility violation.
 */
const OUT = join(process.cwd(), 'test-output');
const { t, browser } = useConsoleStack({ out: OUT });
const { consoleTenant, openAs } = consoleScenarios(t, browser);

describe('the console, in a real browser', () => {
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
    const { u, bad } = await rolledBackByAlarm(t);
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
});
