import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { recurringScheduleName } from '../../domain/promotion/request/recurring.ts';
import { accessibility, openConsoleAs, useConsoleStack } from '../support/console.ts';
import { makeLine, type TestStack } from '../support/stack.ts';

/**
 * The recurring promotions in the console's Settings, as a viewer, a deployer and an admin see them (Debian's Chromium
 * via playwright-core, against the local stack): two calendars over dev → staging, one active whose last run promoted,
 * one promoting an artifact whose last run was skipped (dev runs no version of it) and that was paused since. Read-only for every role.
 */
const OUT = join(process.cwd(), 'test-output');
const TRAIN = { source: 'dev', target: 'staging', cron: '0 9 * * 1-5', timeZone: 'Europe/Berlin', notes: 'release train' };
const MONTH_END = { source: 'dev', target: 'staging', artifact: 'web-api', cron: '30 18 28 * *', timeZone: 'America/New_York' };

const { t, browser } = useConsoleStack({ out: OUT });

describe('recurring promotions in Settings, per role', () => {
  let u: Awaited<ReturnType<TestStack['users']>>;
  /** the calendars as the API answers them */
  let train: any;
  let monthEnd: any;

  beforeAll(async () => {
    const tenant = t.tenant();
    u = await t.users(tenant);
    await makeLine(t, u.admin);
    const put = async (name: string, body: Record<string, unknown>) => {
      const r = await t.call('PUT', `/api/v1/recurring-promotions/${name}`, { token: u.admin, body });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    };
    const fire = (name: string) => t.stack.scheduler.fireNow(recurringScheduleName(tenant, name));
    // month-end runs while dev runs no version of its artifact (skipped), and is paused afterwards (a paused schedule fires nothing).
    await put('month-end', MONTH_END);
    expect(await fire('month-end')).toMatchObject({ outcome: 'skipped' });
    await put('month-end', { ...MONTH_END, paused: true });
    // the train runs after a change in dev, and requests its promotion.
    const change = await t.call('POST', '/api/v1/environments/dev/items/batch', { token: u.deployer, body: { set: [{ key: 'rate', value: 1 }] } });
    expect(change.status, JSON.stringify(change.body)).toBeLessThan(300);
    await put('weekday-train', TRAIN);
    expect(await fire('weekday-train')).toMatchObject({ outcome: 'promoted', promotionId: expect.any(String) });

    const list = await t.call('GET', '/api/v1/recurring-promotions', { token: u.viewer });
    [monthEnd, train] = ['month-end', 'weekday-train'].map((n) => list.body.items.find((r: any) => r.name === n));
    expect(train).toMatchObject({ paused: false, lastRuns: [{ outcome: 'promoted' }] });
    expect(train.next.length).toBeGreaterThan(0);
    expect(monthEnd).toMatchObject({
      paused: true,
      next: [],
      lastRuns: [{ outcome: 'skipped', code: 'nothing-new', reason: "'dev' runs no version of web-api" }],
    });
  }, 90_000);

  for (const role of ['viewer', 'deployer', 'admin'] as const) {
    it(`as ${role}: a row per calendar with what it promotes, when, its state, next time and last run; read-only; no serious accessibility violation`, async () => {
      const { page, errors } = await openConsoleAs(browser, t.url, u[role], '#/settings');
      const section = page.getByRole('region', { name: 'Recurring promotions' });
      const rows = section.locator('tbody tr');
      await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(2);
      await section.scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(OUT, `recurring-${role}.png`), fullPage: true });
      await section.screenshot({ path: join(OUT, `recurring-${role}-section.png`) });

      const cells = await rows.evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll('th, td')].map((c: any) => String(c.innerText).replace(/\s+/g, ' ').trim())),
      );
      const utc = (at: string) => at.slice(0, 16).replace('T', ' ');
      const last = train.lastRuns[0];
      expect(cells).toEqual([
        [
          'month-end',
          'dev → staging artifact web-api',
          `America/New_York ${MONTH_END.cron}`,
          'paused',
          'none (paused)',
          `${utc(monthEnd.lastRuns[0].at)} skipped: ${monthEnd.lastRuns[0].reason}`,
        ],
        [
          'weekday-train',
          'dev → staging',
          `weekdays at 09:00 in Europe/Berlin ${TRAIN.cron}`,
          'active',
          utc(train.next[0]),
          `${utc(last.at)} promoted ${last.promotionId}`,
        ],
      ]);
      // The badges carry their tone; the last run links to its promotion; the next time is a machine-readable time.
      const [paused, active] = [rows.nth(0), rows.nth(1)];
      expect(await paused.locator('.badge.wait').textContent()).toBe('paused');
      expect(await active.locator('.badge.ok').textContent()).toBe('active');
      expect(await active.getByRole('link', { name: last.promotionId }).getAttribute('href')).toBe(`#/promotions/${last.promotionId}`);
      expect(await active.locator('td time').first().getAttribute('datetime')).toBe(new Date(train.next[0]).toISOString());
      // Read-only: no control in the section; the caption and the note name the CLI command and the manifest section.
      expect(await section.locator('button, input, select, textarea').count()).toBe(0);
      expect(await section.locator('caption').textContent()).toContain('stageline recurring');
      expect(await section.locator('p.mut').textContent()).toMatch(/stageline recurring ….*recurring_promotions/);

      // Every cell's text fits its cell (nothing cut or overflowing into the next column).
      const overflowing = await rows.evaluateAll((trs) =>
        trs.flatMap((tr) => [...tr.querySelectorAll('th, td')].filter((c: any) => c.scrollWidth > c.clientWidth + 1).map((c) => c.textContent)),
      );
      expect(overflowing).toEqual([]);
      expect(await accessibility(page)).toEqual([]);
      expect(errors).toEqual([]);
      await page.close();
    }, 60_000);
  }

  it('on a phone-sized screen: the table scrolls sideways in its frame, the page itself does not overflow; no serious accessibility violation', async () => {
    const { page, errors } = await openConsoleAs(browser, t.url, u.viewer, '#/settings', { width: 390, height: 844 });
    const section = page.getByRole('region', { name: 'Recurring promotions' });
    await expect.poll(() => section.locator('tbody tr').count(), { timeout: 15_000 }).toBe(2);
    await page.screenshot({ path: join(OUT, 'recurring-viewer-phone.png'), fullPage: true });
    await section.screenshot({ path: join(OUT, 'recurring-viewer-phone-section.png') });
    expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await accessibility(page)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('with none set: a sentence saying so and how to add one', async () => {
    const other = await t.users(t.tenant());
    const { page, errors } = await openConsoleAs(browser, t.url, other.viewer, '#/settings');
    const section = page.getByRole('region', { name: 'Recurring promotions' });
    await expect
      .poll(() => section.locator('p').first().textContent(), { timeout: 15_000 })
      .toMatch(/^No recurring promotions are set\. Add one with stageline recurring …/);
    expect(await section.locator('table').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
