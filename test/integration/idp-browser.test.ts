import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localSecretVariable } from '../../functions/adapters/secrets.ts';
import { accessibility, openConsoleAs, useConsoleStack } from '../support/console.ts';
import type { TestStack } from '../support/stack.ts';

/**
 * Settings → Identity provider in the console (Chromium via playwright-core, against the local stack), as a tenant's
 * admin uses it: the empty state and the values to give the IdP, a connection refused next to the field the API names
 * (a secret the tenant does not have, a domain another tenant holds), then saved and shown (the secret by name only),
 * then removed after a confirmation; the group mapping added to, and a change made elsewhere meanwhile said plainly.
 * And the sign-in page's company email: an address of a connected domain goes to that tenant's identity provider; one
 * no connection holds is said plainly. Screenshots at desktop and phone width go to test-output/; axe finds nothing serious.
 */
const OUT = join(process.cwd(), 'test-output');
const { t, browser } = useConsoleStack({ out: OUT });

/** An OpenID Connect issuer as far as a save reads it: its discovery document (the sign-in itself is federation.test.ts's). */
let issuer: string;
let server: Server;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url !== '/.well-known/openid-configuration') return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function tenantWithSecret() {
  const tenant = t.tenant();
  process.env[localSecretVariable(tenant, 'idp-client-secret', 'OKTA')!] = 'the-client-secret';
  return { tenant, u: await t.users(tenant), domain: `${tenant}.example` };
}

