import type { Deps, Ports, With } from '#domain/ports';
// The store's own modules, not the dynamo-store.ts barrel: its other exports' modules (the audit area) would be read at init.
import { DynamoStore } from '../adapters/store/on-first-use.ts';
import { documentClient } from '../adapters/store/base.ts';
import { tenantCredentials } from '../adapters/tenant-credentials.ts';
import { traced } from '../adapters/tracing.ts';
import * as env from '../configuration.ts';
import { storeOnly, type Wiring } from './deps.ts';

/*
 * Kept apart from deps.ts: the STS client behind tenantCredentials is a chunk `import()` loads, and
 * esbuild makes that chunk (and moves the SDK code it shares with DynamoDB's client into what module
 * init reads) in every bundle whose modules name it, called or not. Only the functions that serve
 * tenant routes import this module.
 */

const forTenant = new WeakMap<Deps, Map<string, Deps>>();

/**
 * What a request of one tenant works with, in a function of this wiring. On AWS
 * (TENANT_DATA_ROLE_ARN set by CDK for the API functions) the store reaches the table only through
 * a session of the tenant data role tagged with this tenant: IAM itself (dynamodb:LeadingKeys)
 * keeps the request inside `T#<tenant>#`, whatever the code does. One session per tenant and
 * container. Locally: the function's deps. (Only functions serving tenant routes import this
 * module, so only they bundle the STS client.)
 */
export function tenantDeps<K extends keyof Ports>(wiring: Wiring<K>, tenant: string): With<K> {
  const d = wiring.deps();
  const role = env.TENANT_DATA_ROLE_ARN();
  if (!role) return d;
  let sessions = forTenant.get(d);
  if (!sessions) forTenant.set(d, (sessions = new Map()));
  let t = sessions.get(tenant);
  if (!t) {
    t = { ...d, store: new DynamoStore(traced(documentClient({ credentials: tenantCredentials(role, tenant) })), env.TABLE_NAME()!) };
    if (sessions.size >= 500) sessions.clear();
    sessions.set(tenant, t);
  }
  return t as With<K>;
}

/** The store-only deps of one tenant (see tenantDeps). */
export const depsFor = (tenant: string): Deps => tenantDeps(storeOnly, tenant);
