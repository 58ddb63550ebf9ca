import type { ActedVia, BreakGlassUse, ItemKind, RestoredBy } from './model.ts';
import type { Status } from './lifecycle.ts';
import type {
  MonitorAlarm,
  TargetState,
  FleetConvergence,
  RolloutTarget,
  MeasurementRecord,
  TargetAnalysisRun,
  TargetGitDelivery,
  TargetRegistryDelivery,
  RolloutState,
} from './rollout-model.ts';

export type { PlannedWave } from './rollout-model.ts';
export type {
  MonitorAlarm,
  TargetState,
  FleetConvergence,
  RolloutTarget,
  MeasurementRecord,
  TargetAnalysisRun,
  TargetGitDelivery,
  TargetRegistryDelivery,
  RolloutState,
} from './rollout-model.ts';

/** What a config promotion moves: a pinned source snapshot and a selection of it. */
export interface ConfigSubject {
  type: 'config';
  sourceSnapshot: { seq: number; digest: string };
  promotionType: 'FULL' | 'SELECTIVE' | 'PATTERN';
  configIds: string[];
  flagIds: string[];
  keyPatterns: string[];
}

/** An immutable artifact version (built once, promoted everywhere: same digest). */
export interface ArtifactSubject {
  type: 'artifact';
  name: string;
  version: string;
  digest: string;
}

/** One artifact version a bundle pins (by digest). */
export interface BundleMember {
  name: string;
  version: string;
  digest: string;
}

/** A bundle's configuration part: an environment's snapshot (immutable, content-addressed), all of it or the keys matching patterns. */
export interface BundleConfig {
  environment: string;
  seq: number;
  digest: string;
  /** empty: the whole snapshot (config and flags); else the keys matching these globs */
  keyPatterns: string[];
}

/**
 * A release bundle (domain/artifacts/bundles.ts): several artifact versions and optionally a configuration
 * snapshot, tested together, under one content digest. Immutable: another member is another bundle digest.
 */
export interface Bundle {
  name: string;
  /** sha256 over the canonical members and configuration (bundleDigest) */
  digest: string;
  /** sorted by name, one version per artifact */
  members: BundleMember[];
  config?: BundleConfig;
  /** the environment it was taken from, when created with `from` */
  from?: string;
  notes?: string;
  createdAt: string;
  createdBy: string;
}

/** A bundle as a promotion's release: every member moves together, under the bundle's digest. */
export interface BundleSubject {
  type: 'bundle';
  name: string;
  digest: string;
  members: BundleMember[];
  config?: BundleConfig;
}

export type Subject = ConfigSubject | ArtifactSubject | BundleSubject;

/** What a promotion list's `subject` filter matches: the artifact's name, `bundle:<name>`, or `config`. */
export const subjectKeyOf = (s: Subject): string => (s.type === 'artifact' ? s.name : s.type === 'bundle' ? `bundle:${s.name}` : 'config');

/** One run of a recurring promotion (domain/promotion/request/recurring.ts): what its schedule's firing did. */
export interface RecurringRun {
  at: string;
  outcome: 'promoted' | 'skipped';
  /** why it was skipped: nothing new, a freeze window, the source's soak, a promotion already on its way, a refusal */
  code?: 'nothing-new' | 'frozen' | 'soaking' | 'in-flight' | 'refused';
  reason?: string;
  /** the promotion it requested */
  promotionId?: string;
}

/** A recurring promotion's name: lower-case letters, digits and dashes (it names its schedule and its route). */
export const RECURRING_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** A promotion on a calendar: from `source` to `target` whenever `cron` fires in `timeZone`, through the normal request path. */
export interface RecurringPromotion {
  name: string;
  source: string;
  target: string;
  /** the artifact to promote (its version the source runs); absent: the source's configuration (a FULL promotion) */
  artifact?: string;
  cron: string;
  timeZone: string;
  paused: boolean;
  notes?: string;
  /** the newest runs first, bounded (RECURRING_RUNS_KEPT) */
  lastRuns: RecurringRun[];
  /** the definition's version (a PUT may name the one it read) */
  version: number;
  /** the item's write revision: every write (a PUT, a run recorded) is conditioned on it */
  rev: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
}

