import { describe, expect, it } from 'vitest';
import { changeVerdict, checkChangeControl, nextCheck } from '#domain/change/rule';
import { checkTenantUrl } from '#domain/kernel/url-policy';
import type { ChangeRef } from '#domain/change/ports';

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
