import type { Page } from '../kernel/model.ts';
import type { CiGate } from '../kernel/ci-gate.ts';
import type { Approval, Evidence, Promotion, RecurringPromotion, RolloutTarget, Rule } from '../kernel/promotion-model.ts';
import type { FreezeWindow } from '../freeze/model.ts';
import type { Sealed } from '../kernel/sealed.ts';

/** A webhook gate as the validation step calls it (terms/gate-verdicts.ts judges its outcome). */
export interface WebhookGate {
  name: string;
  url: string;
  timeoutMs: number;
  blocking: boolean;
  /** opened by the caller that signs with it (functions/adapters/webhook-gates.ts) */
  secret: Sealed;
}

export interface WebhookOutcome {
  name: string;
  verdict: 'PASS' | 'FAIL' | 'ERROR';
  reason: string;
}

/** Promotions with their gate results, approvals and evidence; the per-environment execution lease. */
export type PromotionOp =
  /**
   * `gatesChanged`: the gate results are stored apart from the promotion, written only when they change.
   * `claim` (a new promotion only): it takes its release's claim into its target from `source` (or '*': from any)
   * from `previous`, the promotion that held it (null: nobody did); another request having taken it since loses
   * the write ('version').
   */
  | { kind: 'promotion'; promotion: Promotion; expectedVersion: number | null; gatesChanged?: boolean; claim?: { source: string; previous: string | null } }
  /**
   * One approver's approval (one per approver and release digest; the same again loses the write: 'exists').
   * `promotionVersion`: the promotion's version it was decided on; a promotion changed since (a rebase, another
   * decision) loses the write ('version').
   */
  | { kind: 'approval'; promotionId: string; approval: Approval; promotionVersion?: number }
  | { kind: 'evidence'; owner: string; evidence: Evidence }
  /**
   * One target of a promotion's rollout (domain/promotion/rollout/): its own item, so a wave's targets are written in parallel.
   * `promotionVersion`: the promotion's version the change was decided on (a target's apply); a promotion written since
   * (the flow's decision to stop, a halt) loses the write ('version'), and the step reads it again.
   */
  | { kind: 'rolloutTarget'; target: RolloutTarget; expectedVersion: number | null; promotionVersion?: number }
  /**
   * No other promotion holds `env`'s lease at `now` (nobody does, `holder` does, or it ran out): a write that changes
   * an environment without taking its lease (the one-step execution) is refused while another one executes there
   * ('version': the use case reads the lease again). Writes nothing.
   */
  | { kind: 'leaseFree'; env: string; holder: string; now: Date };

/** One page of a wave of a stored plan: its target names in order. */
export interface PlanPage {
  /** the plan's id (a digest of it: RolloutState.plan) */
  plan: string;
  wave: number;
  page: number;
  names: string[];
}

export interface PromotionStorePort {
  getPromotion(tenant: string, id: string): Promise<Promotion | null>;
  listPromotions(tenant: string, filter: PromotionFilter, limit: number, cursor?: string): Promise<Page<Promotion>>;
  /** Promotions into a target that have not reached a final state. */
  activePromotions(tenant: string, target: string): Promise<Promotion[]>;
  listApprovals(tenant: string, promotionId: string): Promise<Approval[]>;
  listEvidence(tenant: string, owners: string[]): Promise<Evidence[]>;
  /** The targets of a promotion's rollout that have an item (one query), by name. */
  listRolloutTargets(tenant: string, promotionId: string): Promise<RolloutTarget[]>;
  getRolloutTarget(tenant: string, promotionId: string, target: string): Promise<RolloutTarget | null>;
  /** The items of these targets of a promotion's rollout (batch reads by name, consistent); a name without an item is left out. */
  getRolloutTargets(tenant: string, promotionId: string, names: readonly string[]): Promise<RolloutTarget[]>;
  /**
   * Writes the pages of a promotion's stored plan (domain/promotion/terms/stored-plan.ts) in as few requests as the
   * batch limits allow, before the promotion names them. Idempotent: a retried start writes the same keys again.
   */
  putPlanPages(tenant: string, promotionId: string, pages: readonly PlanPage[]): Promise<void>;
  /** The target names of one wave of a stored plan, from its `pages` pages in order (consistent reads). */
  getPlanPages(tenant: string, promotionId: string, plan: string, wave: number, pages: number): Promise<string[]>;
  /**
   * The promotion that last took this release (its digest) from `source` into `target`: a request reads it
   * and takes the claim in its own write, so two requests of the same release at once never both go on
   * their way. Null: none ever did.
   */
  getReleaseClaim(tenant: string, target: string, source: string, releaseDigest: string): Promise<string | null>;
  /** A lease on an environment: one promotion executes into it at a time. */
  acquireLock(tenant: string, env: string, holder: string, now: Date, ttlSeconds: number): Promise<boolean>;
  releaseLock(tenant: string, env: string, holder: string): Promise<void>;
  /** Who holds an environment's lease and until when (epoch seconds; consistent read): null when nobody does. */
  getLock(tenant: string, env: string): Promise<EnvLease | null>;
}

