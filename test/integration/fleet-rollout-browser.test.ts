import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { alarmArn, alarmEvent } from '../support/alarms.ts';
import { approveIfAsked } from '../support/promotions.ts';
import { accessibility, useConsoleStack } from '../support/console.ts';
import { consoleScenarios } from '../support/console-scenarios.ts';
import { productionLine } from '../support/line.ts';

/**
 * The console's rollout view at fleet size ("what people see"): a promotion rolls out through 1,000
 * targets in 10 waves on the local stack (the real flow, immediate confirmation, no bake) and halts before wave 4,
 * as planned. The page shows a row per wave with its counts and progress, filters the targets by state, wave,
 * name and label, and pages through them 50 at a time: the DOM stays bounded whatever the fleet.
 */
const OUT = join(process.cwd(), 'test-output');
const { t, browser } = useConsoleStack({ out: OUT });
const { openAs } = consoleScenarios(t, browser);

const REGIONS = ['eu-west-1', 'eu-central-1', 'us-east-1', 'ap-south-1'];
/** `size` cells in 10 waves, each labelled with its region (every fourth one in eu-west-1); `monitors` on those of `monitored`. */
const fleetOf = (size: number, monitored?: { wave: number; monitors: string[] }) =>
  Array.from({ length: size }, (_, i) => ({
    name: `cell-${String(i + 1).padStart(5, '0')}`,
    wave: Math.floor(i / (size / 10)) + 1,
    labels: { region: REGIONS[i % 4]! },
    ...(monitored?.wave === Math.floor(i / (size / 10)) + 1 ? { monitors: monitored.monitors } : {}),
  }));
const fleet = fleetOf(1000);

/**
 * The bound on the page's elements: the console's frame, the promotion's sections, 10 wave rows and 50 target
 * rows. A target row is about 20 elements (its cells, times, status, sub-lines), so 50 rows are ~1,000; the rest
 * of the page ~1,000 more. Every target in the DOM (1,000 rows) would be over 20,000.
 */
const MAX_ELEMENTS = 3000;

const measure = (page: Page) =>
  page.evaluate(() => {
    const d = (globalThis as any).document;
    return {
      elements: d.querySelectorAll('*').length as number,
      targetRows: d.querySelectorAll('table.rollout tbody tr').length as number,
      names: [...d.querySelectorAll('table.rollout tbody th[scope="row"]')].map((e: any) => e.textContent as string),
      overflow: d.documentElement.scrollWidth > (globalThis as any).innerWidth,
    };
  });

