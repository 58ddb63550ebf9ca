import { describe, expect, it } from 'vitest';
import { LocalWorkflow, localMachineArn, WAVE_MACHINE, type StatusChange } from '../../local/workflow.ts';

/** The local runner's child executions: a wave started from a parent's task, stopped, its end published as EventBridge would. */
describe('LocalWorkflow: child wave executions', () => {
  const input = { tenant: 't', promotionId: 'p', wave: 2, bakeSeconds: 0, parentToken: 'parent-token' };

  it('runs statemachines/wave.asl.json to its end, publishes SUCCEEDED with its input, and counts its history', async () => {
    const steps: string[] = [];
    const changes: StatusChange[] = [];
    const wf = new LocalWorkflow({
      invokeStep: async (p) => {
        const step = (p as { step: string }).step;
        steps.push(step);
        // Immediate targets: nothing pending after the apply (the bake next), the bake's end read in one pass.
        return step === 'wave-end' ? { next: 'execute' } : { phase: 'bake', offset: 100, done: true, pending: 0, loops: 0, waitSeconds: 0, renew: false };
      },
      onStatusChange: (c) => changes.push(c),
    });
    const id = await wf.startWave(input);
    expect(await wf.startWave(input)).toBe(id); // one child per parent token
    expect(await wf.done(id)).toBe('SUCCEEDED');
    expect(steps).toEqual(['wave-apply', 'wave-baked', 'wave-end']);
    expect(changes).toEqual([expect.objectContaining({ status: 'SUCCEEDED', stateMachineArn: localMachineArn(WAVE_MACHINE) })]);
    expect(JSON.parse(changes[0]!.input)).toMatchObject(input);
    expect(wf.events(id)).toBeGreaterThan(wf.transitions(id));
    await wf.stop();
  });

  it('a stopped execution ends ABORTED, its status change published, and no step of it runs after', async () => {
    const steps: string[] = [];
    const changes: StatusChange[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const wf = new LocalWorkflow({
      invokeStep: async (p) => {
        steps.push((p as { step: string }).step);
        await gate;
        return { phase: 'apply', offset: 1, done: false, pending: 0, loops: 0, waitSeconds: 0, renew: false };
      },
      onStatusChange: (c) => changes.push(c),
    });
    const id = await wf.startWave(input);
    while (!steps.length) await new Promise((r) => setTimeout(r, 5));
    const stopping = wf.stopExecution(id);
    release();
    expect(await stopping).toBe(true);
    expect(wf.status(id)).toBe('ABORTED');
    expect(changes.map((c) => c.status)).toEqual(['ABORTED']);
    await new Promise((r) => setTimeout(r, 50));
    expect(steps).toEqual(['wave-apply']);
    await wf.stop();
  });
});
