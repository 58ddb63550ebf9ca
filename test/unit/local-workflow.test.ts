import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stepInput } from '../../domain/promotion/step/step-table.ts';
import { LocalClock } from '../../local/clock.ts';
import { LocalWorkflow, type JournalEntry } from '../../local/workflow.ts';
import { PREVIOUS_RELEASE_DIR } from '../../local/workflow-definitions.ts';

/**
 * The real statemachines/promotion.asl.json, run end to end by LocalWorkflow
 * against a scripted fake of the promotion-step Lambda.
 */

type Step = 'decide' | 'await-go' | 'execute' | 'bake' | 'verify' | 'expire' | 'fail';
type Payload = { step: Step; tenant: string; promotionId: string; taskToken?: string; error?: { Error: string; Cause: string }; bake?: boolean };
type Script = Partial<Record<Step, (p: Payload, n: number, wf: LocalWorkflow) => unknown>>;

const named = (name: string, message = name) => Object.assign(new Error(message), { name });

/**
 * A fake step Lambda: records every payload, answers from the script (default: `{}`, so decide
 * leaves its token for a test to answer, as when the promotion waits for approvers).
 */
function fakeStep(script: Script = {}) {
  const calls: Payload[] = [];
  let bound: LocalWorkflow | undefined;
  const invokeStep = async (payload: unknown) => {
    const p = stepInput.parse(payload) as Payload; // the handler's own (final) input schema
    calls.push(p);
    const n = calls.filter((c) => c.step === p.step).length;
    const answer = script[p.step];
    if (answer) return answer(p, n, bound!);
    return {};
  };
  const bind = (wf: LocalWorkflow) => {
    bound = wf;
  };
  const steps = () => calls.map((c) => c.step);
  /** Resolves with the task token of the n-th call of a waiting step, once the flow got there. */
  const tokenOf = async (step: Step, n = 1): Promise<string> => {
    for (let i = 0; i < 500; i++) {
      const found = calls.filter((c) => c.step === step)[n - 1];
      if (found?.taskToken) return found.taskToken;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`no ${step} call #${n}; calls: ${steps().join(', ')}`);
  };
  return { calls, invokeStep, steps, tokenOf, bind };
}

/** What the flow routes on (domain/promotion/terms/deadlines.ts flowDecision). Most tests run the baked path (execute, bake, verify). */
const decision = (next: string, bakeSeconds = 1, goTimeoutSeconds = 300) => ({ next, bakeSeconds, goTimeoutSeconds });
/** A decide step that needs no approver: it answers its own token with the decision (steps.ts decideStep). */
const decides =
  (next: string, bakeSeconds = 1, goTimeoutSeconds = 300) =>
  async (p: Payload, _n: number, wf: LocalWorkflow) => {
    expect(await wf.sendTaskSuccess(p.taskToken!, decision(next, bakeSeconds, goTimeoutSeconds))).toBe(true);
    return {};
  };
const input = (promotionId = 'p-1', approvalTimeoutSeconds = 300) => ({ tenant: 'acme', promotionId, approvalTimeoutSeconds });