/** An environment's execution lease: the promotion holding it, until `leaseUntil` (epoch seconds) unless renewed or released. */
export interface EnvLease {
  holder: string;
  leaseUntil: number;
}

/** What promotions are decided by: promotion rules (one per source → target pair) and freeze windows. */
export type PolicyOp =
  | { kind: 'rule'; rule: Rule; expectedVersion: number | null }
  | { kind: 'deleteRule'; id: string; expectedVersion: number }
  /** one rule per source → target pair: claimed with the rule, released when it goes or moves */
  | { kind: 'rulePair'; source: string; target: string; ruleId: string; claim: boolean }
  /** a freeze window (domain/freeze/windows.ts): added or removed with its audit entry */
  | { kind: 'freezeWindow'; window: FreezeWindow }
  | { kind: 'deleteFreezeWindow'; id: string }
  /** a recurring promotion (domain/promotion/request/recurring.ts), by name, conditioned on its write revision (`rev`; null: create) */
  | { kind: 'recurringPromotion'; recurring: RecurringPromotion; expectedRev: number | null }
  | { kind: 'deleteRecurringPromotion'; name: string; expectedRev: number };

export interface PolicyStorePort {
  getRule(tenant: string, id: string): Promise<Rule | null>;
  listRules(tenant: string): Promise<Rule[]>;
  /** Every freeze window of a tenant (few: one query). */
  listFreezeWindows(tenant: string): Promise<FreezeWindow[]>;
  getRecurringPromotion(tenant: string, name: string): Promise<RecurringPromotion | null>;
  /** Every recurring promotion of a tenant (few: one query), by name. */
  listRecurringPromotions(tenant: string): Promise<RecurringPromotion[]>;
}

export interface PromotionFilter {
  /** any of these statuses */
  status?: string[];
  source?: string;
  target?: string;
  subject?: string;
}

/** Polls a target's health URL (confirmation mode `health`) through the guarded outbound client: the status, or why there is none. */
export interface HealthProbe {
  check(url: string, timeoutMs: number): Promise<{ status: number | null; error?: string }>;
}

/** What a GitOps controller's API said of one object: its JSON as read, or why it could not be read. */
export type GitOpsRead = { ok: true; body: unknown } | { ok: false; status: number | null; error: string };

/**
 * Reads a target's GitOps controller (confirmation modes `argocd` and `flux`) through the guarded outbound
 * client, with the tenant's bearer token (secret purpose gitops-health): an Argo CD application
 * (GET {server}/api/v1/applications/{name}) or a Flux Kustomization (the Kubernetes API's custom object).
 */
export interface GitOpsStatus {
  argocdApplication(req: { tenant: string; server: string; name: string; tokenSecret: string; project?: string }): Promise<GitOpsRead>;
  fluxKustomization(req: { tenant: string; apiServer: string; namespace: string; name: string; tokenSecret: string; caSecret?: string }): Promise<GitOpsRead>;
}

/** Calls tenant-configured webhook gates (HMAC-signed); errors and time-outs come back as ERROR. */
export interface GateProvider {
  call(hook: WebhookGate, body: Record<string, unknown>): Promise<WebhookOutcome>;
}

/**
 * Runs promotion flows: Step Functions on AWS, the same ASL on aws-local-stepfunctions
 * locally. One state machine runs promotions and rollbacks alike: a rollback is a
 * promotion record with `rollback` set, and the steps read the record to decide its path.
 * Task tokens come from waitForTaskToken states.
 */
