import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../local/measure/chromium.ts';
import { accessibility, openConsoleAs } from '../support/console.ts';
import { waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * Release bundles and the manifest's plan and replay in the console (Debian's Chromium via playwright-core, against the
 * local stack): a bundle promoted dev → staging as a viewer sees it (its promotion's members, the Bundles view, the
 * pipeline's label), then the Manifest view as a deployer: the exported document planned, replayed over the last 90 days
 * with a rule that asks for an approval, and refused with the field named.
 */
const OUT = join(process.cwd(), 'test-output');
const digest = (c: string) => `sha256:${c.repeat(64)}`;

let t: TestStack;
let browser: Browser;
let u: Awaited<ReturnType<TestStack['users']>>;
/** the bundle's promotion into staging, and the bundle */
let promotion: any;
let bundle: any;
beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  [t, browser] = await Promise.all([startTestStack(), launchChromium()]);
  u = await t.users(t.tenant());
  await makeLine(t, u.admin);
  for (const [name, c] of [
    ['api', 'a'],
    ['worker', 'b'],
  ]) {
    const r = await t.call('POST', `/api/v1/artifacts/${name}/versions`, { token: u.deployer, body: { version: 'v1.0.0', digest: digest(c!) } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }
  expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'queue.size', value: 10 } })).status).toBe(201);
  // staging runs the worker already: the bundle moves the api and its configuration, the worker stays.
  const worker = await t.call('POST', '/api/v1/promotions', {
    token: u.deployer,
    body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'worker', version: 'v1.0.0' },
  });
  expect(worker.status, JSON.stringify(worker.body)).toBe(201);
  expect((await waitFor(t, u.viewer, worker.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
  const created = await t.call('POST', '/api/v1/bundles', { token: u.deployer, body: { name: 'checkout', from: 'dev', config: true } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  bundle = created.body;
  const r = await t.call('POST', '/api/v1/promotions', {
    token: u.deployer,
    body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', bundle: 'checkout' },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  promotion = await waitFor(t, u.viewer, r.body.id, ['COMPLETED', 'FAILED', 'ROLLED_BACK']);
  expect(promotion.status, JSON.stringify(promotion.error)).toBe('COMPLETED');
  await t.stack.stream.idle();
}, 90_000);
afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

describe('release bundles in the console, as a viewer', () => {
  it('the promotion page names the bundle and lists its members from → to, the unchanged one marked, and its configuration', async () => {
    const { page, errors } = await openConsoleAs(browser, t.url, u.viewer, `#/promotions/${promotion.id}`);
    await page.getByRole('heading', { level: 1, name: /bundle checkout/ }).waitFor();
    const changes = page.getByRole('region', { name: 'What it changes' });
    const rows = changes.getByRole('table').first().getByRole('row');
    await rows.nth(2).waitFor();
    expect((await rows.allInnerTexts()).map((r) => r.replace(/\s+/g, ' ').trim())).toEqual([
      'Member From To',
      'api nothing v1.0.0 (moves)',
      'worker v1.0.0 v1.0.0 unchanged',
    ]);
    const text = await changes.innerText();
    expect(text).toContain(`Bundle checkout ${bundle.digest.slice(7, 19)}: 2 members (1 unchanged) and a configuration snapshot.`);
    expect(text).toMatch(/Snapshot dev@\d+ \(every key\): 1 key changes\./);
    expect(text).toContain('queue.size');
    expect(await accessibility(page)).toEqual([]);
    await page.screenshot({ path: join(OUT, 'console-bundle-promotion-1280.png'), fullPage: true });

    // The pipeline labels it by the bundle's name.
    await page.goto(`${t.url}/dashboard#/`);
    await page.getByRole('region', { name: 'Pipeline' }).getByText('bundle checkout').first().waitFor();
    expect(await accessibility(page)).toEqual([]);
    await page.screenshot({ path: join(OUT, 'console-bundle-pipeline-1280.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the Bundles view lists it with its members, where its newest version runs, and how to promote it next', async () => {
    const { page, errors } = await openConsoleAs(browser, t.url, u.viewer, '#/bundles');
    const card = page.getByRole('article', { name: 'Bundle checkout' });
    await card.getByText('staging: the newest').waitFor();
    const text = await card.innerText();
    expect(text).toContain(bundle.digest.slice(7, 19));
    expect(text).toContain('api v1.0.0, worker v1.0.0');
    expect(text).toContain('dev: the newest');
    expect(text).toContain('production: not running it');
    expect(text).toContain('stageline promote --bundle checkout --to production');
    expect(await accessibility(page)).toEqual([]);
    await page.screenshot({ path: join(OUT, 'console-bundles-1280.png'), fullPage: true });
    // On a phone: nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(OUT, 'console-bundles-390.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();

    // A tenant without bundles is told how to make one.
    const other = await t.users(t.tenant());
    const empty = await openConsoleAs(browser, t.url, other.viewer, '#/bundles');
    await empty.page.getByText('No bundles yet.').waitFor();
    expect(await empty.page.locator('main').innerText()).toContain('stageline bundles create --name checkout --from dev --config');
    expect(empty.errors).toEqual([]);
    await empty.page.close();
  });
});

describe('the Manifest view: plan and replay, as a deployer', () => {
  it('plans the exported document (nothing changes), replays a rule asking for an approval over 90 days, and names a refused field', async () => {
    const { page, errors } = await openConsoleAs(browser, t.url, u.deployer, '#/manifest');
    const editor = page.getByLabel(/Document \(YAML or JSON\)/);
    await editor.waitFor();
    expect(await editor.inputValue()).toContain('environments:');
    expect(await page.locator('.why-box').first().innerText()).toContain('Nothing here writes: applying needs the admin role');
    await page.getByRole('button', { name: 'Plan' }).click();
    await page.getByText('Applying it would change nothing').waitFor();

    // A rule asking for an approval from dev to staging: the plan names the field, the replay the two promotions it governs.
    const doc = (await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer })).body;
    doc.artifacts.promotion.approval_rules = [
      ...doc.artifacts.promotion.approval_rules,
      { name: 'dev to staging needs a person', sourceEnvironment: 'dev', targetEnvironment: 'staging', requiresApproval: true, requiredApprovers: 1 },
    ];
    await editor.fill(JSON.stringify(doc, null, 2));
    await page.getByRole('button', { name: 'Plan' }).click();
    const plan = page.getByRole('region', { name: 'Plan' });
    await plan.getByRole('table').waitFor();
    expect(await plan.innerText()).toContain('approval_rules');
    await page.getByRole('button', { name: 'Replay last 90 days' }).click();
    const replay = page.getByRole('region', { name: 'Replay of the last 90 days' });
    await replay.getByRole('table').waitFor();
    expect(await replay.innerText()).toContain('2 would have been decided differently');
    const row = replay.getByRole('row', { name: new RegExp(promotion.id) });
    const cells = (await row.getByRole('cell').allInnerTexts()).map((c) => c.replace(/\s+/g, ' ').trim());
    expect(cells[0]).toBe('allowed → awaiting approval');
    expect(cells[1]).toBe('0 → 1');
    expect(cells[3]).toMatch(/^[0-9a-f]{12} → [0-9a-f]{12}$/);
    expect(await row.getByRole('rowheader').innerText()).toContain('bundle checkout, dev → staging');
    expect(await accessibility(page)).toEqual([]);
    await page.screenshot({ path: join(OUT, 'console-manifest-replay-1280.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(OUT, 'console-manifest-replay-390.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });

    // A rule into an environment the line does not have: refused, the field named beside the document.
    doc.artifacts.promotion.approval_rules.at(-1).targetEnvironment = 'qa';
    await editor.fill(JSON.stringify(doc, null, 2));
    await page.getByRole('button', { name: 'Plan' }).click();
    const issues = page.locator('#manifest-issues');
    await issues.waitFor();
    expect(await issues.innerText()).toMatch(/approval_rules\[\d+\]\.targetEnvironment/);
    expect(await editor.getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByRole('region', { name: 'Plan' }).count()).toBe(0);
    expect(await accessibility(page)).toEqual([]);
    await page.screenshot({ path: join(OUT, 'console-manifest-refused-1280.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('a bundle promotion waiting for approval, as a deployer', () => {
  it('offers Rebase, and says when nothing newer of the bundle exists', async () => {
    const r = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'staging', targetEnvironment: 'production', bundle: 'checkout' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect((await waitFor(t, u.viewer, r.body.id, ['AWAITING_APPROVAL', 'FAILED', 'VALIDATION_FAILED'])).status).toBe('AWAITING_APPROVAL');
    const { page, errors } = await openConsoleAs(browser, t.url, u.deployer, `#/promotions/${r.body.id}`);
    await page.getByRole('button', { name: 'Rebase' }).click();
    await page.getByText(`Nothing newer: ${r.body.id} already promotes the newest bundle of its name.`).waitFor();
    expect(await accessibility(page)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });
});
