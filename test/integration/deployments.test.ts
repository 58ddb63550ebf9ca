import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedFetch } from '../support/sigv4.ts';
import { waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
let viewer: string;
const record = (body: unknown) => signedFetch(t.url, 'POST', '/api/v1/platform/deployments', body, t.stack.iam[0]!);

beforeAll(async () => {
  t = await startTestStack();
  // The local pipeline credential is bound to tenant 'acme' (MACHINE_PRINCIPALS).
  const admin = await t.token({ tenant: 'acme', groups: ['admin'] });
  viewer = await t.token({ tenant: 'acme', groups: ['viewer'] });
  await makeLine(t, admin);
});
afterAll(() => t.stop());

describe('deployment records (seed 001)', () => {
  it('records a rollout, updates it by id, and lists history newest first with a cursor', async () => {
    const id = 'a1a1a1a1-0000-4000-8000-000000000001';
    const pending = await record({
      id,
      imageTag: 'v2.1.0-abc1234',
      gitCommit: 'abc1234',
      gitBranch: 'main',
      environment: 'dev',
      status: 'PENDING',
      deployedAt: '2026-02-12T10:00:00Z',
    });
    expect(pending.status, JSON.stringify(pending.body)).toBe(201);
    const done = await record({
      id,
      imageTag: 'v2.1.0-abc1234',
      gitCommit: 'abc1234',
      gitBranch: 'main',
      environment: 'dev',
      status: 'DEPLOYED',
      deployedAt: '2026-02-12T10:00:00Z',
      completedAt: '2026-02-12T10:05:00Z',
    });
    expect(done.body).toEqual(
      expect.objectContaining({
        id,
        imageTag: 'v2.1.0-abc1234',
        gitCommit: 'abc1234',
        gitBranch: 'main',
        environment: 'dev',
        status: 'DEPLOYED',
        deployedAt: '2026-02-12T10:00:00.000Z',
        completedAt: '2026-02-12T10:05:00.000Z',
      }),
    );
    const back = await record({ id, imageTag: 'v2.1.0-abc1234', environment: 'dev', status: 'PENDING', deployedAt: '2026-02-12T10:00:00Z' });
    expect(back.status).toBe(409);
    await record({
      imageTag: 'v2.0.0-def5678',
      gitCommit: 'def5678',
      gitBranch: 'main',
      environment: 'dev',
      status: 'ROLLED_BACK',
      deployedAt: '2026-02-11T14:00:00Z',
      completedAt: '2026-02-11T14:08:00Z',
    });
    for (let i = 0; i < 5; i++)
      await record({
        imageTag: `v1.${i}.0`,
        environment: 'dev',
        status: 'DEPLOYED',
        deployedAt: `2026-01-0${i + 1}T00:00:00Z`,
        completedAt: `2026-01-0${i + 1}T00:01:00Z`,
      });

    const first = await t.call('GET', '/api/v1/platform/deployments/history?environment=dev&limit=2', { token: viewer });
    expect(first.status).toBe(200);
    expect(first.body.map((d: any) => d.imageTag)).toEqual(['v2.1.0-abc1234', 'v2.0.0-def5678']);
    expect(first.body[1].status).toBe('ROLLED_BACK');
    const cursor = first.headers.get('x-next-cursor');
    expect(cursor).toBeTruthy();
    const second = await t.call('GET', `/api/v1/platform/deployments/history?environment=dev&limit=10&cursor=${cursor}`, { token: viewer });
    expect(second.body.map((d: any) => d.imageTag)).toEqual(['v1.4.0', 'v1.3.0', 'v1.2.0', 'v1.1.0', 'v1.0.0']);
    expect(second.headers.get('x-next-cursor')).toBeNull();
  });

  it('validates the body and the machine auth', async () => {
    const bad = await record({ imageTag: '', environment: 'Nope!', status: 'DONE', deployedAt: 'yesterday', gitCommit: 'xyz' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues.map((i: any) => i.path).sort()).toEqual(['deployedAt', 'environment', 'gitCommit', 'imageTag', 'status']);
    expect((await record({ imageTag: 'x', environment: 'qa', status: 'DEPLOYED', deployedAt: '2026-01-01T00:00:00Z' })).status).toBe(404);
    expect((await t.call('POST', '/api/v1/platform/deployments', { token: viewer, body: {} })).status).toBe(403);
    expect((await t.call('GET', '/api/v1/platform/deployments/history', { token: viewer })).status).toBe(400);
  });

  it('maintains metrics as records are written: frequency, rollback rate, duration, lead time, drift', async () => {
    const day = '2026-03-02';
    const rec = (env: string, tag: string, status: string, start: string, end: string) =>
      record({ imageTag: tag, environment: env, status, deployedAt: `${day}T${start}Z`, completedAt: `${day}T${end}Z` });
    await rec('staging', 'v3.0.0', 'DEPLOYED', '08:00:00', '08:02:00');
    await rec('staging', 'v3.0.1', 'DEPLOYED', '09:00:00', '09:00:30');
    await rec('staging', 'v3.0.2', 'FAILED', '10:00:00', '10:10:00');
    await rec('staging', 'v2.9.9', 'ROLLED_BACK', '11:00:00', '11:05:00');
    await rec('dev', 'v4.0.0', 'DEPLOYED', '06:00:00', '06:01:00');
    await rec('production', 'v4.0.0', 'DEPLOYED', '12:00:00', '12:03:00');
    const m = await t.call('GET', `/api/v1/platform/metrics?environment=staging&from=${day}T00:00:00Z&to=${day}T23:59:59Z&period=day`, { token: viewer });
    expect(m.status, JSON.stringify(m.body)).toBe(200);
    expect(m.body.environments[0].total).toMatchObject({ deployments: 4, failed: 1, rolledBack: 1, rollbackRate: 0.25 });
    expect(m.body.environments[0].total.durationSeconds.mean).toBeGreaterThan(0);
    expect(m.body.environments[0].total.durationSeconds.medianAtMost).toBeGreaterThanOrEqual(64);
    const prod = await t.call('GET', `/api/v1/platform/metrics?environment=production&from=${day}T00:00:00Z&to=${day}T23:59:59Z`, { token: viewer });
    expect(prod.body.environments[0].total.leadTimeHours).toBe(6);
    expect(prod.body.versions).toEqual([
      { environment: 'dev', imageTag: expect.any(String) },
      { environment: 'staging', imageTag: 'v3.0.1' },
      { environment: 'production', imageTag: 'v4.0.0' },
    ]);
    expect(prod.body.drift.find((d: any) => d.environment === 'production')).toEqual({ environment: 'production', behind: 'staging', differs: true });
  });

  it('lead time is per environment: from the version first appearing in the line to its deployment there (not only the last one)', async () => {
    const day = '2026-03-03';
    const at = (time: string) => `${day}T${time}Z`;
    await record({ imageTag: 'v5.0.0', environment: 'dev', status: 'DEPLOYED', deployedAt: at('06:00:00'), completedAt: at('06:01:00') });
    await record({ imageTag: 'v5.0.0', environment: 'staging', status: 'DEPLOYED', deployedAt: at('08:30:00'), completedAt: at('08:31:00') });
    const q = (env: string) => t.call('GET', `/api/v1/platform/metrics?environment=${env}&from=${at('00:00:00')}&to=${at('23:59:59')}`, { token: viewer });
    expect((await q('staging')).body.environments[0].total.leadTimeHours).toBe(2.5);
    // Its first appearance: nothing came before it.
    expect((await q('dev')).body.environments[0].total.leadTimeHours).toBe(0);
  });

  it('lead time in seconds is to the second: a 9.2 s lead reads 9 in the API and in the Prometheus exposition (hours keep 2 decimals)', async () => {
    const T = Date.now() - 3_600_000;
    const at = (ms: number) => new Date(T + ms).toISOString();
    const imageTag = `v9.2.0-${T.toString(36)}`;
    expect((await record({ imageTag, environment: 'dev', status: 'DEPLOYED', deployedAt: at(0), completedAt: at(1000) })).status).toBe(201);
    expect((await record({ imageTag, environment: 'staging', status: 'DEPLOYED', deployedAt: at(9200), completedAt: at(10_000) })).status).toBe(201);
    const m = await t.call('GET', `/api/v1/platform/metrics?environment=staging&from=${at(-60_000)}&to=${at(60_000)}`, { token: viewer });
    expect(m.status, JSON.stringify(m.body)).toBe(200);
    expect(m.body.environments[0].total.dora).toMatchObject({ leadTimeSeconds: 9, leadTimeHours: 0 });
    const admin = await t.token({ tenant: 'acme', groups: ['admin'] });
    const scrape = (await t.call('POST', '/api/v1/platform/metrics/token', { token: admin })).body.token as string;
    const exposition = await t.call('GET', '/api/v1/platform/metrics/prometheus?days=2', { headers: { authorization: `Bearer ${scrape}` } });
    expect(exposition.status).toBe(200);
    expect(String(exposition.body)).toMatch(/^dora_change_lead_time_seconds\{environment="staging"\} 9$/m);
  });

  it('a publication that names its commit time (committedAt) gives the first environment a lead time, and the ones after count from the commit; one without counts from the publication (0 in the first)', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const committedAt = new Date(Date.now() - 3 * 3_600_000).toISOString();
    const published = await t.call('POST', '/api/v1/artifacts/web/versions', {
      token: u.deployer,
      body: { version: 'v1.0.0', digest: `sha256:${'c'.repeat(64)}`, sourceCommit: 'abc123', committedAt },
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    expect(published.body.artifact.committedAt).toBe(committedAt);
    const metrics = async (env: string) => (await t.call('GET', `/api/v1/platform/metrics?environment=${env}`, { token: u.viewer })).body.environments[0].total;
    const dev = await metrics('dev');
    expect(dev.deployments).toBe(1);
    expect(dev.leadTimeHours).toBeGreaterThanOrEqual(2.99);
    expect(dev.leadTimeHours).toBeLessThan(3.1);
    const p = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'web', version: 'v1.0.0' },
    });
    expect((await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    expect((await metrics('staging')).leadTimeHours).toBeGreaterThanOrEqual(2.99);
    // Without a commit time: from the publication, so 0 in the first environment (the average of 3 h and 0 h).
    await t.call('POST', '/api/v1/artifacts/web/versions', { token: u.deployer, body: { version: 'v1.0.1', digest: `sha256:${'d'.repeat(64)}` } });
    expect((await metrics('dev')).leadTimeHours).toBeLessThan(1.6);
    // A commit time in the future, or not a time: 400 naming the field.
    for (const bad of [new Date(Date.now() + 3_600_000).toISOString(), 'yesterday']) {
      const refused = await t.call('POST', '/api/v1/artifacts/web/versions', {
        token: u.deployer,
        body: { version: 'v1.0.2', digest: `sha256:${'e'.repeat(64)}`, committedAt: bad },
      });
      expect(refused.status, bad).toBe(400);
      expect(refused.body.error.issues[0].path).toBe('committedAt');
    }
  });

  it('promotions count lead time into every environment they reach, configs and artifacts alike', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'a', value: 1 } });
    await t.call('POST', '/api/v1/artifacts/web/versions', { token: u.deployer, body: { version: 'v1.0.0', digest: `sha256:${'e'.repeat(64)}` } });
    for (const body of [{}, { artifact: 'web', version: 'v1.0.0' }]) {
      const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', ...body } });
      expect((await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    }
    const m = await t.call('GET', '/api/v1/platform/metrics?environment=staging', { token: u.viewer });
    expect(m.body.environments[0].total.deployments).toBe(2);
    // Both within the test: well under an hour, but measured (null was "no lead time here").
    expect(m.body.environments[0].total.leadTimeHours).toEqual(expect.any(Number));
    expect(m.body.environments[0].total.leadTimeHours).toBeLessThan(1);
  });
});
