import { describe, expect, it } from 'vitest';
import { changeVerdict, checkChangeControl, foreignText, jiraCredentialOf, nextCheck, trustFound } from '#domain/change/rule';
import { checkTenantUrl } from '#domain/kernel/url-policy';
import type { ChangeFound, ChangeRef } from '#domain/change/ports';

const ref: ChangeRef = { provider: 'servicenow', id: 'abc', number: 'CHG0030001', url: 'https://x.service-now.com/abc' };
const rule = { provider: 'servicenow' as const, approvedStates: ['-2', '-1'] };
const at = (iso: string) => new Date(iso);

describe('change control: what a change request says of a promotion (domain/change/rule.ts)', () => {
  it('goes only when approved in a configured state, and inside its planned window when it has one', () => {
    expect(changeVerdict(rule, ref, { state: '-5', approval: 'requested' }, at('2026-01-01T10:00:00Z'))).toMatchObject({ go: false, ended: false });
    expect(changeVerdict(rule, ref, { state: '-3', approval: 'approved' }, at('2026-01-01T10:00:00Z'))).toMatchObject({ go: false, ended: false });
    // A configured state whose approval was not given yet is not approved.
    expect(changeVerdict(rule, ref, { state: '-2', approval: 'requested' }, at('2026-01-01T10:00:00Z'))).toMatchObject({ go: false, ended: false });
    expect(changeVerdict(rule, ref, { state: '-2', approval: 'approved' }, at('2026-01-01T10:00:00Z'))).toMatchObject({ go: true });
    const window = { start: '2026-01-01T12:00:00.000Z', end: '2026-01-01T14:00:00.000Z' };
    const before = changeVerdict(rule, ref, { state: '-2', approval: 'approved', window }, at('2026-01-01T11:59:59Z'));
    expect(before).toMatchObject({ go: false, ended: false, opensAt: at(window.start) });
    expect(changeVerdict(rule, ref, { state: '-1', approval: 'approved', window }, at('2026-01-01T12:00:00Z'))).toMatchObject({ go: true });
    // Past its window it waits for the board to plan another (never run outside the window it was approved for).
    expect(changeVerdict(rule, ref, { state: '-2', approval: 'approved', window }, at('2026-01-01T14:00:01Z'))).toMatchObject({ go: false, ended: false });
    // A state the rule does not name does not approve, whatever the approval says.
    expect(changeVerdict({ ...rule, approvedStates: ['-1'] }, ref, { state: '-2', approval: 'approved' }, at('2026-01-01T10:00:00Z')).go).toBe(false);
  });

  it("ends it when rejected, cancelled or closed in the tool, with the tool's reason made visible and bounded", () => {
    const rejected = changeVerdict(rule, ref, { state: '-5', approval: 'rejected', reason: 'CAB:\u202e no\n' + 'x'.repeat(1000) }, at('2026-01-01T10:00:00Z'));
    expect(rejected).toMatchObject({ go: false, ended: true });
    expect(rejected.why).toContain('CHG0030001 was rejected: CAB:\\u202e no\\n');
    expect(rejected.why.length).toBeLessThan(400);
    expect(changeVerdict(rule, ref, { state: '4', approval: 'approved', reason: 'moved' }, at('2026-01-01T10:00:00Z'))).toMatchObject({
      ended: true,
      why: expect.stringContaining('cancelled'),
    });
    expect(changeVerdict(rule, ref, { state: '3' }, at('2026-01-01T10:00:00Z'))).toMatchObject({ ended: true, why: expect.stringContaining('closed') });
  });

  it('looks again with a backoff (1, 2, 4 … minutes, at most 30), or when the window opens if that is sooner: never a poll per minute', () => {
    const now = at('2026-01-01T10:00:00Z');
    const minutes = [0, 1, 2, 3, 4, 5, 6, 40].map((looks) => (nextCheck(now, looks).getTime() - now.getTime()) / 60_000);
    expect(minutes).toEqual([1, 2, 4, 8, 16, 30, 30, 30]);
    expect(nextCheck(now, 5, at('2026-01-01T10:03:00Z'))).toEqual(at('2026-01-01T10:03:00Z'));
    expect(nextCheck(now, 0, at('2026-01-01T12:00:00Z'))).toEqual(at('2026-01-01T10:01:00Z'));
  });

  it('checks a rule field by field, each issue naming its field', () => {
    const url = (u: string) => checkTenantUrl(u, { allowLoopback: false });
    const ok = checkChangeControl({ provider: 'servicenow', instanceUrl: 'https://acme.service-now.com' }, url);
    expect(ok).toMatchObject({ issues: [], provider: 'servicenow', type: 'normal', approvedStates: ['-2', '-1'] });
    const bad = checkChangeControl(
      {
        provider: 'remedy',
        instanceUrl: 'http://acme.service-now.com',
        type: 'emergency',
        approvedStates: ['-2', 'Approved', '4'],
        credentials: { basic: { user: 'u' } },
      },
      url,
    );
    expect(bad.issues.map((i) => i.path)).toEqual(['body.provider', 'body.instanceUrl', 'body.type', 'body.credentials']);
    const states = checkChangeControl({ provider: 'servicenow', instanceUrl: 'https://a.service-now.com', approvedStates: ['-2', 'Approved', '4'] }, url);
    expect(states.issues.map((i) => i.path)).toEqual(['body.approvedStates.1', 'body.approvedStates.2']);
    expect(checkChangeControl({ provider: 'servicenow', instanceUrl: 'https://a.service-now.com', type: 'standard' }, url).issues).toEqual([
      { path: 'body.template', message: expect.stringContaining('needs its template') },
    ]);
    expect(
      checkChangeControl({ provider: 'servicenow', instanceUrl: 'https://a.service-now.com', credentials: { bearer: { token: 't' } } }, url).credentials,
    ).toEqual({
      bearer: { token: 't' },
    });
  });
});

