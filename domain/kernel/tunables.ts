/**
 * What the domain's rules are tuned by: given to every use case in its deps (Deps.tunables), never
 * read from the environment here. A deployment sets them through its configuration
 * (functions/configuration.ts, whose reference is docs/reference/configuration.md); tests and
 * benches give their own. A helper that has no deps (a pure rule, also used by adapters) takes the
 * one value it needs as a parameter from its caller.
 */
export interface Tunables {
  /** how long a write keeps retrying a lost conditional write before it answers 409 with Retry-After (ms): inside the API functions' 10 s timeout */
  readonly retryBudgetMs: number;
  /** local mode (`npm start`, tests): URLs a tenant saves may point at loopback (never on a deployed stack) */
  readonly allowLoopbackOutbound: boolean;
  /** how long past a state's own deadline a flow is given before the sweeper fails its promotion (s) */
  readonly sweepGraceSeconds: number;
  /** how long a promotion nobody validates (PENDING, VALIDATION_FAILED) waits before it expires (hours) */
  readonly pendingExpiryHours: number;
  /**
   * the most instances of one target a fleet confirmation counts (domain/promotion/rollout/confirm-fleet.ts): those
   * over it are not counted, and the count says how many (the rollout's `fleet.over`)
   */
  readonly fleetMaxInstances: number;
  /** the quota of recurring promotions per tenant: one more is refused with 422 */
  readonly maxRecurringPromotions: number;
  /**
   * the history one execution of a wave may reach (events, of Step Functions' 25,000): a wave's execution that has
   * looped as often as this allows continues as a new one (domain/promotion/rollout/wave-loop.ts maxLoops)
   */
  readonly waveHistoryEvents: number;
}

/** The defaults (the configuration's, when a deployment sets nothing). */
export const DEFAULT_TUNABLES: Tunables = {
  retryBudgetMs: 7000,
  allowLoopbackOutbound: false,
  sweepGraceSeconds: 900,
  pendingExpiryHours: 72,
  fleetMaxInstances: 1000,
  maxRecurringPromotions: 20,
  waveHistoryEvents: 5000,
};