export interface Workflow {
  /** Starts the flow for a promotion (or rollback); idempotent per promotion id. Returns the execution id. */
  /** `attempt` (> 0) names a new run after failed gates were validated again. */
  /** approvalTimeoutSeconds: how long the flow's first task (gates, then the approval wait) may wait (domain/promotion/terms/deadlines.ts approvalTimerSeconds) */
  start(input: { tenant: string; promotionId: string; approvalTimeoutSeconds: number; attempt?: number }): Promise<string>;
  /** Resumes a waiting task. Unknown or finished tokens are ignored (returns false). */
  sendTaskSuccess(token: string, output: Record<string, unknown>): Promise<boolean>;
  sendTaskFailure(token: string, error: string, cause: string): Promise<boolean>;
  /**
   * Starts a wave's child execution (statemachines/wave.asl.json) with the parent's WaveStart token: idempotent per
   * parent token (a retried task starts no second child). Returns the execution id.
   */
  startWave(input: WaveStartInput): Promise<string>;
}

/**
 * Where a wave's child execution is (statemachines/wave.asl.json; domain/promotion/rollout/wave-loop.ts): its phase, the
 * pass over its targets a batch at a time, and its loops. A continuation (a new execution of the same wave, its history
 * bounded) starts with the batch its predecessor ended with.
 */
export type WaveBatch = {
  /** apply: the targets changed; confirm: the confirmations polled; bake: the bake's end read (and the analyses measured) */
  phase: 'apply' | 'confirm' | 'bake';
  /** where the next batch starts in the wave's targets */
  offset: number;
  /** the pass over the wave's targets is over (the next task of the phase starts a new pass at 0) */
  done: boolean;
  /** the targets of the pass so far that have no answer yet (not confirmed, still measuring) */
  pending: number;
  /** the waits (loops) this execution has run */
  loops: number;
  /** what the next Wait waits (s) */
  waitSeconds: number;
  /** the execution has run as many loops as its history allows: it continues as a new execution instead of waiting */
  renew: boolean;
};

/** What a wave's child execution is started with (a continuation: its part and where its predecessor was). */
export interface WaveStartInput {
  tenant: string;
  promotionId: string;
  wave: number;
  bakeSeconds: number;
  /** the parent's WaveStart task token: answered when the wave ends, whichever execution of it ends it */
  parentToken: string;
  /** 0: the wave's first execution; n: its n-th continuation (a name of its own) */
  part?: number;
  batch?: WaveBatch;
}

/** The promotion context's part of what a use case is given (domain/kernel/deps.ts): promotions and rules in the store; the flow, the gates, the health probe. */
declare module '../kernel/deps.ts' {
  interface Store extends PromotionStorePort, PolicyStorePort {}
  interface WriteOps {
    promotion: PromotionOp;
    policy: PolicyOp;
  }
  interface Ports {
    workflow: Workflow;
    gates: GateProvider;
    /** polls targets' health URLs (the promotion step's; domain/promotion/rollout/) */
    probe: HealthProbe;
    /** reads targets' Argo CD applications and Flux Kustomizations (the promotion step's; domain/promotion/rollout/confirm-gitops.ts) */
    gitopsStatus: GitOpsStatus;
    /** starts and reads the CI gates' runs: GitHub Actions workflows, GitLab pipelines (the promotion step's; domain/promotion/run/ci-hold.ts) */
    ciRuns: CiRuns;
  }
}

/** A CI gate's run as the host tells it. */
export interface CiRunState {
  /** GitHub: queued, in_progress, completed…; GitLab: created, pending, running, success, failed, canceled… */
  status: string;
  /** GitHub's conclusion once completed (success, failure, cancelled, timed_out…); GitLab: its final status; null while it runs */
  conclusion: string | null;
  url: string;
}

/** The host refused (4xx: a workflow or project it does not know, inputs it does not take, a credential it does not accept): looking again changes nothing. */
export class CiRefused extends Error {
  override readonly name = 'CiRefused';
}

/**
 * The CI hosts' runs, through the outbound rules. The adapter resolves the gate's tenant secret itself (the App's key,
 * the GitLab token) and never puts a credential in an error. A host that is down or slow throws an ordinary Error (the
 * next look tries again); one that refuses throws CiRefused.
 */
export interface CiRuns {
  start(a: { tenant: string; gate: CiGate; inputs: Record<string, string> }): Promise<{ id: string; url: string }>;
  read(a: { tenant: string; gate: CiGate; runId: string }): Promise<CiRunState>;
}
