import type { AuditAnchor, Deps, Events, Scheduler, Workflow } from '#domain/ports';
import { DynamoStore, documentClient } from '../adapters/dynamo-store.ts';
import { tenantCredentials } from '../adapters/tenant-credentials.ts';
import { sfnWorkflowFromEnv } from '../adapters/sfn-workflow.ts';
import { schedulerFromEnv } from '../adapters/scheduler.ts';
import { traced } from '../adapters/tracing.ts';

let cached: Deps | undefined;

type Outbound = Pick<Deps, 'gates' | 'registry'> & { alarms: NonNullable<Deps['alarms']> };
let makeOutbound: (() => Partial<Outbound>) | undefined;
let outbound: Partial<Outbound> | undefined;

/**
 * Adapters that call tenant-configured URLs (webhook gates, OCI registries) are registered only by
 * the functions that use them (the promotion step; publishing, for registry tags), so no other function bundles the HTTP client
 * and registry code they bring.
 */
export function registerOutbound(make: () => Partial<Outbound>): void {
  // Registrations add up (the local stack loads every handler in one process): each brings what it uses.
  const before = makeOutbound;
  makeOutbound = () => ({ ...before?.(), ...make() });
  outbound = undefined;
}

function needOutbound<K extends keyof Outbound>(key: K): Outbound[K] {
  outbound ??= makeOutbound?.() ?? {};
  const adapter = outbound[key];
  if (!adapter) throw new Error(`this function has no ${key} adapter: only the promotion step (gates, registries) and publishing (registries) call tenant URLs`);
  return adapter;
}

let makeEvents: (() => Events) | undefined;

/** The bus client is the stream consumer's alone (every other function writes events to the outbox). */
export function registerEvents(make: () => Events): void {
  makeEvents = make;
}

let makeAnchor: (() => AuditAnchor) | undefined;

/** The audit anchor (KMS + S3 clients) is registered only by the functions that sign, read or verify checkpoints: the stream consumer, /audit/verify (and /audit/public-key) and /audit/export. */
export function registerAnchor(make: () => AuditAnchor): void {
  makeAnchor = make;
}

type Notify = Pick<Deps, 'directory' | 'channels'>;
let makeNotify: (() => Notify) | undefined;

/** The notifier (directory + channels) and the review/Slack handlers (directory) register what they use; nothing else bundles it. */
export function registerNotify(make: () => Notify): void {
  makeNotify = make;
  // The local stack brings its own directory and channels.
  if (cached && !cached.directory) Object.assign(cached, make());
}

let makeWebhooks: (() => NonNullable<Deps['webhooks']>) | undefined;

/** The webhook routes and the delivery function register the webhook adapters (secrets, sender, schedules); nothing else bundles them. */
export function registerWebhooks(make: () => NonNullable<Deps['webhooks']>): void {
  makeWebhooks = make;
  // The local stack brings its own.
  if (cached && !cached.webhooks) cached.webhooks = make();
}

let makeGit: (() => NonNullable<Deps['git']>) | undefined;

/** The promotion step registers the git writer (isomorphic-git); nothing else bundles it. */
export function registerGit(make: () => NonNullable<Deps['git']>): void {
  makeGit = make;
  if (cached && !cached.git) cached.git = make();
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

/**
 * Production wiring, built on first use and reused across invocations.
 * DYNAMODB_ENDPOINT points at DynamoDB Local when running locally (the local
 * stack also swaps in its own workflow runner and event bus via resetDeps).
 */
export function deps(): Deps {
  if (!cached) {
    const table = process.env.TABLE_NAME;
    if (!table) throw new Error('TABLE_NAME is not set');
    const endpoint = process.env.DYNAMODB_ENDPOINT;
    const db = traced(
      documentClient(
        endpoint
          ? { endpoint, region: process.env.STAGELINE_REGION || process.env.AWS_REGION || 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
          : {},
      ),
    );
    cached = {
      store: new DynamoStore(db, table),
      clock: () => new Date(),
      workflow: lazy<Workflow>(() => sfnWorkflowFromEnv()),
      events: lazy<Events>(() => {
        if (!makeEvents) throw new Error('this function publishes no events: they leave through the outbox, relayed by the stream consumer');
        return makeEvents();
      }),
      gates: lazy<Deps['gates']>(() => needOutbound('gates')),
      registry: lazy<Deps['registry']>(() => needOutbound('registry')),
      scheduler: lazy<Scheduler>(() => schedulerFromEnv()),
      anchor: lazy<AuditAnchor>(() => {
        if (!makeAnchor) throw new Error('this function has no audit anchor: only the stream consumer and the /audit/verify, /audit/export and /audit/public-key handlers use checkpoints');
        return makeAnchor();
      }),
      publicUrl: process.env.PUBLIC_URL,
      deployment: { account: process.env.DEPLOYMENT_ACCOUNT, region: process.env.DEPLOYMENT_REGION ?? process.env.AWS_REGION },
      alarms: lazy<NonNullable<Deps['alarms']>>(() => needOutbound('alarms')),
      ...(makeNotify ? makeNotify() : {}),
      ...(makeWebhooks ? { webhooks: makeWebhooks() } : {}),
      ...(makeGit ? { git: makeGit() } : {}),
    };
  }
  return cached;
}

const forTenant = new Map<string, Deps>();

/**
 * What a request of one tenant works with. On AWS (TENANT_DATA_ROLE_ARN set by CDK for the API
 * functions) the store reaches the table only through a session of the tenant data role tagged
 * with this tenant: IAM itself (dynamodb:LeadingKeys) keeps the request inside `T#<tenant>#`,
 * whatever the code does. One session per tenant and container. Locally: the shared deps.
 */
export function depsFor(tenant: string): Deps {
  const base = deps();
  const role = process.env.TENANT_DATA_ROLE_ARN;
  if (!role) return base;
  let d = forTenant.get(tenant);
  if (!d) {
    d = { ...base, store: new DynamoStore(traced(documentClient({ credentials: tenantCredentials(role, tenant) })), process.env.TABLE_NAME!) };
    if (forTenant.size >= 500) forTenant.clear();
    forTenant.set(tenant, d);
  }
  return d;
}

/** Lets the local stack and tests point handlers at another table or swap adapters. */
export function resetDeps(next?: Deps): void {
  cached = next;
  forTenant.clear();
}
