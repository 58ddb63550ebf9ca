import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * One door: who may act is decided on the command the route runs, never on the raw request. A person bound to
 * staging only names production a second way (another spelling of the field, a duplicate JSON key, another case):
 * every such request is refused before anything is written, and production's rules and promotions stay as they were.
 */
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(async () => {
  await t.stop();
});

async function boundToStaging() {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  const put = await t.call('PUT', '/api/v1/access/bindings', {
    token: u.admin,
    body: {
      version: 0,
      bindings: [
        { group: 'payments', role: 'deployer', environments: ['staging'] },
        { group: 'payments-admins', role: 'admin', environments: ['staging'] },
      ],
    },
  });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  const deployer = await t.token({ groups: ['payments'], tenant, email: `pay@${tenant}.test` });
  const admin = await t.token({ groups: ['payments-admins'], tenant, email: `pay-admin@${tenant}.test` });
  return { u, deployer, admin };
}

const productionPromotions = async (token: string) =>
  ((await t.call('GET', '/api/v1/promotions?target=production', { token })).body.promotions ?? []).length as number;

describe('one door: the decision is made on the parsed command', () => {
  it('a deployer bound to staging cannot request into production by naming the target twice (two spellings, a duplicate key): 400 naming both, nothing written', async () => {
    const { u, deployer } = await boundToStaging();
    const before = await productionPromotions(u.viewer);
    for (const base of ['/api/v1/promotions', '/api/v1/config/promotions']) {
      const twoSpellings = await t.call('POST', base, {
        token: deployer,
        body: { sourceEnvironment: 'staging', targetEnvironment: 'staging', target_environment: 'production' },
      });
      expect(twoSpellings.status, `${base} ${JSON.stringify(twoSpellings.body)}`).toBe(400);
      expect(JSON.stringify(twoSpellings.body.error)).toMatch(/targetEnvironment/);
      expect(JSON.stringify(twoSpellings.body.error)).toMatch(/target_environment/);

      const duplicateKey = await t.call('POST', base, {
        token: deployer,
        raw: '{"sourceEnvironment":"staging","targetEnvironment":"staging","targetEnvironment":"production"}',
      });
      expect(duplicateKey.status, `${base} ${JSON.stringify(duplicateKey.body)}`).toBe(400);
      expect(JSON.stringify(duplicateKey.body.error)).toMatch(/targetEnvironment.*twice|twice.*targetEnvironment/);

      // The other spelling alone is the command's target: decided there (production), so refused by name.
      const otherSpelling = await t.call('POST', base, { token: deployer, body: { source_environment: 'staging', target_environment: 'production' } });
      expect(otherSpelling.status, `${base} ${JSON.stringify(otherSpelling.body)}`).toBe(403);
      expect(otherSpelling.body.error.message).toMatch(/in environment 'production'/);
    }
    expect(await productionPromotions(u.viewer)).toBe(before);
  });

  it('an admin bound to staging cannot create or move a rule into production by naming the target twice', async () => {
    const { u, admin } = await boundToStaging();
    const rulesBefore = (await t.call('GET', '/api/v1/promotions/rules', { token: u.admin })).body;
    for (const base of ['/api/v1/promotions/rules', '/api/v1/approval-policies']) {
      const create = await t.call('POST', base, {
        token: admin,
        body: { name: 'no approvals', sourceEnvironment: 'staging', targetEnvironment: 'staging', target_environment: 'production', requiresApproval: false },
      });
      expect(create.status, `${base} ${JSON.stringify(create.body)}`).toBe(400);
      expect(JSON.stringify(create.body.error)).toMatch(/target_environment/);
    }
    // A staging rule of the bound admin's own, then a PUT that names production twice, or once by the other spelling.
    const own = await t.call('POST', '/api/v1/promotions/rules', {
      token: admin,
      body: { name: 'staging gate', source_environment: 'dev', target_environment: 'staging', required_approvers: 1 },
    });
    expect(own.status, JSON.stringify(own.body)).toBe(201);
    const id = own.body.id;
    const both = await t.call('PUT', `/api/v1/promotions/rules/${id}`, {
      token: admin,
      body: {
        version: 1,
        name: 'moved',
        sourceEnvironment: 'staging',
        targetEnvironment: 'staging',
        target_environment: 'production',
        requiresApproval: false,
      },
    });
    expect(both.status, JSON.stringify(both.body)).toBe(400);
    const moved = await t.call('PUT', `/api/v1/promotions/rules/${id}`, {
      token: admin,
      body: { version: 1, name: 'moved', source_environment: 'staging', target_environment: 'production', requires_approval: false },
    });
    expect(moved.status, JSON.stringify(moved.body)).toBe(403);
    expect(moved.body.error.message).toMatch(/in environment 'production'/);
    const after = await t.call('GET', `/api/v1/promotions/rules/${id}`, { token: u.admin });
    expect(after.body.targetEnvironment).toBe('staging');
    const rulesAfter = (await t.call('GET', '/api/v1/promotions/rules', { token: u.admin })).body;
    expect(JSON.stringify(rulesAfter)).not.toMatch(/"targetEnvironment":"production"/);
    expect(JSON.stringify(rulesBefore)).not.toMatch(/"targetEnvironment":"production"/);
  });
});
