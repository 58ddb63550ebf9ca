import type { Browser } from 'playwright-core';
import { openConsoleAs } from './console.ts';
import { waitFor, waitForToken } from './promotions.ts';
import { makeLine, type TestStack } from './stack.ts';

/**
 * What the console's browser tests (test/integration/browser*.test.ts) set up on the test stack `t`
 * and open in `browser` (both from useConsoleStack): a tenant's promotions in the states the views
 * show, and the console opened as one of its users.
 */
export function consoleScenarios(t: TestStack, browser: Browser) {
  /** A tenant with a line and a promotion to production waiting for its approvers, who are told by email. */
  async function waitingPromotion() {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { email: { recipients: [], approvers: true } } });
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.admin, body: { key: 'query.timeout', value: '180s' } });
    const p = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'staging', targetEnvironment: 'production', notes: 'longer timeout for reports' },
    });
    await waitForToken(t, u.viewer, p.body.id);
    await t.stack.stream.idle();
    return { tenant, u, id: p.body.id as string };
  }

  /** A tenant with a line, a promotion blocked by its gates, one rejected, and one waiting for an approver. */
  async function consoleTenant() {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const staging = (await t.call('GET', '/api/v1/environments/staging', { token: u.admin })).body;
    await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: staging.version, gates: { tests: true } } });
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.admin, body: { key: 'query.timeout', value: '45s' } });
    const blocked = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    await waitFor(t, u.viewer, blocked.body.id, ['VALIDATION_FAILED']);
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.admin, body: { key: 'query.timeout', value: '180s' } });
    const rejected = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
    await waitForToken(t, u.viewer, rejected.body.id);
    await t.call('POST', `/api/v1/promotions/${rejected.body.id}/reject`, { token: u.approver, body: { reason: 'freeze week' } });
    const waiting = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'staging', targetEnvironment: 'production', notes: 'longer timeout for reports' },
    });
    await waitForToken(t, u.viewer, waiting.body.id);
    return { tenant, u, blocked: blocked.body.id as string, rejected: rejected.body.id as string, waiting: waiting.body.id as string };
  }

  /** Opens the console with a token (the state a sign-in leaves; the sign-in itself is tested in browser.test.ts). */
  const openAs = (token: string, hash?: string, viewport?: { width: number; height: number }, timezoneId?: string) =>
    openConsoleAs(browser, t.url, token, hash, viewport, timezoneId);

  return { waitingPromotion, consoleTenant, openAs };
}
