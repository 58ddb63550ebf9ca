import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { stepInput } from '../../domain/promotion/step/step-table.ts';
import { STEPS, type StepName } from '../../domain/promotion/step/step-table.ts';
import { PULL_REQUEST_WAIT_SECONDS } from '../../domain/promotion/terms/deadlines.ts';
import { STATE_MACHINES, aslFiles, aslPath } from '../../infra/state-machines.ts';
import { substitutePlaceholders } from '../../local/workflow-asl.ts';

/** asl-validator (CommonJS, untyped; a dependency of aws-local-stepfunctions). */
type Validate = (
  definition: unknown,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };
const validate = createRequire(import.meta.url)('asl-validator') as Validate;

type State = {
  Type: string;
  Comment?: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Resource?: string;
  Parameters?: { FunctionName?: string; Payload?: Record<string, unknown> };
  ResultPath?: string | null;
  ResultSelector?: Record<string, string>;
  TimeoutSecondsPath?: string;
  TimeoutSeconds?: number;
  Choices?: { Variable: string; StringEquals?: string; Next: string }[];
  Retry?: { ErrorEquals: string[]; IntervalSeconds?: number; MaxAttempts?: number; BackoffRate?: number; MaxDelaySeconds?: number; JitterStrategy?: string }[];
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string | null }[];
};
type Definition = { Comment?: string; StartAt: string; States: Record<string, State> };

const files = aslFiles();
const promotion = JSON.parse(files.find((f) => f.file === STATE_MACHINES.promotion.file)!.text) as Definition;
const waveMachine = JSON.parse(files.find((f) => f.file === STATE_MACHINES.wave.file)!.text) as Definition;
// Lambda's service errors (Step Functions' advice) and a function that ran past its timeout (its steps are idempotent).
const LAMBDA_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Sandbox.Timedout',
];

type Rule = {
  Variable?: string;
  StringEquals?: string;
  IsPresent?: boolean;
  NumericGreaterThan?: number;
  BooleanEquals?: boolean;
  And?: Rule[];
  Next?: string;
};
type Values = Record<string, string | number | boolean>;

function holds(rule: Rule, values: Values): boolean {
  if (rule.And) return rule.And.every((r) => holds(r, values));
  const v = values[rule.Variable!];
  if (rule.IsPresent !== undefined) return (v !== undefined) === rule.IsPresent;
  if (rule.StringEquals !== undefined) return v === rule.StringEquals;
  if (rule.NumericGreaterThan !== undefined) return typeof v === 'number' && v > rule.NumericGreaterThan;
  if (rule.BooleanEquals !== undefined) return v === rule.BooleanEquals;
  throw new Error(`rule not understood by this walker: ${JSON.stringify(rule)}`);
}

/**
 * Walks the definition the way an execution would and returns the states entered (each one a
 * billed state transition on a Standard workflow). `values` are what the Choice states test at
 * the start; `after` sets what a state's result adds (a person's decision sent with a task token);
 * `raises` names the error a task throws the first time it is entered (its Catch is followed).
 */
function path(def: Definition, values: Values, after: Record<string, Values> = {}, raises: Record<string, string> = {}): string[] {
  const entered: string[] = [];
  const seen = { ...values };
  const pending = { ...raises };
  let name: string | undefined = def.StartAt;
  while (name) {
    entered.push(name);
    expect(entered.length, 'loop?').toBeLessThan(50);
    const state: State = def.States[name]!;
    const error: string | undefined = pending[name];
    if (error) {
      delete pending[name];
      // The first catcher that matches, in order, as Step Functions picks it.
      name = state.Catch?.find((c) => c.ErrorEquals.includes(error) || c.ErrorEquals.includes('States.ALL'))?.Next;
      expect(name, `${entered.at(-1)} does not catch ${error}`).toBeDefined();
      continue;
    }
    Object.assign(seen, after[name] ?? {});
    if (state.Type === 'Succeed' || state.Type === 'Fail' || state.End) break;
    if (state.Type === 'Choice') {
      const hit = (state.Choices as Rule[]).find((c) => holds(c, seen));
      name = hit?.Next ?? state.Default;
      expect(name, `no choice in ${entered.at(-1)} for ${JSON.stringify(seen)}`).toBeDefined();
    } else {
      name = state.Next;
    }
  }
  return entered;
}

