import { AsyncLocalStorage } from 'node:async_hooks';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * A crash of the local stack in its own process (`npm run chaos -- --crashes K`): everything the stack holds in
 * memory is dropped at once and nothing it was doing has any effect afterwards.
 *
 * Each stack runs in an epoch: every timer, request, task and delivery it starts carries it (async context), so
 * work begun before a crash is known as the crashed stack's wherever it runs later. Once the epoch crashed:
 * - a DynamoDB request of its context is refused before it is sent (its client's endpoint is killed besides);
 * - an outbound call of its context is refused before it is sent;
 * - any adapter it reaches for (the composed deps: store, workflow, bus, scheduler, channels, anchor...) throws
 *   before touching anything, whichever stack composed them (a new stack's adapters refuse an old stack's work).
 * - its workflow runs never write the executions journal again (local/workflow.ts persist), nor its schedulers and
 *   stream pollers their files (halted).
 * Refused (thrown), not left pending: the old work unwinds without an effect, and the process-wide state it held (a
 * queue of writes to one environment, a cache's pending load) is let go, as a dead process's is; left pending, it
 * would hold a new stack's work behind it for ever.
 * The new stack's own work runs in a new epoch and is untouched.
 */
export class Epoch {
  crashed = false;
}

const scope = new AsyncLocalStorage<Epoch>();

/** Runs `fn` (and everything it starts) in `epoch`. */
export const inEpoch = <T>(epoch: Epoch, fn: () => T): T => scope.run(epoch, fn);

/** Runs `fn` (and everything it starts) as no stack's work: what crashes a stack, called from that stack's own work. */
export const outsideEpochs = <T>(fn: () => T): T => scope.exit(fn);

/** Whether the caller's work belongs to a stack that crashed. */
export const crashedHere = (): boolean => scope.getStore()?.crashed === true;

export class CrashedError extends Error {
  constructor(what: string) {
    super(`the local stack crashed: ${what} refused to its old work`);
    this.name = 'CrashedError';
  }
}

/** Refuses a crashed stack's call before it does anything. */
const refused = <T>(what: string): Promise<T> => Promise.reject(new CrashedError(what));

/**
 * A DynamoDB client's requests from a crashed stack's work never go out: middleware before each attempt is sent
 * (after the SDK's retry, so a request cut off by the crash is not sent again either).
 */
export function crashGateDynamo(client: DynamoDBClient): void {
  client.middlewareStack.add((next) => async (args) => (crashedHere() ? refused('DynamoDB') : next(args)), {
    step: 'finalizeRequest',
    name: 'stagelineCrash',
    priority: 'low',
  });
}

/** An outbound call of a crashed stack's work is never sent. */
export const crashGateOutbound =
  (inner?: (url: URL, method: string, send: () => Promise<Response>) => Promise<Response>) =>
  (url: URL, method: string, send: () => Promise<Response>): Promise<Response> =>
    crashedHere() ? refused(`${method} ${url.host}`) : inner ? inner(url, method, send) : send();

/** A function refusing a crashed stack's work: thrown (`deps.clock()`), or, for an adapter's method, a rejected promise. */
const gateFn = (fn: (...a: unknown[]) => unknown, self: unknown, name: string, refuse: 'throw' | 'reject') =>
  function (this: unknown, ...args: unknown[]) {
    if (crashedHere()) {
      if (refuse === 'reject') {
        // Marked as seen: a caller that never awaits it (a synchronous port's result dropped) leaves no unhandled rejection.
        const answer = refused(name);
        answer.catch(() => undefined);
        return answer;
      }
      throw new CrashedError(name);
    }
    return fn.apply(self ?? this, args);
  };

/**
 * The composed adapters, refusing a crashed stack's work one level deep: `deps.clock()` throws, and an adapter's
 * method (`deps.store.putPromotion`, `deps.channels.email`) answers a rejected promise, as a call whose process died
 * never answers. Never a synchronous throw from an adapter's call: `Promise.all([load(deps), deps.store.list()])` would
 * stop building its array there and leave `load`'s rejection unhandled, which ends the whole process (every stack of a
 * chaos run) rather than the crashed stack's work.
 */
export function gateDeps<T extends object>(deps: T): T {
  const wrapped = new WeakMap<object, unknown>();
  const member = (value: unknown, name: string): unknown => {
    if (typeof value === 'function') return gateFn(value as (...a: unknown[]) => unknown, undefined, name, 'throw');
    if (!value || typeof value !== 'object') return value;
    if (!wrapped.has(value))
      wrapped.set(
        value,
        new Proxy(value, {
          get(target, key) {
            const v = Reflect.get(target, key, target) as unknown;
            return typeof v === 'function' ? gateFn(v as (...a: unknown[]) => unknown, target, `${name}.${String(key)}`, 'reject') : v;
          },
        }),
      );
    return wrapped.get(value);
  };
  return new Proxy(deps, {
    get(target, key) {
      return member(Reflect.get(target, key, target), String(key));
    },
  });
}