describe('the rollout view at 1,000 targets, in a real browser', () => {
  it('waves with counts and progress, a filter by state, wave, name and label, pages of 50 rows: a bounded DOM, keyboard paging, no serious accessibility violation, at desktop and phone width', async () => {
    const { u } = await productionLine(t, { bakeSeconds: 0, targets: fleet, rollout: { maxParallel: 40, waves: [{ wave: 4, pause: true }] } });
    expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } })).status).toBe(201);
    const created = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    await approveIfAsked(t, u, id, ['EXECUTING']);
    // Waves 1–3 roll out (300 targets); the rollout halts before wave 4, as planned.
    await expect
      .poll(async () => (await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body.rollout?.phase, { timeout: 300_000, interval: 1000 })
      .toBe('HALTED');

    const { page, errors } = await openAs(u.deployer, `#/promotions/${id}`);
    const table = page.getByRole('table', { name: /1000 targets in 10 waves/ });
    await table.waitFor({ timeout: 30_000 });
    const status = page.locator('.pager-status');
    await expect.poll(() => status.textContent()).toBe('Targets 1–50 of 1000, 50 at a time.');

    // A row per wave: its counts and its progress.
    const waves = page.getByRole('table', { name: /^Waves/ });
    // Per wave: targets, done, confirming or baking, pending, failed or rolled back, progress.
    const cells = (i: number) => waves.locator('tbody tr').nth(i).locator('th, td').allTextContents();
    expect(await waves.locator('tbody tr').count()).toBe(10);
    expect(await cells(0)).toEqual(['1', '100', '100', '0', '0', '0', ' 100 %']);
    expect(await cells(3)).toEqual(['4', '100', '0', '0', '100', '0', ' 0 %']);
    expect(await waves.getByRole('progressbar', { name: 'Wave 3: 100 of 100 done' }).count()).toBe(1);

    // Never more than a page of targets in the DOM.
    let m = await measure(page);
    expect(m.targetRows).toBe(50);
    expect(m.elements).toBeLessThan(MAX_ELEMENTS);
    expect(m.names[0]).toBe('cell-00001');
    expect(m.names[49]).toBe('cell-00050');

    // Filter by state: the 700 not started yet, paged with the keyboard.
    await page.getByLabel('State').selectOption('PENDING');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await expect.poll(() => status.textContent()).toBe('Targets 1–50 of 700 matching the filter, 50 at a time.');
    const next = page.getByRole('navigation', { name: 'Pages of targets (top)' }).getByRole('button', { name: 'Next 50' });
    await next.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => status.textContent()).toBe('Targets 51–100 of 700 matching the filter, 50 at a time.');
    m = await measure(page);
    expect(m.names[0]).toBe('cell-00351');
    expect(m.targetRows).toBe(50);
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await expect.poll(() => status.textContent()).toBe('Targets 1–50 of 700 matching the filter, 50 at a time.');
    expect((await measure(page)).names[0]).toBe('cell-00301');

    // By label and state: eu-west-1's cells that are done (every fourth of waves 1–3).
    await page.getByLabel('State').selectOption('DONE');
    await page.getByLabel(/^Label/).fill('region=eu-west-*');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    // A label is known to the targets' listing, not to the rollout's pages: a wave at a time, narrowed in the page (wave 1's 25).
    await expect.poll(() => status.textContent()).toBe('Targets 1–25 matching the filter, 50 at a time.');
    m = await measure(page);
    expect(m.names.every((n) => (Number(n.slice(5)) - 1) % 4 === 0)).toBe(true);
    expect(await accessibility(page)).toEqual([]);
    await page.screenshot({ path: join(OUT, 'console-fleet-rollout-filtered-1280.png'), fullPage: true });

    // By name (a glob) and wave.
    await page.getByLabel('State').selectOption('');
    await page.getByLabel(/^Label/).fill('');
    await page.getByLabel(/^Name/).fill('cell-0099*');
    await page.getByLabel('Wave', { exact: true }).selectOption('10');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await expect.poll(() => status.textContent()).toBe('Targets 1–10 of 10 matching the filter, 50 at a time.');
    expect((await measure(page)).names).toEqual(Array.from({ length: 10 }, (_, i) => `cell-0099${i}`));
    expect(await page.getByRole('button', { name: 'Next 50' }).first().isDisabled()).toBe(true);

    // A label that is no selector: the API's answer names the field; the page stays up.
    await page.getByLabel(/^Name/).fill('');
    await page.getByLabel(/^Label/).fill('region');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await expect.poll(() => page.locator('main').textContent()).toMatch(/The targets could not be read: .*label/);
    await page.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(() => status.textContent()).toBe('Targets 1–50 of 1000, 50 at a time.');
    expect(await accessibility(page)).toEqual([]);
    await page.screenshot({ path: join(OUT, 'console-fleet-rollout-1280.png'), fullPage: true });
    m = await measure(page);
    expect(m.elements).toBeLessThan(MAX_ELEMENTS);
    expect(errors).toEqual([]);
    await page.close();

    // A phone: the waves and the targets read as lists; nothing scrolls sideways; the same bound.
    const phone = await openAs(u.deployer, `#/promotions/${id}`, { width: 390, height: 844 });
    await phone.page.getByRole('table', { name: /1000 targets in 10 waves/ }).waitFor({ timeout: 30_000 });
    await expect.poll(() => phone.page.locator('.pager-status').textContent()).toBe('Targets 1–50 of 1000, 50 at a time.');
    m = await measure(phone.page);
    expect(m.targetRows).toBe(50);
    expect(m.elements).toBeLessThan(MAX_ELEMENTS);
    expect(m.overflow).toBe(false);
    expect(await accessibility(phone.page)).toEqual([]);
    await phone.page.screenshot({ path: join(OUT, 'console-fleet-rollout-390.png'), fullPage: true });
    await phone.page.getByRole('table', { name: /^Waves/ }).screenshot({ path: join(OUT, 'console-fleet-rollout-waves-390.png') });
    expect(phone.errors).toEqual([]);
    await phone.page.close();
  }, 420_000);

  // 400 targets, not 1,000: what this asks (totals, not rows; a bounded reason) needs more targets than a wave lists (20) and
  // than one page shows (50), and each wave run as a child execution (over 25); the view at 1,000 is the test above.
  it("after an alarm in wave 7 put back 280 of 400 targets, the page says so from the rollout's totals (not its listed rows), and the reason names the count and the first few targets", async () => {
    const tenant = t.tenant();
    const alarm = alarmArn(`${tenant}/cells-5xx`);
    // Waves 1–7 roll out (280 targets, wave 7's 40 all watching one alarm); the rollout halts before wave 8, as planned.
    const { u } = await productionLine(
      t,
      { bakeSeconds: 0, targets: fleetOf(400, { wave: 7, monitors: [alarm] }), rollout: { maxParallel: 40, waves: [{ wave: 8, pause: true }] } },
      tenant,
    );
    expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } })).status).toBe(201);
    const created = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    await approveIfAsked(t, u, id, ['EXECUTING']);
    const detail = async () => (await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body;
    await expect.poll(async () => (await detail()).rollout?.phase, { timeout: 400_000, interval: 1000 }).toBe('HALTED');
    // The alarm of wave 7's cells: the rollout stops and puts every changed target back.
    expect((await t.call('POST', '/dev/events', { body: alarmEvent(alarm, '5xx above 1% on the cells') })).status).toBe(202);
    await expect.poll(async () => (await detail()).status, { timeout: 400_000, interval: 1000 }).toBe('ROLLED_BACK');

    // What the page says: the counts of the whole fleet, the first few names; the reason the same way, not 40 names.
    const { page, errors } = await openAs(u.deployer, `#/promotions/${id}`);
    const outcome = page.locator('#deliveries-title + p');
    await outcome.waitFor({ timeout: 30_000 });
    expect
      .soft(await outcome.textContent())
      .toBe("280 targets changed (cell-00001, cell-00002, cell-00003 and 277 more); all put back by the rollback. Each target's row above says when.");
    const notice = (await page.locator('section[aria-labelledby="deliveries-title"] .notice.bad').first().textContent()) ?? '';
    expect.soft(notice).toContain('of 40 targets in wave 7 (cell-00241, cell-00242, cell-00243 and 37 more) went to ALARM');
    expect.soft(notice.length).toBeLessThan(500);

    // The API's totals: 400 targets, 280 changed, 280 put back, though the detail lists only 20 rows a wave.
    const d = await detail();
    expect.soft(d.rollout.totals).toEqual({ targets: 400, changed: 280, putBack: 280 });
    expect(d.rollout.waves.flatMap((w: any) => w.targets).filter((x: any) => x.appliedAt)).toHaveLength(140);
    expect
      .soft(d.error.message)
      .toMatch(
        /^post-deploy verification failed: monitor '[^']+\/cells-5xx' of 40 targets in wave 7 \(cell-00241, cell-00242, cell-00243 and 37 more\) went to ALARM at \S+ \(5xx above 1% on the cells\); 280 targets rolled back in reverse wave order: cell-00280 \(wave 7\), cell-00279 \(wave 7\), cell-00278 \(wave 7\) and 277 more$/,
      );
    expect(await accessibility(page)).toEqual([]);
    await page.locator('section[aria-labelledby="deliveries-title"]').screenshot({ path: join(OUT, 'console-fleet-rolled-back-outcome-1280.png') });
    await page.screenshot({ path: join(OUT, 'console-fleet-rolled-back-1280.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 900_000);
});