/** What the Decide task resumes with (the approver's decision, or its own when no approver is needed): `$.decision`. */
const decided = (next: string, bakeSeconds = 0) => ({ '$.decision.next': next, '$.decision.bakeSeconds': bakeSeconds });
/** The go signal (execute API, a schedule) sends execute. */
const go = { AwaitGo: { '$.decision.next': 'execute' } };

describe('statemachines/*.asl.json', () => {
  it('is two files: the promotion machine, which runs promotions and rollbacks alike, and the wave machine its large waves run as children of', () => {
    expect(files.map((f) => f.file)).toEqual(['promotion.asl.json', 'wave.asl.json']);
    expect(Object.keys(STATE_MACHINES)).toEqual(['promotion', 'wave']);
    expect(aslPath('promotion')).toMatch(/statemachines\/promotion\.asl\.json$/);
    expect(aslPath('wave')).toMatch(/statemachines\/wave\.asl\.json$/);
  });

  it.each(files.map((f) => [f.file, f.text] as const))('%s is valid ASL, as written and with placeholders substituted', (_file, text) => {
    for (const definition of [JSON.parse(text), JSON.parse(substitutePlaceholders(text))]) {
      const result = validate(definition, { checkPaths: true, checkArn: true });
      expect(result.errorsText('\n')).toBe('');
      expect(result.isValid).toBe(true);
    }
  });

  it.each(files.map((f) => [f.file, f.placeholders] as const))('%s: every ${Placeholder} is substituted by the stack', (file, placeholders) => {
    const machine = Object.values(STATE_MACHINES).find((m) => m.file === file);
    expect(machine, `${file} is not deployed by infra/stack.ts (STATE_MACHINES in infra/state-machines.ts)`).toBeDefined();
    expect(placeholders).toEqual([...machine!.substitutions].sort());
  });
});

/** Every state of a definition, the Map states' processors included (a rollout's waves and targets). */
function nested(states: Record<string, State>): [string, State][] {
  return Object.entries(states).flatMap(([name, s]) => [
    [name, s] as [string, State],
    ...nested((s as { ItemProcessor?: { States: Record<string, State> } }).ItemProcessor?.States ?? {}),
  ]);
}

