import type { Deps, Ports, With } from '#domain/ports';
// The store's own modules, not the dynamo-store.ts barrel: its other exports' modules (the audit area) would be read at init.
import { DynamoStore } from '../adapters/store/on-first-use.ts';
import { documentClient } from '../adapters/store/base.ts';
import { traced } from '../adapters/tracing.ts';
import type { Tunables } from '#domain/kernel/tunables';
import * as env from '../configuration.ts';

/**
 * How a Lambda function is wired: explicitly, in its entry. Every function gets the base (the
 * store, the clock, the deployment's configuration); a function's entry adds exactly the adapters
 * its routes use with `compose({ workflow: sfnWorkflowFromEnv, … })`, and nothing else is bundled:
 * an adapter module is in a bundle if and only if an entry composes it (infra/adapters.ts derives
 * each function's env and IAM from that). No import has a side effect on the wiring.
 *
 * The wiring's deps are typed by what it composed (`With<…>`), and each use case names the adapters
 * it calls: an entry that calls a use case without composing an adapter it needs does not compile.
 */

/** The ports an entry composes: each is made on first use (a read-only request never constructs, or needs config for, a workflow client). */
export type Adapters = { [K in keyof Ports]?: () => Ports[K] };

/** Every adapter: what the local stack, benches and tests compose for their one process (resetDeps). */
export type AllDeps = With<keyof Ports>;

/** What a function's entry runs with: the base and the adapters `K` it composed. */
export interface Wiring<K extends keyof Ports = never> {
  /** the function's deps (the ones the local stack composed, when it composed the process: see resetDeps) */
  deps(): With<K>;
}

/** Builds an adapter on first use: read-only functions never construct (or need config for) it. */
export function lazy<T extends object>(make: () => T): T {
  let inst: T | undefined;
  return new Proxy({} as T, {
    get: (_t, prop) => {
      inst ??= make();
      const v = (inst as Record<string | symbol, unknown>)[prop];
      return typeof v === 'function' ? v.bind(inst) : v;
    },
  });
}

/** The one process-wide override: the local stack (and benches, tests) compose every adapter for their one process. */
let override: AllDeps | undefined;
/** Bumped by resetDeps, so compositions drop what they built from an earlier environment. */
let generation = 0;
let base: Pick<Deps, 'store' | 'clock' | 'tunables' | 'publicUrl' | 'deployment'> | undefined;

/**
 * The domain's tunables (domain/kernel/tunables.ts) as the configuration sets them: read when the
 * domain reads them, so a setting the local stack or a test changes applies at once.
 */
export const tunables: Tunables = {
  get retryBudgetMs() {
    return env.STAGELINE_RETRY_BUDGET_MS();
  },
  get allowLoopbackOutbound() {
    return env.STAGELINE_ALLOW_LOOPBACK_OUTBOUND();
  },
  get sweepGraceSeconds() {
    return env.STAGELINE_SWEEP_GRACE_SECONDS();
  },
  get maxRecurringPromotions() {
    return env.STAGELINE_MAX_RECURRING_PROMOTIONS();
  },
  get pendingExpiryHours() {
    return env.STAGELINE_PENDING_EXPIRY_HOURS();
  },
  get fleetMaxInstances() {
    return env.STAGELINE_FLEET_MAX_INSTANCES();
  },
  get waveHistoryEvents() {
    return env.STAGELINE_WAVE_HISTORY_EVENTS();
  },
};

/**
 * The base every function shares: the store (DYNAMODB_ENDPOINT points at DynamoDB Local when
 * running locally), the clock, the domain's tunables and the deployment's configuration; built on
 * first use, reused across invocations.
 */
function baseDeps(): NonNullable<typeof base> {
  if (!base) {
    const table = env.TABLE_NAME();
    if (!table) throw new Error('TABLE_NAME is not set');
    const endpoint = env.DYNAMODB_ENDPOINT();
    const db = traced(
      documentClient(
        endpoint
          ? {
              endpoint,
              region: env.STAGELINE_REGION() ?? env.AWS_REGION() ?? 'us-east-1',
              credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
            }
          : {},
      ),
    );
    base = {
      store: new DynamoStore(db, table),
      clock: () => new Date(),
      tunables,
      publicUrl: env.PUBLIC_URL(),
      deployment: { account: env.DEPLOYMENT_ACCOUNT(), region: env.DEPLOYMENT_REGION() ?? env.AWS_REGION() },
    };
  }
  return base;
}

/** A function's wiring: the base and exactly these adapters (each made on first use). */
export function compose<A extends Adapters = Record<never, never>>(adapters: A = {} as A): Wiring<keyof A & keyof Ports> {
  type Own = With<keyof A & keyof Ports>;
  let own: Own | undefined;
  let ownGen = -1;
  return {
    deps() {
      if (override) return override as Own;
      if (!own || ownGen !== generation) {
        const made: Record<string, unknown> = {};
        for (const [port, make] of Object.entries(adapters) as [string, () => object][]) made[port] = lazy(make);
        own = { ...baseDeps(), ...made } as Own;
        ownGen = generation;
      }
      return own;
    },
  };
}

/** The wiring of functions that use the store alone (most routes). */
export const storeOnly = /* @__PURE__ */ compose();

/** The store-only deps (scripts and tests: the seed, a store check). */
export const deps = (): Deps => storeOnly.deps();
/** Every adapter, as the local stack composed them for its process (tests and local scripts; throws when no stack composed them). */
export function localDeps(): AllDeps {
  if (!override) throw new Error('no local stack composed the adapters of this process (local/stack.ts resetDeps)');
  return override;
}

/**
 * Lets the local stack, benches and tests run every function of one process on deps they composed
 * (undefined: each function's own wiring again, rebuilt from the environment).
 */
export function resetDeps(next?: AllDeps): void {
  override = next;
  base = undefined;
  generation++;
}
