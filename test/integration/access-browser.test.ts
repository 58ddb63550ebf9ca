import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { accessibility, openConsoleAs, useConsoleStack } from '../support/console.ts';
import { makeLine, type TestStack } from '../support/stack.ts';

/**
 * Settings → Access, SCIM and Rights in the console (Chromium via playwright-core, against the local stack), as an
 * identity administrator uses them: add a binding and see it saved (and a change someone else made in between said
 * plainly), create a SCIM token and see it once, see a person's rights per environment; a viewer sees no admin control.
 * Screenshots at desktop and phone width go to test-output/; axe finds no serious violation on any page.
 */
const OUT = join(process.cwd(), 'test-output');
const { t, browser } = useConsoleStack({ out: OUT });

describe('identity settings in the console', () => {
  let tenant: string;
  let u: Awaited<ReturnType<TestStack['users']>>;
  /** a user with no role of their own, bound by email (long, as people's are) */
  let longEmail: string;
  let bound: string;
  beforeAll(async () => {
    tenant = t.tenant();
    u = await t.users(tenant);
    await makeLine(t, u.admin);
    longEmail = `firstname.middlename.lastname-contractor@payments-platform.${tenant}.test`;
    bound = await t.token({ groups: ['payments'], tenant, email: longEmail, sub: 'u-long' });
  }, 60_000);

  it('Access: an admin adds a binding (user, role, environments from the list) and sees it saved; a change made elsewhere meanwhile is a plain 409 with a reload', async () => {
    const { page, errors } = await openConsoleAs(browser, t.url, u.admin, '#/settings/access');
    const section = page.getByRole('region', { name: 'Role bindings' });
    await expect.poll(() => section.locator('tbody').textContent(), { timeout: 15_000 }).toContain('No bindings yet');
    await page.screenshot({ path: join(OUT, 'access-empty.png'), fullPage: true });

    await section.getByRole('button', { name: 'Add a binding' }).click();
    await section.getByLabel('Subject', { exact: true }).selectOption('user');
    await section.getByLabel('Email or subject id', { exact: true }).fill(longEmail.toUpperCase());
    await section.getByLabel('Role', { exact: true }).selectOption('deployer');
    // the tenant's environments (in line order) and every environment (*)
    const picks = await section.locator('fieldset.env-picks label').allTextContents();
    expect(picks.map((s) => s.trim())).toEqual(['Every environment (*)', 'dev', 'staging', 'production']);
    await section.getByLabel('staging', { exact: true }).check();
    await page.screenshot({ path: join(OUT, 'access-form.png'), fullPage: true });
    await section.getByRole('button', { name: 'Save binding' }).click();
    const rows = section.locator('tbody tr');
    await expect.poll(() => rows.first().textContent(), { timeout: 15_000 }).toContain(longEmail);
    expect((await rows.first().locator('th, td').allInnerTexts()).slice(0, 3).map((s) => s.replace(/\s+/g, ' ').trim())).toEqual([
      `user ${longEmail}`,
      'deployer',
      'staging',
    ]);
    expect(await page.getByRole('status').textContent()).toContain(`Saved: user ${longEmail} is deployer in staging.`);
    const saved = await t.call('GET', '/api/v1/access/bindings', { token: u.admin });
    expect(saved.body).toEqual({ version: 1, bindings: [{ user: longEmail, role: 'deployer', environments: ['staging'] }] });
    await page.screenshot({ path: join(OUT, 'access-saved.png'), fullPage: true });

    // Someone else changes the bindings (the API, version 1 → 2); removing here with the version read is refused, and said so.
    const other = await t.call('PUT', '/api/v1/access/bindings', {
      token: u.admin,
      body: { version: 1, bindings: [...saved.body.bindings, { group: 'payments', role: 'viewer', environments: ['*'] }] },
    });
    expect(other.status, JSON.stringify(other.body)).toBe(200);
    await section.getByRole('button', { name: `Remove user ${longEmail} deployer` }).click();
    const alert = section.getByRole('alert');
    await expect.poll(() => alert.textContent(), { timeout: 15_000 }).toContain('someone else changed the bindings since this page read them');
    await page.screenshot({ path: join(OUT, 'access-conflict.png'), fullPage: true });
    expect((await t.call('GET', '/api/v1/access/bindings', { token: u.admin })).body.version).toBe(2);
    await section.getByRole('button', { name: 'Reload bindings' }).click();
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(2);
    expect(await section.locator('tbody').textContent()).toContain('every environment');

    // Edit: the form holds the binding; the environments change; saved with the version now read.
    await section.getByRole('button', { name: `Edit user ${longEmail} deployer` }).click();
    await section.getByLabel('production', { exact: true }).check();
    await section.getByRole('button', { name: 'Save binding' }).click();
    await expect.poll(async () => (await t.call('GET', '/api/v1/access/bindings', { token: u.admin })).body.version, { timeout: 15_000 }).toBe(3);
    expect((await t.call('GET', '/api/v1/access/bindings', { token: u.admin })).body.bindings).toContainEqual({
      user: longEmail,
      role: 'deployer',
      environments: ['production', 'staging'],
    });
    // Nothing overflows its cell; no serious accessibility violation.
    const overflowing = await rows.evaluateAll((trs) =>
      trs.flatMap((tr) => [...tr.querySelectorAll('th, td')].filter((c: any) => c.scrollWidth > c.clientWidth + 1).map((c) => c.textContent)),
    );
    expect(overflowing).toEqual([]);
    expect(await accessibility(page)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('SCIM: the base URL, no token yet; create shows the token once with its warning; after a reload only its dates; rotate and revoke are confirmed', async () => {
    const { page, errors } = await openConsoleAs(browser, t.url, u.admin, '#/settings/scim');
    const section = page.getByRole('region', { name: 'SCIM provisioning' });
    await expect.poll(() => section.textContent(), { timeout: 15_000 }).toContain('No SCIM token: provisioning is off');
    expect(await section.getByLabel('Base URL (the SCIM endpoint)', { exact: true }).inputValue()).toBe(`${t.url}/scim/v2`);
    await section.getByRole('button', { name: 'Create token' }).click();
    const token = section.getByLabel('New SCIM token', { exact: true });
    await token.waitFor();
    const first = await token.inputValue();
    expect(first).toMatch(new RegExp(`^scim\\.${tenant}\\.`));
    expect(await section.textContent()).toContain('Copy it now: you will not see it again.');
    // The token works for SCIM.
    const users = await t.call('GET', '/scim/v2/Users', { headers: { authorization: `Bearer ${first}` } });
    expect(users.status, JSON.stringify(users.body)).toBe(200);
    await section.getByRole('button', { name: 'Copy token' }).click();
    await expect.poll(() => page.getByRole('status').textContent(), { timeout: 5_000 }).toMatch(/Token copied\.|Copying was refused by the browser/);
    await page.screenshot({ path: join(OUT, 'scim-token-once.png'), fullPage: true });
    expect(await accessibility(page)).toEqual([]);

    // Seen once: a new visit shows when it was made and by whom, never the token.
    await page.reload();
    await expect.poll(() => section.textContent(), { timeout: 15_000 }).toContain('Created');
    expect(await section.getByLabel('New SCIM token', { exact: true }).count()).toBe(0);
    expect(await page.content()).not.toContain(first);
    expect(await section.textContent()).toContain('Last rotatednever');
    await page.screenshot({ path: join(OUT, 'scim-token-state.png'), fullPage: true });

    // Rotate: asked first; the old token stops working at once, the new one is shown once.
    await section.getByRole('button', { name: 'Rotate token' }).click();
    expect(await section.getByRole('alertdialog').textContent()).toContain('The current one stops working at once');
    await section.getByRole('button', { name: 'Replace the token' }).click();
    await token.waitFor();
    const second = await token.inputValue();
    expect(second).not.toBe(first);
    expect((await t.call('GET', '/scim/v2/Users', { headers: { authorization: `Bearer ${first}` } })).status).toBe(401);

    // Revoke: asked first; "keep" changes nothing; revoked, provisioning stops.
    await section.getByRole('button', { name: 'Revoke token' }).click();
    await section.getByRole('button', { name: 'Keep the current one' }).click();
    expect((await t.call('GET', '/scim/v2/Users', { headers: { authorization: `Bearer ${second}` } })).status).toBe(200);
    await section.getByRole('button', { name: 'Revoke token' }).click();
    await section.getByRole('button', { name: 'Revoke the token' }).click();
    await expect.poll(() => section.textContent(), { timeout: 15_000 }).toContain('No SCIM token: provisioning is off');
    expect((await t.call('GET', '/scim/v2/Users', { headers: { authorization: `Bearer ${second}` } })).status).toBe(401);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  for (const [name, viewport] of [
    ['desktop', { width: 1280, height: 800 }],
    ['phone', { width: 390, height: 844 }],
  ] as const)
    it(`Rights (${name}): the signed-in person's matrix, each cell saying what grants it; an admin looks up another person; nothing overflows the page`, async () => {
      const { page, errors } = await openConsoleAs(browser, t.url, bound, '#/settings/rights', viewport);
      const section = page.getByRole('region', { name: 'Effective rights' });
      const rows = section.locator('tbody tr');
      await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(4);
      const cells = await rows.evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll('th, td')].map((c: any) => String(c.innerText).replace(/\s+/g, ' ').trim())),
      );
      const bindings = (await t.call('GET', '/api/v1/access/bindings', { token: u.admin })).body.bindings;
      expect(bindings).toContainEqual({ user: longEmail, role: 'deployer', environments: ['production', 'staging'] });
      const mine = 'your binding: deployer in production, staging';
      const group = 'group payments: viewer in every environment';
      expect(cells[0]).toEqual(['tenant-wide', `yes ${group}`, 'no', 'no', 'no', 'no']);
      expect(cells[1]).toEqual(['dev', `yes ${group}`, 'no', 'no', 'no', 'no']);
      expect(cells[2]).toEqual(['staging', `yes ${group} ${mine}`, `yes ${mine}`, 'no', 'no', 'no']);
      expect(cells[3]).toEqual(['production', `yes ${group} ${mine}`, `yes ${mine}`, 'no', 'no', 'no']);
      // Not an admin: no picker of other people, no Access or SCIM link.
      expect(await section.locator('input, select').count()).toBe(0);
      const subnav = page.getByRole('navigation', { name: 'Settings' });
      expect(await subnav.getByRole('link').allTextContents()).toEqual(['General', 'Rights', 'Notifications']);
      await page.screenshot({ path: join(OUT, `rights-${name}.png`), fullPage: true });
      expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
      expect(await accessibility(page)).toEqual([]);
      expect(errors).toEqual([]);
      await page.close();

      // An admin asks for that person by email.
      const asAdmin = await openConsoleAs(browser, t.url, u.admin, '#/settings/rights', viewport);
      const s2 = asAdmin.page.getByRole('region', { name: 'Effective rights' });
      await s2.getByLabel('Person (email or subject id; empty: you)', { exact: true }).fill(longEmail);
      await s2.getByRole('button', { name: 'Show rights' }).click();
      await expect.poll(() => s2.locator('p strong').textContent(), { timeout: 15_000 }).toBe(longEmail);
      expect(await s2.locator('tbody tr').nth(2).innerText()).toContain('their binding: deployer in production, staging');
      await asAdmin.page.screenshot({ path: join(OUT, `rights-admin-${name}.png`), fullPage: true });
      expect(await asAdmin.page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
      expect(asAdmin.errors).toEqual([]);
      await asAdmin.page.close();
    }, 90_000);

  it('a viewer sees no admin control: no Access or SCIM link, and opening them says plainly who may', async () => {
    for (const part of ['access', 'scim']) {
      const { page, errors } = await openConsoleAs(browser, t.url, u.viewer, `#/settings/${part}`);
      const main = page.locator('main');
      await expect.poll(() => main.textContent(), { timeout: 15_000 }).toMatch(/Only an admin sees and changes/);
      expect(await main.locator('button, input, select, table').count()).toBe(0);
      expect(await page.getByRole('navigation', { name: 'Settings' }).getByRole('link').allTextContents()).toEqual(['General', 'Rights', 'Notifications']);
      await page.screenshot({ path: join(OUT, `settings-${part}-viewer.png`), fullPage: true });
      expect(await accessibility(page)).toEqual([]);
      expect(errors).toEqual([]);
      await page.close();
    }
  }, 60_000);
});
