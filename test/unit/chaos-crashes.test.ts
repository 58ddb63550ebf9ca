import { describe, expect, it } from 'vitest';
import { crashPlan, CrashingStack, upgradeMoment, WRITES_PER_PROMOTION } from '../../chaos/crashes.ts';
import { noUpgrade, phaseOf, upgradeLines, upgradeMayCome, upgradeStep, upgradeVacuous } from '../../chaos/upgrade.ts';
import { promotion, target } from '../support/chaos-histories.ts';
import { parseArgs } from '../../chaos/run.ts';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CrashedError, crashGateDynamo, crashGateOutbound, Epoch, gateDeps, inEpoch } from '../../local/crash.ts';
import { FaultPlan } from '../../local/faults.ts';
import { LocalEventBus } from '../../local/event-bus.ts';
import { startGateway } from '../../local/gateway.ts';
import { LocalScheduler } from '../../local/scheduler.ts';
import type { LocalIssuer } from '../../local/issuer.ts';
import { EVENT_SOURCE } from '../../domain/kernel/events.ts';
import type { LocalStack } from '../../local/stack.ts';
import type { Promotion } from '../../domain/kernel/promotion-model.ts';

/**
 * Crashes of the stack in a chaos run: the seed's plan of moments (chaos/crashes.ts), the stack that takes over after
 * each (the checker reads the whole run through it), and the cut a crash makes between a stack's old work and any
 * effect (local/crash.ts).
 */
describe('the crash plan', () => {
  it('is the seed’s: K increasing moments within the run’s writes, the same for the same seed, none by default', () => {
    expect(crashPlan(7, 0, 10)).toEqual([]);
    const plan = crashPlan(7, 3, 10);
    expect(plan).toHaveLength(3);
    expect(plan).toEqual(crashPlan(7, 3, 10));
    expect(plan).not.toEqual(crashPlan(8, 3, 10));
    for (let i = 1; i < plan.length; i++) expect(plan[i]!).toBeGreaterThan(plan[i - 1]!);
    // Within the first two thirds of what 10 promotions write, each in a stretch of its own.
    const span = 10 * WRITES_PER_PROMOTION;
    expect(plan[0]!).toBeGreaterThanOrEqual(Math.floor(span * 0.1));
    expect(plan.at(-1)!).toBeLessThanOrEqual(Math.floor(span * 0.7));
    for (let i = 0; i < 3; i++) expect(plan[i]!).toBeLessThanOrEqual(Math.floor(span * (0.1 + (0.6 * (i + 1)) / 3)));
    // Many crashes in a short run are still distinct moments.
    expect(new Set(crashPlan(1, 20, 1)).size).toBe(20);
  });

  it('has the upgrade’s moment of its own: the seed’s, between a fifth and a half of the run’s writes, the crashes’ unmoved', () => {
    const at = upgradeMoment(7, 10);
    expect(at).toBe(upgradeMoment(7, 10));
    expect(new Set([1, 2, 3, 4, 5, 6, 7, 8].map((seed) => upgradeMoment(seed, 10))).size).toBeGreaterThan(4);
    const span = 10 * WRITES_PER_PROMOTION;
    for (let seed = 0; seed < 50; seed++) {
      expect(upgradeMoment(seed, 10)).toBeGreaterThanOrEqual(Math.floor(span * 0.2));
      expect(upgradeMoment(seed, 10)).toBeLessThanOrEqual(Math.floor(span * 0.5));
    }
    expect(upgradeMoment(3, 0)).toBeGreaterThanOrEqual(1);
  });

  it('is asked for with --upgrade (off by default)', () => {
    expect(parseArgs(['--seed', '5'], 0)).toMatchObject({ upgrade: false });
    expect(parseArgs(['--seed', '5', '--upgrade', '--crashes', '1'], 0)).toMatchObject({ upgrade: true, crashes: 1 });
    expect(() => parseArgs(['--check', 'x', '--upgrade'], 0)).toThrow(/--check DIR checks a history on disk and takes no other option/);
  });

  it('is asked for with --crashes K (0 to 100), 0 by default', () => {
    expect(parseArgs(['--seed', '5'], 0)).toMatchObject({ crashes: 0 });
    expect(parseArgs(['--seed', '5', '--crashes', '2'], 0)).toMatchObject({ crashes: 2 });
    expect(() => parseArgs(['--crashes', '1.5'], 0)).toThrow(/--crashes takes a whole number/);
  });
});

