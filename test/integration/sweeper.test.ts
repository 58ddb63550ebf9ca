import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * Nothing stays stuck: a promotion whose flow is gone (here: its execute step never returns, as if
 * the execution were lost) is failed by its deadline schedule with a reason, through the API's
 * ordinary surfaces; a promotion whose flow is healthy is never touched.
 */
describe('sweeper', () => {
  let t: TestStack;
  let release: () => void = () => undefined;
  const hung = new Promise<void>((r) => (release = r));
  const stuck = new Set<string>();

  beforeAll(async () => {
    t = await startTestStack({
      // The sweeper's grace past a state's own deadline: 4 s here (15 minutes by default): long enough that a healthy
      // flow on a loaded machine is never taken for a lost one, short enough for the test.
      config: { STAGELINE_SWEEP_GRACE_SECONDS: '4' },
      beforeStep: async (payload) => {
        const p = payload as { step: string; promotionId: string };
        if (p.step === 'execute' && stuck.has(p.promotionId)) {
          await hung;
          throw new Error('process killed');
        }
      },
    });
  });
  afterAll(async () => {
    release();
    await t?.stop();
  });

  it('fails a promotion stuck past its deadline with a reason (audited, evented); a healthy one completes untouched', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    await t.call('POST', '/api/v1/environments/dev/items/batch', { token: u.deployer, body: { set: [{ key: 'a', value: 1 }] } });

    // The flow starts at once; its execute step hangs for good (the promotion id is known only after the create answers,
    // so the first promotion is made stuck by marking every execute of this test's first promotion).
    const created = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', autoStart: false },
    });
    expect(created.status).toBe(201);
    stuck.add(created.body.id);
    expect((await t.call('POST', `/api/v1/promotions/${created.body.id}/validate`, { token: u.deployer, body: {} })).status).toBe(202);

    const swept = await waitFor(t, u.viewer, created.body.id, ['CANCELLED', 'FAILED', 'COMPLETED'], 30_000);
    expect(swept.status).toBe('CANCELLED');
    expect(swept.error.code).toBe('NOT_EXECUTED');
    expect(swept.error.message).toMatch(/its flow is gone; swept/);
    const staging = await t.call('GET', '/api/v1/environments/staging', { token: u.viewer });
    expect(staging.body.snapshot.seq).toBe(0); // nothing was changed

    const audit = await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${created.body.id}`, { token: u.viewer });
    expect(audit.body.items.find((e: any) => e.action === 'promotion.cancel').reason).toMatch(/swept/);

    // A healthy promotion meanwhile: completes, and its deadline schedule leaves it alone.
    const healthy = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    expect((await waitFor(t, u.viewer, healthy.body.id, ['COMPLETED', 'FAILED', 'CANCELLED'], 30_000)).status).toBe('COMPLETED');
    await new Promise((r) => setTimeout(r, 5_000));
    expect((await t.call('GET', `/api/v1/promotions/${healthy.body.id}`, { token: u.viewer })).body.status).toBe('COMPLETED');
  });

  it('starts the flow of a promotion whose request ended after its write and before its flow started (chaos seed 12); nothing stays PENDING', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    await t.call('POST', '/api/v1/environments/dev/items/batch', { token: u.deployer, body: { set: [{ key: 'b', value: 2 }] } });
    // The function is cut off right after the promotion is written: the flow's start never happens in the request.
    const workflow = t.stack.workflow;
    const start = workflow.start.bind(workflow);
    let cut = 0;
    workflow.start = async (input) => {
      if (input.tenant === tenant && cut++ === 0) throw new Error('Task timed out after 10.00 seconds');
      return start(input);
    };
    try {
      const created = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
      expect(created.status).toBe(500);
      const listed = await t.call('GET', '/api/v1/promotions', { token: u.viewer });
      expect(listed.body.items.map((p: any) => p.status)).toEqual(['PENDING']);
      const id = listed.body.items[0].id as string;
      // Its deadline schedule was armed before it was written: the sweeper starts its flow (the same execution name).
      const ended = await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED', 'CANCELLED'], 30_000);
      expect(ended.status).toBe('COMPLETED');
      expect(cut).toBe(2);
    } finally {
      workflow.start = start;
    }
  });
});
