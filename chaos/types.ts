import type { Approval, Promotion, RolloutTarget } from '../domain/kernel/promotion-model.ts';
import type { AuditEntry } from '../domain/kernel/model.ts';
import type { LocalStack } from '../local/stack.ts';

/**
 * The types the chaos run shares (chaos/workload.ts, chaos/checker.ts, chaos/run.ts and the effect
 * receivers of chaos/effects.ts): what a violation says, what a check reads, what the workload sent.
 */

/** One request the workload sent and what it was answered (the client-side history). */
export interface HistoryEntry {
  /** when the answer came (ISO) */
  at: string;
  tenant: string;
  promotionId?: string;
  method: string;
  path: string;
  status: number;
  note?: string;
}

/** A promotion the workload requested. */
export interface ChaosPromotion {
  tenant: string;
  id: string;
  /** the workload's kind (chaos/workload.ts KINDS) */
  kind: string;
  environment: string;
  /** the soak its target environment asked for when the workload requested it (seconds; none: no soak) */
  soakSeconds?: number;
  /** requested by a recurring promotion's calendar: its name, and how many of its occurrences the workload fired */
  recurring?: { name: string; occurrences: number };
  /** its rollout has a fleet-confirmed target: how many of that fleet's instances the workload let read, and how many confirming needs */
  fleet?: { readers: number; minInstances: number };
}

/** One broken invariant: which, where, why, and the history of that promotion (an excerpt; of the tenant when no promotion is known). */
export interface Violation {
  invariant: string;
  tenant: string;
  promotionId?: string;
  detail: string;
  history: string[];
}

/** What every check reads: the stack after the workload (faults paused, idle), the tenants, the client history. */
export interface CheckContext {
  stack: LocalStack;
  tenants: string[];
  history: HistoryEntry[];
  seed: number;
  promotions: ChaosPromotion[];
}

/**
 * What each invariant examined in a run: per invariant, per measure (what it counted: promotions, transitions,
 * commits...), how many. An invariant its workload should have exercised that examined nothing held vacuously
 * (chaos/exercised.ts).
 */
export type Exercised = Record<string, Record<string, number>>;

/** Counts `n` (default 1) of `measure` examined by `invariant`: what the checks call as they look at something. */
export type Count = (invariant: string, measure: string, n?: number) => void;

// ---- what the checker reads (chaos/checker.ts `observe`; a history on disk keeps it as observed.json)

/** A promotion as read: the record, its rollout targets, its approvals and its attestation read. */
export interface ObservedPromotion {
  promotion: Promotion;
  targets: RolloutTarget[];
  approvals: Approval[];
  /** GET /promotions/{id}/attestation: its status and body */
  attestation?: { status: number; body: any };
}

export interface ObservedEnvironment {
  name: string;
  /** the environment's head (GET /environments/{env}: snapshot) */
  snapshot: { seq: number; digest: string };
  /** per target, what it serves (GET /environments/{env}/targets: config), none for an environment without targets */
  targets: { name: string; config: { seq: number; digest: string; own?: boolean; promotionId?: string } }[];
}

export interface ObservedTenant {
  tenant: string;
  promotions: ObservedPromotion[];
  audit: AuditEntry[];
  /** GET /audit/verify */
  verify: { ok: boolean; [k: string]: unknown };
  environments: ObservedEnvironment[];
}

export interface Observed {
  seed: number;
  history: HistoryEntry[];
  requested: (ChaosPromotion & { requestedAt?: string })[];
  tenants: ObservedTenant[];
  /** events the bus published: type and detail */
  events: { type: string; detail: Record<string, unknown> }[];
}
