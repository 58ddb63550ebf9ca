/**
 * What a use case is given, declared where every context can import it without importing another:
 * the store, the clock, the tunables, and the adapters a function composed. Each context adds its own
 * store area, write ops and outbound ports to these interfaces from its ports.ts (TypeScript's
 * declaration merging: `declare module '../kernel/deps.ts' { interface Ports { workflow: Workflow } }`),
 * so a use case imports `With`, `Deps` and `Ctx` from here and the ports it names from its own context
 * (or another it already depends on), never the composition. domain/ports.ts composes: it imports every
 * context's ports, so the whole Store is what the DynamoDB adapter implements and a test checks that
 * no area is left out.
 */
import type { ActedVia } from './model.ts';
import type { Events, IdempotencyStorePort, OutboxOp, Scheduler, SecretResolver } from './ports.ts';
import type { Tunables } from './tunables.ts';
import type { Sealer } from './sealed.ts';

/** The write ops of an atomic multi-item write, by area (each context adds its own: `interface WriteOps { promotion: PromotionOp }`). */
export interface WriteOps {
  outbox: OutboxOp;
}

/** One item of an atomic multi-item write (see Store.commit): the union of the areas' write ops. */
export type WriteOp = WriteOps[keyof WriteOps];

export interface CommitPort {
  /** Writes every op in one transaction (all or nothing); a failed condition throws WriteConflict. */
  commit(tenant: string, ops: WriteOp[]): Promise<void>;
}

/**
 * Persistence port: the areas' ports together (each context's ports.ts adds its area:
 * `interface Store extends PromotionStorePort {}`). The DynamoDB adapter implements it; each commit
 * method is one atomic transaction that also writes the audit entry and the outbox events,
 * conditioned on the item versions read (never on a tenant-wide item). A lost race throws
 * `WriteConflict` and the domain retries with fresh reads.
 */
export interface Store extends CommitPort, IdempotencyStorePort {}

/**
 * The adapters a function's entry composes (functions/http/deps.ts compose). Each is optional in Deps:
 * a use case names the ones it calls (`With<'workflow' | 'scheduler'>`), so a function whose entry
 * does not compose an adapter one of its use cases needs fails to compile, not at run time. The
 * kernel's own are here; each context adds those it declares.
 */
export interface Ports {
  events: Events;
  scheduler: Scheduler;
  /** resolves `${NAME}` secret references of a manifest (manifest apply only) */
  secrets: SecretResolver;
  /** seals the tenant secrets a write is given (functions/adapters/secret-box.ts): only the functions that write one compose it */
  sealer: Sealer;
}

/** What every use case is given: the store, the clock, the deployment's settings, and whichever adapters its function composed. */
export interface Deps extends Partial<Ports> {
  store: Store;
  clock: () => Date;
  /** what the domain's rules are tuned by (retry budget, sweeper grace, pending expiry, local mode): domain/kernel/tunables.ts */
  tunables: Tunables;
  /** public base URL of the API (review links point at it) */
  publicUrl?: string;
}

/** Deps with these adapters present: what a use case that calls them declares. */
export type With<K extends keyof Ports> = Deps & { [P in K]-?: Ports[P] };

/** Who acts and how (the caller's principal is added by domain/access/ports.ts). */
export interface Ctx {
  requestId?: string;
  /** the caller asks to break glass, with this reason (see domain/freeze/break-glass.ts) */
  breakGlassReason?: string;
  /** the principal acts from Slack, as the Slack user linked to it (recorded with what it does) */
  via?: ActedVia;
  /** milliseconds this request has left before its answer is cut off (API Gateway's 29 s, the function's timeout) */
  timeLeft?: () => number;
  /**
   * the operator's own setup code acts (the local demo seed: local/seed.ts), never a request (no handler sets
   * it): it gives a protected environment that has never changed its starting content without breaking glass
   */
  setup?: true;
}
