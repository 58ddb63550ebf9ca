import { describe, expect, it } from 'vitest';
import { FaultPlan, faultPlanFromEnv, FAULT_KINDS } from '../../local/faults.ts';
import { faultyDelivery, faultyOutbound, faultyStep } from '../../local/fault-seams.ts';
import { LocalEventBus } from '../../local/event-bus.ts';
import { errorResponse } from '../../functions/http/errors.ts';
import { sameValue } from '../../functions/adapters/store/base.ts';
import { EVENT_SOURCE } from '../../domain/kernel/events.ts';

/** The fault plan (local/faults.ts) and the seams that apply it, and the answers the product gives what they inject. */
describe('the fault plan', () => {
  it('is seeded: the same seed makes the same decisions; each kind has its rate; a paused plan injects nothing', () => {
    const decisions = (seed: number) => {
      const plan = new FaultPlan({ seed, rate: 0.3 });
      return Array.from({ length: 200 }, () => plan.roll('step.before'));
    };
    expect(decisions(7)).toEqual(decisions(7));
    expect(decisions(7)).not.toEqual(decisions(8));
    const plan = new FaultPlan({ seed: 1, rate: 0, rates: { 'bus.twice': 1 } });
    expect(plan.roll('bus.twice')).toBe(true);
    expect(plan.roll('step.after')).toBe(false);
    plan.pause();
    expect(plan.roll('bus.twice')).toBe(false);
    expect(plan.counts()['bus.twice']).toEqual({ injected: 1, chances: 1 });
    expect(Object.keys(plan.counts())).toEqual([...FAULT_KINDS]);
  });

  it('comes from STAGELINE_FAULTS (JSON or @file), names what is wrong, and is refused where the code runs as a Lambda function', () => {
    expect(faultPlanFromEnv({})).toBeUndefined();
    expect(faultPlanFromEnv({ STAGELINE_FAULTS: '{"seed":3,"rate":0.1}' })?.rateOf('step.twice')).toBe(0.1);
    expect(() => faultPlanFromEnv({ STAGELINE_FAULTS: '{"seed":3,"rate":2}' })).toThrow(/rate/);
    expect(() => faultPlanFromEnv({ STAGELINE_FAULTS: '{"seed":3,"rates":{"disk.full":1}}' })).toThrow(/rates/);
    expect(() => faultPlanFromEnv({ STAGELINE_FAULTS: 'seed=3' })).toThrow(/not JSON/);
    expect(() => faultPlanFromEnv({ STAGELINE_FAULTS: '{"seed":3}', AWS_LAMBDA_FUNCTION_NAME: 'stageline-step' })).toThrow(/local stack only/);
  });

  it('fails a step before it runs, after it ran (its answer lost), past its timeout, or runs it twice, with the names AWS gives those errors', async () => {
    const only = (kind: (typeof FAULT_KINDS)[number]) => new FaultPlan({ seed: 1, rates: { [kind]: 1 }, delayMs: 0 });
    let runs = 0;
    const step = async () => ++runs;
    await expect(faultyStep(only('step.before'), step)({})).rejects.toMatchObject({ name: 'Lambda.ServiceException' });
    expect(runs).toBe(0);
    await expect(faultyStep(only('step.after'), step)({})).rejects.toMatchObject({ name: 'Lambda.SdkClientException' });
    expect(runs).toBe(1);
    await expect(faultyStep(only('step.timeout'), step)({})).rejects.toMatchObject({ name: 'Sandbox.Timedout' });
    expect(runs).toBe(2);
    expect(await faultyStep(only('step.twice'), step)({})).toBe(4);
    const none = new FaultPlan({ seed: 1 });
    expect(await faultyStep(none, step)({})).toBe(5);
    let delivered = 0;
    await faultyDelivery(only('bus.twice'), 'bus.twice', 'bus.late')(async () => void delivered++);
    expect(delivered).toBe(2);
  });

  it('logs each fault it injects: its kind, when, and where the seam says it was (a step and its promotion, a delivery, a call)', async () => {
    const plan = new FaultPlan({ seed: 3, rate: 0.5, delayMs: 0 });
    const step = async () => 'ok';
    for (let i = 0; i < 20; i++) await faultyStep(plan, step)({ step: 'apply', tenant: 'acme', promotionId: `prm_${i}` }).catch(() => undefined);
    for (let i = 0; i < 20; i++) await faultyDelivery(plan, 'bus.twice', 'bus.late')(async () => undefined, `Promotion Completed ${i}`);
    const out = faultyOutbound(plan);
    for (let i = 0; i < 20; i++)
      await out(new URL(`https://git.example.test/repo-${i}.git/info/refs?service=x`), 'GET', async () => new Response('ok')).catch(() => undefined);
    const total = Object.values(plan.counts()).reduce((n, c) => n + c.injected, 0);
    expect(total).toBeGreaterThan(10);
    // One entry per fault injected, each kind as counted.
    expect(plan.log).toHaveLength(total);
    for (const kind of FAULT_KINDS)
      expect(
        plan.log.filter((f) => f.kind === kind),
        kind,
      ).toHaveLength(plan.counts()[kind].injected);
    for (const f of plan.log) expect(Number.isNaN(Date.parse(f.at)), f.at).toBe(false);
    const where = (prefix: string) => plan.log.filter((f) => f.kind.startsWith(prefix)).map((f) => f.where);
    expect(where('step.').length).toBeGreaterThan(0);
    for (const w of where('step.')) expect(w).toMatch(/^step apply acme\/prm_\d+$/);
    for (const w of where('bus.')) expect(w).toMatch(/^Promotion Completed \d+$/);
    expect(where('outbound.').length).toBeGreaterThan(0);
    for (const w of where('outbound.')) expect(w).toMatch(/^GET https:\/\/git\.example\.test\/repo-\d+\.git\/info\/refs$/);
    // A paused plan injects and logs nothing.
    plan.pause();
    await faultyStep(plan, step)({ step: 'apply', tenant: 'acme', promotionId: 'prm_x' });
    expect(plan.log).toHaveLength(total);
  });
});