/** A tenant's rule for one source → target pair (promotion rule + approval policy). */
export interface Rule {
  id: string;
  name: string;
  sourceEnvironment: string;
  targetEnvironment: string;
  requiresApproval: boolean;
  requiredApprovers: number;
  /** groups whose members may approve */
  approverGroups: string[];
  separationOfDuties: boolean;
  approvalExpirySeconds: number;
  autoPromote: boolean;
  conditions: Condition | null;
  evidenceFrom?: EvidenceFrom;
  /** lets a promotion skip intermediate environments on this pair */
  allowSkip: boolean;
  /** the soak this pair asks for, overriding the target environment's (`soakSeconds`); absent: the environment's */
  soakSeconds?: number | null;
  /** environments whose signed verification summary a release must carry for this pair (domain/attestation/require.ts) */
  requireAttestationFrom?: string[];
  status: 'active' | 'disabled';
  version: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
}

export type Leaf = { field: string; op: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'in' | 'contains' | 'exists'; value?: unknown };
export type Condition = { all: Condition[] } | { any: Condition[] } | Leaf;

/** The policy a promotion runs under, frozen at creation (its digest goes into the decision record). */
export interface Policy {
  ruleId: string | null;
  requiresApproval: boolean;
  requiredApprovers: number;
  approverGroups: string[];
  separationOfDuties: boolean;
  approvalExpirySeconds: number;
  /** whose evidence the gates accept (see EvidenceFrom); absent = anyone with the deployer role */
  evidenceFrom?: EvidenceFrom;
  /** the pair's rule asks for its own soak in the source environment (overrides the target's; domain/promotion/run/soak.ts) */
  soakSeconds?: number;
  /** the pair's rule asks for signed verification summaries from these environments (with the target's own: domain/attestation/require.ts) */
  requireAttestationFrom?: string[];
}

/**
 * Who may vouch for a release: `anyone` (deployer role), `not-requester` (no self-attested
 * evidence), `machine` (a pipeline over the IAM route), or `group:<name>` (members of a group).
 */
export type EvidenceFrom = 'anyone' | 'not-requester' | 'machine' | `group:${string}`;

export type Verdict = 'PASS' | 'FAIL' | 'WARN' | 'SKIPPED';

export interface GateResult {
  gate: string;
  verdict: Verdict;
  blocking: boolean;
  reason: string;
  evidenceRefs: string[];
  /** an analysis gate (preAnalysis): what it measured, per target of the source environment */
  measurements?: (MeasurementRecord & { target: string })[];
}

export interface Approval {
  by: string;
  name: string;
  at: string;
  /** the release digest approved; an approval for another digest does not count */
  digest: string;
  comment?: string;
  /** given from Slack: the Slack identity and the link it relied on */
  via?: ActedVia;
  /** the role binding that let the approver approve there (domain/access/bindings.ts); absent: their token's tenant-wide role did */
  grantedBy?: ApprovalGrant;
}

/** The role binding an approval was given under: naming the approver (or their group), its role and environments. */
export interface ApprovalGrant {
  source: 'binding';
  role: string;
  /** `*`: every environment (a token's role) */
  environments: string[];
  user?: string;
  group?: string;
}

export interface Actor {
  id: string;
  name: string;
}

