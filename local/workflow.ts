import { createHash, randomBytes } from 'node:crypto';
import type { WaveStartInput, Workflow } from '../domain/promotion/ports.ts';
import { waveExecutionInput } from '../domain/promotion/rollout/wave-input.ts';
import {
  type StartInput,
  type Json,
  type JsonObject,
  type RunInput,
  type TaskHandlers,
  clone,
  evaluateParameters,
  fatalError,
  stoppedError,
  taskError,
  readPath,
  idOn,
  waitUntil,
} from './workflow-asl.ts';
import { crashedHere } from './crash.ts';
import { LocalClock } from './clock.ts';
import { MachineDefinitions } from './workflow-definitions.ts';
import { readJournal, writeJournal, type ExecutionStatus, type JournalEntry } from './workflow-journal.ts';

export type { ExecutionStatus, JournalEntry };

/**
 * The `Workflow` port for the local stack: runs the SAME ASL file that CDK
 * deploys (statemachines/promotion.asl.json, the one machine for promotions and
 * rollbacks alike) with aws-local-stepfunctions, every Task state calling the
 * step handler in-process through `invokeStep`.
 *
 * What the library does not do on its own, and how this class fills the gap (the
 * definition's local copy is made by compileMachine, local/workflow-asl.ts):
 *
 * - Placeholders (`${PromotionStepFunctionArn}`) become a fake local Lambda ARN.
 * - `arn:aws:states:::lambda:invoke` tasks: `invokeStep(Parameters.Payload)`,
 *   result wrapped as `{ Payload, StatusCode: 200 }` like the AWS integration,
 *   so `ResultSelector` on `$.Payload` behaves the same. A thrown error fails
 *   the task with the error's `name` as the ASL error name (AWS: `errorType`),
 *   and `{errorType, errorMessage}` JSON as the cause, as Lambda reports it.
 * - `...lambda:invoke.waitForTaskToken` tasks (no native support): a unique
 *   token per entered task is put where the ASL reads `$$.Task.Token`; the step
 *   is invoked and the task then waits until `sendTaskSuccess` (output becomes
 *   the task result) or `sendTaskFailure` (fails with that error name).
 *   The library evaluates `TimeoutSecondsPath` against the task's input after
 *   `Parameters`, whereas Step Functions reads it from the state input; so for
 *   these tasks the local copy of the definition drops `Parameters` and this
 *   class evaluates the template itself (with the library, through a one-state
 *   Pass machine). Their time-out (TimeoutSeconds or TimeoutSecondsPath) runs
 *   on the stack's clock: this class raises `States.Timeout` when the clock
 *   reaches it (the library's own timer is set to the longest and never fires
 *   first), so a bake or an approval window ends when a test moves the clock.
 * - `Wait` states wait on the stack's clock (local/clock.ts), not on the
 *   library's timer: the local copy makes each one a task this class runs,
 *   which answers its input when the clock reaches the Wait's time (Seconds,
 *   SecondsPath, Timestamp or TimestampPath), so a test that moves the clock
 *   moves every Wait with it.
 *
 * Executions are idempotent per (tenant, promotion, attempt) and can be journaled to a file so a restarted local
 * stack resumes what was running, each on the definitions it started on (local/workflow-definitions.ts).
 */

export interface LocalWorkflowOptions {
  /** Runs the step Lambda's handler with the task's Payload (what Lambda would receive). */
  invokeStep: (payload: unknown) => Promise<unknown>;
  /** Persist executions here (JSON, atomic rename); `resume()` restarts the RUNNING ones. */
  journalFile?: string;
  /** The folder of definitions new executions start on (statemachines/); a journaled one runs on its own (local/workflow-definitions.ts). */
  statemachines?: string;
  /** Multiplies Retry intervals (e.g. 0.001 in tests). TimeoutSecondsPath values stay real seconds. */
  timeScale?: number;
  /** The clock Wait states wait on (the stack's: local/clock.ts); the wall clock by default. */
  clock?: LocalClock;
  /**
   * Every execution's end, as EventBridge's "Step Functions Execution Status Change" (the local stack puts it on
   * its bus, where the wave status rule catches a child wave that failed, timed out or was stopped).
   */
  onStatusChange?: (change: StatusChange) => void;
}