/** A stack as far as the crash cares: its bus's published events, its fault plan, and a crash that says it happened (and runs what is read at it). */
function fakeStack(name: string, plan: FaultPlan, crashed: string[]): LocalStack {
  return {
    name,
    faults: plan,
    bus: { published: [{ 'detail-type': `${name}-event` }], inFlight: () => [{ rule: 0, event: { 'detail-type': `${name}-in-flight` } }] },
    gateway: { url: `http://${name}`, port: 1 },
    crash: async (atTheCrash?: () => Promise<void>) => {
      crashed.push(name);
      await atTheCrash?.();
    },
  } as unknown as LocalStack;
}

describe('a crashing stack', () => {
  it('crashes at the plan’s write, logs the crash as a fault, and its view follows the new stack with every stack’s events', async () => {
    const plan = new FaultPlan({ seed: 1 });
    const crashed: string[] = [];
    let n = 0;
    const carried: unknown[] = [];
    const c = new CrashingStack(fakeStack('s0', plan, crashed), async (_old, deliveries) => {
      carried.push(...deliveries.map((d) => d.event['detail-type']));
      return fakeStack(`s${++n}`, plan, crashed);
    });
    const stop = c.watch(plan, [3]);
    for (let i = 0; i < 2; i++) plan.roll('dynamo.conflict');
    await new Promise((r) => setTimeout(r, 60));
    expect(crashed).toEqual([]);
    plan.roll('dynamo.conflict');
    // At the write itself, not some time after: the stack is crashed before the roll returns.
    expect(crashed).toEqual(['s0']);
    await expect.poll(() => c.crashes).toBe(1);
    // What the crashed stack's bus had in flight is handed to the new stack.
    expect(carried).toEqual(['s0-in-flight']);
    await stop();
    expect(crashed).toEqual(['s0']);
    expect((c.view as unknown as { name: string }).name).toBe('s1');
    expect(c.view.bus.published.map((e) => e['detail-type'])).toEqual(['s0-event', 's1-event']);
    expect(plan.counts().crash).toEqual({ injected: 1, chances: 1 });
    expect(plan.log.map((f) => f.kind)).toEqual(['crash']);
    expect(plan.log[0]!.where).toMatch(/after write 3/);
  });
});