export interface Promotion {
  tenant: string;
  id: string;
  subject: Subject;
  sourceEnvironment: string;
  targetEnvironment: string;
  status: Status;
  /** digest of exactly what is promoted; approvals are bound to it */
  releaseDigest: string;
  notes: string;
  requestedBy: Actor;
  requestedAt: string;
  policy: Policy;
  policyDigest: string;
  /** names of approvers whose approval counts (for display; approvals are separate items) */
  approvedBy: string[];
  gates: GateResult[] | null;
  /** how execution starts once approved */
  trigger: 'on_approval' | 'manual' | 'scheduled';
  scheduledAt: string | null;
  taskToken: string | null;
  executionId: string | null;
  rejection: { by: string; reason: string; at: string } | null;
  result: {
    snapshotSeq?: number;
    digest: string;
    deploymentId: string;
    deployedAt: string;
    previous: { seq?: number; version?: string; digest: string | null };
    /** the deployment this one replaced (marked ROLLED_BACK when this is a rollback) */
    replaced?: { id: string; deployedAt: string; promotionId: string | null } | null;
    /** cross-registry copies, digest-verified */
    synced?: { registry: string; digest: string | null; bytesCopied: number; tags?: string[] }[];
    /**
     * the unsigned audit record attached to the artifact in each target registry (an OCI referrer), or why not:
     * promotions before signed attestations only (their referrers stay); the signed attestation is attached now
     */
    recorded?: { registry: string; digest: string | null; reason?: string }[];
    /** an automatic rollback's commit of the restored version to the git target, or why it could not be made */
    gitRevert?: GitRevertResult;
    /** a bundle: what each member replaced (nothing: the environment ran none of it) */
    members?: { name: string; version: string; digest: string; previous: { version?: string; digest: string | null } }[];
  } | null;
  error: { code: string; message: string } | null;
  autoPromoted: boolean;
  /** the deployment the release was taken from, and the gateway it goes to */
  sourceDeploymentId?: string;
  targetGateway?: string;
  /** config promotions: what the selection changes (counts, first keys, ids that change nothing) */
  changeSummary?: { added: number; modified: number; removed: number; keys: string[]; unmatchedIds: string[] };
  /** a freeze window over the target at execution: wait for its end, or fail (domain/freeze/windows.ts) */
  whenFrozen?: 'wait' | 'fail';
  /** who last moved this config promotion onto another release (rebase), and when: they chose its content */
  rebasedBy?: { id: string; name: string; at: string } | null;
  /** an admin broke glass past freeze windows for this promotion's release (audited, evented; a rebase voids it) */
  freezeOverride?: BreakGlassUse | null;
  /** the monitored CloudWatch alarm that rolled it back while it baked (domain/freeze/monitors.ts) */
  monitorAlarm?: MonitorAlarm | null;
  /** the target's monitors refused the execution (an alarm in ALARM, or a check that could not be made): nothing changed */
  monitorBlock?: MonitorBlock | null;
  /** pull-request delivery (a git target in pull-request mode): the pull request or merge request the delivery waits on, as last read from the host */
  pullRequest?: PullRequestRecord | null;
  /** its target had a change-control rule when its gates ran: it waits for an approved change request (domain/promotion/run/change-hold.ts) */
  changeControlled?: boolean;
  /** change control (domain/promotion/run/change-hold.ts): the change request it waits for */
  changeRequest?: ChangeRecord | null;
  /** the CI gate's run (domain/promotion/run/ci-hold.ts): claimed, started, looked at, concluded */
  ciRun?: CiRunRecord | null;
  /**
   * why it waits to execute: a freeze window until it ends (then the scheduler resumes it), or another
   * promotion holding the environment's lease (a rollout, a bake: domain/promotion/run/queue.ts), re-checked by `until`
   */
  heldBy?: HeldBy | null;
  /** when the flow was started with the request (autoStart): the sweeper's clock for a PENDING promotion */
  flowStartedAt?: string;
  /** how often failed gates were validated again (names the flow's run) */
  attempt?: number;
  /** the target's bake time when the gates ran: every decision sent to the flow carries it (Bake waits that long) */
  bakeSeconds?: number;
  /** the target's soak when the gates ran (absent: none); the policy's, from the pair's rule, overrides it (domain/promotion/run/soak.ts) */
  soakSeconds?: number;
  /** a promotion into an environment with targets: its waves and where each target stands (domain/promotion/rollout/) */
  rollout?: RolloutState | null;
  /**
   * set when this is an environment rollback: the impact analysis it was requested with, and (`of`) the
   * promotion it undoes when it was asked for as `POST /promotions/{id}/rollback` (marked ROLLED_BACK when this completes)
   */
  rollback?: { impact: RollbackImpact; override: { by: string; reason: string } | null; reason: string; of?: string } | null;
  version: number;
  updatedAt: string;
  completedAt: string | null;
  transitions: { status: Status; at: string; by: string }[];
}

export interface Evidence {
  id: string;
  type: 'test_results' | 'security_scan' | 'cost_estimate' | 'benchmark' | 'policy' | 'metrics' | 'alarm';
  payload: Record<string, unknown>;
  submittedBy: string;
  submittedAt: string;
  /** who posted it: the gates of a policy with `evidenceFrom` count only what it accepts */
  source?: { id: string; kind: 'user' | 'machine'; groups: string[] };
  /** posted on a promotion: the release it was then (after a rebase onto other content it no longer counts) */
  releaseDigest?: string;
}

/** One rollout of a release to an environment. */
export interface Deployment {
  id: string;
  environment: string;
  imageTag: string;
  gitCommit: string;
  gitBranch: string;
  status: 'PENDING' | 'DEPLOYED' | 'FAILED' | 'ROLLED_BACK';
  deployedAt: string;
  completedAt: string | null;
  promotionId: string | null;
  digest: string;
  deployedBy: string;
  /** the artifact (agent) deployed, where known */
  artifact?: string;
  /** the deployment target (gateway) within the environment */
  gateway?: string;
  /** the target of the environment this record is about (domain/config/targets.ts); absent: the environment as a whole */
  target?: string;
}

