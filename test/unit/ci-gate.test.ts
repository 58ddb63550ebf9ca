import { describe, expect, it } from 'vitest';
import * as z from '../../domain/kernel/zod.ts';
import { ciGateSchema, ciInputs } from '../../domain/kernel/ci-gate.ts';
import { Frozen } from '../../domain/kernel/errors.ts';
import { approvePromotion } from '../../domain/promotion/decide/approve.ts';
import { CiRefused, type CiRunState, type CiRuns } from '../../domain/promotion/ports.ts';
import { ciVerdict } from '../../domain/promotion/run/ci-run.ts';
import { awaitGoStep, executeStep } from '../../domain/promotion/step/steps.ts';
import { fireSchedule } from '../../domain/promotion/step/fire.ts';
import { scheduleName } from '../../domain/promotion/run/schedule-name.ts';
import { blockedBecause } from '../../domain/promotion/status.ts';
import { memoryDeps, userCtx } from '../support/memory-deps.ts';
import { awaitingApproval } from '../support/memory-promotions.ts';

/**
 * The CI gate's rules (domain/kernel/ci-gate.ts, domain/promotion/run/ci-run.ts) and its hold (ci-hold.ts) on the
 * memory store with a scripted host: started once however many looks race, looked at every pollSeconds, a run that
 * outlives the gate's timeout or a host that refuses rejects the promotion, a host that is down is tried again.
 */
const carol = userCtx('acme', 'carol', 'approver');
const gate = { repository: 'acme/shop', workflow: 'e2e.yml', app: { id: '1', privateKeySecret: 'KEY' }, timeoutMinutes: 5, pollSeconds: 60 };

/** A host whose run answers `ci.state` (set by the test); counts the starts. */
function host(state: CiRunState, start?: () => Promise<{ id: string; url: string }>) {
  const calls = { start: 0, read: 0 };
  const ci = { state, calls, ciRuns: undefined as unknown as CiRuns };
  const ciRuns: CiRuns = {
    async start() {
      calls.start++;
      if (start) return start();
      await new Promise((r) => setTimeout(r, 5));
      return { id: '77', url: 'https://github.example/acme/shop/actions/runs/77' };
    },
    async read() {
      calls.read++;
      return ci.state;
    },
  };
  ci.ciRuns = ciRuns;
  return ci;
}

async function approved(ci: ReturnType<typeof host>) {
  const m = memoryDeps(new Date('2030-01-07T09:00:00.000Z'));
  const id = await awaitingApproval(m, { prod: { ciGate: gate } });
  await approvePromotion(m.deps, carol, id);
  const deps = { ...m.deps, ciRuns: ci.ciRuns };
  const read = async () => (await m.store.getPromotion('acme', id))!;
  return { ...m, deps, id, read };
}

const running: CiRunState = { status: 'in_progress', conclusion: null, url: 'https://github.example/acme/shop/actions/runs/77' };
const passed: CiRunState = { status: 'completed', conclusion: 'success', url: running.url };

