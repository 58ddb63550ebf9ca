import { StateMachine, type RunOptions } from 'aws-local-stepfunctions';
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