export interface ArtifactVersion {
  name: string;
  version: string;
  digest: string;
  sourceCommit: string;
  /** when the change was committed or built, as the publication said (lead time counts from it) */
  committedAt?: string;
  metadata: Record<string, unknown>;
  publishedAt: string;
  publishedBy: string;
}

/** What an environment runs of one artifact. */
export interface ArtifactPointer {
  environment: string;
  name: string;
  version: string;
  digest: string;
  promotedAt: string;
  promotedBy: string;
  promotionId: string | null;
  version_: number;
  deploymentId?: string;
  deployedAt?: string;
  /** set when a rollback put this version back: which one, and why */
  restoredBy?: RestoredBy | null;
  /** the release bundle that moved it here (its name and digest), when a bundle did */
  bundle?: { name: string; digest: string } | null;
}

export type KeyedChange = { kind: ItemKind; key: string; value?: unknown; remove?: boolean };

/** Rollback impact analysis (REQ-332). */
export interface RollbackImpact {
  environment: string;
  reverts: Record<string, unknown>[];
  breakingChanges: string[];
  affectedConsumers: { name: string; constraint: string; reason: string }[];
  estimatedSeconds: number;
  recommendation: 'SAFE' | 'RISKY' | 'BLOCKED';
  reasons: string[];
}

/** Why the target's monitors refused an execution: the alarms in ALARM (name, reason), or none when the check could not be made. */
export interface MonitorBlock {
  at: string;
  reason: string;
  alarms: { arn: string; name: string; reason: string; at?: string }[];
}

export interface GitCommitResult {
  /** the commit that holds the value (the new one, or the head that already held it) */
  commit: string;
  /** false: the file already held the value, nothing was committed */
  changed: boolean;
  /** pushes tried (a push rejected because the branch moved is retried on the new head) */
  attempts: number;
}

export type GitDeliveryResult = GitCommitResult & {
  repository: string;
  branch: string;
  file: string;
  path: string;
  value: string;
  /** pull-request mode: the merged pull request whose merge commit is `commit` */
  pullRequest?: { number: number; url: string };
  /** a file per target (`{target}`): each target's apply committed its own file; the rollout's completion commits nothing (`commit`: the newest of them) */
  perTarget?: boolean;
  /** a bundle: every member's place and value, all in the one commit (file, path and value above are the first member's) */
  members?: { artifact: string; file: string; path: string; value: string }[];
};

export type PullRequestHost = 'github' | 'gitlab';

export type CheckState = 'pending' | 'success' | 'failure' | 'neutral';

/** A pull request (merge request) as the host reports it. */
export interface PullRequestState {
  host: PullRequestHost;
  number: number;
  url: string;
  state: 'open' | 'merged' | 'closed';
  draft: boolean;
  headBranch: string;
  baseBranch: string;
  headSha: string;
  /** the head branch lives in another repository (a fork) than the one it merges into */
  fromFork: boolean;
  /** who opened it (the host's login), null when the host does not say */
  author: string | null;
  /** what merging waits for, in the host's words mapped to one set: clean, blocked (checks or reviews), behind (base moved), dirty (conflict), draft, unknown */
  mergeState: 'clean' | 'blocked' | 'behind' | 'dirty' | 'draft' | 'unknown';
  mergeCommit: string | null;
  checks: { name: string; state: CheckState; url: string | null }[];
}

/** A promotion's pull request (merge request): the host's state, when Stageline opened it and last read it, why it ended. */
export type PullRequestRecord = PullRequestState & {
  openedAt: string;
  checkedAt: string;
  /** closed without merge, or refused: why (the promotion fails with it) */
  reason: string | null;
  /** the commit Stageline pushed to the head branch: the pull request is the promotion's only while its head is this */
  pushed?: string;
};

/** What an automatic rollback committed to the git target: the commit, or why it could not (`error`; then `commit` is null). */
export type GitRevertResult = Omit<GitDeliveryResult, 'commit'> & { commit: string | null; error?: string };

/** A hold by a freeze window over the target, until the window ends (domain/promotion/run/freeze-hold.ts). */
export interface WindowHold {
  window: string;
  reason: string;
  until: string;
}

/** A hold behind another promotion executing into the same environment (domain/promotion/run/queue.ts); `until`: the next re-check. */
export interface PromotionHold {
  promotion: string;
  reason: string;
  until: string;
}

/**
 * A hold until the release has soaked in the source environment (domain/promotion/run/soak-hold.ts): `since` is when
 * it went live there (or its last alarm there after that), `seconds` the soak asked for, `until` when it is due.
 */
