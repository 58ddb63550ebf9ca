import { describe, expect, it } from 'vitest';
import { cliOf } from '../support/cli.ts';
import { approveIfAsked, digest, promoteToEnd, waitFor } from '../support/promotions.ts';
import { makeLine, useTestStack } from '../support/stack.ts';

/** Auto-promotion and the diff along the line's edges: ci → dev → {qa, perf} → production (after qa and perf, all). */
const t = useTestStack();
const cli = cliOf(t);

async function diamond(autoPromote: { qa?: boolean; perf?: boolean; production?: boolean }) {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin, [
    { name: 'ci' },
    { name: 'dev' },
    { name: 'qa', after: ['dev'], autoPromote: autoPromote.qa ?? false },
    { name: 'perf', after: ['dev'], autoPromote: autoPromote.perf ?? false },
    { name: 'production', after: ['qa', 'perf'], autoPromote: autoPromote.production ?? false },
  ]);
  expect((await t.call('POST', '/api/v1/artifacts/api/versions', { token: u.deployer, body: { version: '1.0.0', digest: digest('a') } })).status).toBe(201);
  return { tenant, u };
}

const promote = async (u: { deployer: string; viewer: string; approver: string }, from: string, to: string) => {
  const ended = await promoteToEnd(t, u, { sourceEnvironment: from, targetEnvironment: to, artifact: 'api', version: '1.0.0' });
  expect(ended.status).toBe('COMPLETED');
  return ended.id as string;
};

/** The promotions into `target` (newest first). */
const into = async (token: string, target: string) => (await t.call('GET', `/api/v1/promotions?target=${target}`, { token })).body.items as any[];