/** The detail of a "Step Functions Execution Status Change" event. */
export interface StatusChange {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: Exclude<ExecutionStatus, 'RUNNING'>;
  /** the execution's input, as a JSON string (as EventBridge gives it) */
  input: string;
}

/** The local ARN of a state machine (statemachines/<machine>.asl.json). */
export const localMachineArn = (machine: string) => `arn:aws:states:us-east-1:000000000000:stateMachine:stageline-local-${machine}`;

/** The promotion flow (statemachines/<MACHINE>.asl.json): promotions and rollbacks alike. */
export const MACHINE = 'promotion';
/** A wave's child execution (statemachines/<WAVE_MACHINE>.asl.json), started with the promotion flow's WaveStart token. */
export const WAVE_MACHINE = 'wave';

interface Pending {
  executionId: string;
  resolve: (output: Json) => void;
  reject: (error: Error) => void;
  /** ends the task's time-out on the clock */
  cancel?: () => void;
}

interface Run {
  id: string;
  aborted: boolean;
  abort: () => void;
  /** settles when the library's execution and its event log are done */
  finished: Promise<void>;
  /** invokeStep calls in flight (stop() waits for them) */
  inFlight: Set<Promise<unknown>>;
  /** stopped by stopExecution (StopExecution): ends ABORTED, unlike a stop of the whole runner */
  stopRequested?: boolean;
}

type Ended = Exclude<ExecutionStatus, 'RUNNING'>;

export class LocalWorkflow implements Workflow {
  private readonly invokeStep: LocalWorkflowOptions['invokeStep'];
  private readonly journalFile?: string;
  private readonly timeScale: number;
  private readonly definitions: MachineDefinitions;
  private readonly onStatusChange?: (change: StatusChange) => void;
  /** History events of the latest run of each execution (what Step Functions' 25,000-event limit counts). */
  private readonly eventCounts = new Map<string, number>();
  private readonly journal = new Map<string, JournalEntry>();
  private readonly runs = new Map<string, Run>();
  private readonly pending = new Map<string, Pending>();
  private readonly counts = new Map<string, number>();
  private readonly waiters = new Map<string, PromiseWithResolvers<Ended>>();
  /** Wait states waiting on the clock: how to end each one (stop() ends them all). */
  private readonly waiting = new Set<{ cancel: () => void; reject: (err: Error) => void }>();
  private readonly clock: LocalClock;
  private stopped = false;

  constructor(options: LocalWorkflowOptions) {
    this.clock = options.clock ?? new LocalClock();
    this.invokeStep = options.invokeStep;
    this.journalFile = options.journalFile;
    this.timeScale = options.timeScale ?? 1;
    this.onStatusChange = options.onStatusChange;
    if (!(this.timeScale > 0)) throw new Error(`timeScale must be > 0, got ${options.timeScale}`);
    this.definitions = new MachineDefinitions(options.statemachines, this.timeScale);
    for (const e of readJournal(this.journalFile)) this.journal.set(e.id, e);
  }

  /** `promotion:<tenant>:<promotionId>[#<attempt>]` (a rollback's too: it runs on the same machine) */
  static executionId(input: Pick<StartInput, 'tenant' | 'promotionId' | 'attempt'>): string {
    return idOn(MACHINE, input);
  }

  async start(input: StartInput): Promise<string> {
    if (this.stopped) throw new Error('LocalWorkflow is stopped');
    const id = LocalWorkflow.executionId(input);
    return this.startOn(MACHINE, id, { tenant: input.tenant, promotionId: input.promotionId, approvalTimeoutSeconds: input.approvalTimeoutSeconds });
  }

  /**
   * `wave:<tenant>:<promotionId>:<wave>:<hash of the parent's token>[:p<part>]`: one child per WaveStart token, whatever its
   * retries; each continuation of the wave (part n > 0, a new execution) a name of its own.
   */
  static waveExecutionId(input: { tenant: string; promotionId: string; wave: number; parentToken: string; part?: number }): string {
    const hash = createHash('sha256').update(input.parentToken).digest('hex').slice(0, 12);
    return `${WAVE_MACHINE}:${input.tenant}:${input.promotionId}:${input.wave}:${hash}${input.part ? `:p${input.part}` : ''}`;
  }