describe('the identity provider in the console', () => {
  let tenant: string;
  let u: Awaited<ReturnType<TestStack['users']>>;
  let domain: string;
  let heldElsewhere: string;
  beforeAll(async () => {
    ({ tenant, u, domain } = await tenantWithSecret());
    const other = await tenantWithSecret();
    heldElsewhere = other.domain;
    const put = await t.call('PUT', '/api/v1/access/identity-provider', {
      token: other.u.admin,
      body: { kind: 'oidc', oidc: { issuer, clientId: 'other', clientSecret: 'OKTA' }, emailDomains: [other.domain] },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
  }, 60_000);

  it('connects: the values for the IdP, refusals next to the field they name, the connection shown (secret by name), then removed after a confirmation', async () => {
    const { page, errors } = await openConsoleAs(browser, t.url, u.admin, '#/settings/identity-provider');
    const section = page.getByRole('region', { name: 'Identity provider' });
    await expect.poll(() => section.textContent(), { timeout: 15_000 }).toContain('No identity provider is connected');
    await expect
      .poll(() => section.getByRole('textbox', { name: 'SAML SP entity id (audience)' }).inputValue(), { timeout: 15_000 })
      .toBe(`urn:stageline:local:sp:${tenant}`);
    expect(await section.getByRole('textbox', { name: 'OIDC redirect URI' }).inputValue()).toBe(`${t.url}/dev/oauth2/idpresponse`);
    expect(await section.getByRole('textbox', { name: 'SAML ACS (reply) URL' }).inputValue()).toBe(`${t.url}/dev/saml2/idpresponse`);
    await page.screenshot({ path: join(OUT, 'idp-empty.png'), fullPage: true });

    await section.getByRole('button', { name: 'Connect an identity provider' }).click();
    await section.getByLabel('Issuer URL').fill(issuer);
    await section.getByLabel('Client id').fill('stageline');
    await section.getByLabel('Client secret: the name of the tenant secret that holds it').fill('NOPE');
    await section.getByLabel('Email domains (comma-separated)').fill(`${domain}, ${heldElsewhere}`);
    await section.getByRole('button', { name: 'Save the connection' }).click();
    // Both refusals come back in one answer or one after the other: each is under its own field.
    const secretField = section.getByLabel('Client secret: the name of the tenant secret that holds it');
    const domainsField = section.getByLabel('Email domains (comma-separated)');
    await expect
      .poll(async () => (await secretField.getAttribute('aria-invalid')) ?? (await domainsField.getAttribute('aria-invalid')), { timeout: 15_000 })
      .toBe('true');
    await page.screenshot({ path: join(OUT, 'idp-refused.png'), fullPage: true });
    if ((await secretField.getAttribute('aria-invalid')) === 'true') {
      expect(await section.locator('#idp-oidc-clientSecret-problem').textContent()).toMatch(/secret/i);
      await secretField.fill('OKTA');
      await section.getByRole('button', { name: 'Save the connection' }).click();
    }
    await expect.poll(() => domainsField.getAttribute('aria-invalid'), { timeout: 15_000 }).toBe('true');
    expect(await section.locator('#idp-emailDomains-problem').textContent()).toContain(heldElsewhere);
    expect(await secretField.getAttribute('aria-invalid')).toBeNull();
    await domainsField.fill(domain);
    await section.getByRole('button', { name: 'Save the connection' }).click();

    await expect.poll(() => section.locator('dl.facts').textContent(), { timeout: 15_000 }).toContain(`t-${tenant}-oidc`);
    const facts = (await section.locator('dl.facts').innerText()).replace(/\s+/g, ' ');
    for (const shown of ['OpenID Connect', issuer, 'stageline', 'tenant secret OKTA', domain, 'groups', 'UTC by']) expect(facts).toContain(shown);
    expect(facts).not.toContain('the-client-secret');
    expect(await page.getByRole('status').textContent()).toContain(`Saved: people of ${domain} sign in through t-${tenant}-oidc.`);
    await page.screenshot({ path: join(OUT, 'idp-connected.png'), fullPage: true });
    expect(await accessibility(page)).toEqual([]);

    // Remove asks first; keeping it changes nothing; removing empties the page and releases the domain.
    await section.getByRole('button', { name: 'Remove', exact: true }).click();
    await expect.poll(() => section.getByRole('alertdialog').textContent(), { timeout: 5_000 }).toContain(`People of ${domain} can no longer sign in`);
    await page.screenshot({ path: join(OUT, 'idp-remove-confirm.png'), fullPage: true });
    await section.getByRole('button', { name: 'Keep it' }).click();
    expect((await t.call('GET', '/api/v1/access/identity-provider', { token: u.admin })).body.kind).toBe('oidc');
    await section.getByRole('button', { name: 'Remove', exact: true }).click();
    await section.getByRole('button', { name: 'Remove the identity provider' }).click();
    await expect.poll(() => section.textContent(), { timeout: 15_000 }).toContain('No identity provider is connected');
    expect((await t.call('GET', '/api/v1/access/identity-provider', { token: u.admin })).body.kind).toBeNull();
    expect(errors).toEqual([]);
  });

  it('group mapping: an admin maps an IdP group to a group and roles; a change made elsewhere meanwhile is a plain 409 with a reload', async () => {
    const { page, errors } = await openConsoleAs(browser, t.url, u.admin, '#/settings/identity-provider');
    const section = page.getByRole('region', { name: 'Group mapping' });
    await expect.poll(() => section.locator('tbody').textContent(), { timeout: 15_000 }).toContain('No group is mapped');
    await section.getByRole('button', { name: 'Map a group' }).click();
    await section.getByLabel('IdP group (exactly as sent)').fill('Release Managers');
    await section.getByLabel('Stageline group (optional)').fill('release-managers');
    await section.getByLabel('approver', { exact: true }).check();
    await page.screenshot({ path: join(OUT, 'groupmap-form.png'), fullPage: true });
    await section.getByRole('button', { name: 'Save the mapping' }).click();
    await expect.poll(() => section.locator('tbody tr').first().textContent(), { timeout: 15_000 }).toContain('Release Managers');
    const saved = await t.call('GET', '/api/v1/access/group-mapping', { token: u.admin });
    expect(saved.body).toEqual({ version: 1, entries: [{ idpGroup: 'Release Managers', group: 'release-managers', roles: ['approver'] }] });

    // A mapping to a reserved group is refused by the API, said with the entry and the field.
    await section.getByRole('button', { name: 'Map a group' }).click();
    await section.getByLabel('IdP group (exactly as sent)').fill('Admins');
    await section.getByLabel('Stageline group (optional)').fill('admin');
    await section.getByRole('button', { name: 'Save the mapping' }).click();
    await expect.poll(() => section.getByRole('alert').first().textContent(), { timeout: 15_000 }).toContain('entry 2, group');
    await section.getByRole('button', { name: 'Cancel' }).click();

    const other = await t.call('PUT', '/api/v1/access/group-mapping', {
      token: u.admin,
      body: { version: 1, entries: [...saved.body.entries, { idpGroup: 'Viewers', roles: ['viewer'] }] },
    });
    expect(other.status, JSON.stringify(other.body)).toBe(200);
    await section.getByRole('button', { name: 'Remove the mapping of Release Managers' }).click();
    await expect.poll(() => section.getByRole('alert').textContent(), { timeout: 15_000 }).toContain('someone else changed the group mapping');
    await page.screenshot({ path: join(OUT, 'groupmap-conflict.png'), fullPage: true });
    expect((await t.call('GET', '/api/v1/access/group-mapping', { token: u.admin })).body.version).toBe(2);
    await section.getByRole('button', { name: 'Reload the mapping' }).click();
    await expect.poll(() => section.locator('tbody tr').count(), { timeout: 15_000 }).toBe(2);
    expect(await accessibility(page)).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('at phone width both panels fit; a viewer sees no control, only who may', async () => {
    const { page, errors } = await openConsoleAs(browser, t.url, u.admin, '#/settings/identity-provider', { width: 390, height: 844 });
    await expect.poll(() => page.getByRole('region', { name: 'Group mapping' }).locator('tbody').textContent(), { timeout: 15_000 }).toContain('Viewers');
    await page.getByRole('region', { name: 'Identity provider' }).getByRole('button', { name: 'Connect an identity provider' }).click();
    await page.screenshot({ path: join(OUT, 'idp-phone.png'), fullPage: true });
    // nothing wider than the screen
    expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await accessibility(page)).toEqual([]);
    expect(errors).toEqual([]);

    const viewer = await openConsoleAs(browser, t.url, u.viewer, '#/settings/identity-provider');
    await expect.poll(() => viewer.page.locator('main').textContent(), { timeout: 15_000 }).toContain('Only an admin sees and changes the identity provider');
    expect(await viewer.page.getByRole('button', { name: 'Connect an identity provider' }).count()).toBe(0);
  });
});

describe('signing in with a company email', () => {
  it('an address of a connected domain goes to its tenant’s identity provider; one no connection holds is said plainly', async () => {
    const { tenant, u, domain } = await tenantWithSecret();
    const put = await t.call('PUT', '/api/v1/access/identity-provider', {
      token: u.admin,
      body: { kind: 'oidc', oidc: { issuer, clientId: 'stageline', clientSecret: 'OKTA' }, emailDomains: [domain] },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    for (const viewport of [
      { width: 1280, height: 800 },
      { width: 390, height: 844 },
    ]) {
      const page = await browser.newPage({ viewport });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${t.url}/dashboard`);
      const field = page.getByRole('textbox', { name: 'Company email' });
      await field.waitFor();
      await field.fill('someone@nobody-holds-this.example');
      await page.getByRole('button', { name: 'Continue' }).click();
      await expect
        .poll(() => page.getByRole('alert').textContent(), { timeout: 15_000 })
        .toContain('No company sign-in is set up for nobody-holds-this.example');
      await field.fill('not an email');
      await page.getByRole('button', { name: 'Continue' }).click();
      await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 15_000 }).toContain('That email must be an email address');
      await page.screenshot({ path: join(OUT, `signin-company-${viewport.width}.png`), fullPage: true });
      expect(await accessibility(page)).toEqual([]);
      expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);

      // The person's own address: the browser leaves for the authorize page routed by its domain (the tenant is never named).
      await field.fill(`pat@${domain}`);
      const leaving = page.waitForRequest((r) => r.url().includes('/dev/oauth2/authorize'), { timeout: 15_000 });
      await page.getByRole('button', { name: 'Continue' }).click();
      const authorize = new URL((await leaving).url());
      expect(authorize.searchParams.get('idp_identifier')).toBe(domain);
      expect(authorize.toString()).not.toContain(`t-${tenant}-`);
      expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
      expect(errors).toEqual([]);
      await page.close();
    }
  });
});
