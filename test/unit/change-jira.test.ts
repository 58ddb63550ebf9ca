import { describe, expect, it } from 'vitest';
import { jiraChangeSettings, jiraCorrelationLabel, jiraCredential, jiraVerdict } from '../../domain/change/jira.ts';

/** The Jira part of a change-control rule: its settings as a tenant writes them, and what a request's status means. */

const base = { site: 'https://acme.atlassian.net', serviceDeskId: '4', requestTypeId: '42' };
const issues = (input: unknown) => {
  const r = jiraChangeSettings.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('the Jira change-control settings', () => {
  it("defaults to the statuses and transitions of JSM's change workflow", () => {
    expect(jiraChangeSettings.parse(base)).toEqual({
      ...base,
      approvedStatuses: ['Awaiting implementation', 'Implementing'],
      rejectedStatuses: ['Declined'],
      cancelledStatuses: ['Canceled', 'Cancelled'],
      closeSuccessful: 'Completed',
      closeUnsuccessful: 'Failed',
    });
  });

  it('names the field and what to fix for each refused value', () => {
    expect(issues({ ...base, site: 'http://acme.atlassian.net' })).toEqual(['site: must be a public https URL: it uses plain http: use https']);
    expect(issues({ ...base, site: 'https://10.1.2.3' })[0]).toMatch(/^site: must be a public https URL: it points at 10\.1\.2\.3, a private/);
    expect(issues({ ...base, site: 'https://acme.atlassian.net/?x=1' })[0]).toMatch(/^site: must be the site address alone/);
    expect(issues({ ...base, serviceDeskId: 'ITSM' })[0]).toMatch(/^serviceDeskId: must be the service desk's numeric id/);
    expect(issues({ ...base, requestTypeId: '' })[0]).toMatch(/^requestTypeId: must be the request type's numeric id/);
    expect(issues({ ...base, approvedStatuses: [] })[0]).toMatch(/^approvedStatuses: name at least one status/);
    expect(issues({ ...base, plannedStartField: 'Planned start' })[0]).toMatch(
      /^plannedStartField: must be the id of the Planned start field, like customfield_10041/,
    );
    expect(issues({ ...base, plannedStartField: 'customfield_10041' })).toEqual([
      'plannedEndField: the planned window needs both fields: name the Planned start and the Planned end field, or neither',
    ]);
    expect(issues({ ...base, rejectedStatuses: ['implementing'] })).toEqual([
      'rejectedStatuses.0: "implementing" is also in approvedStatuses: a status can mean only one thing',
    ]);
    expect(issues({ ...base, provider: 'jira' })[0]).toMatch(/provider/);
  });

  it('takes an email and API token, or a bearer token, as the secret', () => {
    expect(jiraCredential.safeParse({ email: 'bot@example.com', apiToken: 't' }).success).toBe(true);
    expect(jiraCredential.safeParse({ bearerToken: 'pat' }).success).toBe(true);
    expect(jiraCredential.safeParse({ email: 'bot', apiToken: 't' }).success).toBe(false);
    expect(jiraCredential.safeParse({ apiToken: 't' }).success).toBe(false);
  });
});

describe("a Jira change request's status, read with the rule", () => {
  const s = jiraChangeSettings.parse(base);
  it('lets an approved status go, waits on the others, ends on a declined or cancelled one with the reason', () => {
    expect(jiraVerdict(s, { state: 'awaiting implementation', approval: 'approved' })).toEqual({ kind: 'approved' });
    expect(jiraVerdict(s, { state: 'Awaiting approval', approval: 'pending' })).toEqual({ kind: 'waiting' });
    expect(jiraVerdict(s, { state: 'Planning' })).toEqual({ kind: 'waiting' });
    expect(jiraVerdict(s, { state: 'Declined', reason: 'CAB: freeze' })).toEqual({ kind: 'rejected', reason: 'CAB: freeze' });
    expect(jiraVerdict(s, { state: 'Awaiting approval', approval: 'declined' })).toEqual({
      kind: 'rejected',
      reason: 'the change request was declined in Jira (Awaiting approval)',
    });
    expect(jiraVerdict(s, { state: 'Canceled' })).toEqual({ kind: 'cancelled', reason: 'the change request was cancelled in Jira (Canceled)' });
    expect(jiraVerdict({ ...s, approvedStatuses: ['Scheduled'] }, { state: 'Implementing' })).toEqual({ kind: 'waiting' });
  });

  it('labels a request with the promotion id in characters a Jira label may hold', () => {
    expect(jiraCorrelationLabel('prm_01JCHANGE')).toBe('stageline-prm_01JCHANGE');
    expect(jiraCorrelationLabel('a b"c\\d')).toBe('stageline-a_b_c_d');
    expect(jiraCorrelationLabel('x'.repeat(400))).toHaveLength(255);
  });
});