/** Waits until a promotion into `target` exists, approves it if asked, and waits for it to complete. */
async function autoPromotedInto(u: { viewer: string; approver: string }, target: string) {
  const until = Date.now() + 15_000;
  let found: any[] = [];
  while (!(found = await into(u.viewer, target)).length) {
    if (Date.now() > until) throw new Error(`nothing was auto-promoted into ${target}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(found).toHaveLength(1);
  await approveIfAsked(t, u, found[0].id, ['COMPLETED', 'FAILED']);
  return waitFor(t, u.viewer, found[0].id, ['COMPLETED', 'FAILED']);
}

describe('auto-promotion along the edges', () => {
  it('fans out from one completion into dev into qa and perf, and joins into production once both have the release', async () => {
    const { u } = await diamond({ qa: true, perf: true, production: true });
    await promote(u, 'ci', 'dev');
    const [qa, perf] = await Promise.all([autoPromotedInto(u, 'qa'), autoPromotedInto(u, 'perf')]);
    expect([qa.status, perf.status]).toEqual(['COMPLETED', 'COMPLETED']);
    expect(qa.notes).toBe("auto-promoted by 'qa' (it comes after 'dev')");
    expect([qa.sourceEnvironment, perf.sourceEnvironment]).toEqual(['dev', 'dev']);
    const prod = await autoPromotedInto(u, 'production');
    expect(prod.status).toBe('COMPLETED');
    expect(['qa', 'perf']).toContain(prod.sourceEnvironment);
    expect((await t.call('GET', '/api/v1/artifacts/api/tags/latest-production', { token: u.viewer })).body.version).toBe('1.0.0');
  });

  it('fans out in the safe order: a next environment whose pinned consumer the release would break is not requested, and the check names the consumer', async () => {
    const { u } = await diamond({ qa: true, perf: true });
    const pin = await t.call('PUT', '/api/v1/artifacts/api/consumers/reports', { token: u.deployer, body: { constraint: '<1.0.0', environment: 'perf' } });
    expect(pin.status).toBe(200);
    await promote(u, 'ci', 'dev');
    expect((await autoPromotedInto(u, 'qa')).status).toBe('COMPLETED');
    await t.stack.stream.idle();
    expect(await into(u.viewer, 'perf')).toEqual([]);
    const check = await t.call('POST', '/api/v1/promotions/auto-check', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', artifact: 'api', version: '1.0.0' },
    });
    const perf = check.body.checks.find((c: any) => c.targetEnvironment === 'perf');
    expect(perf).toMatchObject({ ruleId: null, via: 'after', eligible: false });
    expect(perf.reasons.join(' ')).toContain("consumer 'reports' pins api <1.0.0");
    expect(await into(u.viewer, 'perf')).toEqual([]);
  });

  it('a completion into qa does not start production (after qa and perf, all) until perf has the release too', async () => {
    const { u } = await diamond({ production: true });
    const env = (await t.call('GET', '/api/v1/environments/production', { token: u.viewer })).body;
    expect([env.autoPromote, env.after, env.afterMode]).toEqual([true, ['qa', 'perf'], 'all']);
    // The manifest carries it: exported where set, its own export plans nothing, turning it off is a change.
    const json = (await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer })).body;
    const settings = json.artifacts.promotion.environment_settings;
    expect([settings.production.auto_promote, settings.qa.auto_promote]).toEqual([true, undefined]);
    expect((await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: JSON.stringify(json) } })).body.changes).toEqual([]);
    settings.production.auto_promote = false;
    const off = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: JSON.stringify(json) } });
    expect(JSON.stringify(off.body.changes)).toContain('auto_promote');
    await promote(u, 'ci', 'dev');
    await promote(u, 'dev', 'qa');
    await t.stack.stream.idle();
    // Asked by hand, the check says why production waits.
    const check = await t.call('POST', '/api/v1/promotions/auto-check', {
      token: u.deployer,
      body: { sourceEnvironment: 'qa', artifact: 'api', version: '1.0.0' },
    });
    expect(check.status, JSON.stringify(check.body)).toBe(200);
    expect(check.body.checks).toEqual([
      {
        ruleId: null,
        via: 'after',
        targetEnvironment: 'production',
        eligible: false,
        reasons: [expect.stringContaining("the release has not reached 'perf' (it runs no api)")],
      },
    ]);
    expect(await into(u.viewer, 'production')).toEqual([]);
    await promote(u, 'dev', 'perf');
    const prod = await autoPromotedInto(u, 'production');
    expect(prod.status).toBe('COMPLETED');
    expect(prod.sourceEnvironment).toBe('perf');
  });

  it('a join takes a release once: the same release requested from qa and from perf at once goes on its way from one of them, the other is told which', async () => {
    const { u } = await diamond({});
    await promote(u, 'ci', 'dev');
    await Promise.all([promote(u, 'dev', 'qa'), promote(u, 'dev', 'perf')]);
    const ask = (from: string) =>
      t.call('POST', '/api/v1/promotions', {
        token: u.deployer,
        body: { sourceEnvironment: from, targetEnvironment: 'production', artifact: 'api', version: '1.0.0', autoStart: false },
      });
    const [qa, perf] = await Promise.all([ask('qa'), ask('perf')]);
    expect([qa.status, perf.status].sort(), JSON.stringify([qa.body, perf.body])).toEqual([201, 409]);
    const [made, refused] = qa.status === 201 ? [qa, perf] : [perf, qa];
    expect(refused.body.error.message).toContain(`as ${made.body.id}`);
    expect((await into(u.viewer, 'production')).map((p) => p.id)).toEqual([made.body.id]);
  });

  it('a bundle fans out and joins as one unit: its completion into dev moves it into qa and perf, and production takes it once, after both', async () => {
    const { u } = await diamond({ qa: true, perf: true, production: true });
    // api 1.0.0 and worker 1.0.0, published into ci (the first environment), as one bundle.
    expect((await t.call('POST', '/api/v1/artifacts/worker/versions', { token: u.deployer, body: { version: '1.0.0', digest: digest('b') } })).status).toBe(
      201,
    );
    const bundle = await t.call('POST', '/api/v1/bundles', { token: u.deployer, body: { name: 'shop', from: 'ci' } });
    expect(bundle.status, JSON.stringify(bundle.body)).toBe(201);
    expect(bundle.body.members.map((m: { name: string }) => m.name)).toEqual(['api', 'worker']);
    expect((await promoteToEnd(t, u, { sourceEnvironment: 'ci', targetEnvironment: 'dev', bundle: 'shop' })).status).toBe('COMPLETED');
    const bundled = async (target: string) => {
      const until = Date.now() + 20_000;
      for (;;) {
        const found = (await into(u.viewer, target)).filter((p) => p.subject?.type === 'bundle');
        if (found.length) {
          expect(found).toHaveLength(1);
          await approveIfAsked(t, u, found[0].id, ['COMPLETED', 'FAILED']);
          return waitFor(t, u.viewer, found[0].id, ['COMPLETED', 'FAILED']);
        }
        if (Date.now() > until) throw new Error(`the bundle was not auto-promoted into ${target}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const [qa, perf] = await Promise.all([bundled('qa'), bundled('perf')]);
    expect([qa.status, perf.status]).toEqual(['COMPLETED', 'COMPLETED']);
    expect(qa.notes).toBe("auto-promoted by 'qa' (it comes after 'dev')");
    expect(qa.subject).toMatchObject({ type: 'bundle', name: 'shop', digest: bundle.body.digest });
    const prod = await bundled('production');
    expect(prod.status).toBe('COMPLETED');
    expect(['qa', 'perf']).toContain(prod.sourceEnvironment);
    await t.stack.stream.idle();
    expect((await into(u.viewer, 'production')).filter((p) => p.subject?.type === 'bundle')).toHaveLength(1);
    for (const artifact of ['api', 'worker'])
      expect((await t.call('GET', `/api/v1/artifacts/${artifact}/tags/latest-production`, { token: u.viewer })).body.version).toBe('1.0.0');
  });
});

