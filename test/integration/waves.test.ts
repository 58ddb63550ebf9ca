import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { targetVersion } from '../../domain/config/targets.ts';
import { DynamoStore, documentClient } from '../../functions/adapters/dynamo-store.ts';
import { LOCAL_REGION, localCredentials } from '../../local/dynamodb.ts';
import { LocalWorkflow } from '../../local/workflow.ts';
import { scheduleName } from '../../domain/promotion/run/schedule-name.ts';
import { approveIfAsked, waitFor } from '../support/promotions.ts';
import { lineTargets } from '../support/line.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());
const store = () =>
  new DynamoStore(documentClient({ endpoint: t.stack.dynamo.endpoint, region: LOCAL_REGION, credentials: localCredentials }), t.stack.tableName);

// The local stack's deployment: account 000000000000, region us-east-1 (local/stack.ts).
const arn = (name: string) => `arn:aws:cloudwatch:us-east-1:000000000000:alarm:${name}`;
const alarmEvent = (alarm: string, reason: string) => ({
  source: 'aws.cloudwatch',
  'detail-type': 'CloudWatch Alarm State Change',
  account: '000000000000',
  region: 'us-east-1',
  time: new Date().toISOString(),
  resources: [alarm],
  detail: { alarmName: alarm.split(':alarm:')[1], state: { value: 'ALARM', reason, timestamp: new Date().toISOString() }, previousState: { value: 'OK' } },
});

/** dev → production, production in 1 + 2 + 3 targets over three waves; the canary confirms by callback. */
async function line(opts: { wave2Bake?: number; canary?: 'callback' | 'immediate'; timeoutSeconds?: number; pauseBefore3?: boolean } = {}) {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin, ['dev']);
  const alarms = { canary: arn(`${tenant}/canary-5xx`), us: arn(`${tenant}/us-east-1-5xx`) };
  const created = await t.call('POST', '/api/v1/environments', {
    token: u.admin,
    body: {
      name: 'production',
      position: 1,
      bakeSeconds: 1,
      targets: [
        ...lineTargets((name) =>
          name === 'canary'
            ? {
                monitors: [alarms.canary],
                confirm: opts.canary === 'immediate' ? { mode: 'immediate' } : { mode: 'callback', timeoutSeconds: opts.timeoutSeconds ?? 600 },
              }
            : name === 'us-east-1'
              ? { monitors: [alarms.us] }
              : {},
        ),
      ],
      rollout: { maxParallel: 2, waves: [{ wave: 2, bakeSeconds: opts.wave2Bake ?? 1 }, ...(opts.pauseBefore3 ? [{ wave: 3, pause: true }] : [])] },
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } })).status).toBe(201);
  return { tenant, u, alarms };
}

/** Requests dev → production and approves it when the policy asks for an approver (production is the last, protected environment). */
async function promote(u: Awaited<ReturnType<TestStack['users']>>): Promise<string> {
  const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  const id = p.body.id as string;
  await approveIfAsked(t, u, id, ['EXECUTING', 'COMPLETED', 'APPROVED']);
  return id;
}

const detail = async (token: string, id: string) => (await t.call('GET', `/api/v1/promotions/${id}`, { token })).body;
const states = (d: any) => Object.fromEntries(d.rollout.waves.flatMap((w: any) => w.targets.map((x: any) => [x.name, x.state])));

/** The wave events of a promotion the outbox relayed to the bus, in order: "<type> <wave> <targets>". */
async function waveEvents(id: string) {
  await t.stack.stream.idle();
  const read = () =>
    t.stack.bus.published
      .filter((e) => e.detail.promotionId === id && /^Promotion Wave /.test(e['detail-type']))
      .map((e) => `${e['detail-type']} ${e.detail.wave} ${[...((e.detail.targets as string[]) ?? [])].sort().join(',')}`);
  return { read };
}

async function waitUntil(ok: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}