describe('an upgrading stack', () => {
  it('upgrades once, at the first write from its moment at which it is ready; logs it as an upgrade; its restart runs the current release', async () => {
    const plan = new FaultPlan({ seed: 1 });
    const crashed: string[] = [];
    const restarts: boolean[] = [];
    const moments: string[] = [];
    let n = 0;
    const c = new CrashingStack(fakeStack('s0', plan, crashed), async (_old, _deliveries, upgrade) => {
      restarts.push(upgrade);
      return fakeStack(`s${++n}`, plan, crashed);
    });
    let ready = false;
    const stop = c.watch(plan, [9], {
      at: 3,
      ready: () => ready,
      atTheMoment: async (old, where) => void moments.push(`${(old as unknown as { name: string }).name}: ${where}`),
    });
    for (let i = 0; i < 4; i++) plan.roll('dynamo.conflict');
    // Past its moment, not ready yet (no execution on the previous release): no upgrade.
    expect(crashed).toEqual([]);
    ready = true;
    plan.roll('dynamo.conflict');
    expect(crashed).toEqual(['s0']);
    await expect.poll(() => c.upgrades).toBe(1);
    // Read at the upgrade, from the old stack (its work cut off, its table not gone yet).
    expect(moments).toEqual(['s0: after write 5 of the functions (the upgrade, from write 3)']);
    // Once only; the crash planned at write 9 still comes, and restarts on the same (current) release.
    for (let i = 0; i < 5; i++) plan.roll('dynamo.conflict');
    await expect.poll(() => c.crashes).toBe(1);
    await stop();
    expect(crashed).toEqual(['s0', 's1']);
    expect(restarts).toEqual([true, false]);
    expect(c.upgrades).toBe(1);
    expect(plan.counts().upgrade).toEqual({ injected: 1, chances: 1 });
    expect(plan.counts().crash).toEqual({ injected: 1, chances: 1 });
    expect(plan.log.map((f) => [f.kind, f.where])).toEqual([
      ['upgrade', 'after write 5 of the functions (the upgrade, from write 3)'],
      ['crash', 'after write 9 of the functions (crash 1 of 1)'],
    ]);
  });

  it('comes with promotions waiting for approval, baking and rolling back; asks for fewer of them as the run goes on; at last any promotion running', () => {
    const seen = (approval: number, baking: number, rollingBack: number) => ({
      ...noUpgrade().inFlight,
      'waiting for approval': approval,
      baking,
      'rolling back': rollingBack,
    });
    const at = 300;
    const step = upgradeStep(10);
    expect(step).toBe((10 * WRITES_PER_PROMOTION) / 20);
    const may = (writesAfter: number, running: number, s: ReturnType<typeof seen>) => upgradeMayCome(at + writesAfter, at, step, running, s);
    // Before its moment, or with no promotion running on the previous release: never.
    expect(upgradeMayCome(at - 1, at, step, 3, seen(1, 1, 1))).toBe(false);
    expect(may(10 * step, 0, seen(1, 1, 1))).toBe(false);
    // From its moment all three phases; from a twentieth of the run's writes two, from a fifth one, from a quarter none.
    expect(may(0, 3, seen(1, 1, 1))).toBe(true);
    expect(may(step - 1, 3, seen(2, 1, 0))).toBe(false);
    expect(may(step, 3, seen(2, 1, 0))).toBe(true);
    expect(may(step, 3, seen(0, 1, 1))).toBe(true);
    expect(may(4 * step - 1, 3, seen(0, 1, 0))).toBe(false);
    expect(may(4 * step, 3, seen(0, 1, 0))).toBe(true);
    expect(may(5 * step - 1, 3, seen(0, 0, 0))).toBe(false);
    expect(may(5 * step, 1, seen(0, 0, 0))).toBe(true);
  });

  it('reads how a promotion stood from its item and its targets', () => {
    const path = (status: Promotion['status']): [Promotion['status'], number][] => [
      ['PENDING', 0],
      [status, 1],
    ];
    const result = { digest: 'sha256:x' } as Promotion['result'];
    expect(phaseOf(promotion('p', { path: path('AWAITING_APPROVAL') }), [])).toBe('waiting for approval');
    expect(phaseOf(promotion('p', { path: path('EXECUTING') }), [])).toBe('executing');
    expect(phaseOf(promotion('p', { path: path('EXECUTING'), result }), [])).toBe('baking');
    const rollout = { waves: [], wave: 1 } as Promotion['rollout'] & object;
    expect(phaseOf(promotion('p', { path: path('EXECUTING'), rollout }), [target('canary', 1, 'BAKING')])).toBe('baking');
    expect(phaseOf(promotion('p', { path: path('EXECUTING'), rollout }), [target('canary', 1, 'PENDING')])).toBe('executing');
    expect(phaseOf(promotion('p', { path: path('EXECUTING'), rollout: { ...rollout, stopping: { at: 'now', reason: 'alarm' } } }), [])).toBe('rolling back');
    expect(phaseOf(promotion('p', { path: path('COMPLETED') }), [])).toBe('other');
    expect(phaseOf(null, [])).toBe('other');
  });

  it('fails the run when no execution crossed the upgrade, and says what crossed it', () => {
    const never = noUpgrade();
    expect(upgradeVacuous(never)).toEqual([expect.objectContaining({ invariant: 'upgrade', because: '--upgrade was asked and the upgrade never came' })]);
    const none = { ...noUpgrade(), where: 'after write 9', resumed: { promotion: 2 } };
    expect(upgradeVacuous(none)).toEqual([
      expect.objectContaining({ invariant: 'upgrade', because: expect.stringMatching(/none of the executions it resumed ended/) }),
    ]);
    const crossed = { ...none, ended: 2, inFlight: { ...none.inFlight, baking: 1, 'waiting for approval': 1 } };
    expect(upgradeVacuous(crossed)).toEqual([]);
    expect(upgradeLines(crossed)).toEqual([
      'upgrade from the previous release (test/fixtures/previous-release/statemachines) to this one: after write 9',
      "  executions resumed on the previous release's definitions 2 (2 promotion), ended on them 2",
      '  their promotions at the upgrade: waiting for approval 1, baking 1, rolling back 0, executing 0, other 0',
    ]);
  });

  it('finishes the upgrade when its reading at the moment fails, and throws that failure when the watch ends', async () => {
    const plan = new FaultPlan({ seed: 1 });
    const crashed: string[] = [];
    const c = new CrashingStack(fakeStack('s0', plan, crashed), async () => fakeStack('s1', plan, crashed));
    const stop = c.watch(plan, [], {
      at: 1,
      ready: () => true,
      atTheMoment: async () => {
        throw new Error('table unreadable');
      },
    });
    plan.roll('dynamo.conflict');
    await expect.poll(() => c.upgrades).toBe(1);
    expect((c.view as unknown as { name: string }).name).toBe('s1');
    await expect(stop()).rejects.toThrow('table unreadable');
  });
});

