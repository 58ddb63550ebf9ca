import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { jiraChangeSettings, type JiraChangeSettings } from '../../domain/change/jira.ts';
import { ChangeRefused, ChangeUnavailable, type ChangeRequestDraft } from '../../domain/change/ports.ts';
import { jiraChangeProvider } from '../../functions/adapters/change/jira.ts';
import { overrideConfig } from '../../functions/configuration-overrides.ts';
import { startJiraStandin, type JiraStandin } from '../support/jira-standin.ts';

/**
 * The Jira Service Management change adapter against the JSM stand-in on loopback (held to jira.js's
 * model types): what it sends, what it makes of Jira's answers, and that it goes through the outbound rules.
 * Loopback is allowed as in local mode (STAGELINE_ALLOW_LOOPBACK_OUTBOUND), as every test runs.
 */

const undoConfig = overrideConfig({ STAGELINE_ALLOW_LOOPBACK_OUTBOUND: 'true' });
const credential = { email: 'release-bot@example.com', apiToken: 'atl-token-1' };
let jira: JiraStandin;
let settings: JiraChangeSettings;

const draft = (correlationId = 'prm_01JCHANGE0001'): ChangeRequestDraft => ({
  title: 'Promote payments 2026.11.27-1 to production',
  description: 'Release payments 2026.11.27-1\nDiff: 2 images changed\nGates: smoke passed',
  correlationId,
  decisionUrl: 'https://console.example.com/promotions/prm_01JCHANGE0001/decision',
  release: { id: 'payments 2026.11.27-1', digest: 'sha256:4f2c9a0e5b7d11aa' },
  environment: 'production',
});

beforeAll(async () => {
  jira = await startJiraStandin({ ...credential, bearerToken: 'pat-1' });
});
afterAll(async () => {
  await jira.stop();
  undoConfig();
});
beforeEach(() => {
  settings = jiraChangeSettings.parse({
    site: jira.origin,
    serviceDeskId: jira.serviceDeskId,
    requestTypeId: jira.requestTypeId,
    plannedStartField: 'customfield_10041',
    plannedEndField: 'customfield_10042',
  });
  jira.seen.length = 0;
});

