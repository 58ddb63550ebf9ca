import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliWith, outcome } from '../support/cli.ts';
import { approveIfAsked, requestedNotStarted, validatedAndHeld, waitFor } from '../support/promotions.ts';
import { startJiraStandin, type JiraStandin } from '../support/jira-standin.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * Change control in Jira Service Management, through the API on the local stack (DynamoDB Local) against the JSM
 * stand-in (held to jira.js's model types): the rule, and a production promotion that waits for its Jira request.
 */
let t: TestStack;
let jira: JiraStandin;
const cred = { email: 'release-bot@example.com', apiToken: 'atl-token-7c1e' };
beforeAll(async () => {
  t = await startTestStack();
  jira = await startJiraStandin(cred);
});
afterAll(async () => {
  await jira?.stop();
  await t?.stop();
});

type Users = Awaited<ReturnType<TestStack['users']>>;
const url = '/api/v1/environments/production/change-control';

async function until(ok: () => Promise<boolean> | boolean, what: string, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`${what}: never, within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const jiraRule = () => ({
  provider: 'jira',
  instanceUrl: jira.origin,
  jira: { serviceDeskId: jira.serviceDeskId, requestTypeId: jira.requestTypeId, plannedStartField: 'customfield_10041', plannedEndField: 'customfield_10042' },
  credentials: { basic: { user: cred.email, password: cred.apiToken } },
});

/** A line whose staging runs a release, and production under change control in the Jira stand-in. */
async function changeControlledLine(): Promise<{ u: Users }> {
  const u = await t.users(t.tenant());
  await makeLine(t, u.admin);
  const rule = await t.call('PUT', url, { token: u.admin, body: jiraRule() });
  expect(rule.status, JSON.stringify(rule.body)).toBe(200);
  await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
  const s = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
  expect((await waitFor(t, u.viewer, s.body.id, ['COMPLETED', 'FAILED', 'CANCELLED'])).status).toBe('COMPLETED');
  return { u };
}

async function heldForChange(u: Users) {
  const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  await approveIfAsked(t, u, p.body.id, ['SCHEDULED', 'COMPLETED', 'FAILED', 'REJECTED']);
  return waitFor(t, u.viewer, p.body.id, ['SCHEDULED', 'COMPLETED', 'FAILED', 'CANCELLED', 'REJECTED']);
}

/** The requests labelled for a promotion: `stageline-<promotion id>`, alone or followed by `.` (oldest first). */
const requestOf = (promotionId: string) =>
  jira.requests.filter((r) => r.labels.some((l) => l === `stageline-${promotionId}` || l.startsWith(`stageline-${promotionId}.`)));

describe('change requests in Jira Service Management: a production promotion waits for its Jira request', () => {
  it('the rule: saved with the Jira fields (defaults filled in, credential never shown, kept by a body without it), bad input named field by field', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    const put = await t.call('PUT', url, { token: u.admin, body: jiraRule() });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({
      provider: 'jira',
      instanceUrl: jira.origin,
      type: 'normal',
      template: null,
      approvedStates: ['Awaiting implementation', 'Implementing'],
      credentialKind: 'basic',
      jira: {
        serviceDeskId: jira.serviceDeskId,
        requestTypeId: jira.requestTypeId,
        rejectedStatuses: ['Declined'],
        cancelledStatuses: ['Canceled', 'Cancelled'],
        closeSuccessful: 'Completed',
        closeUnsuccessful: 'Failed',
        plannedStartField: 'customfield_10041',
        plannedEndField: 'customfield_10042',
      },
    });
    expect(JSON.stringify(put.body)).not.toContain(cred.apiToken);
    // What GET answered, sent back as it is: the credential and the Jira settings stay.
    const got = await t.call('GET', url, { token: u.viewer });
    expect(got.body).toEqual(put.body);
    const again = await t.call('PUT', url, { token: u.admin, body: { ...got.body, approvedStates: ['Implementing'] } });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toMatchObject({ approvedStates: ['Implementing'], credentialKind: 'basic', jira: got.body.jira });
    const env = await t.call('GET', '/api/v1/environments/production', { token: u.viewer });
    expect(JSON.stringify(env.body)).not.toContain(cred.apiToken);

    const bad = async (body: Record<string, unknown>, field: string, says: RegExp) => {
      const r = await t.call('PUT', url, { token: u.admin, body: { ...jiraRule(), ...body } });
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      const issue = r.body.error.issues.find((i: { path: string }) => i.path === field.replace(/^body\./, '') || i.path === field);
      expect(issue, JSON.stringify(r.body)).toBeDefined();
      expect(issue.message).toMatch(says);
    };
    const desk = { serviceDeskId: jira.serviceDeskId, requestTypeId: jira.requestTypeId };
    await bad({ jira: undefined }, 'body.jira', /service desk and request type/);
    await bad({ jira: { ...desk, serviceDeskId: 'IT desk' } }, 'body.jira.serviceDeskId', /numeric id/);
    await bad({ jira: { serviceDeskId: '4' } }, 'body.jira.requestTypeId', /./);
    await bad({ jira: { ...desk, plannedStartField: 'customfield_10041' } }, 'body.jira.plannedEndField', /both fields/);
    await bad({ jira: { ...desk, plannedStartField: 'Planned start', plannedEndField: 'customfield_10042' } }, 'body.jira.plannedStartField', /customfield_/);
    await bad({ jira: { ...desk, rejectedStatuses: [] } }, 'body.jira.rejectedStatuses', /at least one status/);
    await bad({ jira: { ...desk, priority: 'high' } }, 'body.jira', /unknown field priority/);
    await bad({ approvedStates: ['Implementing', 'Canceled'] }, 'body.jira.cancelledStatuses.0', /also in approvedStates/);
    await bad({ instanceUrl: 'https://10.0.0.8' }, 'body.instanceUrl', /private/);
    await bad({ instanceUrl: 'https://acme.atlassian.net/?next=1' }, 'body.instanceUrl', /site address alone/);
    await bad({ type: 'standard', template: 'Routine' }, 'body.type', /request type/);
    await bad({ template: 'Routine' }, 'body.template', /no template/);
    await bad({ credentials: { basic: { user: 'release-bot', password: 'x' } } }, 'body.credentials.basic.user', /email address of the Atlassian account/);
    // A ServiceNow rule takes no Jira settings.
    await bad({ provider: 'servicenow' }, 'body.jira', /only a Jira rule/);
    // The service desk and the request type are looked up in Jira at save: one it does not have is named, with Jira's words.
    await bad({ jira: { ...desk, serviceDeskId: '99' } }, 'body.jira.serviceDeskId', /Jira has no service desk 99.*does not exist/);
    await bad({ jira: { ...desk, requestTypeId: '77' } }, 'body.jira.requestTypeId', /Jira has no request type 77 in service desk 4.*does not exist/);
    expect(jira.seen.some((s) => s.method === 'GET' && s.path === `/rest/servicedeskapi/servicedesk/99`)).toBe(true);
    expect(jira.violations).toEqual([]);
    // Nothing refused was stored.
    expect((await t.call('GET', url, { token: u.viewer })).body).toEqual(again.body);
  });

  it('waits for its request, executes when it is approved inside its planned window (not before), notes it and closes it Completed', async () => {
    const { u } = await changeControlledLine();
    const held = await heldForChange(u);
    expect(held.status).toBe('SCHEDULED');
    expect(held.heldBy).toMatchObject({ change: { number: expect.stringMatching(/^ITSM-/) }, reason: expect.stringContaining('not approved yet') });
    const mine = requestOf(held.id);
    expect(mine).toHaveLength(1);
    const req = mine[0]!;
    expect(held.changeRequest).toMatchObject({ provider: 'jira', number: req.key, url: `${jira.origin}/browse/${req.key}`, digest: held.releaseDigest });
    expect(req.summary).toContain('production');
    expect(req.description).toContain(held.releaseDigest);
    expect(req.description).toContain(`/api/v1/promotions/${held.id}/decision`);

    // Approved for a window an hour from now: a look now does not let it go.
    const now = t.stack.clock.date().getTime();
    jira.approve(req.key);
    jira.setWindow(req.key, new Date(now + 3600_000).toISOString(), new Date(now + 7200_000).toISOString());
    const check = await t.call('POST', `/api/v1/promotions/${held.id}/change-request/check`, { token: u.deployer, body: {} });
    expect(check.status, JSON.stringify(check.body)).toBe(200);
    await until(
      async () => (await t.call('GET', `/api/v1/promotions/${held.id}`, { token: u.viewer })).body.heldBy?.reason.includes('window has not opened'),
      'the window is seen',
    );
    const waiting = (await t.call('GET', `/api/v1/promotions/${held.id}`, { token: u.viewer })).body;
    expect(waiting.status).toBe('SCHEDULED');
    expect(waiting.changeRequest).toMatchObject({ state: 'Awaiting implementation', approval: 'approved' });
    expect(Date.parse(waiting.heldBy.until)).toBeLessThanOrEqual(now + 3600_000);
    expect(req.comments).toEqual([]);

    // The window opens: it executes, noted (internal comments) and closed (transition Completed).
    t.stack.clock.advanceTo(now + 3600_000 + 1000);
    const done = await waitFor(t, u.viewer, held.id, ['COMPLETED', 'FAILED', 'CANCELLED', 'REJECTED'], 90_000);
    expect(done.status).toBe('COMPLETED');
    // Closed: the transition, then its internal comment (a second call).
    await until(() => req.status === 'Completed' && req.comments.some((c) => c.body.includes('completed')), 'the request is closed and noted');
    expect(req.resolution).toBe('Done');
    expect(req.comments.every((c) => !c.public)).toBe(true);
    expect(req.comments.some((c) => c.body.includes('starts executing'))).toBe(true);
    expect(req.comments.some((c) => c.body.includes('completed'))).toBe(true);
    expect(jira.seen.some((s) => s.method === 'POST' && s.path === `/rest/api/3/issue/${req.id}/transitions` && (s.body as any)?.transition?.id === '41')).toBe(
      true,
    );
    await until(
      async () => (await t.call('GET', `/api/v1/promotions/${held.id}`, { token: u.viewer })).body.changeRequest?.closed === 'successful',
      'closed on the promotion',
    );
    expect(requestOf(held.id)).toHaveLength(1);
    expect(jira.violations).toEqual([]);
  });

  it('an approved request someone else raised with the promotion label is not adopted: Stageline raises its own, and the spoof is audited', async () => {
    const { u } = await changeControlledLine();
    const id = await requestedNotStarted(t, u);
    // Someone raises a request with their own Atlassian account, labelled for the promotion, and it is approved.
    const spoof = jira.raise({ summary: 'Promote to production', labels: [`stageline-${id}`], by: '712020:0c4f-mallory' });
    jira.approve(spoof.key);
    const held = await validatedAndHeld(t, u, id);
    // Not adopted: it waits for a request of its own; production is untouched.
    expect(held.status).toBe('SCHEDULED');
    const own = requestOf(id).filter((r) => r.id !== spoof.id);
    expect(own).toHaveLength(1);
    expect(own[0]!.creator).toBe(jira.accountId);
    expect(held.changeRequest.number).toBe(own[0]!.key);
    const prod = await t.call('GET', '/api/v1/environments/production/configs', { token: u.viewer });
    expect(JSON.stringify(prod.body)).not.toContain('feature.x');
    // The foreign request is never commented on nor moved; the attempt is audited once, naming it (never a credential).
    expect(spoof).toMatchObject({ status: 'Awaiting implementation', comments: [] });
    const audit = (await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${id}`, { token: u.viewer })).body.items;
    const refused = audit.filter((e: any) => e.action === 'promotion.change.spoof');
    expect(refused).toHaveLength(1);
    expect(refused[0].reason).toContain(spoof.key);
    expect(refused[0].reason).toContain(spoof.id);
    expect(JSON.stringify(audit)).not.toContain(cred.apiToken);
    expect(jira.violations).toEqual([]);
  });

  it("a request declined in Jira ends the promotion REJECTED with the board's reason; nothing changes in production", async () => {
    const { u } = await changeControlledLine();
    const held = await heldForChange(u);
    expect(held.status).toBe('SCHEDULED');
    const req = requestOf(held.id)[0]!;
    jira.decline(req.key, 'Overlaps the quarter-end freeze agreed by the CAB');
    expect((await t.call('POST', `/api/v1/promotions/${held.id}/change-request/check`, { token: u.deployer, body: {} })).status).toBe(200);
    const ended = await waitFor(t, u.viewer, held.id, ['REJECTED', 'COMPLETED', 'FAILED', 'CANCELLED'], 90_000);
    expect(ended.status).toBe('REJECTED');
    expect(ended.rejection.reason).toContain(`${req.key} was declined`);
    expect(ended.rejection.reason).toContain('Overlaps the quarter-end freeze agreed by the CAB');
    const prod = await t.call('GET', '/api/v1/environments/production/configs', { token: u.viewer });
    expect(JSON.stringify(prod.body)).not.toContain('feature.x');
    // A request Jira declined is not transitioned again.
    expect(req.status).toBe('Declined');
    expect(jira.seen.some((s) => s.method === 'POST' && s.path === `/rest/api/3/issue/${req.id}/transitions`)).toBe(false);
    expect(jira.violations).toEqual([]);
  });

  it('a request cancelled in Jira ends the promotion REJECTED, saying it was cancelled and why', async () => {
    const { u } = await changeControlledLine();
    const held = await heldForChange(u);
    const req = requestOf(held.id)[0]!;
    jira.cancel(req.key, 'Moved to next week');
    expect((await t.call('POST', `/api/v1/promotions/${held.id}/change-request/check`, { token: u.deployer, body: {} })).status).toBe(200);
    const ended = await waitFor(t, u.viewer, held.id, ['REJECTED', 'COMPLETED', 'FAILED', 'CANCELLED'], 90_000);
    expect(ended.status).toBe('REJECTED');
    expect(ended.rejection.reason).toContain(`${req.key} was cancelled: Moved to next week`);
    expect(jira.violations).toEqual([]);
  });

  it('a promotion cancelled while it waits cancels its Jira request (the workflow transition to a cancelled status), with an internal comment', async () => {
    const { u } = await changeControlledLine();
    const held = await heldForChange(u);
    expect(held.status).toBe('SCHEDULED');
    const req = requestOf(held.id)[0]!;
    const cancelled = await t.call('DELETE', `/api/v1/promotions/${held.id}?reason=${encodeURIComponent('superseded by the hotfix')}`, { token: u.deployer });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    await until(() => req.status === 'Canceled', 'the request is cancelled');
    expect(req.comments.some((c) => !c.public && c.body.includes('CANCELLED') && c.body.includes('superseded by the hotfix'))).toBe(true);
    await until(async () => (await t.call('GET', `/api/v1/promotions/${held.id}`, { token: u.viewer })).body.changeRequest?.closed === 'cancelled', 'recorded');
    expect(jira.violations).toEqual([]);
  });

  it('the CLI: `change-control set --provider jira` takes the service desk, the request type and the planned-window fields; an existing rule keeps them', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    const env = {
      ...process.env,
      STAGELINE_URL: t.url,
      STAGELINE_TOKEN: u.admin,
      STAGELINE_CHANGE_PASSWORD: cred.apiToken,
      XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'stageline-jira-')),
    };
    const cli = (...args: string[]) => cliWith(env, ...args);
    const set = await cli(
      'change-control',
      'set',
      'production',
      '--provider',
      'jira',
      '--instance',
      jira.origin,
      '--service-desk-id',
      jira.serviceDeskId,
      '--request-type-id',
      jira.requestTypeId,
      '--planned-start-field',
      'customfield_10041',
      '--planned-end-field',
      'customfield_10042',
      '--user',
      cred.email,
    );
    expect(set.stdout).toContain(`production: promotions wait for an approved normal change request in jira (${jira.origin})`);
    expect(set.stdout).toContain(`service desk ${jira.serviceDeskId}, request type ${jira.requestTypeId}`);
    const stored = (await t.call('GET', url, { token: u.viewer })).body;
    expect(stored).toMatchObject({
      provider: 'jira',
      credentialKind: 'basic',
      jira: {
        serviceDeskId: jira.serviceDeskId,
        requestTypeId: jira.requestTypeId,
        plannedStartField: 'customfield_10041',
        plannedEndField: 'customfield_10042',
      },
    });
    // A flag changed, the rest kept (the Jira settings and the credential too).
    const narrowed = await cliWith({ ...env, STAGELINE_CHANGE_PASSWORD: '' }, 'change-control', 'set', 'production', '--approved-state', 'Implementing');
    expect(narrowed.stdout).toContain('approved states Implementing');
    expect((await t.call('GET', url, { token: u.viewer })).body).toMatchObject({
      approvedStates: ['Implementing'],
      jira: stored.jira,
      credentialKind: 'basic',
    });
    const shown = JSON.parse((await cli('change-control', 'get', 'production', '--json')).stdout);
    expect(shown.jira.requestTypeId).toBe(jira.requestTypeId);
    // Bad input: the API's words, naming the field.
    const bad = await outcome(cli('change-control', 'set', 'production', '--service-desk-id', 'IT desk'));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('jira.serviceDeskId');
    expect(bad.stderr).toMatch(/numeric id/);
  });
});