describe('the diff along the edges', () => {
  it('diffs production against each environment it comes after, or the one named; refuses one it does not come after (400)', async () => {
    const { u } = await diamond({});
    const set = async (env: string, items: Record<string, unknown>) => {
      const r = await t.call('POST', `/api/v1/environments/${env}/items/batch`, {
        token: u.deployer,
        body: { set: Object.entries(items).map(([key, value]) => ({ key, value })) },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    };
    await set('qa', { timeout: 30, 'qa-only': true });
    await set('perf', { timeout: 60 });
    const both = await t.call('GET', '/api/v1/environments/production/diff', { token: u.viewer });
    expect(both.status, JSON.stringify(both.body)).toBe(200);
    expect([both.body.environment, both.body.after, both.body.afterMode]).toEqual(['production', ['qa', 'perf'], 'all']);
    expect(both.body.diffs.map((d: any) => [d.sourceEnvironment, d.targetEnvironment, d.added.map((a: any) => `${a.key}=${JSON.stringify(a.value)}`)])).toEqual(
      [
        ['qa', 'production', expect.arrayContaining(['timeout=30', 'qa-only=true'])],
        ['perf', 'production', ['timeout=60']],
      ],
    );
    // Each is the environments' own diff (GET /config/promotions/diff), as promoting that branch would change production.
    const direct = await t.call('GET', '/api/v1/config/promotions/diff?source=perf&target=production', { token: u.viewer });
    expect(both.body.diffs[1]).toEqual(direct.body);
    const one = await t.call('GET', '/api/v1/environments/production/diff?against=perf', { token: u.viewer });
    expect(one.body.diffs).toEqual([direct.body]);
    // A chain: the one before it by position; the first environment comes after none.
    expect((await t.call('GET', '/api/v1/environments/dev/diff', { token: u.viewer })).body).toMatchObject({
      after: ['ci'],
      diffs: [{ sourceEnvironment: 'ci' }],
    });
    expect((await t.call('GET', '/api/v1/environments/ci/diff', { token: u.viewer })).body).toMatchObject({ after: [], diffs: [] });
    const wrong = await t.call('GET', '/api/v1/environments/production/diff?against=dev', { token: u.viewer });
    expect(wrong.status).toBe(422);
    expect(JSON.stringify(wrong.body)).toContain("'production' comes after 'qa' and 'perf', not 'dev'");
    expect((await t.call('GET', '/api/v1/environments/nowhere/diff', { token: u.viewer })).status).toBe(404);
    // The CLI: diff without --source prints one diff per branch; promote --to a join asks which one it comes from.
    const printed = (await cli(u.viewer, 'diff', '--target', 'production')).stdout;
    expect(printed).toContain('qa → production:');
    expect(printed).toContain('perf → production:');
    expect(printed).toContain('+ config timeout = 60');
    const ask = await cli(u.deployer, 'promote', '1.0.0', '--artifact', 'api', '--to', 'production', '--dry-run').catch((e) => e);
    expect(ask.code).toBe(2);
    expect(ask.stderr).toContain("'production' comes after qa and perf: say which one with --from");
  });
});

describe('rollback along the edges', () => {
  it('an environment rollback asks for the approvals of the environments it comes after (the strictest), not the one before it by position', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, [
      { name: 'dev' },
      { name: 'perf', after: ['dev'] },
      { name: 'qa', after: ['dev'] },
      { name: 'production', after: ['qa', 'perf'], afterMode: 'any' },
    ]);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'a', value: 1 } });
    for (const [from, to] of [
      ['dev', 'qa'],
      ['qa', 'production'],
    ]) {
      const ended = await promoteToEnd(
        t,
        u,
        { sourceEnvironment: from, targetEnvironment: to, promotionType: 'FULL', autoStart: true },
        '/api/v1/config/promotions',
      );
      expect(ended.status).toBe('COMPLETED');
    }
    // perf → production asks two approvers; qa, the environment before production by position, one (the default).
    const rule = await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: { name: 'perf gate', sourceEnvironment: 'perf', targetEnvironment: 'production', requiresApproval: true, requiredApprovers: 2 },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const r = await t.call('POST', '/api/v1/environments/production/rollback', { token: u.deployer, body: { snapshot: 0, reason: 'back to empty' } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.promotion.policy).toMatchObject({ ruleId: rule.body.id, requiresApproval: true, requiredApprovers: 2 });
    const waiting = await waitFor(t, u.viewer, r.body.promotion.id, ['AWAITING_APPROVAL', 'COMPLETED', 'FAILED', 'VALIDATION_FAILED']);
    expect(waiting.status).toBe('AWAITING_APPROVAL');
    expect(waiting.approvals.required).toBe(2);
  });
});