describe('the Jira Service Management change provider', () => {
  it('opens a request of the rule type with the release, its digest, the decision link and the correlation label', async () => {
    const provider = jiraChangeProvider(settings, credential);
    const ref = await provider.create(draft('prm_create_1'));
    const made = jira.requests.find((r) => r.id === ref.id)!;
    expect(ref).toEqual({ provider: 'jira', id: made.id, number: made.key, url: `${jira.origin}/browse/${made.key}` });
    expect(made.summary).toBe('Promote payments 2026.11.27-1 to production');
    expect(made.labels).toEqual(['stageline-prm_create_1']);
    expect(made.description).toContain('sha256:4f2c9a0e5b7d11aa');
    expect(made.description).toContain('payments 2026.11.27-1');
    expect(made.description).toContain('https://console.example.com/promotions/prm_01JCHANGE0001/decision');
    const post = jira.seen.find((s) => s.method === 'POST')!;
    expect(post.path).toBe('/rest/servicedeskapi/request');
    expect(post.body).toMatchObject({ serviceDeskId: jira.serviceDeskId, requestTypeId: jira.requestTypeId });
    expect(post.headers.authorization).toBe(`Basic ${Buffer.from('release-bot@example.com:atl-token-1').toString('base64')}`);
    expect(jira.violations).toEqual([]);
  });

  it('speaks with a bearer token too', async () => {
    const ref = await jiraChangeProvider(settings, { bearerToken: 'pat-1' }).create(draft('prm_bearer_1'));
    expect(jira.seen.at(-1)?.headers.authorization).toBe('Bearer pat-1');
    expect(await jiraChangeProvider(settings, { bearerToken: 'pat-1' }).find(['prm_bearer_1'])).toEqual([
      { ref, correlation: 'prm_bearer_1', createdBy: jira.accountId, byIntegrationUser: true },
    ]);
    await expect(jiraChangeProvider(settings, { bearerToken: 'stale' }).find(['prm_bearer_1'])).rejects.toMatchObject({ name: 'ChangeRefused', status: 401 });
  });

  it('finds the request a create made when its answer was lost, says who raised each request found, and nothing for another promotion', async () => {
    const provider = jiraChangeProvider(settings, credential);
    jira.loseNextAnswer();
    await expect(provider.create(draft('prm_lost_1.Zk3q9v0Rk2mW1xYtQ8bN4A'))).rejects.toBeInstanceOf(ChangeUnavailable);
    const before = jira.requests.length;
    const mine = jira.requests.find((r) => r.labels.includes('stageline-prm_lost_1.Zk3q9v0Rk2mW1xYtQ8bN4A'))!;
    // Someone else raises requests with the same label and with the bare promotion id: found, and said to be another's.
    const copy = jira.raise({ summary: 'copy', labels: ['stageline-prm_lost_1.Zk3q9v0Rk2mW1xYtQ8bN4A'], by: '712020:mallory' });
    const bare = jira.raise({ summary: 'bare', labels: ['stageline-prm_lost_1'], by: '712020:mallory' });
    const found = await provider.find(['prm_lost_1.Zk3q9v0Rk2mW1xYtQ8bN4A', 'prm_lost_1']);
    expect(found.map((f) => [f.ref.number, f.correlation, f.createdBy, f.byIntegrationUser])).toEqual([
      [mine.key, 'prm_lost_1.Zk3q9v0Rk2mW1xYtQ8bN4A', jira.accountId, true],
      [copy.key, 'prm_lost_1.Zk3q9v0Rk2mW1xYtQ8bN4A', '712020:mallory', false],
      [bare.key, 'prm_lost_1', '712020:mallory', false],
    ]);
    expect(jira.requests.length).toBe(before + 2);
    expect(jira.seen.filter((s) => s.method === 'POST' && s.path === '/rest/servicedeskapi/request')).toHaveLength(1);
    // The credential's own account is asked once per connection.
    await provider.find(['prm_lost_1']);
    expect(jira.seen.filter((s) => s.path === '/rest/api/3/myself')).toHaveLength(1);
    expect(await provider.find(['prm_never_made'])).toEqual([]);
  });

  it('reads a request waiting, approved inside its planned window, and declined with the board reason', async () => {
    const provider = jiraChangeProvider(settings, credential);
    const ref = await provider.create(draft('prm_read_1'));
    expect(await provider.read(ref)).toEqual({ state: 'Awaiting approval', approval: 'pending' });
    jira.approve(ref.number);
    jira.setWindow(ref.number, '2026-11-30T10:00:00Z', '2026-11-30T12:00:00Z');
    expect(await provider.read(ref)).toEqual({
      state: 'Awaiting implementation',
      approval: 'approved',
      window: { start: '2026-11-30T10:00:00.000Z', end: '2026-11-30T12:00:00.000Z' },
    });
    const other = await provider.create(draft('prm_read_2'));
    jira.decline(other.number, 'CAB: the freeze for the quarter close is on');
    expect(await provider.read(other)).toEqual({ state: 'Declined', approval: 'declined', reason: 'CAB: the freeze for the quarter close is on' });
    const third = await provider.create(draft('prm_read_3'));
    jira.cancel(third.number, 'Withdrawn by the release manager');
    expect(await provider.read(third)).toMatchObject({ state: 'Canceled', reason: 'Withdrawn by the release manager' });
    expect(jira.violations).toEqual([]);
  });

  it('adds internal notes and closes successful or unsuccessful through the workflow transitions', async () => {
    const provider = jiraChangeProvider(settings, credential);
    const ok = await provider.create(draft('prm_close_1'));
    jira.approve(ok.number);
    await provider.note(ok, 'Promotion started');
    await provider.close(ok, 'successful', 'Promotion succeeded');
    const okReq = jira.requests.find((r) => r.id === ok.id)!;
    expect(okReq.status).toBe('Completed');
    expect(okReq.comments).toEqual([
      { id: '1', body: 'Promotion started', public: false },
      { id: '2', body: 'Promotion succeeded', public: false },
    ]);
    const bad = await provider.create(draft('prm_close_2'));
    jira.approve(bad.number);
    await provider.close(bad, 'unsuccessful', 'Rolled back: error rate');
    expect(jira.requests.find((r) => r.id === bad.id)!.status).toBe('Failed');
    // A close whose answer was lost is closed again without a second transition.
    await provider.close(bad, 'unsuccessful', 'Rolled back: error rate');
    expect(jira.seen.filter((s) => s.method === 'POST' && s.path.endsWith('/transitions'))).toHaveLength(2);
    // A workflow without the named transition: said plainly, naming the setting.
    const third = await provider.create(draft('prm_close_3'));
    const err = await provider.close(third, 'successful', 'done').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChangeRefused);
    expect((err as Error).message).toMatch(/no transition "Completed".*Awaiting approval.*Cancel.*closeSuccessful/);
    expect(jira.violations).toEqual([]);
  });

  it('maps 429, 5xx and no answer to ChangeUnavailable', async () => {
    const provider = jiraChangeProvider(settings, credential);
    const ref = await provider.create(draft('prm_transient_1'));
    for (const status of [429, 500, 502, 503]) {
      jira.failNext(status);
      await expect(provider.read(ref), String(status)).rejects.toBeInstanceOf(ChangeUnavailable);
    }
    jira.loseNextAnswer();
    await expect(provider.note(ref, 'x')).rejects.toBeInstanceOf(ChangeUnavailable);
  });

  it("maps refusals to ChangeRefused with Jira's own words", async () => {
    const unknownType = jiraChangeProvider({ ...settings, requestTypeId: '999' }, credential);
    const err = await unknownType.create(draft('prm_refused_1')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChangeRefused);
    expect((err as ChangeRefused).status).toBe(400);
    expect((err as Error).message).toContain('The request type 999 does not exist in this service desk.');
    const unknownDesk = await jiraChangeProvider({ ...settings, serviceDeskId: '77' }, credential)
      .create(draft('prm_refused_2'))
      .catch((e: unknown) => e);
    expect(unknownDesk).toMatchObject({ name: 'ChangeRefused', status: 404, message: expect.stringContaining('The service desk with id 77 does not exist.') });
    const badToken = await jiraChangeProvider(settings, { ...credential, apiToken: 'wrong' })
      .find(['prm_x'])
      .catch((e: unknown) => e);
    expect(badToken).toMatchObject({ name: 'ChangeRefused', status: 401, message: expect.stringContaining('Client must be authenticated') });
    jira.failNext(403, { errorMessages: ['You do not have permission to create requests in this service desk.'], errors: {} });
    const forbidden = await jiraChangeProvider(settings, credential)
      .create(draft('prm_refused_3'))
      .catch((e: unknown) => e);
    expect(forbidden).toMatchObject({ name: 'ChangeRefused', status: 403, message: expect.stringContaining('You do not have permission') });
    jira.failNext(400, { errorMessages: [], errors: { customfield_10041: 'x'.repeat(5000) } });
    const long = await jiraChangeProvider(settings, credential)
      .create(draft('prm_refused_4'))
      .catch((e: unknown) => e);
    expect(long).toBeInstanceOf(ChangeRefused);
    expect((long as Error).message.length).toBeLessThan(700);
  });

  it('puts only the ids Jira gives into request paths', async () => {
    const provider = jiraChangeProvider(settings, credential);
    const ref = await provider.create(draft('prm_ids_1'));
    for (const id of ['../../rest/api/3/myself', '1?x=', '//evil.example']) {
      await expect(provider.read({ ...ref, id }), id).rejects.toBeInstanceOf(ChangeRefused);
    }
    await expect(provider.note({ ...ref, provider: 'servicenow' }, 'x')).rejects.toBeInstanceOf(ChangeRefused);
    jira.failNext(201, { issueId: '../10001', issueKey: 'ITSM-1' });
    await expect(provider.create(draft('prm_ids_2'))).rejects.toBeInstanceOf(ChangeUnavailable);
    expect(jira.seen.filter((s) => s.path.includes('myself') || s.path.includes('evil'))).toEqual([]);
  });

  it('goes through the outbound rules: no private address, no loopback when deployed, no redirect followed', async () => {
    for (const site of ['https://10.0.0.5', 'https://169.254.169.254', 'https://[fd00::1]:8443', 'https://192.168.1.10']) {
      const p = jiraChangeProvider({ ...settings, site }, credential);
      await expect(p.find(['prm_ssrf']), site).rejects.toBeInstanceOf(ChangeRefused);
    }
    const deployed = overrideConfig({ STAGELINE_ALLOW_LOOPBACK_OUTBOUND: 'false' });
    try {
      const before = jira.seen.length;
      const err = await jiraChangeProvider(settings, credential)
        .find(['prm_ssrf'])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChangeRefused);
      expect((err as Error).message).toMatch(/may not be called/);
      expect(jira.seen.length).toBe(before);
    } finally {
      deployed();
    }
    jira.redirectNext('http://169.254.169.254/latest/meta-data/');
    const err = await jiraChangeProvider(settings, credential)
      .find(['prm_redirect'])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ChangeRefused', status: 302, message: expect.stringMatching(/redirect.*not followed/) });
  });
});
