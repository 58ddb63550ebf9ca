import type { CiGate } from './ci-gate.ts';
import type { EntityType } from './entity-types.ts';
import type { Gates, WebhookGateConfig } from './schemas.ts';
import type { Sealed } from './sealed.ts';
import type { AllowedHours } from './allowed-hours.ts';
import type { AnalysisRef, PreAnalysis, Rollout, Target } from './target-schemas.ts';

export type ItemKind = 'config' | 'flag';
export const ITEM_KINDS: ItemKind[] = ['config', 'flag'];

/** Root of each kind's trie in a snapshot. */
export type Roots = Record<ItemKind, NodeRef>;

/** What an environment points at now. Moving it is one conditional write. */
export interface Head {
  seq: number;
  digest: string;
  roots: Roots;
}

/** A named stage in a tenant's ordered line. */
/** An environment's change-control rule (domain/change/rule.ts, PUT …/environments/{env}/change-control). */
export interface ChangeControl {
  provider: 'servicenow' | 'jira';
  /** the tool's base URL (https://<instance>.service-now.com) */
  instanceUrl: string;
  /** normal (approved by the change board) or standard (pre-approved, from a template) */
  type: 'normal' | 'standard';
  /** a standard change's template (its name or sys_id), checked with the tool at save */
  template?: string;
  /** the tool's states that mean "approved: may be implemented" */
  approvedStates: string[];
  /** the credential (JSON: {"basic": {user, password}} or {"bearer": {token}}), sealed where it is written */
  credentials: Sealed;
  /** which kind of credential is stored (shown; the value never is) */
  credentialKind: 'basic' | 'bearer';
  /** the tenant secret (purpose change-credential) a manifest named the credential by; absent: set through the API */
  credentialRef?: string;
  /**
   * A Jira Service Management rule's own settings (domain/change/jira.ts jiraChangeSettings): the site is `instanceUrl`,
   * the approved statuses are `approvedStates`; the rest is here, defaults filled in at save.
   */
  jira?: JiraRule;
  updatedAt: string;
  updatedBy: string;
}

/** What a Jira change-control rule keeps beside the site and the approved statuses. */
export interface JiraRule {
  serviceDeskId: string;
  requestTypeId: string;
  rejectedStatuses: string[];
  cancelledStatuses: string[];
  closeSuccessful: string;
  closeUnsuccessful: string;
  plannedStartField?: string;
  plannedEndField?: string;
}

