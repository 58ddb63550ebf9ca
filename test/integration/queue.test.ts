import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scheduleName } from '../../domain/promotion/run/schedule-name.ts';
import { LocalWorkflow } from '../../local/workflow.ts';
import { alarmArn as arn, alarmEvent } from '../support/alarms.ts';
import { cliOf } from '../support/cli.ts';
import { approveIfAsked, waitFor } from '../support/promotions.ts';
import { lineTargets, productionLine } from '../support/line.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

// Retry intervals at a thousandth: the flow's bounded TargetBusy retry (5+10+20+40+60*4 s, about 5 minutes)
// runs out in about a third of a second, so a promotion that only retried would have FAILED long before
// these tests look at it.
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack({ timeScale: 0.001 });
});
afterAll(() => t.stop());

const cli = (token: string, ...args: string[]) => cliOf(t)(token, ...args);

/** dev → production, production in 1 + 2 + 3 targets over three waves (concurrency: queue, the default). */
async function line(opts: { canary: 'callback' | 'immediate'; wave2Bake?: number }) {
  const tenant = t.tenant();
  const alarm = arn(`${tenant}/eu-west-1-5xx`);
  const { u } = await productionLine(
    t,
    {
      bakeSeconds: 1,
      targets: [
        ...lineTargets((name) =>
          name === 'canary'
            ? // The callback waits an hour on the stack's clock: longer than the re-check the first test moves the clock to.
              { confirm: opts.canary === 'immediate' ? { mode: 'immediate' } : { mode: 'callback', timeoutSeconds: 3600 } }
            : name === 'eu-west-1'
              ? { monitors: [alarm] }
              : {},
        ),
      ],
      rollout: { maxParallel: 3, waves: [{ wave: 2, bakeSeconds: opts.wave2Bake ?? 1 }] },
    },
    tenant,
  );
  return { tenant, u, alarm };
}

type Users = Awaited<ReturnType<TestStack['users']>>;

/** A new release in dev (another key each time), requested into production and approved. */
async function promote(u: Users, key: string): Promise<string> {
  expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key, value: true } })).status).toBe(201);
  const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  const id = p.body.id as string;
  await approveIfAsked(t, u, id, ['EXECUTING', 'COMPLETED', 'APPROVED', 'SCHEDULED']);
  return id;
}

const detail = async (token: string, id: string) => (await t.call('GET', `/api/v1/promotions/${id}`, { token })).body;
const states = (d: any) => Object.fromEntries((d.rollout?.waves ?? []).flatMap((w: any) => w.targets.map((x: any) => [x.name, x.state])));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(token: string, id: string, ok: (d: any) => boolean, what: string, ms = 20_000) {
  const end = Date.now() + ms;
  for (;;) {
    const d = await detail(token, id);
    if (ok(d)) return d;
    if (Date.now() > end)
      throw new Error(`${what}: never; promotion is ${d.status} ${JSON.stringify({ heldBy: d.heldBy, error: d.error, rollout: d.rollout })}`);
    await sleep(100);
  }
}

const heldBehind = (first: string) => (d: any) => d.status === 'SCHEDULED' && d.heldBy?.promotion === first;

