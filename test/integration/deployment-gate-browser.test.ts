import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { accessibility, openConsoleAs, useConsoleStack } from '../support/console.ts';
import { makeLine, type TestStack } from '../support/stack.ts';
import { localSecretVariable } from '../../functions/adapters/secrets.ts';

/**
 * An environment's deployment gate on its page in the console (Debian's Chromium via playwright-core, against the local
 * stack): closed on the first load (no call for it), read when opened, at 1280 and 390 px, with no serious
 * accessibility violation; an environment without one says how to set it.
 */
const OUT = join(process.cwd(), 'test-output');
const { t, browser } = useConsoleStack({ out: OUT });

describe("an environment's deployment gate in the console", () => {
  let u: Awaited<ReturnType<TestStack['users']>>;
  let tenant: string;
  beforeAll(async () => {
    tenant = t.tenant();
    process.env[localSecretVariable(tenant, 'github-app-key', 'GITHUB_APP_KEY')!] = 'a key (only its existence is read here)';
    process.env[localSecretVariable(tenant, 'git-webhook', 'GITHUB_APP_HOOK')!] = 'hook-secret';
    u = await t.users(tenant);
    await makeLine(t, u.admin);
    const put = await t.call('PUT', '/api/v1/environments/production/deployment-gate', {
      token: u.admin,
      body: {
        repository: 'acme/storefront-platform-services',
        hostEnvironment: 'production-eu-west',
        app: { id: '1234567', privateKeySecret: 'GITHUB_APP_KEY', webhookSecret: 'GITHUB_APP_HOOK' },
      },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
  }, 60_000);

  for (const [name, viewport] of [
    ['desktop', { width: 1280, height: 800 }],
    ['phone', { width: 390, height: 844 }],
  ] as const)
    it(`opened on ${name}: the repository environment, what it waits on, the App and its webhook URL; the page does not widen`, async () => {
      const { page, errors } = await openConsoleAs(browser, t.url, u.viewer, '#/environments/production', viewport);
      const gate = page.locator('details.gate');
      await gate.locator('summary').click();
      await expect.poll(() => gate.locator('dd').count(), { timeout: 15_000 }).toBe(5);
      const text = (await gate.innerText()).replace(/\s+/g, ' ');
      expect(text).toContain('acme/storefront-platform-services, environment production-eu-west (GitHub Actions)');
      expect(text).toContain('a promotion from the environment before it');
      expect(text).toContain('key in secret GITHUB_APP_KEY, webhook secret GITHUB_APP_HOOK');
      expect(text).toContain(`/api/v1/deployment-gates/github/${tenant}`);
      await gate.scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(OUT, `deployment-gate-${name}.png`), fullPage: true });
      await gate.screenshot({ path: join(OUT, `deployment-gate-${name}-panel.png`) });
      expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
      expect(await accessibility(page)).toEqual([]);
      expect(errors).toEqual([]);
      await page.close();
    });

  it('an environment without one says how to set it', async () => {
    const { page, errors } = await openConsoleAs(browser, t.url, u.viewer, '#/environments/staging');
    const gate = page.locator('details.gate');
    await gate.locator('summary').click();
    await expect
      .poll(() => gate.innerText(), { timeout: 15_000 })
      .toContain('No pipeline waits on promotions into staging. Set one with stageline deployment-gate set staging.');
    expect(errors).toEqual([]);
    await page.close();
  });
});