const workflows: LocalWorkflow[] = [];
const dirs: string[] = [];
const workflow = (
  fake: ReturnType<typeof fakeStep>,
  options: { journalFile?: string; timeScale?: number; clock?: LocalClock; statemachines?: string } = {},
) => {
  const wf = new LocalWorkflow({ invokeStep: fake.invokeStep, timeScale: 0.001, ...options });
  fake.bind(wf);
  workflows.push(wf);
  return wf;
};
afterEach(async () => {
  await Promise.all(workflows.splice(0).map((wf) => wf.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('LocalWorkflow runs statemachines/promotion.asl.json', () => {
  it('approval path: decide (gates, then the approval wait: SendTaskSuccess) → execute → bake → verify, in 5 transitions', async () => {
    const fake = fakeStep();
    const wf = workflow(fake);
    const id = await wf.start(input());
    expect(id).toBe('promotion:acme:p-1');

    const token = await fake.tokenOf('decide');
    expect(await wf.sendTaskSuccess(token, decision('execute'))).toBe(true);
    expect(await wf.done(id)).toBe('SUCCEEDED');

    expect(fake.steps()).toEqual(['decide', 'execute', 'bake', 'verify']);
    expect(fake.calls.every((c) => c.tenant === 'acme' && c.promotionId === 'p-1')).toBe(true);
    expect(wf.transitions(id)).toBe(5);
    // the token is spent
    expect(await wf.sendTaskSuccess(token, decision('execute'))).toBe(false);
    expect(await wf.sendTaskFailure(token, 'Rejected', 'late')).toBe(false);
  });

  it('no approval needed: decide answers its own token → execute → bake → verify', async () => {
    const fake = fakeStep({ decide: decides('execute') });
    const wf = workflow(fake);
    const id = await wf.start(input());
    expect(await wf.done(id)).toBe('SUCCEEDED');
    expect(fake.steps()).toEqual(['decide', 'execute', 'bake', 'verify']);
    expect(wf.transitions(id)).toBe(5);
  });

  it('no bake time: approval → one execute step that completes the promotion, in 3 transitions (Decide, Route, Execute)', async () => {
    const fake = fakeStep();
    const wf = workflow(fake);
    const id = await wf.start(input());
    await wf.sendTaskSuccess(await fake.tokenOf('decide'), decision('execute', 0));
    expect(await wf.done(id)).toBe('SUCCEEDED');
    expect(fake.steps()).toEqual(['decide', 'execute']);
    expect(fake.calls.find((c) => c.step === 'execute')!.bake).toBe(false);
    expect(wf.transitions(id)).toBe(3);
  });

  it('no bake time and no approval: decide → execute, in 3 transitions', async () => {
    const fake = fakeStep({ decide: decides('execute', 0) });
    const wf = workflow(fake);
    const id = await wf.start(input());
    expect(await wf.done(id)).toBe('SUCCEEDED');
    expect(fake.steps()).toEqual(['decide', 'execute']);
    expect(wf.transitions(id)).toBe(3);
  });

  it('nothing to do: decide says done', async () => {
    const fake = fakeStep({ decide: decides('done') });
    const wf = workflow(fake);
    const id = await wf.start(input());
    expect(await wf.done(id)).toBe('SUCCEEDED');
    expect(fake.steps()).toEqual(['decide']);
    expect(wf.transitions(id)).toBe(3);
  });

  it('rejected: SendTaskFailure Rejected ends the flow, execute never runs', async () => {
    const fake = fakeStep();
    const wf = workflow(fake);
    const id = await wf.start(input());
    expect(await wf.sendTaskFailure(await fake.tokenOf('decide'), 'Rejected', 'not today')).toBe(true);
    expect(await wf.done(id)).toBe('SUCCEEDED');
    expect(fake.steps()).toEqual(['decide']);
  });

  it('cancelled while awaiting approval ends the flow too', async () => {
    const fake = fakeStep();
    const wf = workflow(fake);
    const id = await wf.start(input());
    expect(await wf.sendTaskFailure(await fake.tokenOf('decide'), 'Cancelled', 'by admin')).toBe(true);
    expect(await wf.done(id)).toBe('SUCCEEDED');
    expect(fake.steps()).toEqual(['decide']);
  });

  it('approval times out (approvalTimeoutSeconds: 1) → expire; the token is dead afterwards', async () => {
    const fake = fakeStep();
    const wf = workflow(fake);
    const id = await wf.start(input('p-1', 1));
    const token = await fake.tokenOf('decide');
    const t0 = Date.now();
    expect(await wf.done(id)).toBe('SUCCEEDED');
    expect(Date.now() - t0).toBeGreaterThan(800);
    expect(fake.steps()).toEqual(['decide', 'expire']);
    expect(await wf.sendTaskSuccess(token, decision('execute'))).toBe(false);
  });

  it("time runs on the stack's clock: an approval window of an hour and a bake of an hour end when the clock is moved, not before, and not on the wall", async () => {
    const clock = new LocalClock();
    const fake = fakeStep();
    const wf = workflow(fake, { clock });
    const id = await wf.start(input('p-1', 3600));
    const token = await fake.tokenOf('decide');
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.steps()).toEqual(['decide']);
    clock.advance(3600_000);
    expect(await wf.done(id)).toBe('SUCCEEDED');
    expect(fake.steps()).toEqual(['decide', 'expire']);
    expect(await wf.sendTaskSuccess(token, decision('execute'))).toBe(false);

    // A bake of an hour (the Bake task's time-out): verify comes when the clock is moved past it.
    const baking = fakeStep({ decide: decides('execute', 3600) });
    const wf2 = workflow(baking, { clock });
    const id2 = await wf2.start(input('p-2'));
    for (let i = 0; i < 200 && !baking.steps().includes('bake'); i++) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 100));
    expect(baking.steps()).toEqual(['decide', 'execute', 'bake']);
    clock.advance(3600_000);
    expect(await wf2.done(id2)).toBe('SUCCEEDED');
    expect(baking.steps()).toEqual(['decide', 'execute', 'bake', 'verify']);
  });

  it('a step may resume its own task (decision taken before the token was stored)', async () => {
    let wf!: LocalWorkflow;
    const fake = fakeStep({
      decide: async (p) => {
        expect(await wf.sendTaskSuccess(p.taskToken!, decision('execute'))).toBe(true);
        return {};
      },
    });
    wf = workflow(fake);
    const id = await wf.start(input());
    expect(await wf.done(id)).toBe('SUCCEEDED');
    expect(fake.steps()).toEqual(['decide', 'execute', 'bake', 'verify']);
  });

  it('approval windows longer than a Node timer can hold (30 days) do not expire at once', async () => {
    const fake = fakeStep();
    const wf = workflow(fake);
    const id = await wf.start(input('p-1', 30 * 24 * 3600));
    const token = await fake.tokenOf('decide');
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.steps()).toEqual(['decide']);
    expect(await wf.sendTaskSuccess(token, decision('execute'))).toBe(true);
    expect(await wf.done(id)).toBe('SUCCEEDED');
    expect(fake.steps()).toEqual(['decide', 'execute', 'bake', 'verify']);
  });

  it('runs promotions side by side, each resumed by its own token', async () => {
    const fake = fakeStep();
    const wf = workflow(fake);
    const ids = await Promise.all(['a', 'b', 'c'].map((p) => wf.start(input(p))));
    const tokens = new Map<string, string>();
    for (let i = 0; i < 500 && tokens.size < 3; i++) {
      for (const c of fake.calls) if (c.taskToken) tokens.set(c.promotionId, c.taskToken);
      await new Promise((r) => setTimeout(r, 5));
    }
    await wf.sendTaskFailure(tokens.get('b')!, 'Rejected', 'no');
    await wf.sendTaskSuccess(tokens.get('c')!, decision('execute'));
    await wf.sendTaskSuccess(tokens.get('a')!, decision('execute'));
    expect(await Promise.all(ids.map((id) => wf.done(id)))).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    const executed = fake.calls.filter((c) => c.step === 'execute').map((c) => c.promotionId);
    expect(executed.sort()).toEqual(['a', 'c']);
  });

  it('approved for later: approval → await-go (SendTaskSuccess) → execute → bake → verify', async () => {
    const fake = fakeStep();
    const wf = workflow(fake);
    const id = await wf.start(input());
    await wf.sendTaskSuccess(await fake.tokenOf('decide'), decision('await-go'));
    const go = await fake.tokenOf('await-go');
    expect(go).not.toBe(fake.calls[0]!.taskToken);
    expect(await wf.sendTaskSuccess(go, decision('execute'))).toBe(true);
    expect(await wf.done(id)).toBe('SUCCEEDED');
    expect(fake.steps()).toEqual(['decide', 'await-go', 'execute', 'bake', 'verify']);
  });

  it('manual execution cancelled, and go window expiring', async () => {
    const cancelled = fakeStep({ decide: decides('await-go') });
    const wf = workflow(cancelled);
    const id = await wf.start(input());
    await wf.sendTaskFailure(await cancelled.tokenOf('await-go'), 'Cancelled', 'changed my mind');
    expect(await wf.done(id)).toBe('SUCCEEDED');
    expect(cancelled.steps()).toEqual(['decide', 'await-go']);

    const expiring = fakeStep({ decide: decides('await-go', 1, 1) });
    const wf2 = workflow(expiring);
    const id2 = await wf2.start(input('p-2'));
    expect(await wf2.done(id2)).toBe('SUCCEEDED');
    expect(expiring.steps()).toEqual(['decide', 'await-go', 'expire']);
  });

  it('execute fails (PromotionFailed) → fail gets the error; verify never runs', async () => {
    const fake = fakeStep({
      decide: decides('execute'),
      execute: () => {
        throw named('PromotionFailed', 'target rejected the snapshot');
      },
    });
    const wf = workflow(fake);
    const id = await wf.start(input());
    expect(await wf.done(id)).toBe('SUCCEEDED');
    expect(fake.steps()).toEqual(['decide', 'execute', 'fail']);
    const failed = fake.calls.at(-1)!;
    expect(failed.error?.Error).toBe('PromotionFailed');
    // Cause is the Lambda function error as JSON, as Step Functions reports it
    expect(JSON.parse(failed.error!.Cause)).toEqual({ errorType: 'PromotionFailed', errorMessage: 'target rejected the snapshot' });
  });

  it('verify fails → fail', async () => {
    const fake = fakeStep({
      decide: decides('execute'),
      verify: () => {
        throw named('PromotionFailed', 'health check');
      },
    });
    const wf = workflow(fake);
    expect(await wf.done(await wf.start(input()))).toBe('SUCCEEDED');
    expect(fake.steps()).toEqual(['decide', 'execute', 'bake', 'verify', 'fail']);
  });

  it('TargetBusy is retried, then the promotion goes ahead', async () => {
    const fake = fakeStep({
      decide: decides('execute'),
      execute: (_p, n) => {
        if (n < 3) throw named('TargetBusy', 'staging is being promoted by p-0');
        return { ok: true };
      },
    });
    const wf = workflow(fake);
    const id = await wf.start(input());
    expect(await wf.done(id)).toBe('SUCCEEDED');
    expect(fake.steps()).toEqual(['decide', 'execute', 'execute', 'execute', 'bake', 'verify']);
    expect(wf.transitions(id)).toBe(7); // 5 states + 2 retries
  });

  it('TargetBusy for good: retries are bounded (1 + 8 attempts), then fail', async () => {
    const fake = fakeStep({
      decide: decides('execute'),
      execute: () => {
        throw named('TargetBusy');
      },
    });
    const wf = workflow(fake);
    expect(await wf.done(await wf.start(input()))).toBe('SUCCEEDED');
    expect(fake.steps().filter((s) => s === 'execute')).toHaveLength(9);
    expect(fake.steps().at(-1)).toBe('fail');
    expect(fake.calls.at(-1)!.error?.Error).toBe('TargetBusy');
  });

  it('retries Lambda service errors on every step', async () => {
    let throttled = 0;
    const fake = fakeStep({
      decide: (p, n, wf) => {
        if (n === 1) throw named('Lambda.TooManyRequestsException', 'Rate exceeded');
        return decides('execute')(p, n, wf);
      },
      verify: (_p, n) => {
        if (n === 1) {
          throttled++;
          throw named('Lambda.ServiceException');
        }
        return {};
      },
    });
    const wf = workflow(fake);
    expect(await wf.done(await wf.start(input()))).toBe('SUCCEEDED');
    expect(fake.steps()).toEqual(['decide', 'decide', 'execute', 'bake', 'verify', 'verify']);
    expect(throttled).toBe(1);
  });

  it('a decision the machine does not know fails the execution (no choice matches)', async () => {
    const fake = fakeStep({ decide: decides('sideways') });
    const wf = workflow(fake);
    expect(await wf.done(await wf.start(input()))).toBe('FAILED');
  });

  it('start is idempotent per promotion, running or finished', async () => {
    const fake = fakeStep();
    const wf = workflow(fake);
    const [a, b] = await Promise.all([wf.start(input()), wf.start(input())]);
    expect(a).toBe(b);
    await wf.sendTaskSuccess(await fake.tokenOf('decide'), decision('execute'));
    expect(await wf.done(a)).toBe('SUCCEEDED');
    expect(await wf.start(input())).toBe(a);
    await new Promise((r) => setTimeout(r, 20));
    expect(fake.steps()).toEqual(['decide', 'execute', 'bake', 'verify']);
    // another promotion, or another tenant, is another execution
    expect(await wf.start({ tenant: 'globex', promotionId: 'p-1', approvalTimeoutSeconds: 300 })).toBe('promotion:globex:p-1');
  });

  it('unknown tokens are ignored', async () => {
    const wf = workflow(fakeStep());
    expect(await wf.sendTaskSuccess('promotion:acme:p-1:AwaitApproval:1:0000', decision('execute'))).toBe(false);
    expect(await wf.sendTaskFailure('nope', 'Rejected', 'x')).toBe(false);
  });

  it('runs a rollback on the one machine: impact gate, approval, execute, bake, verify', async () => {
    const fake = fakeStep();
    const wf = workflow(fake);
    // The workflow is not told what the record is: a rollback's flow is the promotion machine's.
    const id = await wf.start(input('rb-1'));
    expect(id).toBe('promotion:acme:rb-1');
    expect(LocalWorkflow.executionId(input('rb-1'))).toBe(id);
    const token = await fake.tokenOf('decide');
    expect(await wf.sendTaskSuccess(token, decision('execute'))).toBe(true);
    expect(await wf.done(id)).toBe('SUCCEEDED');
    expect(fake.steps()).toEqual(['decide', 'execute', 'bake', 'verify']);
    expect(wf.transitions(id)).toBe(5);
  });

  it('stop() keeps a running execution RUNNING in the journal; a new LocalWorkflow resumes it from the start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stageline-wf-'));
    dirs.push(dir);
    const journalFile = join(dir, 'nested', 'executions.json');
    const journal = () => (JSON.parse(readFileSync(journalFile, 'utf8')) as { executions: JournalEntry[] }).executions;

    const first = fakeStep();
    const wf1 = workflow(first, { journalFile });
    const id = await wf1.start(input());
    const oldToken = await first.tokenOf('decide');
    await wf1.stop();
    expect(journal()).toEqual([expect.objectContaining({ id, machine: 'promotion', input: input(), status: 'RUNNING' })]);
    expect(await wf1.sendTaskSuccess(oldToken, decision('execute'))).toBe(false);
    await new Promise((r) => setTimeout(r, 20));
    expect(first.steps()).toEqual(['decide']);

    const second = fakeStep();
    const wf2 = workflow(second, { journalFile });
    expect(await wf2.sendTaskSuccess(oldToken, decision('execute'))).toBe(false);
    expect(wf2.resume()).toEqual([id]);
    const token = await second.tokenOf('decide');
    expect(token).not.toBe(oldToken);
    await wf2.sendTaskSuccess(token, decision('execute'));
    expect(await wf2.done(id)).toBe('SUCCEEDED');
    expect(second.steps()).toEqual(['decide', 'execute', 'bake', 'verify']);
    const [entry] = journal();
    expect(entry).toMatchObject({ id, status: 'SUCCEEDED' });
    expect(Date.parse(entry!.endedAt!)).toBeGreaterThanOrEqual(Date.parse(entry!.startedAt));

    // a third process on the same journal neither resumes nor re-runs it
    const third = fakeStep();
    const wf3 = workflow(third, { journalFile });
    expect(wf3.resume()).toEqual([]);
    expect(await wf3.start(input())).toBe(id);
    expect(await wf3.done(id)).toBe('SUCCEEDED');
    expect(third.calls).toEqual([]);
  });

  /**
   * A step script telling the previous release's promotion flow from this one's: execute fails, and the fail step
   * answers `more` on its first run of each promotion (a rollout's rollback with targets left). This release's flow
   * runs fail again (PutBackMore); the previous release's ended after one run.
   */
  const failsInBatches = () => {
    const runs = new Map<string, number>();
    const script: Script = {
      execute: () => {
        throw named('PromotionFailed', 'target rejected the snapshot');
      },
      fail: (p) => {
        runs.set(p.promotionId, (runs.get(p.promotionId) ?? 0) + 1);
        return { more: runs.get(p.promotionId) === 1 };
      },
    };
    return { runs, script };
  };
  const journalIn = (dir: string) => {
    const file = join(dir, 'executions.json');
    return { file, entries: () => (JSON.parse(readFileSync(file, 'utf8')) as { executions: JournalEntry[] }).executions };
  };

  it('a restarted workflow runs each journaled execution on the definitions it started on, and new executions on its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stageline-wf-'));
    dirs.push(dir);
    const journal = journalIn(dir);
    const { runs, script } = failsInBatches();

    // The previous release's stack: a promotion waits for its approval.
    const before = fakeStep(script);
    const wf1 = workflow(before, { journalFile: journal.file, statemachines: PREVIOUS_RELEASE_DIR });
    const old = await wf1.start(input('p-old'));
    await before.tokenOf('decide');
    await wf1.stop();
    expect(journal.entries()).toEqual([expect.objectContaining({ id: old, status: 'RUNNING', definitions: 'test/fixtures/previous-release/statemachines' })]);

    // This release's stack on the same journal: the waiting promotion goes on on its own definitions, a new one on these.
    const after = fakeStep(script);
    const wf2 = workflow(after, { journalFile: journal.file });
    expect(wf2.resume()).toEqual([old]);
    const fresh = await wf2.start(input('p-new'));
    await after.tokenOf('decide', 2);
    for (const c of after.calls.filter((x) => x.step === 'decide')) expect(await wf2.sendTaskSuccess(c.taskToken!, decision('execute'))).toBe(true);
    expect(await wf2.done(old)).toBe('SUCCEEDED');
    expect(await wf2.done(fresh)).toBe('SUCCEEDED');
    // One batch of the rollback on the previous release's flow (it ended there), every batch on this one's.
    expect(Object.fromEntries(runs)).toEqual({ 'p-old': 1, 'p-new': 2 });
    expect(journal.entries().map((e) => [e.id, e.status, e.definitions])).toEqual([
      [old, 'SUCCEEDED', 'test/fixtures/previous-release/statemachines'],
      [fresh, 'SUCCEEDED', 'statemachines'],
    ]);
  });

  it('an entry journaled without its definitions (a journal written before they were recorded) resumes on the definitions new executions start on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stageline-wf-'));
    dirs.push(dir);
    const journal = journalIn(dir);
    const id = LocalWorkflow.executionId(input());
    const old = { id, machine: 'promotion', input: input(), status: 'RUNNING', startedAt: new Date().toISOString() };
    writeFileSync(journal.file, JSON.stringify({ executions: [old] }));
    const { runs, script } = failsInBatches();
    const fake = fakeStep(script);
    const wf = workflow(fake, { journalFile: journal.file });
    expect(wf.resume()).toEqual([id]);
    expect(await wf.sendTaskSuccess(await fake.tokenOf('decide'), decision('execute'))).toBe(true);
    expect(await wf.done(id)).toBe('SUCCEEDED');
    // This release's flow: the rollback's second batch ran.
    expect(Object.fromEntries(runs)).toEqual({ 'p-1': 2 });
    expect(fake.steps()).toEqual(['decide', 'execute', 'fail', 'fail']);
    expect(journal.entries()).toEqual([{ ...old, status: 'SUCCEEDED', endedAt: expect.any(String) }]);
  });
});