describe('the cut a crash makes', () => {
  it('loses no event the bus accepted: a delivery in flight at the crash is cut off in the old stack and made by the new one', async () => {
    const event = { source: EVENT_SOURCE, 'detail-type': 'Promotion Attested', detail: {}, time: new Date().toISOString() };
    const delivered: string[] = [];
    const oldEpoch = new Epoch();
    let release!: () => void;
    const old = new LocalEventBus((run) => run(), 1);
    const gate = gateDeps({ receiver: { send: (who: string) => delivered.push(who) } });
    // The old stack's target is part way through (waiting on I/O) when the stack crashes.
    old.addRule({ source: [EVENT_SOURCE] }, async () => {
      await new Promise<void>((r) => (release = r));
      // An adapter's call, awaited as the functions await theirs: refused with a rejected promise after the crash.
      await gate.receiver.send('old');
    });
    old.addRule({ source: ['other'] }, () => void delivered.push('never'));
    await inEpoch(oldEpoch, async () => void old.put(event));
    expect(old.inFlight()).toEqual([{ rule: 0, event }]);
    const carried = old.inFlight();
    oldEpoch.crashed = true;
    release();
    await new Promise((r) => setTimeout(r, 20));
    // The crashed stack's delivery had no effect and is not retried by it.
    expect(delivered).toEqual([]);
    const next = new LocalEventBus((run) => run(), 1);
    next.addRule({ source: [EVENT_SOURCE] }, () => void gate.receiver.send('new'));
    next.addRule({ source: ['other'] }, () => void delivered.push('never'));
    await inEpoch(new Epoch(), async () => next.resume(carried));
    await expect.poll(() => delivered).toEqual(['new']);
    expect(next.inFlight()).toEqual([]);
    expect(() => new LocalEventBus().resume(carried)).toThrow(/no rule 0/);
  });

  it('refuses a crashed epoch’s work every adapter and outbound call, and leaves a live epoch’s work alone', async () => {
    const calls: string[] = [];
    const deps = gateDeps({
      store: { put: (x: string) => calls.push(`put ${x}`) },
      clock: () => 'now',
    });
    const old = new Epoch();
    const live = new Epoch();
    const sent: string[] = [];
    const outbound = crashGateOutbound();
    const send = (what: string) => () => (sent.push(what), Promise.resolve(new Response('ok')));
    // Work the old stack began before its crash, holding an adapter it took then.
    const held = inEpoch(old, () => deps.store);
    old.crashed = true;
    await inEpoch(old, async () => {
      // An adapter's call answers a rejected promise (never a throw that would strand a sibling call's rejection).
      await expect(deps.store.put('now')).rejects.toThrow(CrashedError);
      await expect(held.put('late')).rejects.toThrow(CrashedError);
      expect(() => deps.clock()).toThrow(CrashedError);
      // Side by side, as a step loads two things at once: both refusals are the Promise.all's, none left unhandled.
      const unhandled: unknown[] = [];
      const seen = (e: unknown) => void unhandled.push(e);
      process.on('unhandledRejection', seen);
      try {
        const load = async () => deps.store.put('a');
        await expect(Promise.all([load(), deps.store.put('b')])).rejects.toThrow(CrashedError);
        await new Promise((r) => setTimeout(r, 20));
      } finally {
        process.off('unhandledRejection', seen);
      }
      expect(unhandled).toEqual([]);
      await expect(outbound(new URL('http://h/x'), 'POST', send('old'))).rejects.toThrow(CrashedError);
    });
    inEpoch(live, () => {
      deps.store.put('new');
      expect(deps.clock()).toBe('now');
    });
    await inEpoch(live, () => outbound(new URL('http://h/x'), 'POST', send('new')));
    expect(calls).toEqual(['put new']);
    expect(sent).toEqual(['new']);
  });

  it('sends no DynamoDB request of a crashed epoch’s work (refused before its first attempt); a live epoch’s goes out', async () => {
    const sent: string[] = [];
    const client = new DynamoDBClient({
      endpoint: 'http://127.0.0.1:1',
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 3,
      requestHandler: {
        handle: async () => {
          sent.push(String(sent.length));
          throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        },
      },
    });
    crashGateDynamo(client);
    const get = () => client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } }));
    const old = new Epoch();
    old.crashed = true;
    await expect(inEpoch(old, get)).rejects.toThrow(CrashedError);
    expect(sent).toEqual([]);
    await expect(inEpoch(new Epoch(), get)).rejects.toThrow(/socket hang up/);
    expect(sent.length).toBeGreaterThan(0);
  });

  it('answers nothing to a request its stack crashed under (the connection is cut, as a dead process’s), and answers a live stack’s', async () => {
    // The CI run this came from: an approval cut off by the upgrade answered 500, so its client never sent it again.
    const issuer = {} as LocalIssuer;
    const serve = async (epoch: Epoch, crashMidway: boolean) => {
      const gateway = await inEpoch(epoch, () => startGateway({ issuer, extra: async () => ((epoch.crashed ||= crashMidway), null) }));
      try {
        return await fetch(`${gateway.url}/api/v1/openapi.json`).then(
          (r) => r.status,
          (err: Error) => `cut: ${(err.cause as { code?: string } | undefined)?.code ?? err.message}`,
        );
      } finally {
        await gateway.close();
      }
    };
    expect(await serve(new Epoch(), false)).toBe(200);
    expect(await serve(new Epoch(), true)).toMatch(/^cut: /);
  });

  it('a crashed stack’s scheduler refuses its cut-off work (never a silent no-op that would pass for done)', async () => {
    const fired: unknown[] = [];
    const scheduler = new LocalScheduler({ fire: async (p) => void fired.push(p) });
    scheduler.halt();
    await expect(scheduler.scheduleOnce('x', new Date(), { tenant: 't' } as never)).rejects.toThrow(CrashedError);
    await expect(scheduler.cancel('x')).rejects.toThrow(CrashedError);
    expect(scheduler.pending()).toEqual([]);
  });
});
