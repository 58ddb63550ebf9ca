import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateMachine, type RunOptions, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { Workflow } from '../domain/promotion/ports.ts';

/**
 * What the local workflow reads an ASL definition with: its states at any depth, simple JSON paths,
 * execution names, and the errors its tasks throw (as Step Functions names them).
 */

/** Fake ARN a `${Placeholder}` is replaced with locally. */
export const localArn = (placeholder: string) => `arn:aws:lambda:us-east-1:000000000000:function:stageline-local-${placeholder}`;

export type StartInput = Parameters<Workflow['start']>[0];

export const MAX_TIMER_SECONDS = Math.floor(0x7fffffff / 1000);

export const WAIT_FOR_TOKEN = /^arn:aws:states:::lambda:invoke\.waitForTaskToken$/;
export const LAMBDA_INVOKE = /^arn:aws:states:::lambda:invoke$/;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
export type State = JsonObject & { Type: string };
export type RunInput = Parameters<StateMachine['run']>[0];
export type TaskHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;

/** Reference paths LocalWorkflow can read itself (TimeoutSecondsPath of waitForTaskToken states). */
export const SIMPLE_PATH = /^\$(\.[A-Za-z_][A-Za-z0-9_]*)+$/;

export const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v ?? null)) as T;

/** An error the library will neither retry nor catch (like its own States.Runtime). */
export function fatalError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, isRetryable: false, isCatchable: false });
}
export const stoppedError = () => fatalError('LocalWorkflow.Stopped', 'LocalWorkflow stopped');

/** Lambda integration semantics: error name = errorType, cause = the function error as JSON. */
export function taskError(err: unknown): Error {
  const name = err instanceof Error && err.name ? err.name : 'Error';
  const message = err instanceof Error ? err.message : String(err);
  const e = new Error(JSON.stringify({ errorType: name, errorMessage: message }));
  e.name = name;
  return e;
}

/** Every `States` object of a definition, nested Parallel branches and Map processors included. */
export function* allStates(def: { States?: Record<string, State> }): Generator<[string, State]> {
  for (const [name, state] of Object.entries(def.States ?? {})) {
    yield [name, state];
    for (const branch of (state.Branches as { States?: Record<string, State> }[] | undefined) ?? []) yield* allStates(branch);
    for (const key of ['Iterator', 'ItemProcessor']) {
      const sub = state[key] as { States?: Record<string, State> } | undefined;
      if (sub) yield* allStates(sub);
    }
  }
}

/** Reads a {@link SIMPLE_PATH} (`$.a.b`). */
export function readPath(input: Json, path: string): { parent?: JsonObject; key?: string; value: Json | undefined } {
  const keys = path.slice(2).split('.');
  let parent: JsonObject | undefined;
  let value: Json | undefined = input;
  for (const key of keys) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { value: undefined };
    parent = value;
    value = value[key];
  }
  return { parent, key: keys.at(-1), value };
}

/** `<machine>:<tenant>:<promotionId>[#<attempt>]` */
export function idOn(machine: string, input: Pick<StartInput, 'tenant' | 'promotionId' | 'attempt'>): string {
  return `${machine}:${input.tenant}:${input.promotionId}${input.attempt ? `#${input.attempt}` : ''}`;
}

export function substitutePlaceholders(text: string): string {
  return text.replace(/\$\{(\w+)\}/g, (_m, name: string) => localArn(name));
}

/** Where the ASL files live (the same ones infra/ deploys). */
export const STATEMACHINES_DIR = join(import.meta.dirname, '..', 'statemachines');

/** Timeout for Lambda task states that declare none (the library would use 60 s). */
export const LOCAL_TASK_TIMEOUT_SECONDS = 900;

/** The Resource of a Wait state in the local copy: a task the runner runs on the clock. */
const LOCAL_WAIT_RESOURCE = 'arn:aws:states:::local:wait';

export /** A Wait state's time, as the ASL says it (one of the four). */
interface WaitSpec {
  Seconds?: number;
  SecondsPath?: string;
  Timestamp?: string;
  TimestampPath?: string;
}

export interface Compiled {
  machine: StateMachine;
  /** Parameters templates of the waitForTaskToken states, by state name (removed from the local definition). */
  tokenTemplates: Map<string, Json>;
  /** TimeoutSecondsPath of the waitForTaskToken states. */
  tokenTimeouts: Map<string, { path?: string }>;
  /** The (local) TimeoutSeconds of the waitForTaskToken states, used when they have no TimeoutSecondsPath. */
  timeoutSeconds: Map<string, number>;
  lambdaStates: Set<string>;
  /** The Wait states (run as local tasks on the clock), by state name. */
  waitStates: Map<string, WaitSpec>;
}

/**
 * A state machine's local copy (see local/workflow.ts): the ASL file validated as AWS would run it, then its Wait
 * states made tasks run on the stack's clock, its waitForTaskToken tasks' Parameters and time-outs taken out (the
 * runner evaluates them), Lambda tasks without a time-out given {@link LOCAL_TASK_TIMEOUT_SECONDS}, every time-out
 * clamped to what a Node timer holds and Retry intervals multiplied by `timeScale`. `dir`: the folder of definitions
 * (statemachines/, or a previous release's: local/workflow-definitions.ts).
 */
