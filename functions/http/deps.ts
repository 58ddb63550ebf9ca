import type { Deps } from '#domain/ports';
import { DynamoStore, documentClient } from '../adapters/dynamo-store.ts';
import { tenantCredentials } from '../adapters/tenant-credentials.ts';
import { traced } from '../adapters/tracing.ts';

/**
 * How a Lambda function is wired: explicitly, in its entry. Every function gets the base (the
 * store, the clock, the deployment's configuration); a function's entry adds exactly the adapters
 * its routes use with `compose({ workflow: sfnWorkflowFromEnv, … })`, and nothing else is bundled:
 * an adapter module is in a bundle if and only if an entry composes it (infra/adapters.ts derives
 * each function's env and IAM from that). No import has a side effect on the wiring.
 *
 * A port the function did not compose answers with an error naming it (a deploy check makes sure
 * every port a bundle calls has its adapter: test/infra/deploy.test.ts).
 */

/** The ports an entry composes: each is made on first use (a read-only request never constructs, or needs config for, a workflow client). */
export type Adapters = { [K in Exclude<keyof Deps, 'store' | 'clock' | 'publicUrl' | 'deployment'>]?: () => NonNullable<Deps[K]> };

/** What a function's entry runs with. */
export interface Wiring {
  /** the function's deps (the ones the local stack composed, when it composed the process: see resetDeps) */
  deps(): Deps;
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

/** Ports every Deps carries (the domain's type says so); a function that did not compose one gets this, which says so when used. */
const REQUIRED = ['workflow', 'events', 'gates', 'registry', 'scheduler', 'anchor'] as const;
const absent = (port: string): never =>
  new Proxy(
    {},
    {
      get: (_t, prop) => {
        if (prop === 'then') return undefined;
        throw new Error(`this function has no ${port} adapter: its entry does not compose one (functions/http/deps.ts compose)`);
      },
    },
  ) as never;

/** The one process-wide override: the local stack (and benches, tests) compose every adapter for their one process. */
let override: Deps | undefined;
/** Bumped by resetDeps, so compositions drop what they built from an earlier environment. */
let generation = 0;
let base: Pick<Deps, 'store' | 'clock' | 'publicUrl' | 'deployment'> | undefined;

/**
 * The base every function shares: the store (DYNAMODB_ENDPOINT points at DynamoDB Local when
 * running locally), the clock and the deployment's configuration; built on first use, reused
 * across invocations.
 */
function baseDeps(): NonNullable<typeof base> {
  if (!base) {
    const table = process.env.TABLE_NAME;
    if (!table) throw new Error('TABLE_NAME is not set');
    const endpoint = process.env.DYNAMODB_ENDPOINT;
    const db = traced(
      documentClient(
        endpoint
          ? {
              endpoint,
              region: process.env.STAGELINE_REGION || process.env.AWS_REGION || 'us-east-1',
              credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
            }
          : {},
      ),
    );
    base = {
      store: new DynamoStore(db, table),
      clock: () => new Date(),
      publicUrl: process.env.PUBLIC_URL,
      deployment: { account: process.env.DEPLOYMENT_ACCOUNT, region: process.env.DEPLOYMENT_REGION ?? process.env.AWS_REGION },
    };
  }
  return base;
}

/** A function's wiring: the base and exactly these adapters (each made on first use). */
export function compose(adapters: Adapters = {}): Wiring {
  let own: Deps | undefined;
  let ownGen = -1;
  return {
    deps() {
      if (override) return override;
      if (!own || ownGen !== generation) {
        const made: Record<string, unknown> = {};
        for (const port of REQUIRED) made[port] = absent(port);
        for (const [port, make] of Object.entries(adapters) as [string, () => object][]) made[port] = lazy(make);
        own = { ...baseDeps(), ...made } as Deps;
        ownGen = generation;
      }
      return own;
    },
  };
}

const forTenant = new WeakMap<Deps, Map<string, Deps>>();

/**
 * What a request of one tenant works with, in a function of this wiring. On AWS
 * (TENANT_DATA_ROLE_ARN set by CDK for the API functions) the store reaches the table only through
 * a session of the tenant data role tagged with this tenant: IAM itself (dynamodb:LeadingKeys)
 * keeps the request inside `T#<tenant>#`, whatever the code does. One session per tenant and
 * container. Locally: the function's deps. (Only functions serving tenant routes call this, so
 * only they bundle the STS client.)
 */
export function tenantDeps(wiring: Wiring, tenant: string): Deps {
  const d = wiring.deps();
  const role = process.env.TENANT_DATA_ROLE_ARN;
  if (!role) return d;
  let sessions = forTenant.get(d);
  if (!sessions) forTenant.set(d, (sessions = new Map()));
  let t = sessions.get(tenant);
  if (!t) {
    t = { ...d, store: new DynamoStore(traced(documentClient({ credentials: tenantCredentials(role, tenant) })), process.env.TABLE_NAME!) };
    if (sessions.size >= 500) sessions.clear();
    sessions.set(tenant, t);
  }
  return t;
}

/** The wiring of functions that use the store alone (most routes). */
export const storeOnly = /* @__PURE__ */ compose();

/** The store-only deps (scripts and tests: the seed, a store check). */
export const deps = (): Deps => storeOnly.deps();
/** The store-only deps of one tenant (see tenantDeps). */
export const depsFor = (tenant: string): Deps => tenantDeps(storeOnly, tenant);

/**
 * Lets the local stack, benches and tests run every function of one process on deps they composed
 * (undefined: each function's own wiring again, rebuilt from the environment).
 */
export function resetDeps(next?: Deps): void {
  override = next;
  base = undefined;
  generation++;
}