  async startWave(input: WaveStartInput): Promise<string> {
    if (this.stopped) throw new Error('LocalWorkflow is stopped');
    return this.startOn(WAVE_MACHINE, LocalWorkflow.waveExecutionId(input), waveExecutionInput(input));
  }

  /** The executions of a machine this runner knows, oldest first (a test finds a promotion's wave children here). */
  executions(machine: string = MACHINE): JournalEntry[] {
    return [...this.journal.values()].filter((e) => e.machine === machine);
  }

  /**
   * StopExecution: aborts a running execution, which ends ABORTED (its status change is published like any end).
   * Returns false when it is not running here.
   */
  async stopExecution(executionId: string): Promise<boolean> {
    const run = this.runs.get(executionId);
    if (!run) return false;
    run.stopRequested = true;
    run.aborted = true;
    run.abort();
    for (const [token, p] of this.pending) {
      if (p.executionId !== executionId) continue;
      this.pending.delete(token);
      p.cancel?.();
      p.reject(stoppedError());
    }
    // Stopped from inside its first task, before the library's run() returned: its end is known once it did.
    await Promise.resolve();
    await run.finished;
    return true;
  }

  /** History events of the latest run of an execution (Step Functions fails an execution past 25,000). */
  events(executionId: string): number {
    return this.eventCounts.get(executionId) ?? 0;
  }

  private startOn(machine: string, id: string, input: JournalEntry['input']): string {
    this.definitions.compile(machine); // fail before recording anything if the machine is missing or invalid
    const known = this.journal.get(id);
    if (known) {
      // Journaled as RUNNING but not running in this process (not resumed yet): run it now.
      if (known.status === 'RUNNING' && !this.runs.has(known.id)) this.launch(known);
      return known.id;
    }
    const entry: JournalEntry = { id, machine, input, status: 'RUNNING', definitions: this.definitions.label, startedAt: new Date().toISOString() };
    this.journal.set(id, entry);
    this.persist();
    this.launch(entry);
    return id;
  }

  /** Restarts (from the beginning) every journaled RUNNING execution not running here. Returns their ids. */
  resume(): string[] {
    if (this.stopped) throw new Error('LocalWorkflow is stopped');
    const ids: string[] = [];
    for (const entry of this.journal.values()) {
      if (entry.status === 'RUNNING' && !this.runs.has(entry.id)) {
        this.launch(entry);
        ids.push(entry.id);
      }
    }
    return ids;
  }

  /**
   * Aborts every running execution without marking it finished (the journal
   * keeps it RUNNING for a later `resume()`), drops pending task waits and
   * waits for in-flight step calls to return.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    const runs = [...this.runs.values()];
    for (const run of runs) {
      run.aborted = true;
      run.abort();
    }
    for (const [token, p] of this.pending) {
      this.pending.delete(token);
      p.cancel?.();
      p.reject(stoppedError());
    }
    for (const w of this.waiting) {
      w.cancel();
      w.reject(stoppedError());
    }
    this.waiting.clear();
    await Promise.allSettled(runs.flatMap((r) => [r.finished, ...r.inFlight]));
    for (const [id, waiter] of this.waiters) {
      this.waiters.delete(id);
      waiter.reject(new Error(`LocalWorkflow stopped before ${id} finished`));
    }
  }

  async sendTaskSuccess(token: string, output: Record<string, unknown>): Promise<boolean> {
    const p = this.take(token);
    if (!p) return false;
    p.resolve(clone(output) as Json);
    return true;
  }

  async sendTaskFailure(token: string, error: string, cause: string): Promise<boolean> {
    const p = this.take(token);
    if (!p) return false;
    const e = new Error(cause);
    e.name = error;
    p.reject(e);
    return true;
  }

  /** States entered (plus retries, which Step Functions also bills as transitions) by the latest run of an execution. */
  transitions(executionId: string): number {
    return this.counts.get(executionId) ?? 0;
  }

