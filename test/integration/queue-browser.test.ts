import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { approveIfAsked } from '../support/promotions.ts';
import { accessibility, useConsoleStack } from '../support/console.ts';
import { consoleScenarios } from '../support/console-scenarios.ts';
import { productionLine } from '../support/line.ts';

/**
 * A promotion queued behind a rollout, as a release manager sees it in the console (Debian's Chromium via
 * playwright-core, against the local stack): the promotion page and the pipeline say which promotion it
 * waits for, linked, and what that one is doing — not a freeze window, and no Execute button.
 */
const OUT = join(process.cwd(), 'test-output');
const { t, browser } = useConsoleStack({ out: OUT });

const { openAs } = consoleScenarios(t, browser);

describe('the console shows a promotion queued behind a rollout', () => {
  it('the promotion page and the pipeline say "waits for promotion X, rolling out into production (wave 1 of 3)" with a link to X; no Execute or Schedule for it; no serious accessibility violation', async () => {
    const { u } = await productionLine(t, {
      bakeSeconds: 1,
      targets: [
        { name: 'canary', wave: 1, confirm: { mode: 'callback', timeoutSeconds: 600 } },
        { name: 'us-east-1', wave: 2 },
        { name: 'cell-1', wave: 3 },
      ],
    });
    const promote = async (key: string) => {
      await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key, value: true } });
      const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
      const id = p.body.id as string;
      await approveIfAsked(t, u, id, ['EXECUTING', 'SCHEDULED']);
      return id;
    };
    const first = await promote('feature.a');
    await expect
      .poll(async () => (await t.call('GET', `/api/v1/promotions/${first}`, { token: u.viewer })).body.rollout?.waves[0]?.targets[0]?.state, {
        timeout: 20_000,
      })
      .toBe('CONFIRMING');
    const second = await promote('feature.b');
    await expect
      .poll(async () => (await t.call('GET', `/api/v1/promotions/${second}`, { token: u.viewer })).body.heldBy?.promotion, { timeout: 20_000 })
      .toBe(first);

    const { page, errors } = await openAs(u.deployer, `#/promotions/${second}`);
    const main = page.locator('main');
    await expect.poll(() => main.textContent(), { timeout: 15_000 }).toContain('queued: waits for promotion');
    const text = (await main.textContent()) ?? '';
    expect(text).toContain(
      `Approved; queued: waits for promotion ${first}, rolling out into production (wave 1 of 3). It goes on by itself when that one ends`,
    );
    expect(text).not.toMatch(/freeze window/);
    expect(await page.locator(`.why-box a[href="#/promotions/${first}"]`).count()).toBe(1);
    expect(await page.getByRole('button', { name: /^(Execute now|Schedule)$/ }).count()).toBe(0);
    expect(await accessibility(page)).toEqual([]);
    await page.screenshot({ path: join(OUT, 'console-queued-promotion.png'), fullPage: true });
    // The link leads to the rollout it waits for.
    await page.locator(`.why-box a[href="#/promotions/${first}"]`).click();
    await page.getByRole('table', { name: /3 targets in 3 waves/ }).waitFor({ timeout: 15_000 });

    await page.goto(`${t.url}/dashboard#/`);
    await expect.poll(() => main.textContent(), { timeout: 15_000 }).toContain(second);
    expect((await main.textContent()) ?? '').toMatch(
      new RegExp(
        `Waiting to enter production.*waits for promotion ${first}, rolling out into production \\(wave 1 of 3\\); it goes on when that one ends`,
        's',
      ),
    );
    expect(await page.locator(`.between .why a[href="#/promotions/${first}"]`).count()).toBe(1);
    expect(await accessibility(page)).toEqual([]);
    await page.screenshot({ path: join(OUT, 'console-queued-pipeline.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);
});
