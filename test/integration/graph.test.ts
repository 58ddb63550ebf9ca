import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { accessibility, openConsoleAs, useConsoleStack } from '../support/console.ts';
import { approveIfAsked, waitFor } from '../support/promotions.ts';

/** The line as a graph: dev fans out to qa and perf, production joins them (after: [qa, perf]). */
const { t, browser } = useConsoleStack();

const digest = (c: string) => `sha256:${c.repeat(64).slice(0, 64)}`;

async function graphLine() {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  for (const body of [
    { name: 'dev', position: 0 },
    { name: 'qa', position: 1, after: ['dev'] },
    { name: 'perf', position: 2, after: ['dev'] },
    { name: 'production', position: 3, after: ['qa', 'perf'] },
  ]) {
    const r = await t.call('POST', '/api/v1/environments', { token: u.admin, body });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }
  return { tenant, u };
}

const promote = (token: string, sourceEnvironment: string, targetEnvironment: string, version: string) =>
  t.call('POST', '/api/v1/promotions', { token, body: { sourceEnvironment, targetEnvironment, artifact: 'api', version } });

describe('environments as a graph', () => {
  it('refuses an after naming an unknown environment, the environment itself, or closing a cycle (400 naming it), and removing an environment another comes after (409)', async () => {
    const { u } = await graphLine();
    const unknown = await t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'canary', position: 7, after: ['nope'] } });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain("'canary' comes after 'nope', which is not an environment");
    const self = await t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'canary', position: 7, after: ['canary'] } });
    expect(self.status).toBe(400);
    expect(JSON.stringify(self.body)).toContain("'canary' cannot come after itself");
    const dev = (await t.call('GET', '/api/v1/environments/dev', { token: u.viewer })).body;
    const cycle = await t.call('PATCH', '/api/v1/environments/dev', { token: u.admin, body: { version: dev.version, after: ['production'] } });
    expect(cycle.status, JSON.stringify(cycle.body)).toBe(400);
    expect(JSON.stringify(cycle.body)).toMatch(/closes a cycle \(.*dev.*production.*\)/);
    const removed = await t.call('DELETE', '/api/v1/environments/qa', { token: u.admin });
    expect(removed.status).toBe(409);
    expect(removed.body.error.message).toContain("'production' comes after 'qa'");
    expect(removed.body.error.namedBy).toEqual(['production']);
    expect((await t.call('GET', '/api/v1/environments/qa', { token: u.viewer })).status).toBe(200);
    // Nothing was written by the refusals.
    expect((await t.call('GET', '/api/v1/environments/dev', { token: u.viewer })).body.version).toBe(dev.version);
    expect((await t.call('GET', '/api/v1/environments', { token: u.viewer })).body.items.map((e: any) => e.name)).toEqual(['dev', 'qa', 'perf', 'production']);
  });

  it('fans out from dev into qa and perf; production takes the release only once it reached both (all), then from either when any', async () => {
    const { u } = await graphLine();
    expect((await t.call('POST', '/api/v1/artifacts/api/versions', { token: u.deployer, body: { version: '1.0.0', digest: digest('a') } })).status).toBe(201);
    const skip = await promote(u.deployer, 'dev', 'production', '1.0.0');
    expect(skip.status).toBe(422);
    expect(skip.body.error.message).toContain("'production' comes after 'qa' and 'perf', not 'dev'");
    const notAfter = await promote(u.deployer, 'qa', 'perf', '1.0.0');
    expect(notAfter.status).toBe(422);

    const toQa = await promote(u.deployer, 'dev', 'qa', '1.0.0');
    expect(toQa.status, JSON.stringify(toQa.body)).toBe(201);
    expect((await approveIfAsked(t, u, toQa.body.id, ['COMPLETED', 'FAILED'])).status).not.toBe('FAILED');
    expect((await waitFor(t, u.viewer, toQa.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');

    // The join waits for perf: refused naming it, with what perf runs.
    const early = await promote(u.deployer, 'qa', 'production', '1.0.0');
    expect(early.status, JSON.stringify(early.body)).toBe(422);
    expect(early.body.error.message).toContain("the release has not reached 'perf' (it runs no api)");
    expect(early.body.error.missing).toEqual(["'perf' (it runs no api)"]);

    const toPerf = await promote(u.deployer, 'dev', 'perf', '1.0.0');
    expect(toPerf.status, JSON.stringify(toPerf.body)).toBe(201);
    await approveIfAsked(t, u, toPerf.body.id, ['COMPLETED', 'FAILED']);
    expect((await waitFor(t, u.viewer, toPerf.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');

    const joined = await promote(u.deployer, 'perf', 'production', '1.0.0');
    expect(joined.status, JSON.stringify(joined.body)).toBe(201);
    await approveIfAsked(t, u, joined.body.id, ['COMPLETED', 'FAILED']);
    expect((await waitFor(t, u.viewer, joined.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    expect((await t.call('GET', '/api/v1/artifacts/api/tags/latest-production', { token: u.viewer })).body.version).toBe('1.0.0');

    // any: one of them is enough.
    const prod = (await t.call('GET', '/api/v1/environments/production', { token: u.viewer })).body;
    expect(prod.after).toEqual(['qa', 'perf']);
    expect((await t.call('PATCH', '/api/v1/environments/production', { token: u.admin, body: { version: prod.version, afterMode: 'any' } })).status).toBe(200);
    expect((await t.call('POST', '/api/v1/artifacts/api/versions', { token: u.deployer, body: { version: '1.1.0', digest: digest('b') } })).status).toBe(201);
    const q2 = await promote(u.deployer, 'dev', 'qa', '1.1.0');
    await approveIfAsked(t, u, q2.body.id, ['COMPLETED', 'FAILED']);
    expect((await waitFor(t, u.viewer, q2.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    const anyOne = await promote(u.deployer, 'qa', 'production', '1.1.0');
    expect(anyOne.status, JSON.stringify(anyOne.body)).toBe(201);
    await approveIfAsked(t, u, anyOne.body.id, ['COMPLETED', 'FAILED']);
    expect((await waitFor(t, u.viewer, anyOne.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
  });

  it('the manifest exports the edges, plans nothing for its own export, and names a cycle where the document writes it', async () => {
    const { u } = await graphLine();
    const json = (await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer })).body;
    const settings = json.artifacts.promotion.environment_settings;
    expect(settings.production.after).toEqual(['qa', 'perf']);
    expect(settings.dev.after).toBeUndefined();
    expect((await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: JSON.stringify(json) } })).body.changes).toEqual([]);
    settings.qa.after = ['production'];
    const plan = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: JSON.stringify(json) } });
    expect(plan.status, JSON.stringify(plan.body)).toBe(400);
    expect(JSON.stringify(plan.body)).toContain('closes a cycle');
    // Named on the edge the document added (production → qa), never on one it left as it was.
    expect(plan.body.error.issues).toEqual([
      { path: 'document.artifacts.promotion.environment_settings.qa.after', message: expect.stringMatching(/^the edge production → qa closes a cycle/) },
    ]);
    settings.qa.after = ['dev'];
    settings.production.after_mode = 'any';
    const change = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: JSON.stringify(json) } });
    expect(change.status).toBe(200);
    expect(JSON.stringify(change.body.changes)).toContain('after_mode');
  });

  it("the console's flags view offers a join a promotion from each environment it comes after whose value differs", async () => {
    const { u } = await graphLine();
    await t.call('POST', '/api/v1/environments/qa/flags', { token: u.admin, body: { key: 'beta', value: true } });
    await t.call('POST', '/api/v1/environments/perf/flags', { token: u.admin, body: { key: 'beta', value: false } });
    const { page, errors } = await openConsoleAs(browser, t.url, u.deployer, '#/flags');
    await page.getByRole('button', { name: 'Promote from qa (beta to production)' }).waitFor();
    expect(await page.getByRole('button', { name: 'Promote from perf (beta to production)' }).count()).toBe(1);
    // qa and perf come after dev (which has no beta): nothing to promote into them; production never from dev.
    expect(await page.getByRole('button', { name: /^Promote from dev/ }).count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the console draws the branches side by side and the join after them, as a viewer sees it', async () => {
    const { u } = await graphLine();
    const { page, errors } = await openConsoleAs(browser, t.url, u.viewer, '#/');
    await page.locator('#stage-production').waitFor();
    const columns = await page.locator('ol.stages > li.level').evaluateAll((ls) => ls.map((l) => [...l.querySelectorAll('h2')].map((h) => h.id)));
    expect(columns).toEqual([['stage-dev'], ['stage-qa', 'stage-perf'], ['stage-production']]);
    expect(await page.getByRole('list', { name: 'in parallel: qa, perf' }).count()).toBe(1);
    expect(
      await page
        .locator('article', { has: page.locator('#stage-production') })
        .locator('p.after')
        .innerText(),
    ).toBe('after qa and perf (all)');
    expect(
      await page
        .locator('article', { has: page.locator('#stage-qa') })
        .locator('p.after')
        .innerText(),
    ).toBe('after dev');
    expect(
      await page
        .locator('article', { has: page.locator('#stage-dev') })
        .locator('p.after')
        .count(),
    ).toBe(0);
    // qa and perf stand side by side: the same column, one above the other.
    const [qa, perf, prod] = await Promise.all(['qa', 'perf', 'production'].map((n) => page.locator(`#stage-${n}`).boundingBox()));
    expect(Math.abs(qa!.x - perf!.x)).toBeLessThan(2);
    expect(perf!.y).toBeGreaterThan(qa!.y);
    expect(prod!.x).toBeGreaterThan(qa!.x);
    expect(await accessibility(page)).toEqual([]);
    mkdirSync(join(process.cwd(), 'test-output'), { recursive: true });
    await page.screenshot({ path: join(process.cwd(), 'test-output', 'pipeline-graph.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});
