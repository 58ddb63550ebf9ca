import { join } from 'node:path';
import type { Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localSecretVariable } from '../../functions/adapters/secrets.ts';
import { accessibility, openConsoleAs, useConsoleStack } from '../support/console.ts';
import { serveJson, type JsonEndpoint } from '../support/json-endpoint.ts';
import { approveIfAsked, waitFor } from '../support/promotions.ts';
import { makeLine, type TestStack } from '../support/stack.ts';

/**
 * The analysis section of a promotion's page, as a viewer, a deployer and an admin see it (Debian's Chromium via
 * playwright-core, against the local stack): a production environment of three targets in three waves measures
 * each target's error rate with a `web` template reading a local JSON endpoint (behind a bearer token that is a
 * tenant secret); the last wave's error rate is above the failure condition, so the rollout rolls back. The page
 * shows one chart per analysis with its thresholds, the measured values in a table, and never the secret.
 */
const OUT = join(process.cwd(), 'test-output');
const SECRET = 'metrics-s3cret-bearer-7f1c';
/** what the endpoint answers per target: an error rate (a fixed, small noise per call, so the lines are not flat) */
const RATES: Record<string, number> = { canary: 0.012, 'eu-west-1': 0.018, 'us-east-1': 0.21 };
const NOISE = [0, 0.08, -0.06, 0.04];

const { t, browser } = useConsoleStack({ out: OUT });
/** the metrics endpoint the template reads: per target its error rate, to a bearer of the secret only */
let web: JsonEndpoint;
let calls = 0;

beforeAll(async () => {
  web = await serveJson((path, headers) => {
    if (headers.authorization !== `Bearer ${SECRET}`) return { status: 401, body: '{}' };
    const rate = RATES[decodeURIComponent(path.replace(/^\/error-rate\//, ''))];
    if (rate === undefined) return { status: 404, body: '{}' };
    return { status: 200, body: JSON.stringify({ data: { errorRate: Number((rate * (1 + NOISE[calls++ % NOISE.length]!)).toFixed(4)) } }) };
  });
});
afterAll(() => web?.stop());

/** dev → production (canary, then eu-west-1, then us-east-1), every target measured by the `error-rate` template; the promotion run to its end. */
async function rolledBackPromotion() {
  const tenant = t.tenant();
  process.env[localSecretVariable(tenant, 'metrics', 'WEB_TOKEN')!] = SECRET;
  const u = await t.users(tenant);
  await makeLine(t, u.admin, ['dev']);
  const template = await t.call('PUT', '/api/v1/analysis-templates/error-rate', {
    token: u.admin,
    body: {
      provider: {
        type: 'web',
        url: `${web.url}/error-rate/{{target.name}}`,
        jsonPath: '$.data.errorRate',
        headers: [{ name: 'authorization', value: 'Bearer ${WEB_TOKEN}' }],
      },
      intervalSeconds: 1,
      count: 3,
      successCondition: 'result < 0.03',
      failureCondition: 'result > 0.05',
    },
  });
  expect(template.status, JSON.stringify(template.body)).toBeLessThan(300);
  const env = await t.call('POST', '/api/v1/environments', {
    token: u.admin,
    body: {
      name: 'production',
      position: 1,
      bakeSeconds: 4,
      targets: [
        { name: 'canary', wave: 1 },
        { name: 'eu-west-1', wave: 2 },
        { name: 'us-east-1', wave: 3 },
      ],
      analysis: [{ template: 'error-rate' }],
    },
  });
  expect(env.status, JSON.stringify(env.body)).toBe(201);
  expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } })).status).toBe(201);
  const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  const id = p.body.id as string;
  await approveIfAsked(t, u, id, ['EXECUTING', 'COMPLETED', 'ROLLED_BACK', 'FAILED']);
  const done = await waitFor(t, u.viewer, id, ['ROLLED_BACK', 'COMPLETED', 'FAILED'], 120_000);
  return { u, id, done };
}

/**
 * What a chart drew, read from its canvas in the page's own colours: pixels of the measured line (--accent), of
 * the failure and success thresholds (--bad, --ok), and per axis the pixels of its labels (--mut) where uPlot put
 * that axis (a span uPlot finds no tick for leaves its axis bare).
 */
