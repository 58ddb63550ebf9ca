import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

type Issue = { path: string; message: string };
const issues = (r: { body: { error?: { issues?: Issue[] } } }): Issue[] => r.body.error?.issues ?? [];

/** The wording every cron field refuses prose with: it names the shape to write, never a day field. */
const NOT_CRON = /expected a cron expression of 5 fields \(minute hour day-of-month month day-of-week\) like '0 9 \* \* 1-5'/;

describe('a 400 names each field as the caller wrote it', () => {
  it('body fields by their own name (no body. prefix), query and path parameters as such, on every route', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);

    const constraint = await t.call('PUT', '/api/v1/artifacts/core/consumers/bad', { token: u.deployer, body: { constraint: '~~' } });
    expect(constraint.status).toBe(400);
    expect(issues(constraint).map((i) => i.path)).toEqual(['constraint']);

    // A nested field, a domain rule's issue and a missing body: all named without the prefix.
    const nested = await t.call('POST', '/api/v1/environments/dev/items/batch', { token: u.deployer, body: { set: [{ key: 'missing' }] } });
    expect(issues(nested).map((i) => i.path)).toEqual(['set.0.value']);
    const soak = await t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'qa', position: 7, soakSeconds: -5 } });
    expect(issues(soak).map((i) => i.path)).toEqual(['soakSeconds']);
    const missing = await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer });
    expect(issues(missing).map((i) => i.path)).toEqual(['body']);

    const query = await t.call('GET', '/api/v1/promotions?status=NOPE', { token: u.viewer });
    expect(query.status).toBe(400);
    expect(issues(query).map((i) => i.path)).toEqual(['query.status']);

    // No answer anywhere carries the internal prefix.
    for (const r of [constraint, nested, soak, missing, query]) expect(JSON.stringify(r.body)).not.toMatch(/"path":"body\./);
  });

  it('text that is not a cron expression at all is told so, with the shape to write, wherever a cron is taken', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    for (const cron of ['not a cron at all', 'every day at nine am', 'hello', '0 9 * * 1-5 and more']) {
      const recurring = await t.call('PUT', '/api/v1/recurring-promotions/r', {
        token: u.admin,
        body: { source: 'dev', target: 'staging', cron, timeZone: 'UTC' },
      });
      expect(recurring.status, cron).toBe(400);
      expect(issues(recurring)[0]).toMatchObject({ path: 'cron', message: expect.stringMatching(NOT_CRON) });
      expect(issues(recurring)[0]!.message).not.toMatch(/day of the month|day field/);

      const freeze = await t.call('POST', '/api/v1/environments/production/freeze-windows', {
        token: u.admin,
        body: { reason: 'weekend', cron, endCron: '0 8 * * 1' },
      });
      expect(freeze.status, cron).toBe(400);
      expect(issues(freeze)[0]).toMatchObject({ path: 'cron', message: expect.stringMatching(NOT_CRON) });
    }
  });
});
