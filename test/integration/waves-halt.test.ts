import { describe, expect, it } from 'vitest';
import { scheduleName } from '../../domain/promotion/run/schedule-name.ts';
import { waitFor } from '../support/promotions.ts';
import { productionLine } from '../support/line.ts';
import { useTestStack } from '../support/stack.ts';
import { rollouts, states, waitUntil } from '../support/waves.ts';

/**
 * What holds a rollout between its waves: a halt and its resume, a freeze window, a wave planned to
 * pause, start windows. The rollout run through: waves.test.ts.
 */
const t = useTestStack();
const { line, promote, detail, waveEvents, until } = rollouts(t);

/**
 * dev → production with `targets`, whose rollout (with `rollout`) starts only in a window of `minutes` every day
 * twelve hours away, closed now; a promotion requested into it (approved): the tenant, its users, the window, the promotion.
 */
async function promotedOutsideWindow(minutes: number, targets: { name: string; wave: number }[], rollout: Record<string, unknown> = {}) {
  const tenant = t.tenant();
  const h = String((new Date().getUTCHours() + 12) % 24).padStart(2, '0');
  const window = {
    days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
    start: `${h}:00`,
    end: `${h}:${String(minutes).padStart(2, '0')}`,
    timezone: 'UTC',
  };
  const { u } = await productionLine(t, { targets, rollout: { startWindows: [window], ...rollout } }, tenant);
  await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
  const id = await promote(u);
  return { tenant, u, window, id };
}

describe('a rollout through targets in waves (local Step Functions on DynamoDB Local)', () => {
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

  it('a freeze window removed while wave 2 waits on it releases the wave at once: nothing fires the schedule by hand, and production is no longer held', async () => {
    const { tenant, u } = await line({ canary: 'callback' });
    const id = await promote(u);
    await until(u.viewer, id, (d) => states(d).canary === 'CONFIRMING', 'the canary waits');
    const soon = (s: number) => new Date(Date.now() + s * 1000).toISOString();
    const freeze = await t.call('POST', '/api/v1/environments/production/freeze-windows', {
      token: u.admin,
      body: { reason: 'quarter close', start: soon(-1), end: soon(2 * 3600) },
    });
    expect(freeze.status, JSON.stringify(freeze.body)).toBe(201);
    expect((await t.call('POST', `/api/v1/promotions/${id}/targets/canary/confirm`, { token: u.deployer, body: {} })).status).toBe(200);
    const held = await until(u.viewer, id, (d) => d.rollout.waiting?.for === 'freeze', 'wave 2 waits for the freeze');
    expect(held.rollout.waiting.reason).toContain(`frozen by window ${freeze.body.id}`);
    // Production is held: a target the rollout goes through cannot be removed.
    const shrink = async () => {
      const env = (await t.call('GET', '/api/v1/environments/production', { token: u.viewer })).body;
      const targets = env.targets.filter((x: { name: string }) => x.name !== 'cell-3');
      return t.call('PATCH', '/api/v1/environments/production', { token: u.admin, body: { version: env.version, targets } });
    };
    expect((await shrink()).status).toBe(409);

    // The admin removes the window: the freeze ends now, and what waited on it is looked at again through its schedule.
    expect((await t.call('DELETE', `/api/v1/freeze-windows/${freeze.body.id}`, { token: u.admin })).status).toBe(204);
    const going = await until(u.viewer, id, (d) => states(d)['us-east-1'] !== 'PENDING', 'wave 2 starts once the window is gone', 10_000);
    expect(going.rollout.waiting ?? null).toBeNull();
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    const audit = (await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${id}&limit=100`, { token: u.viewer })).body.items;
    expect(audit.find((e: any) => e.action === 'promotion.wave.start' && /^wave 2:/.test(e.reason ?? ''))).toBeTruthy();
    expect(t.stack.scheduler.pending()).not.toContain(scheduleName({ tenant, id }));
    const shrunk = await shrink();
    expect(shrunk.status, JSON.stringify(shrunk.body)).toBe(200);
  });

  it('a freeze window shortened (a manifest moves its end to a few seconds from now) releases wave 2 at its new end, not the old one', async () => {
    const { u } = await line({ canary: 'callback' });
    const id = await promote(u);
    await until(u.viewer, id, (d) => states(d).canary === 'CONFIRMING', 'the canary waits');
    const soon = (s: number) => new Date(Date.now() + s * 1000).toISOString();
    const start = soon(-1);
    const freeze = await t.call('POST', '/api/v1/environments/production/freeze-windows', {
      token: u.admin,
      body: { reason: 'quarter close', start, end: soon(2 * 3600) },
    });
    expect(freeze.status, JSON.stringify(freeze.body)).toBe(201);
    expect((await t.call('POST', `/api/v1/promotions/${id}/targets/canary/confirm`, { token: u.deployer, body: {} })).status).toBe(200);
    await until(u.viewer, id, (d) => d.rollout.waiting?.for === 'freeze', 'wave 2 waits for the freeze');
    // The window now ends in 3 s: the manifest says so (its window is replaced by the shorter one).
    const doc = (await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer })).body;
    const end = soon(3);
    doc.artifacts.promotion.freeze_windows = [{ reason: 'quarter close', environment: 'production', start, end }];
    const applied = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: JSON.stringify(doc) } });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    // Looked at again at once: it waits until the new end (naming the window that holds it now), then wave 2 starts.
    const rewaited = await until(
      u.viewer,
      id,
      (d) => states(d)['us-east-1'] !== 'PENDING' || (d.rollout.waiting && !d.rollout.waiting.reason.includes(freeze.body.id)),
      'the wave waits for the shorter window',
      10_000,
    );
    if (rewaited.rollout.waiting) expect(new Date(rewaited.rollout.waiting.until).toISOString()).toBe(new Date(end).toISOString());
    await until(u.viewer, id, (d) => states(d)['us-east-1'] !== 'PENDING', 'wave 2 starts at the new end', 15_000);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
  });

  it('a rollout waiting for its start window, halted and resumed, still waits for the window (resume is not a way around it)', async () => {
    const { tenant, u, id } = await promotedOutsideWindow(30, [
      { name: 'canary', wave: 1 },
      { name: 'eu-west-1', wave: 2 },
    ]);
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
    // A one-minute window twelve hours away: closed now.
    const { tenant, u, id } = await promotedOutsideWindow(1, [
      { name: 'canary', wave: 1 },
      { name: 'eu-west-1', wave: 2 },
    ]);
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
    const { tenant, u, window, id } = await promotedOutsideWindow(1, [{ name: 'canary', wave: 1 }], { waves: [{ wave: 1, pause: true }] });
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
});
