import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deps } from '../../functions/http/deps.ts';
import { DEMO_USERS } from '../../local/issuer.ts';
import { seedDemo } from '../../local/seed.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

describe('npm start seeding', () => {
  it('seeds the demo tenant once: a second run changes nothing', async () => {
    await seedDemo(deps());
    const token = await t.stack.issuer.sign(DEMO_USERS.victor!);
    await t.stack.stream.idle();
    const first = await t.call('GET', '/api/v1/audit/verify', { token });
    await seedDemo(deps());
    await t.stack.stream.idle();
    const second = await t.call('GET', '/api/v1/audit/verify', { token });
    expect(second.body).toEqual(first.body);
    const envs = await t.call('GET', '/api/v1/environments', { token });
    expect(envs.body.items.map((e: any) => e.name)).toEqual(['dev', 'staging', 'production']);
    const diff = await t.call('GET', '/api/v1/config/promotions/diff?source=staging&target=production', { token });
    expect(diff.body.modified.map((m: any) => m.key)).toContain('query.timeout');
  });

  it('a fresh seeded stack does not look like an incident: production holds its starting content with no break-glass badge or entry', async () => {
    const tenant = t.tenant();
    await seedDemo(deps(), tenant);
    const u = await t.users(tenant);
    await t.stack.stream.idle();
    const status = await t.call('GET', '/api/v1/status?env=production', { token: u.viewer });
    expect(status.body.environments[0]).toMatchObject({ protected: true, lastBreakGlass: null, config: { items: 4 } });
    const audit = await t.call('GET', '/api/v1/audit?limit=100', { token: u.viewer });
    expect(audit.body.items.length).toBeGreaterThan(0);
    expect(audit.body.items.filter((e: any) => e.action.startsWith('breakglass.') || /break-glass/.test(e.reason ?? ''))).toEqual([]);
    expect(audit.body.items.filter((e: any) => e.action === 'items.batch' && e.reason === 'demo seed')).toHaveLength(3);
    // Protection holds after the seed: a deployer's direct write into production is still refused.
    const write = await t.call('POST', '/api/v1/environments/production/configs', { token: u.deployer, body: { key: 'x', value: 1 } });
    expect(write.status).toBe(403);
  });
});
