import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { accessibility, openConsoleAs, useConsoleStack } from '../support/console.ts';
import { waitFor } from '../support/promotions.ts';
import { makeLine, type TestStack } from '../support/stack.ts';

/**
 * The calendar in the console (#/calendar, a chunk loaded when opened; Debian's Chromium via playwright-core, against the
 * local stack): each environment in line order with its allowed-hours openings, freeze windows and scheduled promotions,
 * as GET /api/v1/calendar answers (test/integration/calendar.test.ts), at 1280 and 390 px, with no serious accessibility
 * violation and no sideways scroll on the phone.
 */
const OUT = join(process.cwd(), 'test-output');
const { t, browser } = useConsoleStack({ out: OUT });

const minute = (ms: number) => new Date(Math.ceil(ms / 60_000) * 60_000);
const shown = (d: Date | string | number) => new Date(d).toISOString().slice(0, 16).replace('T', ' ');

describe('the calendar in the console', () => {
  let u: Awaited<ReturnType<TestStack['users']>>;
  let promotion: string;
  let open: Date;
  let frozen: { from: Date; to: Date };
  beforeAll(async () => {
    u = await t.users(t.tenant());
    // staging opens daily two hours from now for an hour (UTC); a freeze over it from three to four hours from now.
    open = minute(t.stack.clock.date().getTime() + 2 * 3600_000);
    const hours = { timeZone: 'UTC', windows: [{ cron: `${open.getUTCMinutes()} ${open.getUTCHours()} * * *`, durationMinutes: 60 }] };
    await makeLine(t, u.admin, ['dev', { name: 'staging', allowedHours: hours }, 'production']);
    frozen = { from: new Date(open.getTime() + 3600_000), to: new Date(open.getTime() + 2 * 3600_000) };
    const freeze = await t.call('POST', '/api/v1/environments/staging/freeze-windows', {
      token: u.admin,
      body: { reason: 'release party', start: frozen.from.toISOString(), end: frozen.to.toISOString() },
    });
    expect(freeze.status, JSON.stringify(freeze.body)).toBe(201);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    promotion = p.body.id;
    // Outside staging's allowed hours: scheduled for its next opening.
    expect((await waitFor(t, u.viewer, promotion, ['SCHEDULED', 'COMPLETED', 'FAILED', 'CANCELLED'])).status).toBe('SCHEDULED');
  }, 60_000);

  for (const [name, viewport] of [
    ['desktop', { width: 1280, height: 800 }],
    ['phone', { width: 390, height: 844 }],
  ] as const)
    it(`on ${name}: each environment in line order with its openings, freeze windows and scheduled promotions; the page does not widen`, async () => {
      const { page, errors } = await openConsoleAs(browser, t.url, u.viewer, '#/', viewport);
      if (name === 'desktop') await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Calendar' }).click();
      else await page.goto(`${t.url}/dashboard#/calendar`);
      await page.getByRole('heading', { level: 1, name: 'Calendar' }).waitFor();
      const envs = page.locator('article.cal-env');
      await expect.poll(() => envs.count(), { timeout: 15_000 }).toBe(3);
      expect(await envs.locator('h2').allInnerTexts()).toEqual(['dev', 'staging', 'production']);
      const text = async (env: string) => (await page.getByRole('article', { name: env }).innerText()).replace(/\s+/g, ' ');
      expect(await text('dev')).toContain('Always open (no allowed hours), no freeze window, nothing scheduled.');
      const staging = await text('staging');
      expect(staging).toContain(`${shown(open)} – ${shown(open.getTime() + 3600_000)}`);
      expect(staging).toContain(`${shown(open.getTime() + 86_400_000)} – ${shown(open.getTime() + 86_400_000 + 3600_000)}`);
      expect(staging).toContain(`${shown(frozen.from)} – ${shown(frozen.to)}: release party`);
      expect(staging).toContain(`${promotion} at ${shown(open)} (held by hours:`);
      // The strip: a row per day of the 14 (and the day the range ends in), the freeze and the promotion drawn on it.
      const strip = page.getByRole('article', { name: 'staging' }).locator('.cal-strip');
      expect(await strip.locator('.cal-day:not(.cal-axis)').count()).toBeGreaterThanOrEqual(14);
      expect(await strip.locator('.cal-bar .cal-open').count()).toBeGreaterThanOrEqual(14);
      expect(await strip.locator('.cal-bar .cal-frozen').count()).toBeGreaterThanOrEqual(1);
      expect(await strip.locator('.cal-bar .cal-promotion').count()).toBe(1);
      expect(await page.getByRole('article', { name: 'production' }).locator('.cal-strip').count()).toBe(0);

      await page.screenshot({ path: join(OUT, `calendar-${name}.png`), fullPage: true });
      expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
      expect(await accessibility(page)).toEqual([]);

      // The scheduled promotion links to its page.
      await page.getByRole('article', { name: 'staging' }).getByRole('link', { name: promotion }).click();
      await expect.poll(() => page.url()).toContain(`#/promotions/${promotion}`);
      expect(errors).toEqual([]);
      await page.close();
    });

  it('a shorter range: the next 7 days', async () => {
    const { page, errors } = await openConsoleAs(browser, t.url, u.viewer, '#/calendar');
    const strip = page.getByRole('article', { name: 'staging' }).locator('.cal-strip');
    await expect.poll(() => strip.locator('.cal-day:not(.cal-axis)').count(), { timeout: 15_000 }).toBeGreaterThanOrEqual(14);
    await page.getByLabel('Show the next').selectOption('7');
    await expect.poll(() => strip.locator('.cal-day:not(.cal-axis)').count(), { timeout: 15_000 }).toBeLessThanOrEqual(8);
    expect(errors).toEqual([]);
    await page.close();
  });
});
