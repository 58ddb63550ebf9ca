import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveIfAsked, requestedNotStarted, validatedAndHeld, waitFor } from '../support/promotions.ts';
import { startServiceNowStandin, type ServiceNowStandin } from '../support/servicenow-standin.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';
import { productionLine } from '../support/line.ts';
import { LocalWorkflow } from '../../local/workflow.ts';
import { DynamoStore } from '../../functions/adapters/store/on-first-use.ts';
import { documentClient } from '../../functions/adapters/store/base.ts';
import type { ChangeRecord } from '../../domain/kernel/promotion-model.ts';

let t: TestStack;
let sn: ServiceNowStandin;
const cred = { user: 'stageline.integration', password: 'pw-0f9c3e' };
beforeAll(async () => {
  t = await startTestStack();
  sn = await startServiceNowStandin(cred);
});
afterAll(async () => {
  await sn?.stop();
  await t?.stop();
});

type Users = Awaited<ReturnType<TestStack['users']>>;

/** The stack's table read (and, for a promotion written before correlation tokens, rewritten) as a function's store does. */
const storeOf = () =>
  new DynamoStore(
    documentClient({ endpoint: t.stack.dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
    t.stack.tableName,
  );

/** The promotion's audit entries. */
const auditOf = async (u: Users, id: string) => (await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${id}`, { token: u.viewer })).body.items;

async function until(ok: () => Promise<boolean> | boolean, what: string, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`${what}: never, within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A line whose staging runs a release, and production under change control in the ServiceNow stand-in. */
async function changeControlledLine(): Promise<{ u: Users; tenant: string }> {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  const rule = await t.call('PUT', '/api/v1/environments/production/change-control', {
    token: u.admin,
    body: { provider: 'servicenow', instanceUrl: sn.url, credentials: { basic: cred } },
  });
  expect(rule.status, JSON.stringify(rule.body)).toBe(200);
  await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
  const s = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
  expect((await waitFor(t, u.viewer, s.body.id, ['COMPLETED', 'FAILED', 'CANCELLED'])).status).toBe('COMPLETED');
  return { u, tenant };
}

/** Requests staging → production and waits until it is held for its change request (approved in Stageline first when asked). */
async function heldForChange(u: Users) {
  const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  await approveIfAsked(t, u, p.body.id, ['SCHEDULED', 'COMPLETED', 'FAILED', 'REJECTED']);
  const held = await waitFor(t, u.viewer, p.body.id, ['SCHEDULED', 'COMPLETED', 'FAILED', 'CANCELLED', 'REJECTED']);
  return held;
}

describe('change requests: a promotion into a change-controlled environment waits for its ServiceNow change request', () => {
  it('the rule: saved (credential sealed, never shown, kept by a body without it), and bad input named field by field (never a 500)', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    const url = '/api/v1/environments/production/change-control';
    expect((await t.call('GET', url, { token: u.viewer })).status).toBe(404);
    const put = await t.call('PUT', url, { token: u.admin, body: { provider: 'servicenow', instanceUrl: sn.url, credentials: { basic: cred } } });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({ provider: 'servicenow', type: 'normal', approvedStates: ['-2', '-1'], credentialKind: 'basic', template: null });
    expect(JSON.stringify(put.body)).not.toContain(cred.password);
    // What GET answered, sent back as it is: the credential stays.
    const got = await t.call('GET', url, { token: u.viewer });
    const again = await t.call('PUT', url, { token: u.admin, body: { ...got.body, approvedStates: ['-1'] } });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toMatchObject({ approvedStates: ['-1'], credentialKind: 'basic' });
    const env = await t.call('GET', '/api/v1/environments/production', { token: u.viewer });
    expect(JSON.stringify(env.body)).not.toContain(cred.password);

    const bad = async (body: Record<string, unknown>, status: number, field: string, says: RegExp) => {
      const r = await t.call('PUT', url, { token: u.admin, body: { provider: 'servicenow', instanceUrl: sn.url, ...body } });
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      expect(JSON.stringify(r.body)).toContain(field.replace(/^body\./, ''));
      expect(JSON.stringify(r.body)).toMatch(says);
    };
    await bad({ provider: 'remedy' }, 400, 'body.provider', /unknown provider 'remedy': use servicenow or jira/);
    await bad({ approvedStates: ['-2', 'Approved'] }, 400, 'body.approvedStates.1', /unknown state 'Approved'/);
    await bad({ approvedStates: ['4'] }, 400, 'body.approvedStates.0', /ends a request/);
    await bad({ instanceUrl: 'not a url' }, 400, 'body.instanceUrl', /not a valid URL/);
    await bad({ instanceUrl: 'https://10.0.0.8' }, 400, 'body.instanceUrl', /private/);
    await bad({ type: 'emergency' }, 400, 'body.type', /unknown type 'emergency'/);
    await bad({ type: 'standard' }, 400, 'body.template', /needs its template/);
    await bad({ credentials: { basic: { user: 'x' } } }, 400, 'body.credentials', /basic/);
    // A template that does not exist: ServiceNow's answer, said plainly, at save.
    await bad({ type: 'standard', template: 'No such template' }, 400, 'body.template', /no standard change template 'No such template'/);
    // Jira is wired in: a Jira rule needs its service desk and request type (test/integration/change-requests-jira.test.ts).
    await bad({ provider: 'jira' }, 400, 'body.jira', /service desk and request type/);
    // A standard template that exists (by name) is taken.
    const std = await t.call('PUT', url, {
      token: u.admin,
      body: { provider: 'servicenow', instanceUrl: sn.url, type: 'standard', template: sn.templates[0]!.name },
    });
    expect(std.status, JSON.stringify(std.body)).toBe(200);
    expect(std.body).toMatchObject({ type: 'standard', template: sn.templates[0]!.name, credentialKind: 'basic' });
    expect((await t.call('DELETE', url, { token: u.admin })).status).toBe(204);
    expect((await t.call('GET', url, { token: u.viewer })).status).toBe(404);
  });

  it('waits for approval and for the planned window (not before it), executes inside it, notes its start and end and closes the request successful', async () => {
    const { u, tenant } = await changeControlledLine();
    const held = await heldForChange(u);
    expect(held.status).toBe('SCHEDULED');
    expect(held.heldBy).toMatchObject({ change: { number: expect.stringMatching(/^CHG/) }, reason: expect.stringContaining('not approved yet') });
    const [req] = sn.byPromotion(held.id);
    expect(sn.byPromotion(held.id)).toHaveLength(1);
    expect(held.changeRequest).toMatchObject({
      provider: 'servicenow',
      number: req!.number,
      url: expect.stringContaining(req!.sys_id),
      digest: held.releaseDigest,
    });
    // What the board reads: the release, its digest, the gates' verdicts and the decision record.
    expect(req!.short_description).toContain('production');
    expect(req!.description).toContain(held.releaseDigest);
    expect(req!.description).toContain(`/api/v1/promotions/${held.id}/decision`);
    expect(req!.description).toMatch(/Gates:/);
    // The pipeline (the status overview) names it beside the waiting promotion.
    const pending = (await t.call('GET', '/api/v1/status', { token: u.viewer })).body.pending.find((x: any) => x.id === held.id);
    expect(pending.changeRequest).toEqual({ number: req!.number, url: held.changeRequest.url, state: expect.any(String) });
    expect(pending.why).toContain(req!.number);
    const audit = async () => (await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${held.id}`, { token: u.viewer })).body.items;
    expect((await audit()).some((e: any) => e.action === 'promotion.change.open' && e.reason.includes(req!.number))).toBe(true);

    // However long the board takes, the flow stays parked: three looks of its schedule (1, 2, 4 minutes apart) add no transition.
    const transitions = () => t.stack.workflow.transitions(LocalWorkflow.executionId({ tenant, promotionId: held.id }));
    const parked = transitions();
    expect(parked).toBeGreaterThan(0);
    expect(parked).toBeLessThanOrEqual(4); // Decide, Route, Execute (held), AwaitGo
    for (let look = 1; look <= 3; look++) {
      const cur = (await t.call('GET', `/api/v1/promotions/${held.id}`, { token: u.viewer })).body;
      t.stack.clock.advanceTo(Date.parse(cur.heldBy.until) + 1000);
      await until(
        async () => (await t.call('GET', `/api/v1/promotions/${held.id}`, { token: u.viewer })).body.heldBy?.until !== cur.heldBy.until,
        `look ${look}`,
      );
    }
    expect(transitions()).toBe(parked);
    console.log(`change-controlled promotion: ${parked} state transitions while it waits (after 3 looks)`);
    // Approved for a window an hour from now: a look now does not let it go.
    const now = t.stack.clock.date().getTime();
    sn.approve(req!.number, { start: new Date(now + 3600_000), end: new Date(now + 7200_000) });
    const check = await t.call('POST', `/api/v1/promotions/${held.id}/change-request/check`, { token: u.deployer, body: {} });
    expect(check.status, JSON.stringify(check.body)).toBe(200);
    await until(
      async () => (await t.call('GET', `/api/v1/promotions/${held.id}`, { token: u.viewer })).body.heldBy?.reason.includes('window has not opened'),
      'the window is seen',
    );
    const waiting = (await t.call('GET', `/api/v1/promotions/${held.id}`, { token: u.viewer })).body;
    expect(waiting.status).toBe('SCHEDULED');
    // The next look is when the window opens, not a minute later and again.
    expect(Date.parse(waiting.heldBy.until)).toBeLessThanOrEqual(now + 3600_000);
    expect(sn.byPromotion(held.id)[0]!.notes).toEqual([]);

    // The window opens: it executes, noted and closed.
    t.stack.clock.advanceTo(now + 3600_000 + 1000);
    const done = await waitFor(t, u.viewer, held.id, ['COMPLETED', 'FAILED', 'CANCELLED', 'REJECTED'], 90_000);
    expect(done.status).toBe('COMPLETED');
    await until(() => sn.byPromotion(held.id)[0]!.state === '3', 'the request is closed');
    const closed = sn.byPromotion(held.id)[0]!;
    expect(closed.close_code).toBe('successful');
    expect(closed.notes.some((n) => n.includes('starts executing'))).toBe(true);
    expect(closed.notes.some((n) => n.includes('completed'))).toBe(true);
    expect(sn.byPromotion(held.id)).toHaveLength(1);
    await until(
      async () => (await t.call('GET', `/api/v1/promotions/${held.id}`, { token: u.viewer })).body.changeRequest?.closed === 'successful',
      'closed on the promotion',
    );
    const after = (await t.call('GET', `/api/v1/promotions/${held.id}`, { token: u.viewer })).body;
    expect(after.changeRequest).toMatchObject({ number: closed.number, closed: 'successful' });
    expect((await audit()).some((e: any) => e.action === 'promotion.change.close')).toBe(true);
    expect(sn.violations).toEqual([]);
  });

  it("a request rejected in ServiceNow ends the promotion REJECTED with the tool's reason; nothing changes in production", async () => {
    const { u } = await changeControlledLine();
    const held = await heldForChange(u);
    expect(held.status).toBe('SCHEDULED');
    const [req] = sn.byPromotion(held.id);
    sn.reject(req!.number, 'Overlaps the quarter-end freeze agreed by the CAB');
    expect((await t.call('POST', `/api/v1/promotions/${held.id}/change-request/check`, { token: u.deployer, body: {} })).status).toBe(200);
    const ended = await waitFor(t, u.viewer, held.id, ['REJECTED', 'COMPLETED', 'FAILED', 'CANCELLED'], 90_000);
    expect(ended.status).toBe('REJECTED');
    expect(ended.rejection.reason).toContain('Overlaps the quarter-end freeze agreed by the CAB');
    expect(ended.rejection.reason).toContain(req!.number);
    const prod = await t.call('GET', '/api/v1/environments/production/configs', { token: u.viewer });
    expect(JSON.stringify(prod.body)).not.toContain('feature.x');
    expect(sn.violations).toEqual([]);
  });

  it('a create whose answer was lost is found again by its correlation token, a copy someone else made is refused: one request, never two', async () => {
    const { u, tenant } = await changeControlledLine();
    const id = await requestedNotStarted(t, u);
    sn.loseNextCreate();
    const before = sn.creates;
    const v = await t.call('POST', `/api/v1/promotions/${id}/validate`, { token: u.deployer });
    expect(v.status, JSON.stringify(v.body)).toBeLessThan(300);
    // The gates' look sent the create; ServiceNow made the record and its answer was lost.
    await until(() => sn.creates - before === 1, 'the create was sent');
    await waitFor(t, u.viewer, id, ['AWAITING_APPROVAL', 'SCHEDULED', 'FAILED']);
    const [lost] = sn.byPromotion(id);
    // The promotion kept a token of its own before it asked (128 bits, base64url), and the record carries it.
    const token = (await storeOf().getPromotion(tenant, id))!.changeRequest!.token;
    expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(lost!.correlation_id).toBe(`${id}.${token}`);
    expect(lost!.sys_created_by).toBe(cred.user);
    // Someone who can read it copies it with their own account, the same correlation value, dated before it (found first).
    const copy = sn.plant(
      { correlation_id: lost!.correlation_id, state: '-2', approval: 'approved' },
      'mallory',
      new Date(Date.parse(`${lost!.sys_created_on.replace(' ', 'T')}Z`) - 60_000),
    );
    await approveIfAsked(t, u, id, ['SCHEDULED', 'COMPLETED', 'FAILED', 'REJECTED']);
    const held = await waitFor(t, u.viewer, id, ['SCHEDULED', 'COMPLETED', 'FAILED', 'CANCELLED', 'REJECTED']);
    expect(held.status).toBe('SCHEDULED');
    await until(async () => !!(await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body.changeRequest?.number, 'the request is found');
    expect(sn.creates - before).toBe(1);
    expect(sn.byPromotion(id).filter((r) => r.sys_created_by === cred.user)).toHaveLength(1);
    const p = (await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body;
    expect(p.changeRequest.number).toBe(lost!.number);
    // It was found by the value that holds the token, and its creator was checked: the copy is refused, audited, never written to.
    expect(sn.queries.some((q) => q.includes(`correlation_id=${id}.${token}`))).toBe(true);
    const audit = await auditOf(u, id);
    const refused = audit.filter((e: any) => e.action === 'promotion.change.spoof');
    expect(refused).toHaveLength(1);
    expect(refused[0].reason).toContain(copy.number);
    expect(refused[0].reason).toContain('mallory');
    expect(copy.notes).toEqual([]);
    // The token is never shown nor audited.
    expect(JSON.stringify(p)).not.toContain(token);
    expect(JSON.stringify(audit)).not.toContain(token!);
    expect(sn.violations).toEqual([]);
  });

  it('an approved change request someone else opened under the promotion id is not adopted: Stageline opens its own, and the spoof is audited', async () => {
    const { u } = await changeControlledLine();
    const id = await requestedNotStarted(t, u);
    // Someone with their own ServiceNow account opens an approved change carrying the promotion's id, before its gates run.
    const spoof = sn.plant({ short_description: 'Promote to production', correlation_id: id, state: '-2', approval: 'approved' }, 'mallory');
    const held = await validatedAndHeld(t, u, id);
    // Not adopted: the promotion waits for a request of its own, which the board has not approved; production is untouched.
    expect(held.status).toBe('SCHEDULED');
    const own = sn.byPromotion(id).filter((r) => r.sys_id !== spoof.sys_id);
    expect(own).toHaveLength(1);
    expect(own[0]!.sys_created_by).toBe(cred.user);
    expect(held.changeRequest.number).toBe(own[0]!.number);
    expect(held.heldBy.change.number).toBe(own[0]!.number);
    const prod = await t.call('GET', '/api/v1/environments/production/configs', { token: u.viewer });
    expect(JSON.stringify(prod.body)).not.toContain('feature.x');
    // The foreign record is never written to; the attempt is audited once, naming it (and never a credential).
    expect(spoof).toMatchObject({ state: '-2', close_code: '', notes: [] });
    const audit = await auditOf(u, id);
    const refused = audit.filter((e: any) => e.action === 'promotion.change.spoof');
    expect(refused).toHaveLength(1);
    expect(refused[0].reason).toContain(spoof.number);
    expect(refused[0].reason).toContain(spoof.sys_id);
    expect(JSON.stringify(audit)).not.toContain(cred.password);
    expect(sn.violations).toEqual([]);
  });

  it('a promotion written before correlation tokens is still read: one whose create answer was lost opens its own (a record under its bare id is not adopted), one with its request goes on with it', async () => {
    const { u, tenant } = await changeControlledLine();
    const held = await heldForChange(u);
    expect(held.status).toBe('SCHEDULED');
    const [first] = sn.byPromotion(held.id);
    const store = storeOf();
    /** Rewrites the promotion's change record as an earlier version wrote it: no token. */
    const asBefore = async (change: (r: ChangeRecord) => ChangeRecord) => {
      const cur = (await store.getPromotion(tenant, held.id))!;
      const { token: _token, ...old } = cur.changeRequest! as ChangeRecord & { token?: string };
      await store.commit(tenant, [
        { kind: 'promotion', promotion: { ...cur, changeRequest: change(old as ChangeRecord), version: cur.version + 1 }, expectedVersion: cur.version },
      ]);
    };
    // Claimed by an earlier version an hour ago, its create's answer lost; that version's record carries the bare promotion id.
    const bare = sn.plant({ correlation_id: held.id }, cred.user);
    await asBefore((r) => ({ ...r, ref: null, state: null, claimedAt: new Date(t.stack.clock.date().getTime() - 3600_000).toISOString() }));
    expect((await t.call('GET', `/api/v1/promotions/${held.id}`, { token: u.viewer })).status).toBe(200);
    expect((await t.call('POST', `/api/v1/promotions/${held.id}/change-request/check`, { token: u.deployer, body: {} })).status).toBe(200);
    await until(async () => !!(await t.call('GET', `/api/v1/promotions/${held.id}`, { token: u.viewer })).body.changeRequest?.number, 'a request is bound');
    const bound = (await t.call('GET', `/api/v1/promotions/${held.id}`, { token: u.viewer })).body.changeRequest.number;
    expect(bound).not.toBe(bare.number);
    expect(bound).not.toBe(first!.number);
    const audit = await auditOf(u, held.id);
    expect(audit.filter((e: any) => e.action === 'promotion.change.spoof').map((e: any) => e.reason)).toEqual([expect.stringContaining(bare.number)]);
    // Written before tokens with its request bound: it goes on with that request.
    await asBefore((r) => r);
    sn.approve(bound);
    expect((await t.call('POST', `/api/v1/promotions/${held.id}/change-request/check`, { token: u.deployer, body: {} })).status).toBe(200);
    const done = await waitFor(t, u.viewer, held.id, ['COMPLETED', 'FAILED', 'CANCELLED', 'REJECTED'], 90_000);
    expect(done.status).toBe('COMPLETED');
    await until(() => sn.records.find((r) => r.number === bound)!.state === '3', 'its request is closed');
    expect(bare.state).toBe('-5');
    expect(sn.violations).toEqual([]);
  });

  it('a promotion rolled back while it bakes (an alarm of its monitors) closes its request unsuccessful, with a note saying why', async () => {
    const { u, tenant } = await changeControlledLine();
    const alarm = `arn:aws:cloudwatch:us-east-1:000000000000:alarm:${tenant}/p99`;
    const prod = await t.call('GET', '/api/v1/environments/production', { token: u.viewer });
    const set = await t.call('PATCH', '/api/v1/environments/production', {
      token: u.admin,
      body: { version: prod.body.version, bakeSeconds: 600, monitors: [alarm] },
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    const held = await heldForChange(u);
    const [req] = sn.byPromotion(held.id);
    sn.approve(req!.number);
    expect((await t.call('POST', `/api/v1/promotions/${held.id}/change-request/check`, { token: u.deployer, body: {} })).status).toBe(200);
    await waitFor(t, u.viewer, held.id, ['EXECUTING', 'COMPLETED', 'FAILED', 'REJECTED'], 30_000);
    await until(async () => !!(await t.call('GET', `/api/v1/promotions/${held.id}`, { token: u.viewer })).body.result, 'the target changed');
    expect(sn.byPromotion(held.id)[0]!.notes.some((n) => n.includes('starts executing'))).toBe(true);
    const event = {
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm State Change',
      account: '000000000000',
      region: 'us-east-1',
      time: t.stack.clock.date().toISOString(),
      resources: [alarm],
      detail: {
        alarmName: `${tenant}/p99`,
        state: { value: 'ALARM', reason: 'p99 above 800 ms', timestamp: t.stack.clock.date().toISOString() },
        previousState: { value: 'OK' },
      },
    };
    expect((await t.call('POST', '/dev/events', { body: event })).status).toBe(202);
    const done = await waitFor(t, u.viewer, held.id, ['ROLLED_BACK', 'FAILED', 'COMPLETED'], 30_000);
    expect(done.status).toBe('ROLLED_BACK');
    await until(() => sn.byPromotion(held.id)[0]!.state === '3', 'the request is closed');
    const closed = sn.byPromotion(held.id)[0]!;
    expect(closed.close_code).toBe('unsuccessful');
    expect(closed.close_notes).toContain('ROLLED_BACK');
    expect(sn.byPromotion(held.id)).toHaveLength(1);
    expect(sn.violations).toEqual([]);
  });

  it('is opened as soon as the gates pass (the board and the approvers decide side by side); a rebase voids it (noted, cancelled) and opens a new one for the new digest', async () => {
    const { u } = await changeControlledLine();
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
    const waiting = await waitFor(t, u.viewer, p.body.id, ['AWAITING_APPROVAL', 'APPROVED', 'SCHEDULED', 'FAILED']);
    expect(waiting.status).toBe('AWAITING_APPROVAL');
    await until(
      async () => !!(await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body.changeRequest?.number,
      'opened with the gates',
    );
    const [first] = sn.byPromotion(p.body.id);
    expect(first!.description).toContain(waiting.releaseDigest);
    // staging moves on: the promotion is rebased onto it (a new release digest).
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.y', value: 1 } });
    const s2 = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    expect((await waitFor(t, u.viewer, s2.body.id, ['COMPLETED', 'FAILED', 'CANCELLED'])).status).toBe('COMPLETED');
    const rebased = await t.call('POST', `/api/v1/promotions/${p.body.id}/rebase`, { token: u.deployer, body: {} });
    expect(rebased.status, JSON.stringify(rebased.body)).toBe(200);
    expect(rebased.body.releaseDigest).not.toBe(waiting.releaseDigest);
    expect(rebased.body.changeRequest).toMatchObject({
      digest: rebased.body.releaseDigest,
      voided: [{ number: first!.number, digest: waiting.releaseDigest }],
    });
    expect(rebased.body.changeRequest.number).not.toBe(first!.number);
    // The old request: noted and cancelled; the new one names the new digest.
    expect(first!.state).toBe('4');
    expect(first!.notes.some((n) => n.includes('void'))).toBe(true);
    const second = sn.records.find((r) => r.number === rebased.body.changeRequest.number)!;
    expect(second.description).toContain(rebased.body.releaseDigest);
    // Their correlation values: the promotion's id, then `.1` for the request reopened after the first void, each with a token of its own.
    const [firstToken] = first!.correlation_id.match(/(?<=^[^.]+\.)[A-Za-z0-9_-]{22}$/) ?? [];
    expect(first!.correlation_id).toBe(`${p.body.id}.${firstToken}`);
    expect(second.correlation_id).toMatch(new RegExp(`^${p.body.id}\\.1\\.[A-Za-z0-9_-]{22}$`));
    expect(second.correlation_id).not.toContain(firstToken!);
    const audit = (await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${p.body.id}`, { token: u.viewer })).body.items;
    expect(audit.some((e: any) => e.action === 'promotion.change.void')).toBe(true);
    expect(sn.violations).toEqual([]);
  });

  it("a promotion rejected by Stageline's own approvers after its request was opened cancels the request in ServiceNow, with a note naming the rejection", async () => {
    const { u } = await changeControlledLine();
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
    const waiting = await waitFor(t, u.viewer, p.body.id, ['AWAITING_APPROVAL', 'APPROVED', 'SCHEDULED', 'FAILED']);
    expect(waiting.status).toBe('AWAITING_APPROVAL');
    await until(
      async () => !!(await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body.changeRequest?.number,
      'opened with the gates',
    );
    const [req] = sn.byPromotion(p.body.id);
    const rejected = await t.call('POST', `/api/v1/promotions/${p.body.id}/reject`, { token: u.approver, body: { reason: 'not before the audit' } });
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
    expect(rejected.body.status).toBe('REJECTED');
    await until(() => sn.byPromotion(p.body.id)[0]!.state === '4', 'the request is cancelled');
    expect(req!.notes.some((n) => n.includes('REJECTED') && n.includes('not before the audit'))).toBe(true);
    await until(
      async () => (await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body.changeRequest?.closed === 'cancelled',
      'recorded',
    );
    expect(sn.byPromotion(p.body.id)).toHaveLength(1);
    expect(sn.violations).toEqual([]);
  });

  it('a rollout (production with two targets in two waves) waits for its request as any promotion does: held, approved, rolled out, closed successful', async () => {
    const { u, tenant } = await productionLine(t, {
      bakeSeconds: 1,
      targets: [
        { name: 'canary', wave: 1 },
        { name: 'us-east-1', wave: 2 },
      ],
    });
    const rule = await t.call('PUT', '/api/v1/environments/production/change-control', {
      token: u.admin,
      body: { provider: 'servicenow', instanceUrl: sn.url, credentials: { basic: cred } },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(200);
    expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } })).status).toBe(201);
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    const id = p.body.id as string;
    await approveIfAsked(t, u, id, ['SCHEDULED', 'EXECUTING', 'COMPLETED', 'FAILED', 'REJECTED']);
    const held = await waitFor(t, u.viewer, id, ['SCHEDULED', 'EXECUTING', 'COMPLETED', 'FAILED', 'REJECTED']);
    // Held before the rollout starts: no wave started, no target changed.
    expect(held.status).toBe('SCHEDULED');
    expect(held.heldBy).toMatchObject({ change: { number: expect.stringMatching(/^CHG/) }, reason: expect.stringContaining('not approved yet') });
    expect(held.rollout).toMatchObject({ phase: 'NOT_STARTED', waves: [] });
    const [req] = sn.byPromotion(id);
    expect(req!.description).toContain(held.releaseDigest);
    // Its schedule looks again (the clock moved past its next look): still held, the flow still parked.
    const transitions = () => t.stack.workflow.transitions(LocalWorkflow.executionId({ tenant, promotionId: id }));
    const parked = transitions();
    t.stack.clock.advanceTo(Date.parse(held.heldBy.until) + 1000);
    await until(async () => (await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body.heldBy?.until !== held.heldBy.until, 'a look');
    expect((await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body.status).toBe('SCHEDULED');
    expect(transitions()).toBe(parked);

    sn.approve(req!.number);
    expect((await t.call('POST', `/api/v1/promotions/${id}/change-request/check`, { token: u.deployer, body: {} })).status).toBe(200);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED', 'ROLLED_BACK', 'REJECTED'], 60_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    expect(done.rollout.waves.map((w: any) => w.targets.map((x: any) => x.state))).toEqual([['DONE'], ['DONE']]);
    await until(() => sn.byPromotion(id)[0]!.state === '3', 'the request is closed');
    const closed = sn.byPromotion(id)[0]!;
    expect(closed.close_code).toBe('successful');
    expect(closed.notes.some((n) => n.includes('starts executing'))).toBe(true);
    expect(sn.byPromotion(id)).toHaveLength(1);
    expect(sn.violations).toEqual([]);
  }, 120_000);

  it('a promotion cancelled while it waits cancels its change request in ServiceNow, with a note', async () => {
    const { u } = await changeControlledLine();
    const held = await heldForChange(u);
    expect(held.status).toBe('SCHEDULED');
    const [req] = sn.byPromotion(held.id);
    const cancelled = await t.call('DELETE', `/api/v1/promotions/${held.id}?reason=${encodeURIComponent('superseded by the hotfix')}`, { token: u.deployer });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    await until(() => sn.byPromotion(held.id)[0]!.state === '4', 'the request is cancelled');
    expect(req!.notes.some((n) => n.includes('CANCELLED') && n.includes('superseded by the hotfix'))).toBe(true);
    await until(async () => (await t.call('GET', `/api/v1/promotions/${held.id}`, { token: u.viewer })).body.changeRequest?.closed === 'cancelled', 'recorded');
    expect(sn.violations).toEqual([]);
  });
});
