import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessibility, openConsoleAs, useConsoleStack } from '../support/console.ts';
import { startJiraStandin, type JiraStandin } from '../support/jira-standin.ts';
import { startServiceNowStandin, type ServiceNowStandin } from '../support/servicenow-standin.ts';
import { makeLine, type TestStack } from '../support/stack.ts';

/**
 * An environment's change control in the console (Chromium via playwright-core, against the local stack and the
 * ServiceNow and Jira stand-ins), as a tenant's admin uses it: the rule set from the environment's page (provider,
 * instance, the provider's fields, approved states, a write-only credential), a refusal said next to the field the API
 * names (a template or a service desk the tool does not have), an edit with the credential left blank keeping the stored
 * one and every stored setting the form does not show, removal after a confirmation; a viewer sees it read-only.
 * Screenshots go to test-output/; axe finds nothing serious.
 */
const OUT = join(process.cwd(), 'test-output');
const { t, browser } = useConsoleStack({ out: OUT });
const snCred = { user: 'stageline.console', password: 'pw-console-SECRET-51' };
const jiraCred = { email: 'release-bot@example.com', apiToken: 'atl-token-SECRET-93' };
let sn: ServiceNowStandin;
let jira: JiraStandin;
beforeAll(async () => {
  [sn, jira] = await Promise.all([startServiceNowStandin(snCred), startJiraStandin(jiraCred)]);
});
afterAll(async () => {
  await sn?.stop();
  await jira?.stop();
});

type Users = Awaited<ReturnType<TestStack['users']>>;
const url = '/api/v1/environments/production/change-control';