async function chartInk(chart: Locator): Promise<{ line: number; failure: number; success: number; axes: number[] }> {
  return chart.evaluate((box: any) => {
    const g = globalThis as any;
    const css = g.getComputedStyle(g.document.documentElement);
    const rgb = (v: string) => [1, 3, 5].map((i) => parseInt((css.getPropertyValue(v).trim() as string).slice(i, i + 2), 16));
    const canvas = box.querySelector('canvas');
    const at = canvas.getBoundingClientRect();
    const scale = canvas.width / at.width;
    const count = (want: number[], [x, y, w, h]: number[], tolerance: number) => {
      if (w! <= 0 || h! <= 0) return 0;
      const { data } = canvas.getContext('2d').getImageData(x, y, w, h);
      let n = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 150 && want.every((c, k) => Math.abs(data[i + k] - c) < tolerance)) n++;
      return n;
    };
    const all = [0, 0, canvas.width, canvas.height];
    return {
      line: count(rgb('--accent'), all, 24),
      failure: count(rgb('--bad'), all, 24),
      success: count(rgb('--ok'), all, 24),
      axes: [...box.querySelectorAll('.u-axis')].map((axis: any) => {
        const r = axis.getBoundingClientRect();
        return count(
          rgb('--mut'),
          [r.left - at.left, r.top - at.top, r.width, r.height].map((v) => Math.round(v * scale)),
          40,
        );
      }),
    };
  });
}