describe('promotion.asl.json', () => {
  const states = Object.entries(promotion.States);
  const tasks = states.filter(([, s]) => s.Type === 'Task');
  /** the tasks of the Map processors too */
  // The wave machine's tasks call the same step function through the same step table.
  const allTasks = [...nested(promotion.States), ...nested(waveMachine.States)].filter(([, s]) => s.Type === 'Task');

  it('says what it is', () => {
    expect(promotion.Comment).toMatch(/promotion/i);
  });

  it('takes an approved promotion through 3 state transitions without a bake time, 5 with one (the gates and the approval wait are one task; a task that ends the flow ends the execution)', () => {
    expect(path(promotion, decided('execute'))).toEqual(['Decide', 'Route', 'Execute']);
    expect(promotion.States.Execute!.Parameters!.Payload!.bake).toBe(false);
    expect(path(promotion, decided('execute', 300))).toEqual(['Decide', 'Route', 'ExecuteThenBake', 'Bake', 'Verify']);
    expect(promotion.States.ExecuteThenBake!.Parameters!.Payload!.bake).toBe(true);
    expect(path(promotion, decided('await-go'), go)).toEqual(['Decide', 'Route', 'AwaitGo', 'Route', 'Execute']);
    expect(path(promotion, decided('done'))).toEqual(['Decide', 'Route', 'Done']);
  });

  it('rolls out through waves when the target environment has targets: Rollout, the Waves map (WaveStart, then the wave’s targets: apply, bake, baked), RolloutComplete; within 4 transitions per target plus 2 per wave', () => {
    const waves = { '$.decision.next': 'execute', '$.decision.bakeSeconds': 0, '$.decision.waves': 'true' };
    expect(path(promotion, waves)).toEqual(['Decide', 'Route', 'Rollout', 'Waves', 'RolloutComplete']);
    expect(promotion.States.Rollout!.Parameters!.Payload!.step).toBe('rollout-start');
    const outer = (promotion.States.Waves as unknown as { MaxConcurrency: number; ItemProcessor: Definition; ItemsPath: string }).ItemProcessor;
    expect((promotion.States.Waves as unknown as { MaxConcurrency: number }).MaxConcurrency).toBe(1);
    const wave = path(outer, {});
    // A wave of many targets runs as a child execution started with WaveStart's own token (rollout/wave-go.ts): the same
    // two states, its WaveTargets map empty.
    expect(wave).toEqual(['WaveStart', 'WaveTargets']);
    const inner = (outer.States.WaveTargets as unknown as { MaxConcurrencyPath: string; ItemProcessor: Definition }).ItemProcessor;
    expect((outer.States.WaveTargets as unknown as { MaxConcurrencyPath: string }).MaxConcurrencyPath).toBe('$.wave.maxParallel');
    const baking = { '$.firstWaitSeconds': 60 };
    const target = path(inner, baking);
    expect(target).toEqual(['TargetApply', 'TargetBakes', 'TargetBake', 'TargetBaked']);
    // A wave without a bake time goes straight on (a task cannot wait 0 s): as many transitions as the Wait took.
    expect(path(inner, { '$.firstWaitSeconds': 0 })).toEqual(['TargetApply', 'TargetBakes', 'TargetBaked']);
    // A health target polls (a bounded loop: its deadline fails the poll), then bakes.
    expect(path(inner, baking, {}, { TargetApply: 'CheckHealth', TargetHealth: 'NotHealthy' })).toEqual([
      'TargetApply',
      'TargetHealth',
      'TargetHealthWait',
      'TargetHealth',
      'TargetBakes',
      'TargetBake',
      'TargetBaked',
    ]);
    // A target with analyses measures in a loop of one wait and one task per measurement (MeasureAgain), then ends.
    expect(path(inner, baking, {}, { TargetBaked: 'MeasureAgain' })).toEqual([
      'TargetApply',
      'TargetBakes',
      'TargetBake',
      'TargetBaked',
      'TargetMeasureWait',
      'TargetBaked',
    ]);
    // The waits between polls and between measurements are task-token waits like the bake (its step keeps the token on the
    // target's item): a decision to stop fails the token at once, not one interval later; the timer's end goes on.
    for (const [name, seconds, next] of [
      ['TargetHealthWait', '$.intervalSeconds', 'TargetHealth'],
      ['TargetMeasureWait', '$.measureSeconds', 'TargetBaked'],
    ] as const) {
      expect(inner.States[name], name).toMatchObject({
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
        TimeoutSecondsPath: seconds,
        Parameters: { Payload: { step: 'target-bake', 'taskToken.$': '$$.Task.Token', 'target.$': '$.target' } },
        Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: null, Next: next }],
        Next: next,
      });
    }
    expect(Object.values(inner.States).filter((s) => s.Type === 'Wait')).toEqual([]);
    // The bake is a task-token wait (the alarm's function fails its token: the flow is asked, it ends the rollout); its timer's end goes on.
    expect(inner.States.TargetBake).toMatchObject({
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      TimeoutSecondsPath: '$.firstWaitSeconds',
      Parameters: { Payload: { step: 'target-bake', 'taskToken.$': '$$.Task.Token', 'target.$': '$.target' } },
      Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: null, Next: 'TargetBaked' }],
      Next: 'TargetBaked',
    });
    // Any other failure of the bake (MonitorAlarm, RolloutStopped) is not caught there: it fails the target, the wave, and the
    // rollout into MarkFailed (the Waves map's catch, below).
    expect(target.length).toBeLessThanOrEqual(4);
    expect(wave.length).toBeLessThanOrEqual(2);
    // A failure anywhere in the waves rolls back through the fail step.
    expect(promotion.States.Waves!.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'MarkFailed' }]);
    // The state passes ids and numbers: the processors get the tenant, the promotion and the target's name, never a document.
    expect(JSON.stringify(outer.States.WaveTargets)).not.toMatch(/subject|snapshot|roots/);
  });

  it('has no Pass states and no unreachable ones', () => {
    expect(states.filter(([, s]) => s.Type === 'Pass')).toEqual([]);
    const reachable = new Set<string>([promotion.StartAt]);
    for (let grew = true; grew;) {
      grew = false;
      for (const name of [...reachable]) {
        const s = promotion.States[name]!;
        for (const next of [s.Next, s.Default, ...(s.Choices ?? []).map((c) => c.Next), ...(s.Catch ?? []).map((c) => c.Next)]) {
          if (next && !reachable.has(next)) {
            reachable.add(next);
            grew = true;
          }
        }
      }
    }
    expect([...reachable].sort()).toEqual(Object.keys(promotion.States).sort());
  });

  it('calls the promotion-step function for every task, with a step its input schema accepts', () => {
    const steps = new Set<string>();
    for (const [name, s] of allTasks) {
      expect(s.Resource, name).toMatch(/^arn:aws:states:::lambda:invoke(\.waitForTaskToken)?$/);
      expect(s.Parameters?.FunctionName, name).toBe('${PromotionStepFunctionArn}');
      const payload = s.Parameters!.Payload!;
      expect(payload['tenant.$'], name).toBe('$.tenant');
      expect(payload['promotionId.$'], name).toBe('$.promotionId');
      // The execution travels with every step, so its log lines can be joined to the execution's history.
      expect(payload['executionArn.$'], name).toBe('$$.Execution.Id');
      // A path's value as the state would give it: numbers for the wave, its bake and its part, a child wave's batch, strings otherwise.
      const numeric = new Set(['wave.$', 'bakeSeconds.$', 'offset.$', 'part.$']);
      const batch = { phase: 'confirm', offset: 0, done: true, pending: 3, loops: 1, waitSeconds: 15, renew: false };
      const value = (k: string, v: unknown) => (!k.endsWith('.$') ? v : k === 'batch.$' ? batch : numeric.has(k) ? 1 : 'x');
      const sample = Object.fromEntries(Object.entries(payload).map(([k, v]) => [k.replace(/\.\$$/, ''), value(k, v)]));
      expect(stepInput.safeParse(sample).success, `${name} payload ${JSON.stringify(sample)}`).toBe(true);
      steps.add(payload.step as string);
      // A task waits for its token exactly when its row in the step table says so.
      const row = STEPS[payload.step as StepName];
      expect(row, `${name}: step ${String(payload.step)} has no row in domain/promotion/step/step-table.ts`).toBeDefined();
      expect(s.Resource!.endsWith('.waitForTaskToken'), name).toBe(row.waitsForToken);
    }
    expect([...steps].sort()).toEqual([...stepInput.shape.step.options].sort());
    expect([...steps].sort()).toEqual(Object.keys(STEPS).sort());
  });

  it('waits for task tokens with timeouts from the start input and the decision; time-out expires, rejection/cancellation end', () => {
    const waits = tasks.filter(([, s]) => s.Resource!.endsWith('.waitForTaskToken'));
    expect(waits.map(([n, s]) => [n, s.Parameters!.Payload!.step, s.TimeoutSecondsPath ?? s.TimeoutSeconds])).toEqual([
      ['Decide', 'decide', '$.approvalTimeoutSeconds'],
      ['AwaitGo', 'await-go', '$.decision.goTimeoutSeconds'],
      // The merge wait of a pull-request delivery: a week (PULL_REQUEST_WAIT_SECONDS), then the promotion fails.
      ['AwaitMerge', 'await-merge', PULL_REQUEST_WAIT_SECONDS],
      // The bake time (> 0: Route sends a promotion without one to Execute): its timer's end goes on to Verify; an alarm's
      // failure of its token (MonitorAlarm) or the sweep's goes to MarkFailed, which ends the promotion (one writer).
      ['Bake', 'bake', '$.decision.bakeSeconds'],
    ]);
    expect(promotion.States.Bake!.Catch).toEqual([
      { ErrorEquals: ['States.Timeout'], ResultPath: null, Next: 'Verify' },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'MarkFailed' },
    ]);
    expect(promotion.States.Bake!.Next).toBe('Verify');
    expect(path(promotion, decided('execute', 300), {}, { Bake: 'MonitorAlarm' })).toEqual([
      'Decide',
      'Route',
      'ExecuteThenBake',
      'Bake',
      'MarkFailed',
      'PutBackMore',
      'Done',
    ]);
    expect(path(promotion, decided('execute', 300), {}, { Bake: 'States.Timeout' })).toEqual(['Decide', 'Route', 'ExecuteThenBake', 'Bake', 'Verify']);
    for (const [name, s] of waits.filter(([n]) => n !== 'Bake')) {
      expect(s.Parameters!.Payload!['taskToken.$'], name).toBe('$$.Task.Token');
      expect(s.Catch!.find((c) => c.ErrorEquals.includes('States.Timeout') || c.ErrorEquals.includes('States.ALL'))?.Next, name).toBe(
        name === 'AwaitMerge' ? 'MarkFailed' : 'Expire',
      );
      expect(s.Catch!.find((c) => c.ErrorEquals.includes('Cancelled'))?.Next, name).toBe('Done');
    }
    expect(promotion.States.Decide!.Catch!.find((c) => c.ErrorEquals.includes('Rejected'))?.Next).toBe('Done');
  });

  it('keeps tenant and promotionId through every state (results and caught errors go under a ResultPath)', () => {
    for (const [name, s] of tasks) {
      expect(s.ResultPath === null || (typeof s.ResultPath === 'string' && s.ResultPath.startsWith('$.')), name).toBe(true);
      // A timer's end that goes on (a bake's) keeps the state's data as it was, as a Wait state did.
      for (const c of s.Catch ?? []) expect(c.ResultPath, name).toBe(c.ErrorEquals.join() === 'States.Timeout' && name === 'Bake' ? null : '$.error');
    }
    expect(promotion.States.Decide!.ResultPath).toBe('$.decision');
    expect(promotion.States.AwaitGo!.ResultPath).toBe('$.decision');
    expect(promotion.States.MarkFailed!.Parameters!.Payload!['error.$']).toBe('$.error');
  });

  it('retries Lambda service errors on every task', () => {
    for (const [name, s] of allTasks) {
      const retrier = s.Retry?.find((r) => LAMBDA_ERRORS.every((e) => r.ErrorEquals.includes(e)));
      expect(retrier, name).toBeDefined();
    }
  });

  it('retries lost races and what AWS answers when it is busy for a moment on every task, with full jitter (the steps are idempotent)', () => {
    const transient = ['WriteConflict', 'ConcurrentModification', 'TransactionConflictException', 'ThrottlingException', 'TimeoutError'];
    for (const [name, s] of allTasks) {
      const retrier = s.Retry?.find((r) => transient.every((e) => r.ErrorEquals.includes(e)));
      expect(retrier, name).toMatchObject({ BackoffRate: 2, JitterStrategy: 'FULL' });
      expect(retrier!.MaxAttempts, name).toBeGreaterThanOrEqual(4);
    }
  });

  it('retries an outside host that failed for a moment (Unavailable: a registry’s 5xx, 429, time-out) on every task, with full jitter, for minutes at most', () => {
    for (const [name, s] of allTasks) {
      const retrier = s.Retry?.find((r) => r.ErrorEquals.includes('Unavailable'));
      expect(retrier, name).toMatchObject({ BackoffRate: 2, JitterStrategy: 'FULL' });
      expect(retrier!.MaxAttempts, name).toBeGreaterThanOrEqual(3);
      let total = 0;
      for (let i = 0; i < retrier!.MaxAttempts!; i++)
        total += Math.min(retrier!.IntervalSeconds! * retrier!.BackoffRate! ** i, retrier!.MaxDelaySeconds ?? Infinity);
      expect(total, name).toBeLessThanOrEqual(5 * 60);
    }
  });

  it('waits a bounded time for a busy target, then fails the promotion like any other execute/verify error', () => {
    const busy = promotion.States.Execute!.Retry!.find((r) => r.ErrorEquals.includes('TargetBusy'))!;
    expect(busy).toMatchObject({ IntervalSeconds: 5, BackoffRate: 2, MaxAttempts: 8 });
    let total = 0;
    for (let i = 0; i < busy.MaxAttempts!; i++) total += Math.min(busy.IntervalSeconds! * busy.BackoffRate! ** i, busy.MaxDelaySeconds ?? Infinity);
    expect(total).toBeLessThanOrEqual(10 * 60);
    for (const name of ['Execute', 'ExecuteThenBake', 'Verify']) {
      expect(promotion.States[name]!.Catch!.at(-1)).toEqual({ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'MarkFailed' });
    }
    expect(promotion.States.MarkFailed!.Next).toBe('PutBackMore');
    expect(promotion.States.Expire!.End).toBe(true);
  });

  it('runs MarkFailed again while a rollout’s rollback has changed targets left (a batch per run), the reason it answered carried as $.error', () => {
    const mark = promotion.States.MarkFailed!;
    // Its answer replaces the caught error: the next run gets the reason the first one told, and whether more remain.
    expect(mark.ResultPath).toBe('$.error');
    expect(mark.ResultSelector).toEqual({ 'Payload.$': '$.Payload' });
    expect(mark.Parameters!.Payload!.step).toBe('fail');
    const more = promotion.States.PutBackMore!;
    expect(more.Type).toBe('Choice');
    const next = (v: Values) => (more.Choices as Rule[]).find((c) => holds(c, v))?.Next ?? more.Default;
    expect(next({ '$.error.Payload.more': true })).toBe('MarkFailed');
    expect(next({ '$.error.Payload.more': false })).toBe('Done');
    // An answer without `more` (a one-target promotion's, or a function of the version before) ends the flow.
    expect(next({})).toBe('Done');
    expect(promotion.States.Done!.Type).toBe('Succeed');
    // Every state that fails into MarkFailed gets there with the caught error under $.error (its first run's input).
    for (const [name, s] of Object.entries(promotion.States))
      for (const c of s.Catch ?? []) if (c.Next === 'MarkFailed') expect(c.ResultPath, name).toBe('$.error');
  });
});