export interface SoakHold {
  soak: { environment: string; seconds: number; since: string | null; from: 'environment' | 'rule' };
  reason: string;
  until: string;
}

/** A hold until the environment's change request is approved and its window open (domain/promotion/run/change-hold.ts); `until`: the next look. */
export interface ChangeHold {
  change: { number: string; state: string };
  reason: string;
  until: string;
}

/**
 * A hold until the target's allowed hours open (domain/promotion/run/hours-hold.ts): `hours` names the environment and
 * its windows as people read them ("Mon–Fri 09:00–17:00 Europe/Berlin"), `until` the next opening.
 */
export interface HoursHold {
  hours: { environment: string; summary: string };
  reason: string;
  until: string;
}

/**
 * A hold while the target's CI gate runs (domain/promotion/run/ci-hold.ts): `ci` names the run (null until the host
 * answered) and its state as last read, `until` the next look.
 */
export interface CiHold {
  ci: { run: string | null; status: string; url: string | null };
  reason: string;
  until: string;
}

/**
 * The CI gate's run of a promotion: claimed before it is started (`run` null until the host answered), bound to the
 * release digest it was started for (a new digest starts another), looked at every `pollSeconds` until it concludes
 * or its deadline passes.
 */
export interface CiRunRecord {
  host: 'github' | 'gitlab';
  repository: string;
  workflow: string | null;
  digest: string;
  claimedAt: string;
  /** the claim's time plus the gate's timeoutMinutes: a run not concluded by then fails the promotion */
  deadline: string;
  run: { id: string; url: string } | null;
  /** the host's state when last read (GitHub: queued, in_progress, completed; GitLab: pending, running, success, failed…) */
  status: string | null;
  /** how it ended (GitHub's conclusion; GitLab's final status); null while it runs */
  conclusion: string | null;
  checkedAt: string | null;
  looks: number;
  /** why it waits, or why it passed or failed */
  reason: string | null;
}

export type HeldBy = WindowHold | PromotionHold | SoakHold | ChangeHold | HoursHold | CiHold;

/** Whether a promotion waits for its CI gate's run. */
export const heldByCi = (h: HeldBy | null | undefined): h is CiHold => !!h && 'ci' in h;

/** Whether a promotion waits for its change request. */
export const heldByChange = (h: HeldBy | null | undefined): h is ChangeHold => !!h && 'change' in h;

/**
 * The change request a promotion into a change-controlled environment is bound to (domain/promotion/run/change-hold.ts): claimed
 * before it is created (`ref` null until the tool answered), bound to the release digest it was opened for.
 */
export interface ChangeRecord {
  provider: 'servicenow' | 'jira';
  /** the release digest it was opened for: a new digest voids it */
  digest: string;
  claimedAt: string;
  /**
   * the promotion's correlation token: 128 random bits (base64url), kept here before the request is created. The
   * request carries it in its correlation value (`<promotion id>[.<n>].<token>`), and only a request found carrying it
   * (and opened by the rule's integration user, where the tool says who opened it) is taken as this promotion's. Never
   * shown nor audited. Absent on a record written before tokens: its next look without a ref gives it one.
   */
  token?: string;
  /** the tool's id of the request, recorded as soon as the create (or the search after a lost answer) answered */
  ref: { id: string; number: string; url: string } | null;
  /** the tool's ids of requests found by correlation that Stageline did not open: refused, audited once each (at most 20) */
  refused?: string[];
  /** the tool's state when last read, and its approval */
  state: string | null;
  approval?: string | null;
  window?: { start: string; end: string } | null;
  checkedAt: string | null;
  /** how often it was looked at while waiting (the backoff) */
  looks: number;
  /** why it waits, or why it ended */
  reason: string | null;
  /** notes made: started, ended */
  noted?: ('started' | 'ended')[];
  closed?: 'successful' | 'unsuccessful' | 'cancelled' | null;
  /** the requests opened before for an older digest, voided */
  voided?: { number: string; digest: string }[];
}

/** Whether a promotion waits for its release to soak in the source environment. */
export const heldBySoak = (h: HeldBy | null | undefined): h is SoakHold => !!h && 'soak' in h;

/** Whether a promotion waits for its target's allowed hours to open. */
export const heldByHours = (h: HeldBy | null | undefined): h is HoursHold => !!h && 'hours' in h;

/** Whether a promotion waits behind another one (not a freeze window). */
export const heldByPromotion = (h: HeldBy | null | undefined): h is PromotionHold => !!h && 'promotion' in h;