describe('change control in Jira Service Management: the rule and what a request says (domain/change/rule.ts)', () => {
  const url = (u: string) => checkTenantUrl(u, { allowLoopback: false });
  const site = 'https://acme.atlassian.net';
  const jiraRef: ChangeRef = { provider: 'jira', id: '10001', number: 'ITSM-1', url: `${site}/browse/ITSM-1` };

  it('takes the site as instanceUrl, the approved statuses as approvedStates (JSM defaults), and the service desk and request type', () => {
    const ok = checkChangeControl({ provider: 'jira', instanceUrl: site, jira: { serviceDeskId: '4', requestTypeId: '42' } }, url);
    expect(ok.issues).toEqual([]);
    expect(ok).toMatchObject({ provider: 'jira', type: 'normal', approvedStates: ['Awaiting implementation', 'Implementing'] });
    expect(ok.jira).toEqual({
      serviceDeskId: '4',
      requestTypeId: '42',
      rejectedStatuses: ['Declined'],
      cancelledStatuses: ['Canceled', 'Cancelled'],
      closeSuccessful: 'Completed',
      closeUnsuccessful: 'Failed',
    });
    const own = checkChangeControl(
      {
        provider: 'jira',
        instanceUrl: site,
        approvedStates: ['Ready'],
        jira: {
          serviceDeskId: '4',
          requestTypeId: '42',
          plannedStartField: 'customfield_10041',
          plannedEndField: 'customfield_10042',
          closeSuccessful: 'Done',
        },
        credentials: { basic: { user: 'bot@acme.example', password: 'atl-1' } },
      },
      url,
    );
    expect(own.issues).toEqual([]);
    expect(own.approvedStates).toEqual(['Ready']);
    expect(own.jira).toMatchObject({ plannedStartField: 'customfield_10041', plannedEndField: 'customfield_10042', closeSuccessful: 'Done' });
  });

  it('names every field it refuses: body.jira.<field>, body.instanceUrl, body.approvedStates.<i>, type and template, the credential', () => {
    const paths = (body: Record<string, unknown>) =>
      checkChangeControl({ provider: 'jira', instanceUrl: site, ...body } as never, url).issues.map((i) => i.path);
    expect(paths({})).toEqual(['body.jira']);
    expect(paths({ jira: { serviceDeskId: 'desk', requestTypeId: '42' } })).toEqual(['body.jira.serviceDeskId']);
    expect(paths({ jira: { serviceDeskId: '4' } })).toEqual(['body.jira.requestTypeId']);
    expect(paths({ jira: { serviceDeskId: '4', requestTypeId: '42', plannedStartField: 'customfield_1' } })).toEqual(['body.jira.plannedEndField']);
    expect(paths({ jira: { serviceDeskId: '4', requestTypeId: '42', plannedStartField: 'Planned start', plannedEndField: 'customfield_2' } })).toEqual([
      'body.jira.plannedStartField',
    ]);
    expect(paths({ jira: { serviceDeskId: '4', requestTypeId: '42', colour: 'red' } })).toEqual(['body.jira']);
    expect(paths({ jira: { serviceDeskId: '4', requestTypeId: '42', site } })).toEqual(['body.jira.site']);
    // A status in two lists: named where the second list holds it, the message naming the other as the body spells it.
    const twice = checkChangeControl(
      { provider: 'jira', instanceUrl: site, approvedStates: ['Implementing', 'Declined'], jira: { serviceDeskId: '4', requestTypeId: '42' } },
      url,
    );
    expect(twice.issues).toEqual([{ path: 'body.jira.rejectedStatuses.0', message: '"Declined" is also in approvedStates: a status can mean only one thing' }]);
    expect(paths({ jira: { serviceDeskId: '4', requestTypeId: '42' }, approvedStates: ['Implementing', ' '] })).toEqual(['body.approvedStates.1']);
    expect(paths({ jira: { serviceDeskId: '4', requestTypeId: '42' }, instanceUrl: 'http://acme.atlassian.net' })).toEqual(['body.instanceUrl']);
    expect(paths({ jira: { serviceDeskId: '4', requestTypeId: '42' }, instanceUrl: 'https://acme.atlassian.net/?x=1' })).toEqual(['body.instanceUrl']);
    const standard = checkChangeControl(
      { provider: 'jira', instanceUrl: site, type: 'standard', template: 'x', jira: { serviceDeskId: '4', requestTypeId: '42' } },
      url,
    );
    expect(standard.issues).toEqual([{ path: 'body.type', message: expect.stringMatching(/Jira.*request type/) }]);
    const template = checkChangeControl({ provider: 'jira', instanceUrl: site, template: 'x', jira: { serviceDeskId: '4', requestTypeId: '42' } }, url);
    expect(template.issues).toEqual([{ path: 'body.template', message: expect.stringMatching(/Jira/) }]);
    expect(paths({ jira: { serviceDeskId: '4', requestTypeId: '42' }, credentials: { basic: { user: 'not-an-email', password: 'x' } } })).toEqual([
      'body.credentials.basic.user',
    ]);
    // A ServiceNow rule carries no jira object.
    expect(checkChangeControl({ provider: 'servicenow', instanceUrl: 'https://a.service-now.com', jira: { serviceDeskId: '4' } } as never, url).issues).toEqual(
      [{ path: 'body.jira', message: expect.stringContaining('only a Jira rule') }],
    );
  });

  it('maps the credential onto what Jira takes: an account email and API token, or a bearer token', () => {
    expect(jiraCredentialOf({ basic: { user: 'bot@acme.example', password: 'atl-1' } })).toEqual({ email: 'bot@acme.example', apiToken: 'atl-1' });
    expect(jiraCredentialOf({ bearer: { token: 'pat-1' } })).toEqual({ bearerToken: 'pat-1' });
    expect(() => jiraCredentialOf({ basic: { user: 'bot', password: 'atl-1' } })).toThrow(/email/);
  });

  it('a declined request ends the promotion REJECTED ("was declined"), a cancelled one too ("was cancelled"), with the tool reason', () => {
    const checked = checkChangeControl({ provider: 'jira', instanceUrl: site, jira: { serviceDeskId: '4', requestTypeId: '42' } }, url);
    const jiraRule = { provider: 'jira' as const, approvedStates: checked.approvedStates, jira: checked.jira };
    const now = at('2026-01-01T10:00:00Z');
    expect(changeVerdict(jiraRule, jiraRef, { state: 'Awaiting approval', approval: 'pending' }, now)).toMatchObject({ go: false, ended: false });
    const declined = changeVerdict(jiraRule, jiraRef, { state: 'Declined', approval: 'declined', reason: 'Clashes with the freeze' }, now);
    expect(declined).toEqual({ go: false, ended: true, why: 'change request ITSM-1 was declined: Clashes with the freeze' });
    // Declined in the approval step while the status has not moved yet: declined too.
    expect(changeVerdict(jiraRule, jiraRef, { state: 'Awaiting approval', approval: 'declined' }, now)).toMatchObject({
      ended: true,
      why: expect.stringContaining('was declined'),
    });
    const cancelled = changeVerdict(jiraRule, jiraRef, { state: 'Canceled', reason: 'Moved to next week' }, now);
    expect(cancelled).toEqual({ go: false, ended: true, why: 'change request ITSM-1 was cancelled: Moved to next week' });
    // A site whose workflow names its statuses otherwise: the rule's own lists.
    const own = { ...jiraRule, jira: { ...checked.jira!, rejectedStatuses: ['Refused'], cancelledStatuses: ['Withdrawn'] } };
    expect(changeVerdict(own, jiraRef, { state: 'refused' }, now)).toMatchObject({ ended: true, why: expect.stringContaining('was declined') });
    expect(changeVerdict(own, jiraRef, { state: 'Withdrawn' }, now)).toMatchObject({ ended: true, why: expect.stringContaining('was cancelled') });
    expect(changeVerdict(own, jiraRef, { state: 'Declined' }, now)).toMatchObject({ go: false, ended: false });
  });

  it('approved statuses and the planned window decide as for ServiceNow', () => {
    const jiraRule = { provider: 'jira' as const, approvedStates: ['Awaiting implementation', 'Implementing'], jira: undefined };
    const window = { start: '2026-01-01T12:00:00.000Z', end: '2026-01-01T14:00:00.000Z' };
    expect(changeVerdict(jiraRule, jiraRef, { state: 'awaiting implementation', approval: 'approved' }, at('2026-01-01T10:00:00Z'))).toMatchObject({
      go: true,
    });
    expect(changeVerdict(jiraRule, jiraRef, { state: 'Implementing', approval: 'approved', window }, at('2026-01-01T11:00:00Z'))).toMatchObject({
      go: false,
      ended: false,
      opensAt: at(window.start),
    });
    expect(changeVerdict(jiraRule, jiraRef, { state: 'Implementing', approval: 'approved', window }, at('2026-01-01T12:30:00Z'))).toMatchObject({ go: true });
    expect(changeVerdict(jiraRule, jiraRef, { state: 'Implementing', approval: 'approved', window }, at('2026-01-01T14:30:00Z'))).toMatchObject({
      go: false,
      ended: false,
    });
    expect(changeVerdict(jiraRule, jiraRef, { state: 'Planning' }, at('2026-01-01T12:30:00Z'))).toMatchObject({ go: false, ended: false });
  });

  it("takes as the promotion's own only the oldest request carrying its token that the integration user opened (or the tool cannot say who did)", () => {
    const bound = 'prm_1.Zk3q9v0Rk2mW1xYtQ8bN4A';
    const found = (n: number, correlation: string | null, byIntegrationUser: boolean | null, createdBy: string | null = null): ChangeFound => ({
      ref: { ...ref, id: `id${n}`, number: `CHG00${n}` },
      correlation,
      createdBy,
      byIntegrationUser,
    });
    const spoof = found(1, 'prm_1', false, 'mallory');
    const copy = found(2, bound, false, 'mallory');
    const mine = found(3, bound, true, 'stageline.integration');
    const again = found(4, bound, true, 'stageline.integration');
    const unknown = found(5, bound, null);
    const bareByUs = found(6, 'prm_1', true, 'stageline.integration');
    const otherCase = found(7, null, true, 'stageline.integration');
    expect(trustFound([copy, mine, again, spoof, bareByUs, otherCase], bound)).toEqual({ own: mine, foreign: [copy, spoof, bareByUs, otherCase] });
    // A bearer token's user is not known: the token alone binds.
    expect(trustFound([unknown], bound)).toEqual({ own: unknown, foreign: [] });
    expect(trustFound([spoof, copy], bound)).toEqual({ own: null, foreign: [spoof, copy] });
    expect(trustFound([], bound)).toEqual({ own: null, foreign: [] });
    expect(foreignText(spoof, bound)).toBe("CHG001 (id id1): it does not carry the promotion's correlation token");
    expect(foreignText(copy, bound)).toBe('CHG002 (id id2): it was opened by mallory, not by the integration user');
    expect(foreignText({ ...copy, createdBy: 'x\u0000y'.repeat(100) }, bound).length).toBeLessThan(200);
  });
});
