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
});