export interface Environment {
  tenant: string;
  name: string;
  displayName: string;
  position: number;
  description: string;
  protected: boolean;
  gates: Gates;
  /** tenant-configured webhook gates run after the built-in ones (secrets are never shown) */
  webhookGates: (Omit<WebhookGateConfig, 'secret'> & {
    /** sealed where it is written, opened only by the gate caller (domain/kernel/sealed.ts) */
    secret: Sealed;
    /** set by a manifest: the `${NAME}` the secret was read from (never the secret) */ secretRef?: string;
  })[];
  /** what happens when a promotion targets this environment while another is in flight */
  concurrency: 'queue' | 'reject' | 'supersede';
  /** stops auto-promotion into this environment (set by hand or by an automatic rollback) */
  autoPromotionPaused: boolean;
  /** seconds to wait after a promotion executes before verifying it (alarm evidence in that time rolls it back) */
  bakeSeconds: number;
  /**
   * how long a release must have run in its source environment, without an alarm since, before it may be
   * promoted into this one (domain/promotion/run/soak.ts); absent or 0: no soak. A rule for the pair may set its own.
   */
  soakSeconds?: number;
  /**
   * when a promotion into it may start executing (domain/kernel/allowed-hours.ts): outside every window it waits
   * SCHEDULED until the next opening (domain/promotion/run/hours-hold.ts); absent: at any time
   */
  allowedHours?: AllowedHours;
  /**
   * a CI run that must pass before a promotion into it executes (domain/kernel/ci-gate.ts, domain/promotion/run/ci-hold.ts);
   * absent: none
   */
  ciGate?: CiGate;
  /**
   * the environments this one is promoted into from (a graph: fan-out and join, domain/config/graph.ts);
   * absent: the environment before it by position, as a chain
   */
  after?: string[];
  /** with several `after`: the release must have reached all of them (default) or any one */
  afterMode?: 'all' | 'any';
  /**
   * environments whose signed verification summary a release must carry before it is promoted into this
   * one (domain/attestation/require.ts): a promotion into each of them completed it, and its attestation verifies
   */
  requireAttestationFrom?: string[];
  /**
   * takes releases automatically from the environments it comes after (domain/config/graph.ts predecessorsOf): a
   * promotion completed into one of them requests one into this environment (a join's `all` holds it until each has
   * the release); an active autoPromote rule for the pair decides instead, with its conditions. Absent: rules alone
   */
  autoPromote?: boolean;
  /** OCI registries this environment's artifacts are copied to on promotion (first = where they are read from) */
  registries: { name: string; url: string }[];
  /** CloudWatch alarm ARNs checked before executing into it and watched while a promotion bakes (domain/freeze/monitors.ts) */
  monitors?: string[];
  /** digest_match, or signature_match (a Sigstore bundle signed by `signingKey` must come with the artifact) */
  verification?: 'digest_match' | 'signature_match';
  /** PEM public key that signs what enters this environment (signature_match) */
  signingKey?: string;
  /** first snapshot seq of this incarnation: a name deleted and created again never shows the old one's snapshots */
  firstSeq?: number;
  /** how long services may cache the effective config (Cache-Control max-age; 0: revalidate with the ETag every time) */
  cacheMaxAgeSeconds?: number;
  /** the last time an admin broke glass on this environment (shown on the status page) */
  lastBreakGlass?: BreakGlassUse | null;
  /** the latest alarm of its monitors that went to ALARM (domain/promotion/rollout/alarms.ts): a soak in it restarts from then */
  lastAlarm?: { arn: string; name: string; reason: string; at: string } | null;
  /** where the environment runs, ordered in waves (domain/config/targets.ts); absent: one implicit target, as before */
  targets?: Target[];
  /** change control (domain/change/rule.ts): promotions into it wait for an approved change request in the tenant's tool */
  changeControl?: ChangeControl;
  /** how promotions roll out through the targets' waves (absent: defaults) */
  rollout?: Rollout;
  /** the analyses every target's bake runs (templates by name; domain/config/targets.ts targetAnalyses) */
  analysis?: AnalysisRef[];
  /** checks of the SOURCE environment before a promotion into this one */
  preAnalysis?: PreAnalysis[];
  /** what every target runs: with targets, the head all of them have reached (a target's own is a TargetHead) */
  head: Head;
  /**
   * Which targets may run a config head of their own over the head `at` (domain/config/targets.ts mayRunOwnConfig):
   * every target whose config head was written over that head is named, so a target read of one not named reads
   * no TargetHead. Absent, or about another head: not known (a target read reads its head).
   */
  ownHeads?: OwnHeads;
  /** configs + flags in the current snapshot; an environment holding items cannot be deleted */
  itemCount: number;
  version: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
}

/** A config or feature flag as the API shows it. */
export interface Item {
  id: string;
  kind: ItemKind;
  key: string;
  value: unknown;
  description: string;
  version: number;
  updatedAt: string;
  updatedBy: string;
}

/** An immutable snapshot of an environment's config set. */
export interface Snapshot {
  environment: string;
  seq: number;
  digest: string;
  roots: Roots;
  parentSeq: number | null;
  itemCount: number;
  createdAt: string;
  createdBy: string;
  /** what produced it */
  change: { action: 'create' | 'set' | 'delete' | 'batch' | 'restore'; keys: string[]; count: number; restoredFrom?: number };
  reason?: string;
  /** set when a rollback made it: which one, and why */
  restoredBy?: RestoredBy | null;
}

/**
 * What a rollback leaves on what it put back (an artifact's pointer, a config snapshot): the rollback
 * (a rollback record, or the promotion an alarm rolled back) and why, so the environment says
 * "restored by …" instead of looking like a deployment.
 */
export interface RestoredBy {
  promotionId: string;
  reason: string;
}

export type { EntityType };

/**
 * How a person acted when it was not through their own token: from Slack, as the Slack user they
 * linked to their account themselves (domain/notify/slack-identity.ts). Recorded on the approval,
 * its audit entry and the decision record.
 */
export interface ActedVia {
  channel: 'slack';
  /** the Slack workspace (team id) the request came from, as Slack signed it */
  teamId: string;
  /** the Slack user id that pressed the button */
  userId: string;
  /** the link (slack_…) that made this Slack user that account */
  linkId: string;
}

/** Append-only audit record; `hash` chains it to the tenant's previous entry. */
/** One audit fact, written in the transaction of the change it records (see domain/audit/audit.ts). */
export interface AuditEntry {
  tenant: string;
  /** time-ordered and unique */
  id: string;
  at: string;
  actor: string;
  actorName: string;
  action: string;
  entityType: EntityType;
  entityId: string;
  reason?: string;
  before: string | null;
  after: string | null;
  requestId?: string;
  /** set when the actor acted from Slack (the Slack identity and the link relied on) */
  via?: ActedVia;
}

/** An entry's place in the tenant's hash chain, written by the stream consumer alone. */
export interface ChainLink {
  seq: number;
  /** the entry it links (`<at>#<id>`) */
  entry: string;
  entryHash: string;
  prevHash: string;
  hash: string;
  linkedAt: string;
}