describe('a promotion queued behind a rollout (concurrency: queue) waits its turn instead of failing', () => {
  it('is SCHEDULED and held by the rollout past the 5-minute retry window and past a re-check; cancel of a second held one deletes its schedule; when the rollout completes, the first held one executes at once and completes', async () => {
    const { tenant, u } = await line({ canary: 'callback' });
    const first = await promote(u, 'feature.a');
    await until(u.viewer, first, (d) => states(d).canary === 'CONFIRMING', 'the canary of the first rollout waits for its callback');

    const second = await promote(u, 'feature.b');
    const held = await until(u.viewer, second, (d) => heldBehind(first)(d) || ['FAILED', 'CANCELLED'].includes(d.status), 'the second is held');
    expect(held.status, JSON.stringify(held.error)).toBe('SCHEDULED');
    expect(held.heldBy).toMatchObject({ promotion: first, until: expect.any(String) });
    expect(held.heldBy.reason).toMatch(new RegExp(`waits for promotion ${first}, rolling out into production \\(wave 1 of 3\\)`));
    expect(held.heldBy.window).toBeUndefined();
    // The re-check is bounded: within about ten minutes.
    const recheck = new Date(held.heldBy.until).getTime() - t.stack.clock.now();
    expect(recheck).toBeGreaterThan(60_000);
    expect(recheck).toBeLessThanOrEqual(10 * 60_000 + 5_000);
    expect(t.stack.scheduler.pending()).toContain(scheduleName({ tenant, id: second }));

    // Far past the flow's bounded retry (about 0.3 s at this time scale): still held, not FAILED.
    await sleep(1500);
    expect(await detail(u.viewer, second)).toMatchObject({ status: 'SCHEDULED', heldBy: { promotion: first } });
    // The re-check fires while the rollout still runs: held again (a new re-check scheduled), still not FAILED.
    const flow = LocalWorkflow.executionId({ tenant, promotionId: second });
    const before = t.stack.workflow.transitions(flow);
    // Its time comes on the stack's clock (local/clock.ts: the scheduler fires by it), not minutes later on the wall.
    t.stack.clock.advanceTo(Date.parse(held.heldBy.until));
    // Held again: a new hold (its re-check time moved), and the flow waits at its go task once more.
    const again = await until(
      u.viewer,
      second,
      (d) => heldBehind(first)(d) && !!d.waitingFor && d.heldBy.until !== held.heldBy.until,
      'held again after the re-check',
    );
    expect(new Date(again.heldBy.until).getTime()).toBeGreaterThan(t.stack.clock.now() + 60_000);
    // A re-check costs AwaitGo's answer, Route, Rollout (held again) and the go wait once more: at most 4 transitions.
    const recheckTransitions = t.stack.workflow.transitions(flow) - before;
    console.log(`a re-check of a held promotion: ${recheckTransitions} state transitions`);
    expect(recheckTransitions).toBeLessThanOrEqual(4);
    expect(t.stack.scheduler.pending()).toContain(scheduleName({ tenant, id: second }));

    // The CLI says what it waits for, and how to follow that one.
    const shown = await cli(u.viewer, 'promotions', 'show', second);
    expect(shown.stdout).toContain(`queued: waits for promotion ${first}, rolling out into production (wave 1 of 3)`);
    expect(shown.stdout).toContain(`stageline promotions show ${first}`);
    expect(shown.stdout).toContain(`Next: nothing: it goes on when ${first} ends`);

    // The line's status (the console's pipeline) names the one it waits behind; the decision record's freeze section has no hold.
    const status = await t.call('GET', '/api/v1/status', { token: u.viewer });
    expect(status.body.pending.find((x: any) => x.id === second)).toMatchObject({
      status: 'SCHEDULED',
      behind: first,
      why: expect.stringContaining(`waits for promotion ${first}, rolling out into production`),
    });
    const record = await t.call('GET', `/api/v1/promotions/${second}/decision`, { token: u.viewer });
    expect(record.body.freeze.heldBy).toBeNull();

    // A third one queues behind too; cancelled, its schedule is gone.
    const third = await promote(u, 'feature.c');
    await until(u.viewer, third, heldBehind(first), 'the third is held');
    const cancelled = await t.call('DELETE', `/api/v1/promotions/${third}`, { token: u.deployer, body: { reason: 'not this one' } });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body.status).toBe('CANCELLED');
    expect(t.stack.scheduler.pending()).not.toContain(scheduleName({ tenant, id: third }));

    // The first rollout goes on and completes; the second is woken at once (not at its re-check, minutes away).
    expect((await t.call('POST', `/api/v1/promotions/${first}/targets/canary/confirm`, { token: u.deployer, body: {} })).status).toBe(200);
    expect((await waitFor(t, u.viewer, first, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 30_000)).status).toBe('COMPLETED');
    const ended = Date.now();
    const goes = await until(u.viewer, second, (d) => states(d).canary === 'CONFIRMING', 'the second rolls out', 15_000);
    expect(goes).toMatchObject({ status: 'EXECUTING', heldBy: null });
    console.log(`the held promotion rolled out ${Date.now() - ended} ms after the rollout ahead of it completed (its re-check was minutes away)`);
    expect((await t.call('POST', `/api/v1/promotions/${second}/targets/canary/confirm`, { token: u.deployer, body: {} })).status).toBe(200);
    const done = await waitFor(t, u.viewer, second, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    expect((await detail(u.viewer, third)).status).toBe('CANCELLED');
    // Both releases are in production: the second went on top of the first.
    const effective = await t.call('GET', '/api/v1/environments/production/configs', { token: u.viewer });
    expect(JSON.stringify(effective.body)).toContain('feature.a');
    expect(JSON.stringify(effective.body)).toContain('feature.b');
    // The hold is in the audit trail, once (a re-check that finds the same holder is not news).
    const audit = await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${second}`, { token: u.viewer });
    expect(audit.body.items.filter((e: any) => e.action === 'promotion.hold')).toHaveLength(1);
  }, 90_000);

  it('when the rollout rolls back (an alarm in wave 2), the held promotion goes on at once', async () => {
    // Wave 2 bakes for an hour on the stack's clock: the alarm comes while it bakes, however slow this machine is.
    const { u, alarm } = await line({ canary: 'immediate', wave2Bake: 3600 });
    const first = await promote(u, 'feature.a');
    await until(u.viewer, first, (d) => states(d)['eu-west-1'] === 'BAKING', 'wave 2 bakes');
    const second = await promote(u, 'feature.b');
    const held = await until(u.viewer, second, (d) => heldBehind(first)(d) || ['FAILED', 'CANCELLED'].includes(d.status), 'the second is held');
    expect(held.status, JSON.stringify(held.error)).toBe('SCHEDULED');
    expect(held.heldBy.reason).toMatch(/rolling out into production \(wave 2 of 3\)/);
    await sleep(1000);
    expect((await detail(u.viewer, second)).status).toBe('SCHEDULED');

    expect((await t.call('POST', '/dev/events', { body: alarmEvent(alarm, 'p99 > 800 ms in eu-west-1') })).status).toBe(202);
    expect((await waitFor(t, u.viewer, first, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 20_000)).status).toBe('ROLLED_BACK');
    // Woken at once: it takes the lease and starts its own rollout (its re-check is minutes away).
    const goes = await until(u.viewer, second, (d) => d.status !== 'SCHEDULED', 'the second goes on', 10_000);
    expect(goes.status === 'EXECUTING' || goes.status === 'COMPLETED' || goes.status === 'ROLLED_BACK', JSON.stringify(goes.error)).toBe(true);
    expect(JSON.stringify(goes.error ?? '')).not.toMatch(/another promotion/);
  }, 60_000);
});
