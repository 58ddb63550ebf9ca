import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../local/measure/chromium.ts';
import { accessibility, openConsoleAs } from '../support/console.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

const WORKFLOWS_URL =
  'https://prod-12.westus.logic.azure.com:443/workflows/0a1b2c3d4e5f/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=Q29uc29sZVNlY3JldA';

let t: TestStack;
let browser: Browser;
let u: Awaited<ReturnType<TestStack['users']>>;
beforeAll(async () => {
  [t, browser] = await Promise.all([startTestStack(), launchChromium()]);
  u = await t.users(t.tenant());
  await makeLine(t, u.admin);
  expect((await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { email: { recipients: ['ops@acme.example'] } } })).status).toBe(200);
}, 90_000);
afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

describe('Teams in the console settings', () => {
  it('an admin sets the Workflows webhook (a secret field), sees it masked, other channels kept; another host is refused with the reason', async () => {
    const { page, errors } = await openConsoleAs(browser, t.url, u.admin, '#/settings/notifications');
    const field = page.getByLabel('Teams Workflows webhook URL');
    await field.waitFor();
    expect(await field.getAttribute('type')).toBe('password');
    await field.fill('https://hooks.example.com/workflows/x');
    await page.getByRole('button', { name: 'Save Teams webhook' }).click();
    await page
      .getByText(/not a host Microsoft documents/)
      .first()
      .waitFor();
    await field.fill(WORKFLOWS_URL);
    await page.getByRole('button', { name: 'Save Teams webhook' }).click();
    await page.getByText('https://prod-12.westus.logic.azure.com/…').first().waitFor();
    expect(await page.content()).not.toContain('Q29uc29sZVNlY3JldA');
    const saved = (await t.call('GET', '/api/v1/notifications', { token: u.viewer })).body;
    expect(saved).toMatchObject({ teams: { webhook: 'https://prod-12.westus.logic.azure.com/…' }, email: { recipients: ['ops@acme.example'] } });
    await page.getByRole('button', { name: 'Turn Teams off' }).click();
    await page.getByText('Teams: off').waitFor();
    expect((await t.call('GET', '/api/v1/notifications', { token: u.viewer })).body).toMatchObject({
      teams: null,
      email: { recipients: ['ops@acme.example'] },
    });
    expect(await accessibility(page)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a viewer sees where notifications go, masked, and no form', async () => {
    expect((await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { teams: { webhook: WORKFLOWS_URL } } })).status).toBe(200);
    const { page } = await openConsoleAs(browser, t.url, u.viewer, '#/settings/notifications');
    await page.getByText('Teams: https://prod-12.westus.logic.azure.com/…').waitFor();
    expect(await page.getByLabel('Teams Workflows webhook URL').count()).toBe(0);
    await page.close();
  });
});