/**
 * The end of the chain. It carries no signature: the anchor signs Merkle roots over chain heads
 * (domain/audit/anchor.ts), and the consumer believes a head it wrote itself, or one that extends
 * the tenant's newest signed checkpoint (domain/audit/log.ts checkHead).
 */
export interface ChainHead {
  seq: number;
  hash: string;
  at: string;
  /**
   * The links of the append that moved the head here (the last ends at seq/hash). The head is
   * written first, then its links and markers: until they are in the table these are part of the
   * chain, and whoever reads the head next writes any that are missing (same content).
   */
  pending?: ChainLink[];
}

/**
 * A signed statement "the tenant's chain had this hash at this seq", kept outside the table:
 * (tenant, seq, hash) is leaf `proof.index` of the Merkle tree whose root was signed once for every
 * chain anchored in the same interval; `at` and `sig` are that root's (rootMessage). A checkpoint
 * without its proof is no checkpoint: verifiers refuse it.
 */
export interface Checkpoint {
  tenant: string;
  seq: number;
  hash: string;
  /** when its root was signed */
  at: string;
  /** ECDSA P-256 / SHA-256 signature (DER, base64url) of rootMessage(proof.root, proof.size, at) */
  sig: string;
  proof: InclusionProof;
}

/** Where a chain's (tenant, seq, hash) sits in a signed Merkle tree (domain/audit/merkle.ts). */
export interface InclusionProof {
  /** the tree's root (hex) */
  root: string;
  /** leaves in the tree */
  size: number;
  /** the chain's leaf, 0-based (leaves are ordered by tenant) */
  index: number;
  /** the audit path: sibling hashes from the leaf up (RFC 6962 PATH) */
  path: string[];
}

/** One signature over the Merkle root of every chain head anchored together (message: rootMessage). */
export interface SignedRoot {
  root: string;
  size: number;
  at: string;
  sig: string;
}

/** What the anchor signs: a Merkle root over chain heads, once per anchor interval for every chain that moved (message: rootMessage). */
export type SignedStatement = Omit<SignedRoot, 'sig'>;

/** The public half of the checkpoint signing key: all an auditor needs to verify an export. */
export interface AnchorPublicKey {
  algorithm: 'ECDSA_SHA_256';
  curve: 'P-256';
  /** `sha256:<hex>` of the key's DER SubjectPublicKeyInfo */
  keyId: string;
  /** PEM (SubjectPublicKeyInfo) */
  publicKeyPem: string;
}

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

/** A reference to a subtree of the hash trie (domain/config/tree.ts): address, content digest, entry count. */
export interface NodeRef {
  a: string;
  c: string;
  n: number;
}

/**
 * Break-glass: the one way past a guard that otherwise holds (a protected environment changed
 * outside a promotion or rollback; later, a freeze window). Only an admin may break glass, only
 * with a reason; the change is audited as break-glass, raises a `Break Glass Used` event for
 * notifications, and stays visible on the environment (status page) as `lastBreakGlass`.
 * Every guard calls `breakGlass()` rather than checking roles itself, so the rule is the same
 * on every path that reaches the same state.
 */
export interface BreakGlassUse {
  by: string;
  at: string;
  reason: string;
  /** what was done (audit action) */
  action: string;
  /** which guard was overridden */
  guard: 'protected-environment' | 'freeze-window';
  /** past a freeze: the release (digest) it was given for; another release needs a new break-glass */
  releaseDigest?: string;
}

/** The targets with a config head of their own over the environment's head `at` (names only: every live one is over the current head). */
export interface OwnHeads {
  at: number;
  targets: string[];
}

/**
 * What one target of an environment runs of one subject (its config, or one artifact) while it differs
 * from the environment's head: written when a rollout changes the target, put back when it is rolled
 * back. It holds only against the environment head it was written over (`base`): once the environment
 * head moves on (the rollout completed, or anything else changed the environment), the target runs the
 * environment's head again. Resolve it with `targetVersion` (domain/config/targets.ts), never by hand.
 */
export interface TargetHead {
  environment: string;
  target: string;
  /** `config`, or `artifact:<name>` */
  subject: string;
  /** config: the snapshot the target runs */
  snapshot?: Head;
  /** artifact: the version the target runs */
  artifact?: { name: string; version: string; digest: string };
  /** the bundle that put it there (a bundle's member heads, and its configuration head), name and digest */
  bundle?: { name: string; digest: string } | null;
  /** the environment head this deviates from: the environment's snapshot seq (config) or its pointer's version_ (artifact; 0: none) */
  base: number;
  promotionId: string;
  wave: number;
  deploymentId?: string;
  updatedAt: string;
  version: number;
}