describe("an environment's change control in the console", () => {
  let u: Users;
  beforeAll(async () => {
    u = await t.users(t.tenant());
    await makeLine(t, u.admin);
  }, 60_000);

  it('an admin sets a ServiceNow rule (a template ServiceNow lacks named next to its field), changes it without retyping the credential, and removes it after a confirmation', async () => {
    const { page, errors } = await openConsoleAs(browser, t.url, u.admin, '#/environments/production');
    const section = page.getByRole('region', { name: 'Change control' });
    await expect.poll(() => section.textContent(), { timeout: 15_000 }).toContain('not under change control');
    await section.getByRole('button', { name: 'Set up change control' }).click();
    await section.getByLabel('Instance URL').fill(sn.url);
    await section.getByLabel('Standard: pre-approved, opened from a template').check();
    await section.getByLabel('Template (name or sys_id)').fill('No such template');
    await section.getByLabel('User').fill(snCred.user);
    await section.getByLabel('Password or API token').fill(snCred.password);
    await section.getByRole('button', { name: 'Save change control' }).click();
    const template = section.getByLabel('Template (name or sys_id)');
    await expect.poll(() => template.getAttribute('aria-invalid'), { timeout: 15_000 }).toBe('true');
    expect(await section.locator('#cc-template-problem').textContent()).toMatch(/no standard change template 'No such template'/);
    await page.screenshot({ path: join(OUT, 'change-control-refused.png'), fullPage: true });
    expect((await t.call('GET', url, { token: u.viewer })).status).toBe(404);

    await template.fill(sn.templates[0]!.name);
    // The refused save cleared the secret field: the password is typed again (never kept in the page).
    expect(await section.getByLabel('Password or API token').inputValue()).toBe('');
    await section.getByLabel('Password or API token').fill(snCred.password);
    await section.getByRole('button', { name: 'Save change control' }).click();
    await expect.poll(() => section.locator('dl.facts').textContent(), { timeout: 15_000 }).toContain(sn.templates[0]!.name);
    const facts = (await section.locator('dl.facts').innerText()).replace(/\s+/g, ' ');
    for (const shown of ['ServiceNow', sn.url, 'standard', '-2 (Scheduled), -1 (Implement)', 'user and password, stored sealed'])
      expect(facts).toContain(shown);
    expect(await page.content()).not.toContain(snCred.password);
    expect(await page.getByRole('status').textContent()).toContain('production is under change control');
    await page.screenshot({ path: join(OUT, 'change-control-servicenow.png'), fullPage: true });
    expect(await accessibility(page)).toEqual([]);

    // Changed with the credential left blank: the stored credential (and template) stay.
    await section.getByRole('button', { name: 'Change the rule' }).click();
    expect(await section.getByLabel('Password or API token').inputValue()).toBe('');
    await section.getByLabel('Approved states (comma-separated)').fill('-1');
    await section.getByRole('button', { name: 'Save change control' }).click();
    // The saved rule is read again: its states are -1 alone (the page said both before).
    await expect.poll(() => section.locator('dl.facts').textContent(), { timeout: 15_000 }).not.toContain('-2 (Scheduled)');
    expect(await section.locator('dl.facts').textContent()).toContain('-1 (Implement)');
    expect((await t.call('GET', url, { token: u.viewer })).body).toMatchObject({
      approvedStates: ['-1'],
      template: sn.templates[0]!.name,
      credentialKind: 'basic',
    });

    // Remove asks first; keeping it changes nothing.
    await section.getByRole('button', { name: 'Remove', exact: true }).click();
    await expect.poll(() => section.getByRole('alertdialog').textContent(), { timeout: 5_000 }).toContain('Promotions into production will no longer wait');
    await page.screenshot({ path: join(OUT, 'change-control-remove-confirm.png'), fullPage: true });
    await section.getByRole('button', { name: 'Keep it' }).click();
    expect((await t.call('GET', url, { token: u.viewer })).status).toBe(200);
    await section.getByRole('button', { name: 'Remove', exact: true }).click();
    await section.getByRole('button', { name: 'Remove change control' }).click();
    await expect.poll(() => section.textContent(), { timeout: 15_000 }).toContain('not under change control');
    expect((await t.call('GET', url, { token: u.viewer })).status).toBe(404);
    expect(errors).toEqual([]);
  });

  it("an admin sets a Jira rule: a service desk Jira lacks is named next to its field; an edit keeps the rule's settings the form does not show", async () => {
    const { page, errors } = await openConsoleAs(browser, t.url, u.admin, '#/environments/production');
    const section = page.getByRole('region', { name: 'Change control' });
    await section.getByRole('button', { name: 'Set up change control' }).click();
    await section.getByLabel('Jira Service Management').check();
    await section.getByLabel('Instance URL').fill(jira.origin);
    await section.getByLabel('Service desk id').fill('99');
    await section.getByLabel('Request type id').fill(jira.requestTypeId);
    await section.getByLabel('User').fill(jiraCred.email);
    await section.getByLabel('Password or API token').fill(jiraCred.apiToken);
    await section.getByRole('button', { name: 'Save change control' }).click();
    const desk = section.getByLabel('Service desk id');
    await expect.poll(() => desk.getAttribute('aria-invalid'), { timeout: 15_000 }).toBe('true');
    expect(await section.locator('#cc-jira-serviceDeskId-problem').textContent()).toMatch(/Jira has no service desk 99/);
    await page.screenshot({ path: join(OUT, 'change-control-jira-refused.png'), fullPage: true });
    await desk.fill(jira.serviceDeskId);
    await section.getByLabel('Password or API token').fill(jiraCred.apiToken);
    await section.getByRole('button', { name: 'Save change control' }).click();
    await expect.poll(() => section.locator('dl.facts').textContent(), { timeout: 15_000 }).toContain('Jira Service Management');
    expect(await page.content()).not.toContain(jiraCred.apiToken);

    // Settings only the API and the CLI set (the planned-window fields) stay through an edit of the form.
    const stored = (await t.call('GET', url, { token: u.viewer })).body;
    const withWindow = await t.call('PUT', url, {
      token: u.admin,
      body: { ...stored, jira: { ...stored.jira, plannedStartField: 'customfield_10041', plannedEndField: 'customfield_10042' } },
    });
    expect(withWindow.status, JSON.stringify(withWindow.body)).toBe(200);
    await page.reload();
    await section.getByRole('button', { name: 'Change the rule' }).click();
    await section.getByLabel('Approved states (comma-separated)').fill('Implementing');
    await section.getByRole('button', { name: 'Save change control' }).click();
    await expect.poll(async () => (await t.call('GET', url, { token: u.viewer })).body.approvedStates, { timeout: 15_000 }).toEqual(['Implementing']);
    expect((await t.call('GET', url, { token: u.viewer })).body).toMatchObject({
      credentialKind: 'basic',
      jira: {
        serviceDeskId: jira.serviceDeskId,
        requestTypeId: jira.requestTypeId,
        plannedStartField: 'customfield_10041',
        plannedEndField: 'customfield_10042',
      },
    });
    await page.screenshot({ path: join(OUT, 'change-control-jira.png'), fullPage: true });
    expect(await accessibility(page)).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('at phone width the rule and its form fit the screen (no sideways scrolling)', async () => {
    const { page, errors } = await openConsoleAs(browser, t.url, u.admin, '#/environments/production', { width: 390, height: 844 });
    const section = page.getByRole('region', { name: 'Change control' });
    await expect.poll(() => section.textContent(), { timeout: 15_000 }).toContain('Jira Service Management');
    await section.getByRole('button', { name: 'Change the rule' }).click();
    await section.getByLabel('Service desk id').waitFor();
    expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(OUT, 'change-control-phone.png'), fullPage: true });
    expect(await accessibility(page)).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('a viewer sees the rule read-only: no form, no remove', async () => {
    const { page, errors } = await openConsoleAs(browser, t.url, u.viewer, '#/environments/production');
    const section = page.getByRole('region', { name: 'Change control' });
    await expect.poll(() => section.textContent(), { timeout: 15_000 }).toContain('Jira Service Management');
    expect(await section.getByRole('button').count()).toBe(0);
    expect(await section.textContent()).toContain('Only an admin');
    await page.screenshot({ path: join(OUT, 'change-control-viewer.png'), fullPage: true });
    expect(await accessibility(page)).toEqual([]);
    expect(errors).toEqual([]);
  });
});