describe('every flow', () => {
  it('catches every error of every Task state: a gates error fails closed, an unrecordable outcome fails the execution (alarmed)', () => {
    for (const f of files) {
      const def = JSON.parse(f.text) as Definition;
      for (const [name, s] of Object.entries(def.States)) {
        if (s.Type !== 'Task') continue;
        expect(
          s.Catch?.some((c) => c.ErrorEquals.includes('States.ALL')),
          `${f.file} ${name}`,
        ).toBe(true);
      }
      if (f.file !== STATE_MACHINES.promotion.file) {
        // A child wave: whatever fails, the parent is told (WaveFailed), or the execution fails and the status-change rule tells it.
        expect(def.States.WaveFailedEnd, f.file).toMatchObject({ Type: 'Fail' });
        continue;
      }
      // A gates error fails closed: anything but the timer and a person's no goes to MarkFailed.
      expect(def.States.Decide!.Catch!.at(-1)).toEqual({ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'MarkFailed' });
      expect(def.States.Decide!.Catch!.map((c) => c.Next)).toEqual(['Expire', 'Done', 'MarkFailed']);
      expect(def.States.Unrecorded).toMatchObject({ Type: 'Fail', Error: 'OutcomeNotRecorded' });
    }
  });
});

describe('a rollback through promotion.asl.json (a promotion record with `rollback` set, on the same machine)', () => {
  // What the steps answer for a rollback record: its trigger is always on_approval (domain/promotion/rollback/environment.ts;
  // schedulePromotion refuses on_approval), so Decide resumes with execute (approved, or no approval needed) or
  // done (blocked, rejected). await-go comes only from a freeze hold (SCHEDULED by the execute step, which throws Frozen).
  const rollbackVerdicts = ['execute', 'done'] as const;

  it('says, in the file, that it runs rollbacks too and that they take no manual go', () => {
    expect(promotion.Comment).toMatch(/rollback/i);
    expect(promotion.Comment).toMatch(/no manual or scheduled go/);
    expect(promotion.States.AwaitGo!.Comment).toMatch(/freeze window/);
  });

  it('runs the impact gate, the same approval machinery, then execute (and bake and verify when the target has a bake time)', () => {
    // Approved (or no approval needed): Decide resumes with execute, whoever answered its token.
    expect(path(promotion, decided('execute', 0))).toEqual(['Decide', 'Route', 'Execute']);
    expect(path(promotion, decided('execute', 60))).toEqual(['Decide', 'Route', 'ExecuteThenBake', 'Bake', 'Verify']);
    // BLOCKED without an override (or a digest that no longer matches): VALIDATION_FAILED, nothing to do.
    expect(path(promotion, decided('done', 0))).toEqual(['Decide', 'Route', 'Done']);
    expect(promotion.States.Decide!.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
  });

  it('never waits for a manual go: without a freeze hold, no verdict a rollback can get reaches AwaitGo', () => {
    for (const next of rollbackVerdicts) {
      for (const bakeSeconds of [0, 60]) {
        expect(path(promotion, decided(next, bakeSeconds), go), `${next}, bake ${bakeSeconds}`).not.toContain('AwaitGo');
      }
    }
  });

  it('parks in AwaitGo only when a freeze window holds it (Frozen), and the schedule resumes it into execute', () => {
    expect(path(promotion, decided('execute', 0), go, { Execute: 'Frozen' })).toEqual(['Decide', 'Route', 'Execute', 'AwaitGo', 'Route', 'Execute']);
    expect(path(promotion, decided('execute', 60), go, { ExecuteThenBake: 'Frozen' })).toEqual([
      'Decide',
      'Route',
      'ExecuteThenBake',
      'AwaitGo',
      'Route',
      'ExecuteThenBake',
      'Bake',
      'Verify',
    ]);
    // Re-run while held (a restarted local stack): the record is SCHEDULED, the gates say await-go, and it waits again.
    expect(path(promotion, decided('await-go', 0), go)).toEqual(['Decide', 'Route', 'AwaitGo', 'Route', 'Execute']);
    // Any other error of execute fails the rollback like a promotion.
    expect(path(promotion, decided('execute', 0), go, { Execute: 'PromotionFailed' })).toEqual([
      'Decide',
      'Route',
      'Execute',
      'MarkFailed',
      'PutBackMore',
      'Done',
    ]);
    for (const n of ['Execute', 'ExecuteThenBake'])
      expect(promotion.States[n]!.Catch![0]).toEqual({ ErrorEquals: ['Frozen'], ResultPath: '$.error', Next: 'AwaitGo' });
  });

  it('parks a pull-request delivery in AwaitMerge (AwaitingMerge) until it is merged, then executes again; closed, it fails', () => {
    const merged = { ...go, AwaitMerge: { '$.decision.next': 'execute' } };
    expect(path(promotion, decided('execute', 0), merged, { Execute: 'AwaitingMerge' })).toEqual([
      'Decide',
      'Route',
      'Execute',
      'AwaitMerge',
      'Route',
      'Execute',
    ]);
    expect(path(promotion, decided('execute', 60), merged, { ExecuteThenBake: 'AwaitingMerge' })).toEqual([
      'Decide',
      'Route',
      'ExecuteThenBake',
      'AwaitMerge',
      'Route',
      'ExecuteThenBake',
      'Bake',
      'Verify',
    ]);
    expect(path(promotion, decided('execute', 0), merged, { Execute: 'AwaitingMerge', AwaitMerge: 'PromotionFailed' })).toEqual([
      'Decide',
      'Route',
      'Execute',
      'AwaitMerge',
      'MarkFailed',
      'PutBackMore',
      'Done',
    ]);
    expect(path(promotion, decided('execute', 0), merged, { Execute: 'AwaitingMerge', AwaitMerge: 'Cancelled' })).toEqual([
      'Decide',
      'Route',
      'Execute',
      'AwaitMerge',
      'Done',
    ]);
    expect(promotion.States.AwaitMerge!.ResultPath).toBe('$.decision');
  });
});
