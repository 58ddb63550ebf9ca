import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { targetVersion } from '../../domain/config/targets.ts';
import { LocalWorkflow } from '../../local/workflow.ts';
import { waitFor } from '../support/promotions.ts';
import { productionLine } from '../support/line.ts';
import { useTestStack } from '../support/stack.ts';
import { alarmEvent } from '../support/alarms.ts';
import { rollouts, states, waitUntil } from '../support/waves.ts';

/**
 * A rollout through targets in waves, run through: confirmed, rolled back by an alarm or a missed
 * confirmation, 100 targets, a polled health target. Halts, planned pauses and start windows: waves-halt.test.ts.
 */
const t = useTestStack();
const { store, line, promote, waveEvents, until } = rollouts(t);

/*
 * Each test makes its own tenant and line and reads only its own promotion's events and mails, so the tests that
 * mostly wait (a bake, a confirmation deadline, a health target's polls) run side by side on the one stack. The
 * 100-target rollout, which keeps the stream busy throughout, runs alone after them.
 */

describe('a rollout through targets in waves (local Step Functions on DynamoDB Local)', () => {
  it.concurrent(
    'runs 1 + 2 + 3 targets in three waves: the canary waits for its deployer’s callback, a wave-1 target reads the new release while wave 3 still reads the old, then every target and the environment have it',
    async () => {
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
    },
  );

  it.concurrent(
    'an alarm of a wave-2 target while wave 2 bakes rolls back waves 2 and 1 (reverse order) and never starts wave 3: ROLLED_BACK per target, the alarm in the decision record, the environment as it was',
    async () => {
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
    },
  );

  it.concurrent(
    'a callback that does not come by its deadline rolls the rollout back; a confirmation after it is refused',
    async () => {
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
    },
    60_000,
  );

  it.concurrent(
    'a health target is polled through the guarded outbound client until it answers 200, then bakes; one never healthy by its deadline rolls back',
    async () => {
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
          const { u } = await productionLine(t, {
            targets: [{ name: 'edge', wave: 1, confirm: { mode: 'health', url: `http://127.0.0.1:${port}${path}`, timeoutSeconds: 10, intervalSeconds: 1 } }],
          });
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
    },
    90_000,
  );

  it('100 targets in 5 waves complete on the local stack (Maps with a concurrency limit; the flow passes names and numbers only)', async () => {
    const targets = Array.from({ length: 100 }, (_, i) => ({ name: `cell-${String(i + 1).padStart(3, '0')}`, wave: Math.min(5, 1 + Math.floor(i / 20)) }));
    const { tenant, u } = await productionLine(t, { targets, rollout: { maxParallel: 10 } });
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
});