describe('the analysis section of a rolled-back promotion, per role', () => {
  let u: Awaited<ReturnType<TestStack['users']>>;
  let id: string;
  /** per target, what it measured, as the API answers it */
  let measured: Record<string, { at: string; value: number; phase: string }[]>;

  beforeAll(async () => {
    const r = await rolledBackPromotion();
    ({ u, id } = r);
    // The API's own story first, so a broken page is not mistaken for a broken flow.
    expect(r.done.status, JSON.stringify(r.done.error)).toBe('ROLLED_BACK');
    const runs = Object.fromEntries(r.done.rollout.waves.flatMap((w: any) => w.targets.map((x: any) => [x.name, x.analysis ?? []])));
    expect(runs.canary[0]).toMatchObject({ template: 'error-rate', phase: 'Successful' });
    expect(runs['eu-west-1'][0]).toMatchObject({ template: 'error-rate', phase: 'Successful' });
    expect(runs['us-east-1'][0]).toMatchObject({ template: 'error-rate', phase: 'Failed' });
    measured = Object.fromEntries(Object.entries(runs).map(([name, rs]: [string, any]) => [name, rs[0].measurements]));
    // us-east-1 failed at its first measurement, above 0.05; the others measured three times, each below 0.03.
    expect(measured['us-east-1']!.map((m) => m.phase)).toEqual(['Failed']);
    expect(measured['us-east-1']![0]!.value).toBeGreaterThan(0.05);
    for (const target of ['canary', 'eu-west-1']) {
      expect(measured[target]!.map((m) => m.phase)).toEqual(['Successful', 'Successful', 'Successful']);
      for (const m of measured[target]!) expect(m.value).toBeLessThan(0.03);
    }
    // Every measurement was a request with the secret (7: three each for canary and eu-west-1, one for us-east-1).
    expect(web.seen.map((r) => [r.path, r.headers.authorization])).toEqual(
      ['canary', 'canary', 'canary', 'eu-west-1', 'eu-west-1', 'eu-west-1', 'us-east-1'].map((n) => [`/error-rate/${n}`, `Bearer ${SECRET}`]),
    );
  }, 150_000);

  for (const role of ['viewer', 'deployer', 'admin'] as const) {
    it(`as ${role}: one chart per analysis with its thresholds, the measured values in a table, the failed one marked; no secret, no serious accessibility violation`, async () => {
      const { page, errors } = await openConsoleAs(browser, t.url, u[role], `#/promotions/${id}`);
      const section = page.locator('section.analyses');
      await section.waitFor({ timeout: 15_000 });
      expect(await section.getByRole('heading', { level: 2 }).textContent()).toBe('Analysis');

      const articles = section.locator('article.analysis');
      await expect.poll(() => articles.count()).toBe(3);
      // One bad analysis (us-east-1's), the two others passed.
      for (const summary of await section.locator('details summary').all()) await summary.click();
      await page.screenshot({ path: join(OUT, `analysis-${role}.png`), fullPage: true });
      await section.screenshot({ path: join(OUT, `analysis-${role}-section.png`) });
      expect(await section.locator('article.analysis.bad').count()).toBe(1);
      const bad = section.locator('article.analysis.bad');
      expect(await bad.getByRole('heading').textContent()).toMatch(/^us-east-1 · error-rate\s*failed$/);
      expect(await section.locator('article.analysis.ok').count()).toBe(2);

      for (const target of ['canary', 'eu-west-1', 'us-east-1']) {
        const article = articles.filter({ has: page.getByRole('heading', { name: new RegExp(`^${target} · error-rate`) }) });
        expect(await article.count(), target).toBe(1);
        expect(await article.locator('.conditions li').allTextContents()).toEqual(['success when result < 0.03', 'failure when result > 0.05']);
        // The chart: an image with a name saying what it plots, drawn (a canvas with pixels), its legend naming both thresholds.
        const n = measured[target]!.length;
        const chart = article.getByRole('img', {
          name: `error-rate on ${target}: ${n} measurements, ${target === 'us-east-1' ? 'failed' : 'passed'}`,
        });
        await chart.waitFor();
        const ink = await chartInk(chart);
        expect(ink.line, `${target}: ${JSON.stringify(ink)}`).toBeGreaterThan(8);
        expect(ink.failure, `${target}: ${JSON.stringify(ink)}`).toBeGreaterThan(20);
        expect(ink.success, `${target}: ${JSON.stringify(ink)}`).toBeGreaterThan(20);
        expect(ink.axes, `${target}: ${JSON.stringify(ink)}`).toHaveLength(2);
        for (const n of ink.axes) expect(n, `${target}: ${JSON.stringify(ink)}`).toBeGreaterThan(15);
        const legend = await article.locator('.chart-legend li').allTextContents();
        expect(legend.map((l) => l.trim())).toEqual(['error-rate, measured (UTC)', 'failure above 0.05', 'success below 0.03']);

        // The table of measurements: a row per measurement with its time to the second (they are a second apart),
        // the value the API answered and its verdict.
        const rows = article.locator('table.measurements tbody tr');
        const cells = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
        expect(cells.map(([at, value, verdict]) => [at, Number(value), verdict])).toEqual(
          measured[target]!.map((m) => [m.at.slice(0, 19).replace('T', ' '), m.value, m.phase === 'Failed' ? 'failed' : 'passed']),
        );
      }

      // The token the endpoint was sent is never on the page (nor in its markup), for any role.
      expect(await page.content()).not.toContain(SECRET);
      expect(await accessibility(page)).toEqual([]);
      expect(errors).toEqual([]);
      await page.close();
    }, 60_000);
  }

  it('on a phone-sized screen in the dark scheme: each chart fits its card, lines, thresholds and axes drawn in the dark colours; no page overflow, no serious accessibility violation', async () => {
    const { page, errors } = await openConsoleAs(browser, t.url, u.viewer, `#/promotions/${id}`, { width: 390, height: 844 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.reload();
    const section = page.locator('section.analyses');
    await section.waitFor({ timeout: 15_000 });
    const charts = section.getByRole('img', { name: /^error-rate on / });
    await expect.poll(() => charts.count()).toBe(3);
    for (const summary of await section.locator('details summary').all()) await summary.click();
    await page.screenshot({ path: join(OUT, 'analysis-viewer-phone-dark.png'), fullPage: true });
    await section.screenshot({ path: join(OUT, 'analysis-viewer-phone-dark-section.png') });
    // The dark palette is the one in use (its accent is not the light one), and the charts were drawn with it.
    expect(
      await page.evaluate(() =>
        (globalThis as any)
          .getComputedStyle((globalThis as any).document.documentElement)
          .getPropertyValue('--accent')
          .trim(),
      ),
    ).toBe('#4493f8');
    for (const chart of await charts.all()) {
      const ink = await chartInk(chart);
      expect(Math.min(ink.line, ink.failure, ink.success, ...ink.axes), JSON.stringify(ink)).toBeGreaterThan(8);
      const [inner, card] = await Promise.all([
        chart.locator('canvas').boundingBox(),
        chart.locator('xpath=ancestor::article[contains(@class, "analysis")]').boundingBox(),
      ]);
      expect(inner!.x).toBeGreaterThanOrEqual(card!.x);
      expect(inner!.x + inner!.width).toBeLessThanOrEqual(card!.x + card!.width);
    }
    expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await accessibility(page)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
