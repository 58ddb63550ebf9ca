import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { accessibility, openConsoleAs, useConsoleStack } from '../support/console.ts';
import { runDoraScenario } from '../support/dora.ts';

/** The console's Insights shows DORA's five (per environment and over the line) with their definitions, in Chromium. */
const OUT = join(process.cwd(), 'test-output');
const { t, browser } = useConsoleStack({ out: OUT });

describe("DORA's five in the console's Insights", () => {
  it('the line and each environment show deployment frequency, change fail rate, recovery time and rework rate, each defined on hover; no serious accessibility violation', async () => {
    const run = await runDoraScenario(t);
    const api = await t.call('GET', `/api/v1/platform/metrics?environment=staging&from=${run.from}T00:00:00Z`, { token: run.u.viewer });
    const { page, errors } = await openConsoleAs(browser, t.url, run.u.viewer, '#/insights', { width: 1280, height: 1400 });
    // The range the console asks for (its last 90 days) holds every promotion the scenario ran.
    const staging = page.locator('article', { has: page.locator('#ins-staging') });
    await expect.poll(() => staging.textContent(), { timeout: 15_000 }).toContain('Rework rate');
    const figure = (name: string) => staging.locator(`div:has(> dt:text-is("${name}")) > dd`).textContent();
    const { expected: e } = run;
    expect(await figure('Change fail rate')).toBe(`${Math.round((e.changeFailed / e.deployments) * 1000) / 10} % (${e.changeFailed})`);
    expect(await figure('Rework rate')).toBe(`${Math.round((e.rework / e.deployments) * 1000) / 10} % (${e.rework})`);
    expect(await figure('Recovery time')).toMatch(new RegExp(`\\(${e.recoveries}\\)$`));
    expect(await figure('Deployment frequency')).toContain(`(${e.deployments})`);
    expect(await staging.locator('div:has(> dt:text-is("Rework rate"))').getAttribute('title')).toContain('fix-forward');
    const line = page.locator('article', { has: page.locator('#ins-line') });
    expect(await line.locator('div:has(> dt:text-is("Change fail rate")) > dd').textContent()).toContain(`(${e.changeFailed})`);
    await line.getByText('What the five mean').click();
    expect(await line.locator('li').count()).toBe(5);
    expect(api.body.environments[0].total.dora.deployments).toBe(e.deployments);
    await page.screenshot({ path: join(OUT, 'console-insights-dora.png'), fullPage: true });
    expect(await accessibility(page)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });
});