export function compileMachine(machine: string, timeScale: number, dir: string = STATEMACHINES_DIR): Compiled {
  const file = join(dir, `${machine}.asl.json`);
  if (!existsSync(file)) throw new Error(`no state machine definition for '${machine}' (${file})`);
  const definition = JSON.parse(substitutePlaceholders(readFileSync(file, 'utf8'))) as { States: Record<string, State> };
  // Validate what AWS would run (the validator annotates its input, hence the copy).
  new StateMachine(clone(definition) as unknown as StateMachineDefinition);

  const local = clone(definition) as typeof definition & { TimeoutSeconds?: number };
  // An execution's own time-out past what a Node timer holds would fire at once: clamp it, as the task time-outs are.
  if (typeof local.TimeoutSeconds === 'number' && local.TimeoutSeconds > MAX_TIMER_SECONDS) local.TimeoutSeconds = MAX_TIMER_SECONDS;
  const tokenTemplates = new Map<string, Json>();
  const tokenTimeouts = new Map<string, { path?: string }>();
  const timeoutSeconds = new Map<string, number>();
  const lambdaStates = new Set<string>();
  const waitStates = new Map<string, WaitSpec>();
  for (const [name, state] of allStates(local)) {
    if (state.Type === 'Wait') {
      // Run by this class on the clock (waitTask below): a task that answers its input at the Wait's time.
      const spec: WaitSpec = {};
      for (const key of ['Seconds', 'SecondsPath', 'Timestamp', 'TimestampPath'] as const) {
        if (state[key] !== undefined) (spec as Record<string, unknown>)[key] = state[key];
        delete state[key];
      }
      for (const key of ['SecondsPath', 'TimestampPath'] as const) {
        if (spec[key] !== undefined && !SIMPLE_PATH.test(spec[key]))
          throw new Error(`${machine}: ${name}.${key} must be a plain path like $.a.b for LocalWorkflow, got ${spec[key]}`);
      }
      waitStates.set(name, spec);
      Object.assign(state, { Type: 'Task', Resource: LOCAL_WAIT_RESOURCE, TimeoutSeconds: MAX_TIMER_SECONDS });
      continue;
    }
    if (state.Type === 'Task') {
      const resource = String(state.Resource);
      if (WAIT_FOR_TOKEN.test(resource)) {
        tokenTemplates.set(name, (state.Parameters as Json | undefined) ?? null);
        delete state.Parameters;
        const path = state.TimeoutSecondsPath as string | undefined;
        if (path !== undefined && !SIMPLE_PATH.test(path)) {
          throw new Error(`${machine}: ${name}.TimeoutSecondsPath must be a plain path like $.a.b for LocalWorkflow, got ${path}`);
        }
        tokenTimeouts.set(name, { path });
      } else if (LAMBDA_INVOKE.test(resource)) {
        lambdaStates.add(name);
      } else {
        throw new Error(`${machine}: Task state ${name} uses ${resource}, which LocalWorkflow cannot run`);
      }
      if (state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) {
        // AWS: a task token waits up to a year, a Lambda call as long as the function's timeout.
        state.TimeoutSeconds = WAIT_FOR_TOKEN.test(resource) ? MAX_TIMER_SECONDS : LOCAL_TASK_TIMEOUT_SECONDS;
      }
      if (typeof state.TimeoutSeconds === 'number' && state.TimeoutSeconds > MAX_TIMER_SECONDS) state.TimeoutSeconds = MAX_TIMER_SECONDS;
      if (tokenTimeouts.has(name)) {
        timeoutSeconds.set(name, (state.TimeoutSeconds as number | undefined) ?? MAX_TIMER_SECONDS);
        // The time-out is this class's, on the clock (tokenTask): the library's timer waits the longest and never fires first.
        delete state.TimeoutSecondsPath;
        state.TimeoutSeconds = MAX_TIMER_SECONDS;
      }
    }
    if (timeScale !== 1) {
      for (const retrier of (state.Retry as JsonObject[] | undefined) ?? []) {
        retrier.IntervalSeconds = ((retrier.IntervalSeconds as number | undefined) ?? 1) * timeScale;
        if (typeof retrier.MaxDelaySeconds === 'number') retrier.MaxDelaySeconds *= timeScale;
      }
    }
  }
  const compiled: Compiled = {
    machine: new StateMachine(local as unknown as StateMachineDefinition, { validationOptions: { noValidate: true } }),
    tokenTemplates,
    tokenTimeouts,
    timeoutSeconds,
    lambdaStates,
    waitStates,
  };
  return compiled;
}

/** When a Wait state ends, from its input and the clock's now (ms); States.Runtime when its time is not one, as on AWS. */
export function waitUntil(stateName: string, spec: WaitSpec, input: Json, now: number): number | Error {
  const seconds = spec.SecondsPath !== undefined ? readPath(input, spec.SecondsPath).value : spec.Seconds;
  const stamp = spec.TimestampPath !== undefined ? readPath(input, spec.TimestampPath).value : spec.Timestamp;
  if (spec.Seconds !== undefined || spec.SecondsPath !== undefined) {
    if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 0)
      return fatalError('States.Runtime', `${stateName}: the wait's seconds (${JSON.stringify(seconds)}) are not a whole number of seconds, 0 or more`);
    return now + seconds * 1000;
  }
  const at = typeof stamp === 'string' ? Date.parse(stamp) : NaN;
  return Number.isNaN(at) ? fatalError('States.Runtime', `${stateName}: the wait's timestamp (${JSON.stringify(stamp)}) is not one`) : at;
}

/** A Parameters template evaluated by the library itself (a one-state Pass machine) on `input`, with `context` as its context object. */
export async function evaluateParameters(template: Json, input: Json, context: Record<string, unknown>): Promise<JsonObject | null> {
  const pass = { Type: 'Pass', Parameters: template, End: true };
  const machine = new StateMachine({ StartAt: 'Parameters', States: { Parameters: pass } } as unknown as StateMachineDefinition, {
    validationOptions: { noValidate: true },
  });
  return (await machine.run(input as RunInput, { context }).result) as JsonObject | null;
}