  status(executionId: string): ExecutionStatus | undefined {
    return this.journal.get(executionId)?.status;
  }

  /** Settles when the execution has finished (immediately if it already has). */
  done(executionId: string): Promise<Ended> {
    const entry = this.journal.get(executionId);
    if (!entry) return Promise.reject(new Error(`unknown execution ${executionId}`));
    if (entry.status !== 'RUNNING') return Promise.resolve(entry.status);
    let waiter = this.waiters.get(executionId);
    if (!waiter) {
      waiter = Promise.withResolvers<Ended>();
      waiter.promise.catch(() => {}); // a caller that stops waiting must not cause an unhandled rejection
      this.waiters.set(executionId, waiter);
    }
    return waiter.promise;
  }

  // ---- internals

  private take(token: string): Pending | undefined {
    const p = this.pending.get(token);
    if (!p) return undefined;
    this.pending.delete(token);
    p.cancel?.();
    return p;
  }

  private persist(): void {
    if (this.journalFile && !crashedHere()) writeJournal(this.journalFile, [...this.journal.values()]);
  }

  private launch(entry: JournalEntry): void {
    const compiled = this.definitions.compile(entry.machine, entry.definitions);
    const id = entry.id;
    const context = {
      Execution: { Id: id, Name: id },
      StateMachine: { Id: localMachineArn(entry.machine), Name: entry.machine },
    };
    const inFlight = new Set<Promise<unknown>>();
    let run: Run | undefined;
    let tokenCount = 0;

    const call = (payload: unknown): Promise<unknown> => {
      if (run?.aborted) throw stoppedError();
      const p = (async () => this.invokeStep(payload))();
      inFlight.add(p);
      void p.then(
        () => inFlight.delete(p),
        () => inFlight.delete(p),
      );
      return p;
    };

    const lambdaTask = async (input: Json): Promise<Json> => {
      const payload = (input as JsonObject | null)?.Payload ?? null;
      let result: unknown;
      try {
        result = await call(clone(payload));
      } catch (err) {
        if (run?.aborted) throw stoppedError();
        throw taskError(err);
      }
      if (run?.aborted) throw stoppedError();
      return { ExecutedVersion: '$LATEST', Payload: clone(result) as Json, StatusCode: 200 };
    };

    const tokenTask =
      (stateName: string) =>
      (input: Json): Promise<Json> => {
        // The task's time-out runs on the stack's clock (the library's own timer is set to the longest, never first).
        const timeout = compiled.tokenTimeouts.get(stateName)!;
        let seconds = compiled.timeoutSeconds.get(stateName)!;
        if (timeout.path) {
          const found = readPath(input, timeout.path);
          if (typeof found.value !== 'number' || !Number.isInteger(found.value) || found.value < 1)
            // What Step Functions answers for a time-out that is not a positive whole number of seconds.
            return Promise.reject(
              fatalError('States.Runtime', `${stateName}: TimeoutSecondsPath ${timeout.path} is ${JSON.stringify(found.value)}, not a positive integer`),
            );
          seconds = found.value;
        }
        const deadline = this.clock.now() + seconds * 1000;
        const token = `${id}:${stateName}:${++tokenCount}:${randomBytes(8).toString('hex')}`;
        const waited = new Promise<Json>((resolve, reject) => {
          this.pending.set(token, { executionId: id, resolve, reject });
        });
        waited.catch(() => {}); // observed below; never an unhandled rejection if the step call fails first

        const body = (async () => {
          let params: JsonObject | null;
          try {
            params = await evaluateParameters(compiled.tokenTemplates.get(stateName) ?? {}, input, {
              ...context,
              State: { Name: stateName, EnteredTime: new Date().toISOString() },
              Task: { Token: token },
            });
          } catch (err) {
            this.take(token);
            throw fatalError('States.Runtime', `${stateName}: Parameters could not be evaluated: ${(err as Error).cause ?? (err as Error).message}`);
          }
          try {
            await call(clone(params?.Payload ?? null));
          } catch (err) {
            this.take(token);
            if (run?.aborted) throw stoppedError();
            throw taskError(err);
          }
          if (run?.aborted) {
            this.take(token);
            throw stoppedError();
          }
          return waited;
        })();
        // States.Timeout when the clock reaches the deadline, whether the step call or the token is what it waits for: the token is dead after it.
        let cancel = () => {};
        const timedOut = new Promise<never>((_, reject) => {
          cancel = this.clock.at(deadline, () => {
            this.take(token);
            // As the library's own States.Timeout: its name and its cause are "States.Timeout" (the flow reads the cause).
            reject(Object.assign(new Error('States.Timeout'), { name: 'States.Timeout' }));
          });
        });
        timedOut.catch(() => {});
        const pending = this.pending.get(token);
        if (pending) pending.cancel = () => cancel();
        return Promise.race([body, timedOut]).finally(() => cancel());
      };

    /** A Wait state: its input, once the clock reaches its time (States.Runtime when the time is not one, as on AWS). */
    const waitTask =
      (stateName: string) =>
      (input: Json): Promise<Json> => {
        const at = waitUntil(stateName, compiled.waitStates.get(stateName)!, input, this.clock.now());
        if (at instanceof Error) return Promise.reject(at);
        if (run?.aborted || this.stopped) return Promise.reject(stoppedError());
        return new Promise<Json>((resolve, reject) => {
          const waiting = { cancel: () => {}, reject };
          this.waiting.add(waiting);
          waiting.cancel = this.clock.at(at, () => {
            this.waiting.delete(waiting);
            if (run?.aborted) reject(stoppedError());
            else resolve(input);
          });
        });
      };

    const handlers: Record<string, (input: Json) => Promise<Json>> = {};
    for (const name of compiled.lambdaStates) handlers[name] = lambdaTask;
    for (const name of compiled.waitStates.keys()) handlers[name] = waitTask(name);
    for (const name of compiled.tokenTemplates.keys()) handlers[name] = tokenTask(name);

    // Registered before the library starts it: its first task may run before run() returns (and may be stopped).
    run = { id, aborted: false, abort: () => {}, finished: Promise.resolve(), inFlight };
    this.runs.set(id, run);
    const execution = compiled.machine.run(clone(entry.input) as RunInput, {
      overrides: { taskResourceLocalHandlers: handlers as TaskHandlers },
      context,
    });
    this.counts.set(id, 0);
    this.eventCounts.set(id, 0);

    const counting = (async () => {
      const trace = process.env.STAGELINE_WORKFLOW_TRACE === '1';
      for await (const event of execution.eventLogs) {
        // STAGELINE_WORKFLOW_TRACE=1: every event of every execution on stderr (which state failed, retried, was caught).
        if (trace) console.error(`workflow ${id}: ${JSON.stringify(event).slice(0, 600)}`);
        this.eventCounts.set(id, (this.eventCounts.get(id) ?? 0) + 1);
        if (event.type === 'StateEntered' || event.type === 'StateRetried') this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
      }
    })();

    const finished = (async () => {
      let status: Ended;
      try {
        await execution.result;
        status = 'SUCCEEDED';
      } catch {
        status = 'FAILED';
      }
      // An aborted run's event log may never end: its count stays what it was.
      if (!run!.aborted) await counting.catch(() => {});
      if (this.runs.get(id) === run) this.runs.delete(id);
      if (run!.stopRequested) status = 'ABORTED';
      else if (run!.aborted) return; // the runner stopped: stays RUNNING in the journal
      const journaled = this.journal.get(id)!;
      journaled.status = status;
      journaled.endedAt = new Date().toISOString();
      this.persist();
      for (const [token, p] of this.pending) {
        if (p.executionId === id) this.take(token);
      }
      const waiter = this.waiters.get(id);
      if (waiter) {
        this.waiters.delete(id);
        waiter.resolve(status);
      }
      this.onStatusChange?.({
        executionArn: id,
        stateMachineArn: localMachineArn(entry.machine),
        name: id,
        status,
        input: JSON.stringify(entry.input),
      });
    })();

    run.abort = execution.abort;
    run.finished = finished;
  }
}