describe('what the product answers a fault', () => {
  it('a busy store (a transaction on the item, throttling, a lost answer) is 503 UNAVAILABLE with Retry-After, never a 500', () => {
    for (const name of ['TransactionConflictException', 'ThrottlingException', 'ProvisionedThroughputExceededException', 'TimeoutError']) {
      const err = Object.assign(new Error('busy'), { name });
      const r = errorResponse(err, 'req-1');
      expect(r.statusCode, name).toBe(503);
      expect(r.headers['retry-after']).toBe('1');
      expect(JSON.parse(r.body).error.code).toBe('UNAVAILABLE');
    }
    expect(errorResponse(new Error('boom')).statusCode).toBe(500);
  });

  it('the local bus gives a failed target the event twice more, as Lambda runs a failed asynchronous invocation', async () => {
    const bus = new LocalEventBus((run) => run(), 1);
    let calls = 0;
    bus.addRule({ source: [EVENT_SOURCE] }, async () => {
      if (++calls < 3) throw new Error('TransactionConflictException');
    });
    await bus.put({ source: EVENT_SOURCE, 'detail-type': 'Promotion Completed', detail: {}, time: new Date().toISOString() });
    await bus.idle();
    expect(calls).toBe(3);
  });

  it('a Put read back after the SDK sent it again is the same item when DynamoDB stores the same attributes (binary by bytes, no undefined)', () => {
    expect(sameValue({ a: 1, b: Buffer.from('x'), c: undefined, d: [1, { e: 'f' }] }, { d: [1, { e: 'f' }], b: new Uint8Array([120]), a: 1 })).toBe(true);
    expect(sameValue({ a: 1, version: 2 }, { a: 1, version: 3 })).toBe(false);
    expect(sameValue({ a: 1 }, { a: 1, claim: 'other' })).toBe(false);
  });
});