/** Polls the promotion until `ok` holds of it. */
async function until(token: string, id: string, ok: (d: any) => boolean, what: string, ms = 20_000) {
  const end = Date.now() + ms;
  for (;;) {
    const d = await detail(token, id);
    if (d.rollout && ok(d)) return d;
    if (Date.now() > end) throw new Error(`${what}: never; promotion is ${JSON.stringify(d.status)} ${JSON.stringify(d.rollout)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a rollout through targets in waves (local Step Functions on DynamoDB Local)', () => {
  it('runs 1 + 2 + 3 targets in three waves: the canary waits for its deployer’s callback, a wave-1 target reads the new release while wave 3 still reads the old, then every target and the environment have it', async () => {
    const { tenant, u } = await line();
    const opted = await t.call('PUT', '/api/v1/notifications', {
      token: u.admin,
      body: { email: { recipients: [`ops@${tenant}.test`], approvers: false }, events: ['completed', 'rolled-back', 'wave-started', 'wave-completed'] },
    });
    expect(opted.status, JSON.stringify(opted.body)).toBe(200);
    const before = (await t.call('GET', '/api/v1/environments/production', { token: u.viewer })).body.snapshot;
    const id = await promote(u);
    const waiting = await until(u.viewer, id, (d) => states(d).canary === 'CONFIRMING', 'the canary waits for its confirmation');
    expect(waiting.status).toBe('EXECUTING');
    expect(waiting.rollout).toMatchObject({ phase: 'ROLLING_OUT', wave: 1 });
    expect(states(waiting)).toEqual({
      canary: 'CONFIRMING',
      'us-east-1': 'PENDING',
      'eu-west-1': 'PENDING',
      'cell-1': 'PENDING',
      'cell-2': 'PENDING',
      'cell-3': 'PENDING',
    });
    expect(waiting.rollout.waves[0].targets[0].confirmation).toMatchObject({ mode: 'callback', deadline: expect.any(String), at: null });

    // What a reader of each target gets now: the canary the new release, the cells (wave 3) the old one.
    const env = (await store().getEnvironment(tenant, 'production'))!;
    const canary = await targetVersion(store(), env, 'canary', { kind: 'config' });
    const cell = await targetVersion(store(), env, 'cell-3', { kind: 'config' });
    expect(canary.own).toBe(true);
    expect(cell).toMatchObject({ own: false, snapshot: { seq: before.seq, digest: before.digest } });
    expect(canary.snapshot.digest).not.toBe(before.digest);

    // Bad confirmations: 404 for a target that is not the rollout's, 409 for one not changed yet, 403 for a viewer.
    const confirm = (target: string, token = u.deployer, pid = id) =>
      t.call('POST', `/api/v1/promotions/${pid}/targets/${target}/confirm`, { token, body: {} });
    expect((await confirm('ap-south-1')).status).toBe(404);
    expect((await confirm('cell-1')).status).toBe(409);
    expect((await confirm('canary', u.viewer)).status).toBe(403);
    expect((await confirm('canary', u.deployer, 'prm_0000000000000000000')).status).toBe(404);

    const ok = await confirm('canary');
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toMatchObject({ promotionId: id, target: 'canary', state: 'BAKING', confirmedBy: `deployer@${tenant}.test` });
    expect((await confirm('canary')).status).toBe(409);

    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 30_000);
    expect(done.status, JSON.stringify(done)).toBe('COMPLETED');
    expect(done.rollout.phase).toBe('COMPLETED');
    expect(Object.values(states(done))).toEqual(Array(6).fill('DONE'));
    // Each wave said when it started and when it completed (events through the outbox: webhooks, the notifier), in order.
    const { read } = await waveEvents(id);
    await waitUntil(() => read().length >= 6);
    expect(read()).toEqual([
      'Promotion Wave Started 1 canary',
      'Promotion Wave Completed 1 canary',
      'Promotion Wave Started 2 eu-west-1,us-east-1',
      'Promotion Wave Completed 2 eu-west-1,us-east-1',
      'Promotion Wave Started 3 cell-1,cell-2,cell-3',
      'Promotion Wave Completed 3 cell-1,cell-2,cell-3',
    ]);
    // Opted in (events: wave-started, wave-completed), the tenant's email says each wave that started, with its
    // targets, and each completed wave.
    const mails = () => t.stack.outbox.mails.filter((m) => m.to === `ops@${tenant}.test` && /(started|completed) wave \d/.test(m.subject));
    await waitUntil(() => mails().length >= 6);
    expect(
      mails()
        .map((m) => m.subject.replace(/^.* → production /, ''))
        .sort(),
    ).toEqual([
      'completed wave 1 of 3 (canary)',
      'completed wave 2 of 3 (us-east-1, eu-west-1)',
      'completed wave 3 of 3 (cell-1, cell-2, cell-3)',
      'started wave 1 of 3: canary',
      'started wave 2 of 3: us-east-1, eu-west-1',
      'started wave 3 of 3: cell-1, cell-2, cell-3',
    ]);
    for (const w of done.rollout.waves) for (const x of w.targets) expect(x.bake).toMatchObject({ from: expect.any(String), until: expect.any(String) });
    // The environment's head is what every target reached; no target differs from it any more.
    const after = (await t.call('GET', '/api/v1/environments/production', { token: u.viewer })).body.snapshot;
    expect(after.seq).toBe(before.seq + 1);
    expect(after.digest).toBe(canary.snapshot.digest);
    const moved = (await store().getEnvironment(tenant, 'production'))!;
    expect(await targetVersion(store(), moved, 'cell-3', { kind: 'config' })).toMatchObject({ own: false, snapshot: { digest: after.digest } });
    expect(await targetVersion(store(), moved, 'canary', { kind: 'config' })).toMatchObject({ own: false, snapshot: { digest: after.digest } });
    // The decision record lists each target's confirmation and bake window.
    const record = (await t.call('GET', `/api/v1/promotions/${id}/decision`, { token: u.viewer })).body;
    expect(record.rollout.waves[0].targets[0]).toMatchObject({
      name: 'canary',
      state: 'DONE',
      confirmation: { mode: 'callback', by: `deployer@${tenant}.test` },
    });
    // Transitions: at most 4 per target and 2 per wave, beyond the 5 of the flow's own (Decide, Route, Rollout, Waves, RolloutComplete).
    const transitions = t.stack.workflow.transitions(LocalWorkflow.executionId({ tenant, promotionId: id }));
    console.log(`rollout of 6 targets in 3 waves: ${transitions} state transitions`);
    expect(transitions).toBeLessThanOrEqual(5 + 4 * 6 + 2 * 3);
    // The history carries one record per target (and the environment's own, when every target had it).
    const history = await t.call('GET', '/api/v1/platform/deployments/history?environment=production&limit=20', { token: u.viewer });
    expect(history.status, JSON.stringify(history.body)).toBe(200);
    expect(JSON.stringify(history.body)).toContain('"target":"canary"');
    // A halt of a finished promotion: 409.
    expect((await t.call('POST', `/api/v1/promotions/${id}/halt`, { token: u.deployer, body: { reason: 'too late' } })).status).toBe(409);
  });

  it('an alarm of a wave-2 target while wave 2 bakes rolls back waves 2 and 1 (reverse order) and never starts wave 3: ROLLED_BACK per target, the alarm in the decision record, the environment as it was', async () => {
    const { tenant, u, alarms } = await line({ wave2Bake: 30, canary: 'immediate' });
    // The default kinds: a rollback is told, the waves (opt-in) are not.
    const opted = await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { email: { recipients: [`ops@${tenant}.test`], approvers: false } } });
    expect(opted.status, JSON.stringify(opted.body)).toBe(200);
    const before = (await t.call('GET', '/api/v1/environments/production', { token: u.viewer })).body.snapshot;
    const id = await promote(u);
    await until(u.viewer, id, (d) => states(d)['us-east-1'] === 'BAKING' && states(d)['eu-west-1'] === 'BAKING', 'wave 2 bakes');
    expect((await t.call('POST', '/dev/events', { body: alarmEvent(alarms.us, 'p99 > 800 ms in us-east-1') })).status).toBe(202);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 20_000);
    expect(done.status, JSON.stringify(done)).toBe('ROLLED_BACK');
    expect(states(done)).toEqual({
      canary: 'ROLLED_BACK',
      'us-east-1': 'ROLLED_BACK',
      'eu-west-1': 'ROLLED_BACK',
      'cell-1': 'PENDING',
      'cell-2': 'PENDING',
      'cell-3': 'PENDING',
    });
    expect(done.error.message).toMatch(/us-east-1-5xx/);
    expect(done.error.message).toMatch(
      /us-east-1 \(wave 2\), eu-west-1 \(wave 2\), canary \(wave 1\)|eu-west-1 \(wave 2\), us-east-1 \(wave 2\), canary \(wave 1\)/,
    );
    const record = (await t.call('GET', `/api/v1/promotions/${id}/decision`, { token: u.viewer })).body;
    const us = record.rollout.waves[1].targets.find((x: any) => x.name === 'us-east-1');
    expect(us.alarm).toMatchObject({ arn: alarms.us, reason: 'p99 > 800 ms in us-east-1' });
    expect(record.monitorAlarm).toMatchObject({ arn: alarms.us });
    // Every bake window is named, the one the alarm cut short too (recorded when the bake started: 30 s planned).
    expect(Date.parse(us.bake.until) - Date.parse(us.bake.from)).toBe(30_000);
    expect(us.bake.monitors).toEqual([alarms.us]);
    for (const w of record.rollout.waves.slice(0, 2)) for (const x of w.targets) expect(x.bake, x.name).toMatchObject({ from: expect.any(String) });
    // The deployment metrics count it as production's rollback (and its failed change), as a promotion rolled back after its bake.
    const day = new Date().toISOString().slice(0, 10);
    const m = await t.call('GET', `/api/v1/platform/metrics?environment=production&from=${day}T00:00:00Z&period=day`, { token: u.viewer });
    expect(m.body.environments[0].total).toMatchObject({ deployments: 1, failed: 1, rolledBack: 1, rollbackRate: 1 });
    // Nothing of the release is left: the environment's head as before, every target reads it.
    expect((await t.call('GET', '/api/v1/environments/production', { token: u.viewer })).body.snapshot).toEqual(before);
    const env = (await store().getEnvironment(tenant, 'production'))!;
    for (const name of ['canary', 'us-east-1', 'cell-1']) {
      expect((await targetVersion(store(), env, name, { kind: 'config' })).snapshot.digest, name).toBe(before.digest);
    }
    // The rollback is in the audit trail, naming the targets in reverse wave order.
    const audit = await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${id}`, { token: u.viewer });
    expect(audit.body.items.map((e: any) => e.action)).toEqual(expect.arrayContaining(['promotion.alarm', 'promotion.rollback.auto']));
    // Wave 3 never started: no target of it was ever changed.
    expect((await store().listRolloutTargets(tenant, id)).map((x) => x.name).sort()).toEqual(['canary', 'eu-west-1', 'us-east-1']);
    // Waves 1 and 2 started, wave 1 completed; wave 2 never completed and wave 3 never started.
    const { read } = await waveEvents(id);
    await waitUntil(() => read().length >= 3);
    await new Promise((r) => setTimeout(r, 300));
    expect(read()).toEqual(['Promotion Wave Started 1 canary', 'Promotion Wave Completed 1 canary', 'Promotion Wave Started 2 eu-west-1,us-east-1']);
    // The rollback's notification names the wave it failed in and the targets put back (reverse wave order); no wave mail.
    const mails = () => t.stack.outbox.mails.filter((m) => m.to === `ops@${tenant}.test`);
    await waitUntil(() => mails().some((m) => /rolled back/.test(m.subject)));
    const rolled = mails().filter((m) => /rolled back/.test(m.subject));
    expect(rolled).toHaveLength(1);
    expect(rolled[0]!.subject).toMatch(/ → production was rolled back in wave 2: (us-east-1, eu-west-1|eu-west-1, us-east-1), canary put back$/);
    expect(rolled[0]!.text).toMatch(/us-east-1-5xx/);
    expect(mails().filter((m) => /wave \d/.test(m.subject) && !/rolled back/.test(m.subject))).toEqual([]);
  });

  it('halt stops before the next wave and keeps what is done; resume goes on; halt/resume of the wrong promotion or state is refused', async () => {
    const { tenant, u } = await line({ canary: 'callback' });
    const opted = await t.call('PUT', '/api/v1/environments/production/notifications', {
      token: u.admin,
      body: { email: { recipients: [`ops@${tenant}.test`], approvers: false }, events: ['wave-started', 'wave-completed'] },
    });
    expect(opted.status, JSON.stringify(opted.body)).toBe(200);
    const id = await promote(u);
    await until(u.viewer, id, (d) => states(d).canary === 'CONFIRMING', 'the canary waits');
    expect((await t.call('POST', `/api/v1/promotions/${id}/resume`, { token: u.deployer, body: {} })).status).toBe(409);
    expect((await t.call('POST', `/api/v1/promotions/${id}/halt`, { token: u.viewer, body: {} })).status).toBe(403);
    const halted = await t.call('POST', `/api/v1/promotions/${id}/halt`, { token: u.deployer, body: { reason: 'watching the canary overnight' } });
    expect(halted.status, JSON.stringify(halted.body)).toBe(200);
    expect(halted.body.rollout).toMatchObject({ phase: 'HALTED', halted: { reason: 'watching the canary overnight' } });
    expect((await t.call('POST', `/api/v1/promotions/${id}/targets/canary/confirm`, { token: u.deployer, body: {} })).status).toBe(200);
    // Wave 1 finishes; wave 2 does not start while halted.
    await until(u.viewer, id, (d) => states(d).canary === 'DONE', 'the canary baked');
    await new Promise((r) => setTimeout(r, 1500));
    const still = await detail(u.viewer, id);
    expect(still.status).toBe('EXECUTING');
    expect(still.rollout.phase).toBe('HALTED');
    expect(states(still)['us-east-1']).toBe('PENDING');
    // The line's status says where the rollout stands, not just "executing".
    const status = (await t.call('GET', '/api/v1/status', { token: u.viewer })).body;
    expect(status.pending.find((x: any) => x.id === id).why).toBe(
      `rolling out, halted by ${still.rollout.halted.by} before wave 2 of 3: watching the canary overnight`,
    );
    // Wave 1 is complete (and said so) while halted; wave 2 has not started.
    const halt = await waveEvents(id);
    await waitUntil(() => halt.read().length >= 2);
    expect(halt.read()).toEqual(['Promotion Wave Started 1 canary', 'Promotion Wave Completed 1 canary']);
    const resumed = await t.call('POST', `/api/v1/promotions/${id}/resume`, { token: u.deployer, body: { reason: 'canary is fine' } });
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 30_000);
    expect(done.status).toBe('COMPLETED');
    // The halted wave 2 started with the resume (the parked wave task answered), and said so once; every wave completed.
    const { read } = await waveEvents(id);
    await waitUntil(() => read().length >= 4);
    expect(read()).toEqual([
      'Promotion Wave Started 1 canary',
      'Promotion Wave Completed 1 canary',
      'Promotion Wave Started 2 eu-west-1,us-east-1',
      'Promotion Wave Completed 2 eu-west-1,us-east-1',
      'Promotion Wave Started 3 cell-1,cell-2,cell-3',
      'Promotion Wave Completed 3 cell-1,cell-2,cell-3',
    ]);
    // The wave notifications say why wave 2 waited: wave 1's completion that it waits for a resume, wave 2's start who resumed it.
    const mails = () => t.stack.outbox.mails.filter((m) => m.to === `ops@${tenant}.test`);
    const about = (w: RegExp) => mails().find((m) => w.test(m.subject));
    await waitUntil(() => !!about(/started wave 2 of 3/));
    expect(about(/completed wave 1 of 3 \(canary\)$/)!.text).toMatch(/halted by deployer@.*watching the canary overnight.*: wave 2 waits for a resume/);
    expect(about(/started wave 2 of 3: us-east-1, eu-west-1$/)!.text).toMatch(
      /it waited for a resume: halted by deployer@\S+, resumed by deployer@\S+ \(canary is fine\)/,
    );
    expect((await t.call('POST', `/api/v1/promotions/${id}/resume`, { token: u.deployer, body: {} })).status).toBe(409);
    expect((await t.call('POST', '/api/v1/promotions/prm_0000000000000000000/halt', { token: u.deployer, body: {} })).status).toBe(404);
  });

  it('resume clears the halt and nothing more: a freeze window that opened meanwhile holds the next wave (it says so), a new promotion in it is cancelled FROZEN, and the wave starts once the freeze is gone', async () => {
    const { tenant, u } = await line({ canary: 'callback' });
    const id = await promote(u);
    await until(u.viewer, id, (d) => states(d).canary === 'CONFIRMING', 'the canary waits');
    expect((await t.call('POST', `/api/v1/promotions/${id}/halt`, { token: u.deployer, body: { reason: 'watching the canary' } })).status).toBe(200);
    expect((await t.call('POST', `/api/v1/promotions/${id}/targets/canary/confirm`, { token: u.deployer, body: {} })).status).toBe(200);
    await until(u.viewer, id, (d) => states(d).canary === 'DONE', 'the canary baked');
    const soon = (s: number) => new Date(Date.now() + s * 1000).toISOString();
    const freeze = await t.call('POST', '/api/v1/environments/production/freeze-windows', {
      token: u.admin,
      body: { reason: 'quarter close', start: soon(-1), end: soon(3600) },
    });
    expect(freeze.status, JSON.stringify(freeze.body)).toBe(201);

    const resumed = await t.call('POST', `/api/v1/promotions/${id}/resume`, { token: u.deployer, body: { reason: 'canary is fine' } });
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    expect(resumed.body.rollout.halted).toBeNull();
    expect(resumed.body.rollout.waiting).toMatchObject({
      for: 'freeze',
      reason: expect.stringMatching(/^wave 2 waits: 'production' is frozen by window \S+ \(quarter close\) until /),
    });
    await new Promise((r) => setTimeout(r, 1500));
    const held = await detail(u.viewer, id);
    expect(held.status).toBe('EXECUTING');
    expect([states(held)['us-east-1'], states(held)['eu-west-1'], states(held)['cell-1']]).toEqual(['PENDING', 'PENDING', 'PENDING']);
    expect(t.stack.scheduler.pending()).toContain(scheduleName({ tenant, id }));
    // The status page says why it waits.
    const status = (await t.call('GET', '/api/v1/status', { token: u.viewer })).body;
    expect(status.pending.find((x: any) => x.id === id).why).toMatch(/frozen by window/);

    // Its schedule firing while the freeze still holds changes nothing.
    await t.stack.scheduler.scheduleOnce(scheduleName({ tenant, id }), new Date(), { tenant, promotionId: id });
    await new Promise((r) => setTimeout(r, 1000));
    expect(states(await detail(u.viewer, id))['us-east-1']).toBe('PENDING');

    // The freeze is lifted; when the schedule looks again, wave 2 starts and the rollout completes.
    expect((await t.call('DELETE', `/api/v1/freeze-windows/${freeze.body.id}`, { token: u.admin })).status).toBe(204);
    await t.stack.scheduler.scheduleOnce(scheduleName({ tenant, id }), new Date(), { tenant, promotionId: id });
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
  });

  it('a rollout waiting for its start window, halted and resumed, still waits for the window (resume is not a way around it)', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev']);
    const h = String((new Date().getUTCHours() + 12) % 24).padStart(2, '0');
    const window = { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: `${h}:00`, end: `${h}:30`, timezone: 'UTC' };
    const env = await t.call('POST', '/api/v1/environments', {
      token: u.admin,
      body: {
        name: 'production',
        position: 1,
        targets: [
          { name: 'canary', wave: 1 },
          { name: 'eu-west-1', wave: 2 },
        ],
        rollout: { startWindows: [window] },
      },
    });
    expect(env.status, JSON.stringify(env.body)).toBe(201);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
    const id = await promote(u);
    await until(u.viewer, id, (d) => !!d.rollout.waiting, 'wave 1 waits for its window');
    expect((await t.call('POST', `/api/v1/promotions/${id}/halt`, { token: u.deployer, body: { reason: 'hold on' } })).status).toBe(200);
    const resumed = await t.call('POST', `/api/v1/promotions/${id}/resume`, { token: u.deployer, body: {} });
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    expect(resumed.body.rollout.waiting).toMatchObject({ for: 'start-window', reason: expect.stringMatching(/^wave 1 waits for a start window/) });
    await new Promise((r) => setTimeout(r, 1500));
    const still = await detail(u.viewer, id);
    expect(states(still)).toEqual({ canary: 'PENDING', 'eu-west-1': 'PENDING' });
    expect(t.stack.scheduler.pending()).toContain(scheduleName({ tenant, id }));
  });

  it('a wave planned to pause (rollout.waves[].pause) halts the rollout before it starts, saying so; the release manager resumes it once', async () => {
    const { u } = await line({ canary: 'immediate', pauseBefore3: true });
    const env = await t.call('GET', '/api/v1/environments/production', { token: u.viewer });
    expect(env.body.rollout.waves).toEqual([
      { wave: 2, bakeSeconds: 1 },
      { wave: 3, pause: true },
    ]);
    const where = await t.call('GET', '/api/v1/environments/production/targets', { token: u.viewer });
    expect(where.body.waves.map((w: any) => [w.wave, w.pause ?? false])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    const id = await promote(u);
    const paused = await until(u.viewer, id, (d) => d.rollout.phase === 'HALTED', 'the rollout pauses before wave 3');
    expect(paused.status).toBe('EXECUTING');
    expect(paused.rollout.halted).toMatchObject({ by: 'stageline', reason: expect.stringContaining('wave 3 of 3 is planned to pause') });
    expect(states(paused)).toMatchObject({ canary: 'DONE', 'us-east-1': 'DONE', 'eu-west-1': 'DONE', 'cell-1': 'PENDING', 'cell-3': 'PENDING' });
    await new Promise((r) => setTimeout(r, 1500));
    expect(states(await detail(u.viewer, id))['cell-1']).toBe('PENDING');
    const resumed = await t.call('POST', `/api/v1/promotions/${id}/resume`, { token: u.deployer, body: { reason: 'waves 1 and 2 look healthy' } });
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    const { read } = await waveEvents(id);
    await waitUntil(() => read().length >= 6);
    expect(read().filter((e) => e.startsWith('Promotion Wave Started'))).toEqual([
      'Promotion Wave Started 1 canary',
      'Promotion Wave Started 2 eu-west-1,us-east-1',
      'Promotion Wave Started 3 cell-1,cell-2,cell-3',
    ]);
    // The pause is on the record: Stageline's halt with its reason, then the resume by its deployer.
    const audit = await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${id}`, { token: u.viewer });
    const halt = audit.body.items.find((e: any) => e.action === 'promotion.halt');
    expect(halt.reason).toContain('wave 3 of 3 is planned to pause');
    expect(audit.body.items.find((e: any) => e.action === 'promotion.resume').reason).toBe('waves 1 and 2 look healthy');
  });

  it('a wave outside the start windows waits; when the window’s schedule fires, the wave starts and says so, and the wave before is announced complete when the next one waits', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev']);
    // A one-minute window twelve hours away: closed now.
    const h = String((new Date().getUTCHours() + 12) % 24).padStart(2, '0');
    const window = { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: `${h}:00`, end: `${h}:01`, timezone: 'UTC' };
    const env = await t.call('POST', '/api/v1/environments', {
      token: u.admin,
      body: {
        name: 'production',
        position: 1,
        targets: [
          { name: 'canary', wave: 1 },
          { name: 'eu-west-1', wave: 2 },
        ],
        rollout: { startWindows: [window] },
      },
    });
    expect(env.status, JSON.stringify(env.body)).toBe(201);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
    const id = await promote(u);
    const waits = await until(u.viewer, id, (d) => !!d.rollout.waiting, 'wave 1 waits for its window');
    expect(waits.rollout.waiting.reason).toMatch(/wave 1 waits for a start window/);
    const fireNow = async () => {
      const name = scheduleName({ tenant, id });
      expect(t.stack.scheduler.pending()).toContain(name);
      await t.stack.scheduler.scheduleOnce(name, new Date(), { tenant, promotionId: id });
    };
    await fireNow();
    // The window "opened": wave 1 starts, runs and is complete; wave 2 waits for the window in turn.
    await until(u.viewer, id, (d) => states(d).canary === 'DONE' && !!d.rollout.waiting && d.rollout.wave === 1, 'wave 2 waits');
    const { read } = await waveEvents(id);
    await waitUntil(() => read().length >= 2);
    expect(read()).toEqual(['Promotion Wave Started 1 canary', 'Promotion Wave Completed 1 canary']);
    // What the events (and the wave notifications made of them) say: wave 1 completed while wave 2 waits for its window; each wave started when its window opened.
    const reasons = () =>
      t.stack.bus.published
        .filter((e) => e.detail.promotionId === id && /^Promotion Wave /.test(e['detail-type']))
        .map((e) => `${e['detail-type']} ${e.detail.wave}: ${String(e.detail.reason)}`);
    expect(reasons()).toEqual([
      'Promotion Wave Started 1: it waited for its start window, which is open now',
      expect.stringMatching(/^Promotion Wave Completed 1: wave 2 waits for a start window \(mon,tue,wed,thu,fri,sat,sun \d\d:00-\d\d:01 UTC\)$/),
    ]);
    await fireNow();
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 20_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    await waitUntil(() => read().length >= 4);
    expect(read()).toEqual([
      'Promotion Wave Started 1 canary',
      'Promotion Wave Completed 1 canary',
      'Promotion Wave Started 2 eu-west-1',
      'Promotion Wave Completed 2 eu-west-1',
    ]);
  });

  it('a wave planned to pause whose start window opens halts rather than starts (the window and the pause both hold); resume starts it', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev']);
    const h = String((new Date().getUTCHours() + 12) % 24).padStart(2, '0');
    const window = { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: `${h}:00`, end: `${h}:01`, timezone: 'UTC' };
    const env = await t.call('POST', '/api/v1/environments', {
      token: u.admin,
      body: { name: 'production', position: 1, targets: [{ name: 'canary', wave: 1 }], rollout: { startWindows: [window], waves: [{ wave: 1, pause: true }] } },
    });
    expect(env.status, JSON.stringify(env.body)).toBe(201);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
    const id = await promote(u);
    await until(u.viewer, id, (d) => !!d.rollout.waiting, 'wave 1 waits for its window');
    await t.stack.scheduler.scheduleOnce(scheduleName({ tenant, id }), new Date(), { tenant, promotionId: id });
    const paused = await until(u.viewer, id, (d) => d.rollout.phase === 'HALTED', 'the opened window finds wave 1 planned to pause');
    expect(paused.rollout.halted.reason).toContain('wave 1 of 1 is planned to pause');
    expect(states(paused).canary).toBe('PENDING');
    // Resume starts the wave through the start-window check like any wave start: the window is open (now) when it resumes.
    const always = { days: window.days, start: '00:00', end: '23:59', timezone: 'UTC' };
    const version = (await t.call('GET', '/api/v1/environments/production', { token: u.viewer })).body.version;
    const open = await t.call('PATCH', '/api/v1/environments/production', {
      token: u.admin,
      body: { version, rollout: { startWindows: [always], waves: [{ wave: 1, pause: true }] } },
    });
    expect(open.status, JSON.stringify(open.body)).toBe(200);
    expect((await t.call('POST', `/api/v1/promotions/${id}/resume`, { token: u.deployer, body: {} })).status).toBe(200);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 20_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
  });

  it('a callback that does not come by its deadline rolls the rollout back; a confirmation after it is refused', async () => {
    const { u } = await line({ canary: 'callback', timeoutSeconds: 30 });
    const id = await promote(u);
    await until(u.viewer, id, (d) => states(d).canary === 'CONFIRMING', 'the canary waits');
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 45_000);
    expect(done.status).toBe('ROLLED_BACK');
    expect(done.rollout.waves[0].targets[0]).toMatchObject({ name: 'canary', state: 'ROLLED_BACK', error: expect.stringContaining('not confirmed by') });
    // Said in a sentence, never the flow's own error name.
    expect(done.error.message).toMatch(
      /^canary was not confirmed by \S+ \(no confirmation came\); targets rolled back in reverse wave order: canary \(wave 1\)$/,
    );
    expect(JSON.stringify(done)).not.toContain('States.');
    expect((await t.call('POST', `/api/v1/promotions/${id}/targets/canary/confirm`, { token: u.deployer, body: {} })).status).toBe(409);
  }, 60_000);

  it('100 targets in 5 waves complete on the local stack (Maps with a concurrency limit; the flow passes names and numbers only)', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev']);
    const targets = Array.from({ length: 100 }, (_, i) => ({ name: `cell-${String(i + 1).padStart(3, '0')}`, wave: Math.min(5, 1 + Math.floor(i / 20)) }));
    const env = await t.call('POST', '/api/v1/environments', {
      token: u.admin,
      body: { name: 'production', position: 1, targets, rollout: { maxParallel: 10 } },
    });
    expect(env.status, JSON.stringify(env.body)).toBe(201);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
    const started = Date.now();
    const id = await promote(u);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 170_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    expect(Object.values(states(done)).every((s) => s === 'DONE')).toBe(true);
    const transitions = t.stack.workflow.transitions(LocalWorkflow.executionId({ tenant, promotionId: id }));
    console.log(`rollout of 100 targets in 5 waves: ${transitions} state transitions, ${Date.now() - started} ms`);
    expect(transitions).toBeLessThanOrEqual(5 + 4 * 100 + 2 * 5);
  }, 180_000);

  it('a health target is polled through the guarded outbound client until it answers 200, then bakes; one never healthy by its deadline rolls back', async () => {
    let hits = 0;
    const server = createServer((req, res) => {
      hits++;
      if (req.url === '/down') return res.writeHead(503).end('starting');
      res.writeHead(hits <= 2 ? 503 : 200).end(hits <= 2 ? 'starting' : 'ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      for (const [path, outcome] of [
        ['/healthz', 'COMPLETED'],
        ['/down', 'ROLLED_BACK'],
      ] as const) {
        const tenant = t.tenant();
        const u = await t.users(tenant);
        await makeLine(t, u.admin, ['dev']);
        const env = await t.call('POST', '/api/v1/environments', {
          token: u.admin,
          body: {
            name: 'production',
            position: 1,
            targets: [{ name: 'edge', wave: 1, confirm: { mode: 'health', url: `http://127.0.0.1:${port}${path}`, timeoutSeconds: 10, intervalSeconds: 1 } }],
          },
        });
        expect(env.status, JSON.stringify(env.body)).toBe(201);
        await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
        const id = await promote(u);
        const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 40_000);
        expect(done.status, JSON.stringify(done.rollout)).toBe(outcome);
        const edge = done.rollout.waves[0].targets[0];
        if (outcome === 'COMPLETED') expect(edge.confirmation).toMatchObject({ mode: 'health', by: 'stageline', at: expect.any(String) });
        else expect(edge).toMatchObject({ state: 'ROLLED_BACK', error: expect.stringContaining('not confirmed by') });
      }
      expect(hits).toBeGreaterThanOrEqual(5);
    } finally {
      server.close();
    }
  }, 90_000);
});