describe('the CI gate', () => {
  it('reads GitHub and GitLab states: only a success passes, anything ended otherwise fails, GitLab waits on a manual job', () => {
    expect(ciVerdict('github', passed)).toBe('passed');
    expect(ciVerdict('github', { ...passed, conclusion: 'cancelled' })).toBe('failed');
    expect(ciVerdict('github', running)).toBe('running');
    expect(ciVerdict('gitlab', { status: 'success', conclusion: null, url: '' })).toBe('passed');
    expect(ciVerdict('gitlab', { status: 'canceled', conclusion: null, url: '' })).toBe('failed');
    expect(ciVerdict('gitlab', { status: 'manual', conclusion: null, url: '' })).toBe('running');
  });

  it('fills only the known placeholders, keeps input names data, and refuses unknown ones when saved', () => {
    const parsed = z.parse(ciGateSchema, { ...gate, inputs: [{ name: 'release', value: '{{ release }}@{{environment}}' }] });
    expect(ciInputs(parsed, { release: 'shop@1.2.0', promotion: 'p', environment: 'prod', source: 'dev', digest: 'd' })).toEqual({
      release: 'shop@1.2.0@prod',
    });
    const bad = z.safeParse(ciGateSchema, {
      ...gate,
      inputs: [
        { name: 'x', value: '{{process.env}}' },
        { name: 'constructor', value: '' },
        { name: 'x', value: '' },
      ],
    });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^inputs\.0\.value: \{\{process\.env\}\} is not known/),
        expect.stringMatching(/^inputs: names an input twice/),
      ]),
    );
    // An input named like an object's own property is sent as data, never walked.
    const proto = z.parse(ciGateSchema, { ...gate, inputs: [{ name: 'constructor', value: 'v' }] });
    const sent = ciInputs(proto, { release: '', promotion: '', environment: '', source: '', digest: '' });
    expect(Object.getPrototypeOf(sent)).toBe(Object.prototype);
    expect(sent.constructor).toBe('v');
  });

  it('starts the run once however many looks race; holds SCHEDULED to the next look; a success goes on', async () => {
    const ci = host(running);
    const { deps, id, read, schedules } = await approved(ci);
    const looks = await Promise.allSettled([executeStep(deps, 'acme', id, true), executeStep(deps, 'acme', id, true), executeStep(deps, 'acme', id, true)]);
    expect(looks.every((l) => l.status === 'rejected' && l.reason instanceof Frozen)).toBe(true);
    expect(ci.calls.start).toBe(1);
    const held = await read();
    expect(held).toMatchObject({
      status: 'SCHEDULED',
      heldBy: { ci: { run: '77', status: 'in_progress' } },
      ciRun: { run: { id: '77' }, looks: expect.any(Number) },
    });
    expect(blockedBecause(held, deps.clock())).toContain('GitHub Actions run 77 of e2e.yml is in_progress');
    // The next look: pollSeconds on.
    const next = schedules.get(scheduleName({ tenant: 'acme', id }))!.at.getTime() - Date.parse(held.ciRun!.checkedAt!);
    expect(next).toBeGreaterThanOrEqual(60_000);
    expect(next).toBeLessThan(61_000);
    ci.state = passed;
    expect(await executeStep(deps, 'acme', id, true)).toEqual({ next: 'execute' });
    expect((await read()).gates?.find((g) => g.gate === 'ci_run')).toMatchObject({ verdict: 'PASS', evidenceRefs: [running.url] });
    expect(ci.calls.start).toBe(1);
  });

  it('a run still going at its deadline rejects the promotion, saying so; nothing was changed', async () => {
    const ci = host(running);
    const { deps, id, read, advance } = await approved(ci);
    await expect(executeStep(deps, 'acme', id, true)).rejects.toBeInstanceOf(Frozen);
    advance(4 * 60);
    await expect(executeStep(deps, 'acme', id, true)).rejects.toBeInstanceOf(Frozen);
    advance(61);
    expect(await executeStep(deps, 'acme', id, true)).toEqual({ next: 'done' });
    const p = await read();
    expect(p).toMatchObject({ status: 'REJECTED', rejection: { by: 'CI gate' }, error: { code: 'CI_RUN_FAILED' } });
    expect(p.rejection!.reason).toBe(`GitHub Actions run 77 of e2e.yml did not end within 5 min (${running.url})`);
    expect(p.result).toBeFalsy();
  });

  it('a host that is down is tried again once the claim is stale; one that refuses rejects at once', async () => {
    let down = true;
    const ci = host(passed, async () => {
      if (down) throw new Error('connect ECONNREFUSED');
      return { id: '78', url: 'https://github.example/acme/shop/actions/runs/78' };
    });
    const { deps, id, read, advance } = await approved(ci);
    await expect(executeStep(deps, 'acme', id, true)).rejects.toBeInstanceOf(Frozen);
    expect((await read()).heldBy?.reason).toContain("the CI gate's run could not be started yet: connect ECONNREFUSED");
    down = false;
    advance(60);
    // The claim is not stale yet: no second start.
    await expect(executeStep(deps, 'acme', id, true)).rejects.toBeInstanceOf(Frozen);
    expect(ci.calls.start).toBe(1);
    advance(120);
    expect(await executeStep(deps, 'acme', id, true)).toEqual({ next: 'execute' });
    expect(ci.calls.start).toBe(2);

    const refused = host(passed, async () => {
      throw new CiRefused('GitHub refused to run e2e.yml on main: 404 Not Found');
    });
    const other = await approved(refused);
    expect(await executeStep(other.deps, 'acme', other.id, true)).toEqual({ next: 'done' });
    expect((await other.read()).rejection?.reason).toContain('404 Not Found');
  });

  it('a look of its schedule reads the run without waking the flow while it runs, and wakes it once it ended', async () => {
    const ci = host(running);
    const { deps, id, read, schedules, answered, advance } = await approved(ci);
    await expect(executeStep(deps, 'acme', id, true)).rejects.toBeInstanceOf(Frozen);
    // The flow parks in its go task.
    await awaitGoStep(deps, 'acme', id, 'go-1');
    const earlier = answered.length; // the approval answered the flow's decide task
    advance(60);
    expect(await fireSchedule(deps, 'acme', id)).toEqual({ fired: false, status: 'SCHEDULED' });
    expect(answered.slice(earlier)).toEqual([]);
    const held = await read();
    expect(held).toMatchObject({ status: 'SCHEDULED', taskToken: 'go-1', ciRun: { looks: 2, conclusion: null } });
    expect(schedules.get(scheduleName({ tenant: 'acme', id }))!.at.getTime()).toBe(Date.parse(held.heldBy!.until));
    ci.state = passed;
    advance(60);
    expect(await fireSchedule(deps, 'acme', id)).toEqual({ fired: true, status: 'SCHEDULED' });
    expect(answered.slice(earlier).map((a) => a.token)).toEqual(['go-1']);
    // The look recorded the success: the execute step goes on without asking the host again.
    const reads = ci.calls.read;
    expect(await executeStep(deps, 'acme', id, true)).toEqual({ next: 'execute' });
    expect(ci.calls.read).toBe(reads);
    expect(ci.calls.start).toBe(1);
  });
});
