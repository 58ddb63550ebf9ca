/**
 * The keys module: every entity of the single table, its keys and every
 * access pattern, in one place. `infra/` and the local stack build the table
 * (and its GSIs) from TABLE below, so the two cannot drift.
 *
 * Every partition key starts with `T#<tenant>#`, so an IAM policy with
 * `dynamodb:LeadingKeys` = `T#<tenant>#*` confines a principal to one tenant; the one exception is
 * the anchor's to-do list (AnchorPending), which only the stream consumer reads and writes.
 * No access pattern scans.
 *
 * | entity            | pk                              | sk                    | access pattern |
 * |-------------------|---------------------------------|-----------------------|----------------|
 * | Environment       | T#t#ENV                         | ENV#<name>            | get by name; all of a tenant (≤ 20) sorted by position in code; names the targets whose config head holds over its head (ownHeads, ownHeadsAt: a target read of any other reads no TargetHead; store/own-heads.ts) |
 * | PositionGuard     | T#t#ENV                         | POS#<nnn>             | keeps positions in the line unique (written in the same transaction) |
 * | EnvironmentTargets| T#t#ENV                         | TGTS#<env>            | where the environment's targets are: their digest, count and the generation of their pages (written with the environment's item only when they change; its item names their digest; store/targets.ts). An item written before pages holds the targets itself |
 * | TargetsPage       | T#t#ENV                         | TGTP#<env>#<gen>#<page 5> | ≤ 10,000 targets in pages by the hash of their name (a target's page is found from its name: one GetItem), each ≤ 300 KB; a change writes a new generation before it names it, the old one is deleted after |
 * | Snapshot          | T#t#SNAP#<env>                  | S#<seq 10 digits>     | get by env+seq; history newest first |
 * | TreeNode          | T#t#NODE#<sha256 address>       | N                     | batch get by address (immutable, shared by snapshots) |
 * | ItemId            | T#t#ITEMID#<uuid>               | I                     | item id → kind + key |
 * | AuditEntry        | T#t#AUDIT                       | E#<at ISO>#<id>       | a fact written with its change; time range, newest first |
 * |   by entity (gsi1)| T#t#AUDIT#E#<type>#<id>         | <at>#<id>             | history of one entity |
 * |   by actor (gsi2) | T#t#AUDIT#A#<actor>             | <at>#<id>             | what one person did |
 * | ChainHead         | T#t#CHAIN                       | HEAD                  | end of the hash chain (stream consumer only), with its last append's links (written first) |
 * | ChainLink         | T#t#CHAIN                       | L#<seq 12>            | the chain in order: entry ref, entry hash, prev hash, hash |
 * | ChainMarker       | T#t#CHAIN                       | K#<at>#<id>           | "this entry is linked" (a redelivered entry is linked once) |
 * | AnchorPending     | ANCHOR#PENDING                  | T#<tenant>            | a chain linked but not anchored yet (outside any tenant: the stream consumer alone, no tenant session reaches it); a tick anchors what a frozen consumer left |
 * | ShipBacklog       | SIEM#BACKLOG                    | T#<tenant>            | an audit stream a shipper left behind (a destination down or refusing): the shipper's drain ships it on its schedule, with no new entry (outside any tenant: the shipper alone) |
 * | Event             | T#t#EVT#<id>                    | E                     | outbox: written with its change, relayed to the bus from the stream; expires by TTL |
 * | Once              | T#t#ONCE#<scope>#<id>           | O                     | a consumer handled this event id (at-least-once delivery, once-only effect); TTL |
 * | NotifySettings    | T#t#NOTIFY                      | S#<scope>             | where notifications go: tenant-wide ('tenant') or per environment |
 * | ManifestHead      | T#t#MANIFEST                    | HEAD                  | digest of the last applied manifest (applies never interleave) |
 * | ReviewLink        | T#t#LINK#<sha256 of token>      | L                     | a signed approve/reject link, single use; TTL after expiry |
 * | SlackLink         | T#t#SLACK                       | L#<team>#<user>       | a Slack user (in a workspace) linked by the person to their account; all of a tenant (few) |
 * | SlackLinkCode     | T#t#SLACKCODE#<sha256 of code>  | C                     | a one-time code a signed-in person sends from Slack to link; single use; TTL after expiry |
 * | Delivery          | T#t#PROMO#<id>                  | N#<at>#<n>            | each notification delivery attempt of a promotion |
 * | Promotion         | T#t#PROMO#<id>                  | P                     | get by id (with its gates: sk begins with P) |
 * | PromotionGates    | T#t#PROMO#<id>                  | P#gates               | the gate results, written only when they change (the promotion item stays ≤ 1 KB) |
 * |   active (gsi4)   | T#t#PROMO#ACTIVE                | <id> (time-ordered)   | sparse: only while not final; written at create, left at the end. Serves a non-final status (filtered on the items) and what is in flight to a target (target filter) |
 * |   by status (gsi1)| T#t#PROMO#S#<status>            | <id>                  | sparse: only once final (entered at the end, moved only by a rollback of a completed one) |
 * |   by target (gsi2)| T#t#PROMO#TGT#<env>             | <id>                  | newest first; written once (status filtered on the items) |
 * |   all (gsi3)      | T#t#PROMOS                      | <id>                  | newest first (source/subject filters); written once |
 * | Approval          | T#t#PROMO#<id>                  | A#<approver id>       | one per approver (conditional put) |
 * | Attestation       | T#t#PROMO#<id>                  | ATTEST                | the promotion's signed SLSA verification summary (DSSE envelope): written once by the stream consumer (conditional put), read by id |
 * | Evidence          | T#t#EVID#<owner>                | <at>#<id>             | of a promotion or a release |
 * | Rule              | T#t#RULE                        | R#<id>                | all rules of a tenant (few) |
 * | AnalysisTemplates | T#t#ANALYSIS                    | TEMPLATES             | a tenant's analysis templates, all in one item (≤ 50, ≤ 64 KiB of JSON), versioned as a whole |
 * | FreezeWindow      | T#t#FREEZE                      | W#<id>                | all freeze windows of a tenant (few), tenant-wide and per environment |
 * | RulePair          | T#t#RULE                        | PAIR#<src>#<tgt>      | one rule per pair (conditional put with the rule) |
 * | Recurring         | T#t#RECUR                       | R#<name>              | a recurring promotion with its last runs (bounded); all of a tenant (few) |
 * | ArtifactVersion   | T#t#ART#<name>                  | V#<version>           | immutable, get by version |
 * | ArtifactPointer   | T#t#ENV                         | PTR#<env>#<name>      | what an environment runs |
 * | EnvLock           | T#t#ENV                         | LOCK#<env>            | lease: one promotion executing per target |
 * | Deployment        | T#t#DEP#<env>                   | <deployedAt>#<id>     | history newest first, O(limit) |
 * | DeploymentId      | T#t#DEPID#<id>                  | D                     | a deployment by id alone (environment + deployedAt), source_deployment_id |
 * | TargetDeployment  | T#t#DEPT#<env>#<target>         | <deployedAt>#<id>     | a copy of a record naming a target, written with it: one target's history newest first, O(limit) |
 * | Idempotency       | T#t#IDEM#<key>                  | I                     | replayed response; expires by TTL |
 * | Tag               | T#t#TAG#<artifact>              | E#<env>#<kind>#<ver>  | immutable release/rollback tags, latest as E#<env>#latest#; per env by prefix |
 * | Consumer          | T#t#CONS#<artifact>             | C#<consumer>          | pinned constraints of an artifact's consumers |
 * | Metrics           | T#t#MET#<env>                   | D#<yyyy-mm-dd>        | daily counters (ADD in the deployment's transaction); range by day |
 * | TargetMetrics     | T#t#METT#<env>#<target>         | D#<yyyy-mm-dd>        | one target's daily counters (records naming the target count there, not in the environment's) |
 * | OpenFailure       | T#t#MET#<env>                   | D#open                | DORA: the environment's unrecovered failure (open, sinceMs; ADD at a promotion's end; outside every day range) |
 * | ScrapeToken       | T#t#MET                         | TOKEN                 | the tenant's metrics scrape token (hashes only; domain/artifacts/dora-export.ts) |
 * | AuditDestination  | T#t#SIEM                        | D#<name>              | a destination of the audit stream: settings and sealed secrets (domain/audit/stream.ts); all of a tenant (≤ 10) |
 * | AuditCursor       | T#t#SIEM                        | C#<name>              | where shipping to that destination stands (last seq taken, state, dead letters): the shipper's conditional writes |
 * | FirstSeen         | T#t#FIRST#<imageTag>            | F                     | when an image was first deployed (lead time) |
 * | CurrentImage      | T#t#ENV                         | CUR#<env>             | the environment's current image tag reference |
 * | AppKey            | T#t#APPKEY                      | K#<key id>            | an app key (hashes of its secrets only); get by id, all of a tenant (few) |
 * | Webhook           | T#t#WEBHOOK                     | W#<id>                | outbound webhook subscriptions of a tenant (few: one query) |
 * | WebhookSecret     | T#t#WEBHOOK                     | SECRET#<id>           | local stand-in for Secrets Manager: a subscription's signing secrets, sealed |
 * | WebhookDelivery   | T#t#WHD#<subscription>          | D#<webhook-id>        | a delivery and its attempts; newest first (ids are time-ordered); TTL 30 days |
 * | GitTarget         | T#t#GIT                         | G#<env>               | where an environment's promoted versions are committed |
 * | Tenant            | T#t#TENANT                      | T                     | a tenant made by a platform operator (domain/access): created once |
 * | Member            | T#t#PEOPLE                      | U#<sub>               | a person of the tenant and their roles (the people index): all of a tenant in one query, never the whole pool |
 * | DomainClaim       | T#_domains#DOMAIN               | D#<domain>            | which tenant holds an email domain (one each): the registry's own partition (`_domains` is no tenant id), written through its own fenced session |
 * | AppClientLock     | T#_appclient#CLIENT             | LOCK                  | the lease of the one save writing the app client's list of identity providers (owner, expiresAt); its own fenced session   |
 * | NotBefore         | T#t#PEOPLE                      | OUT#<sub>             | the second before which a person's tokens stop counting (removed or demoted); read by every change a person sends; TTL |
 * | GroupMapping      | T#t#PEOPLE                      | GROUPMAP              | the tenant's IdP group -> group/roles mapping (≤ 200 entries), versioned as a whole; the pre-token trigger reads it with one GetItem per token |
 * | Monitor           | T#t#ENV                         | MON#<env>#<alarm arn> | a CloudWatch alarm an environment (or one of its targets) watches; written with the environment |
 * | TargetHead        | T#t#ENV                         | TH#<env>#<target>#<subject> | what one target runs of one subject (config, artifact:<name>) while it differs from the environment's head; all of an environment by prefix; a config one is read only when the environment's item names its target |
 * | Instance          | T#t#INST#<env>#<target>         | I#<instance>          | an app instance of a target: the version it read and when that changed (written only on a change, never on a 304); all of a target by prefix; TTL |
 * | RolloutTarget     | T#t#PROMO#<id>                  | T#<target>            | one target of a promotion's rollout: state, confirmation, bake, alarm; all of a promotion by prefix |
 * | PlanPage          | T#t#PROMO#<id>                  | W#<plan>#<wave 2>#<page 3> | the stored plan of a rollout of more than 100 targets: a wave's target names in order, ≤ 5,000 a page, written when the rollout starts, keyed by the plan's digest (a retried start writes the same items; the promotion item keeps the plan's id and per wave its count and pages; domain/promotion/terms/stored-plan.ts). Not `P…`: the promotion's own read takes every sk that begins with P |
 * |   by alarm (gsi3) | MON#<alarm arn>                 | <tenant>#<env>        | who watches an alarm (the alarm-event handler only, outside any tenant) |
 * | RepoLink          | T#t#ART#<name>                  | L#<id>                | a registry repository whose pushes become versions of the artifact |
 * |   by repo (gsi3)  | PUSH#<registry>/<repository>    | <tenant>#<name>#<id>  | who links a repository (the ECR event handler only, outside any tenant) |
 * |   by tenant (gsi1)| T#t#LINKS                       | <name>#<id>           | which artifacts of a tenant have links (manifest export) |
 *
 * Snapshot storage: an environment's config set is a content-addressed hash
 * trie (see domain/config/tree.ts). A snapshot item holds only the two root
 * references (configs, flags); nodes are written once under their sha256 and
 * shared by every snapshot and environment of the tenant that contains them.
 * Changing one key writes the leaf and its ancestors (depth ≈ log16(n/32)),
 * diffing reads only nodes under differing content digests, and moving an
 * environment to another snapshot is one conditional write of its `head`.
 */
import { TABLE, tenantPrefix, type Key } from './table.ts';

export { TABLE, tenantPrefix, type Key };

export const GSI_ENTITY = TABLE.indexes[0];
export const GSI_ACTOR = TABLE.indexes[1];
export const GSI_STATUS = TABLE.indexes[0];
export const GSI_TARGET = TABLE.indexes[1];
export const GSI_ALL = TABLE.indexes[2];
export const GSI_ACTIVE = TABLE.indexes[3];

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const t = tenantPrefix;

/** The one partition outside every tenant's: the anchor's to-do list (see AnchorPending above). */
const ANCHOR_PENDING = 'ANCHOR#PENDING';
/** The audit shipper's to-do list, outside every tenant's partition as ANCHOR_PENDING (see ShipBacklog above). */
const SHIP_BACKLOG = 'SIEM#BACKLOG';

/** The partition of email-domain claims: not a tenant id (tenant ids start with a letter), so no tenant's session reaches it. */
export const DOMAIN_REGISTRY = '_domains';
/** The partition of the user pool app client's lease (its list of providers is written by one save at a time): no tenant's either. */
export const APP_CLIENT = '_appclient';

export const keys = {
  tenantPrefix: t,
  environment: (tenant: string, name: string): Key => ({ pk: `${t(tenant)}ENV`, sk: `ENV#${name}` }),
  environments: (tenant: string) => ({ pk: `${t(tenant)}ENV`, skPrefix: 'ENV#' }),
  targets: (tenant: string, env: string): Key => ({ pk: `${t(tenant)}ENV`, sk: `TGTS#${env}` }),
  /** one page of an environment's targets, of one generation (a targets change writes a new one, then names it on `targets`) */
  targetsPage: (tenant: string, env: string, gen: string, page: number): Key => ({ pk: `${t(tenant)}ENV`, sk: `TGTP#${env}#${gen}#${pad(page, 5)}` }),
  targetsPages: (tenant: string, env: string, gen: string) => ({ pk: `${t(tenant)}ENV`, skPrefix: `TGTP#${env}#${gen}#` }),
  position: (tenant: string, position: number): Key => ({ pk: `${t(tenant)}ENV`, sk: `POS#${pad(position, 3)}` }),
  snapshot: (tenant: string, env: string, seq: number): Key => ({ pk: `${t(tenant)}SNAP#${env}`, sk: `S#${pad(seq, 10)}` }),
  snapshots: (tenant: string, env: string) => ({ pk: `${t(tenant)}SNAP#${env}`, skPrefix: 'S#' }),
  node: (tenant: string, address: string): Key => ({ pk: `${t(tenant)}NODE#${address}`, sk: 'N' }),
  itemId: (tenant: string, id: string): Key => ({ pk: `${t(tenant)}ITEMID#${id}`, sk: 'I' }),
  /** `ref` = `<at>#<id>` (see domain/audit/audit.ts entryRef) */
  auditEntry: (tenant: string, ref: string): Key => ({ pk: `${t(tenant)}AUDIT`, sk: `E#${ref}` }),
  auditEntries: (tenant: string) => ({ pk: `${t(tenant)}AUDIT`, skPrefix: 'E#' }),
  auditByEntity: (tenant: string, type: string, id: string) => `${t(tenant)}AUDIT#E#${type}#${id}`,
  auditByActor: (tenant: string, actor: string) => `${t(tenant)}AUDIT#A#${actor}`,
  chainHead: (tenant: string): Key => ({ pk: `${t(tenant)}CHAIN`, sk: 'HEAD' }),
  chainLink: (tenant: string, seq: number): Key => ({ pk: `${t(tenant)}CHAIN`, sk: `L#${pad(seq, 12)}` }),
  chainLinks: (tenant: string) => ({ pk: `${t(tenant)}CHAIN`, skPrefix: 'L#' }),
  chainMarker: (tenant: string, ref: string): Key => ({ pk: `${t(tenant)}CHAIN`, sk: `K#${ref}` }),
  anchorPending: (tenant: string): Key => ({ pk: ANCHOR_PENDING, sk: `T#${tenant}` }),
  anchorPendingAll: { pk: ANCHOR_PENDING, skPrefix: 'T#' },
  shipBacklog: (tenant: string): Key => ({ pk: SHIP_BACKLOG, sk: `T#${tenant}` }),
  shipBacklogAll: { pk: SHIP_BACKLOG, skPrefix: 'T#' },
  event: (tenant: string, id: string): Key => ({ pk: `${t(tenant)}EVT#${id}`, sk: 'E' }),
  once: (tenant: string, scope: string, id: string): Key => ({ pk: `${t(tenant)}ONCE#${scope}#${id}`, sk: 'O' }),
  notifySettings: (tenant: string, scope: string): Key => ({ pk: `${t(tenant)}NOTIFY`, sk: `S#${scope}` }),
  manifestHead: (tenant: string): Key => ({ pk: `${t(tenant)}MANIFEST`, sk: 'HEAD' }),
  reviewLink: (tenant: string, hash: string): Key => ({ pk: `${t(tenant)}LINK#${hash}`, sk: 'L' }),
  slackLink: (tenant: string, teamId: string, userId: string): Key => ({ pk: `${t(tenant)}SLACK`, sk: `L#${teamId}#${userId}` }),
  slackLinks: (tenant: string) => ({ pk: `${t(tenant)}SLACK`, skPrefix: 'L#' }),
  slackLinkCode: (tenant: string, hash: string): Key => ({ pk: `${t(tenant)}SLACKCODE#${hash}`, sk: 'C' }),
  notifySettingsAll: (tenant: string) => ({ pk: `${t(tenant)}NOTIFY`, skPrefix: 'S#' }),
  delivery: (tenant: string, promotionId: string, at: string, n: string): Key => ({ pk: `${t(tenant)}PROMO#${promotionId}`, sk: `N#${at}#${n}` }),
  deliveries: (tenant: string, promotionId: string) => ({ pk: `${t(tenant)}PROMO#${promotionId}`, skPrefix: 'N#' }),
  promotion: (tenant: string, id: string): Key => ({ pk: `${t(tenant)}PROMO#${id}`, sk: 'P' }),
  promotionGates: (tenant: string, id: string): Key => ({ pk: `${t(tenant)}PROMO#${id}`, sk: 'P#gates' }),
  attestation: (tenant: string, promotionId: string): Key => ({ pk: `${t(tenant)}PROMO#${promotionId}`, sk: 'ATTEST' }),
  promotionsByStatus: (tenant: string, status: string) => `${t(tenant)}PROMO#S#${status}`,
  promotionsByTarget: (tenant: string, env: string) => `${t(tenant)}PROMO#TGT#${env}`,
  promotionsAll: (tenant: string) => `${t(tenant)}PROMOS`,
  promotionsActive: (tenant: string) => `${t(tenant)}PROMO#ACTIVE`,
  /** promotion ids are time-ordered (prm_<ms base36><random>): the id alone sorts them */
  promotionSort: (id: string) => id,
  approval: (tenant: string, promotionId: string, approver: string): Key => ({ pk: `${t(tenant)}PROMO#${promotionId}`, sk: `A#${approver}` }),
  approvals: (tenant: string, promotionId: string) => ({ pk: `${t(tenant)}PROMO#${promotionId}`, skPrefix: 'A#' }),
  evidence: (tenant: string, owner: string, at: string, id: string): Key => ({ pk: `${t(tenant)}EVID#${owner}`, sk: `${at}#${id}` }),
  evidenceOf: (tenant: string, owner: string) => `${t(tenant)}EVID#${owner}`,
  rule: (tenant: string, id: string): Key => ({ pk: `${t(tenant)}RULE`, sk: `R#${id}` }),
  rulePair: (tenant: string, source: string, target: string): Key => ({ pk: `${t(tenant)}RULE`, sk: `PAIR#${source}#${target}` }),
  rules: (tenant: string) => ({ pk: `${t(tenant)}RULE`, skPrefix: 'R#' }),
  recurringPromotion: (tenant: string, name: string): Key => ({ pk: `${t(tenant)}RECUR`, sk: `R#${name}` }),
  recurringPromotions: (tenant: string) => ({ pk: `${t(tenant)}RECUR`, skPrefix: 'R#' }),
  analysisTemplates: (tenant: string): Key => ({ pk: `${t(tenant)}ANALYSIS`, sk: 'TEMPLATES' }),
  /** The accounts a tenant registered a metric-reading role for (one item, versioned as a whole). */
  metricAccounts: (tenant: string): Key => ({ pk: `${t(tenant)}ANALYSIS`, sk: 'ACCOUNTS' }),
  freezeWindow: (tenant: string, id: string): Key => ({ pk: `${t(tenant)}FREEZE`, sk: `W#${id}` }),
  freezeWindows: (tenant: string) => ({ pk: `${t(tenant)}FREEZE`, skPrefix: 'W#' }),
  artifactVersion: (tenant: string, name: string, version: string): Key => ({ pk: `${t(tenant)}ART#${name}`, sk: `V#${version}` }),
  pointer: (tenant: string, env: string, name: string): Key => ({ pk: `${t(tenant)}ENV`, sk: `PTR#${env}#${name}` }),
  lock: (tenant: string, env: string): Key => ({ pk: `${t(tenant)}ENV`, sk: `LOCK#${env}` }),
  /** which promotion last took a release from a source into a target (domain/promotion/request/request.ts: one on its way at a time) */
  releaseClaim: (tenant: string, target: string, source: string, releaseDigest: string): Key => ({
    pk: `${t(tenant)}ENV`,
    sk: `CLAIM#${target}#${source}#${releaseDigest}`,
  }),
  deployment: (tenant: string, env: string, deployedAt: string, id: string): Key => ({ pk: `${t(tenant)}DEP#${env}`, sk: `${deployedAt}#${id}` }),
  deploymentById: (tenant: string, id: string): Key => ({ pk: `${t(tenant)}DEPID#${id}`, sk: 'D' }),
  idempotency: (tenant: string, key: string): Key => ({ pk: `${t(tenant)}IDEM#${key}`, sk: 'I' }),
  deployments: (tenant: string, env: string) => `${t(tenant)}DEP#${env}`,
  targetDeployment: (tenant: string, env: string, target: string, deployedAt: string, id: string): Key => ({
    pk: `${t(tenant)}DEPT#${env}#${target}`,
    sk: `${deployedAt}#${id}`,
  }),
  targetDeployments: (tenant: string, env: string, target: string) => `${t(tenant)}DEPT#${env}#${target}`,
  tag: (tenant: string, artifact: string, env: string, kind: string, version: string): Key => ({
    pk: `${t(tenant)}TAG#${artifact}`,
    sk: `E#${env}#${kind}#${kind === 'latest' ? '' : version}`,
  }),
  tagsIn: (tenant: string, artifact: string, env: string) => ({ pk: `${t(tenant)}TAG#${artifact}`, skPrefix: `E#${env}#` }),
  consumer: (tenant: string, artifact: string, name: string): Key => ({ pk: `${t(tenant)}CONS#${artifact}`, sk: `C#${name}` }),
  consumers: (tenant: string, artifact: string) => ({ pk: `${t(tenant)}CONS#${artifact}`, skPrefix: 'C#' }),
  artifactVersions: (tenant: string, name: string) => ({ pk: `${t(tenant)}ART#${name}`, skPrefix: 'V#' }),
  pointers: (tenant: string, env: string) => ({ pk: `${t(tenant)}ENV`, skPrefix: `PTR#${env}#` }),
  bundle: (tenant: string, name: string, digest: string): Key => ({ pk: `${t(tenant)}BUNDLE`, sk: `B#${name}#${digest}` }),
  bundles: (tenant: string, name?: string) => ({ pk: `${t(tenant)}BUNDLE`, skPrefix: name ? `B#${name}#` : 'B#' }),
  metrics: (tenant: string, env: string, day: string): Key => ({ pk: `${t(tenant)}MET#${env}`, sk: `D#${day}` }),
  metricsOf: (tenant: string, env: string) => `${t(tenant)}MET#${env}`,
  targetMetrics: (tenant: string, env: string, target: string, day: string): Key => ({ pk: `${t(tenant)}METT#${env}#${target}`, sk: `D#${day}` }),
  targetMetricsOf: (tenant: string, env: string, target: string) => `${t(tenant)}METT#${env}#${target}`,
  scrapeToken: (tenant: string): Key => ({ pk: `${t(tenant)}MET`, sk: 'TOKEN' }),
  firstSeen: (tenant: string, imageTag: string): Key => ({ pk: `${t(tenant)}FIRST#${imageTag}`, sk: 'F' }),
  current: (tenant: string, env: string): Key => ({ pk: `${t(tenant)}ENV`, sk: `CUR#${env}` }),
  appKey: (tenant: string, id: string): Key => ({ pk: `${t(tenant)}APPKEY`, sk: `K#${id}` }),
  tenant: (tenant: string): Key => ({ pk: `${t(tenant)}TENANT`, sk: 'T' }),
  appKeys: (tenant: string) => ({ pk: `${t(tenant)}APPKEY`, skPrefix: 'K#' }),
  member: (tenant: string, id: string): Key => ({ pk: `${t(tenant)}PEOPLE`, sk: `U#${id}` }),
  scimToken: (tenant: string): Key => ({ pk: `${t(tenant)}SCIM`, sk: 'TOKEN' }),
  scimRecord: (tenant: string, kind: string, id: string): Key => ({ pk: `${t(tenant)}SCIM`, sk: `${kind}#${id}` }),
  scimRecords: (tenant: string, kind: string) => ({ pk: `${t(tenant)}SCIM`, skPrefix: `${kind}#` }),
  identityProvider: (tenant: string): Key => ({ pk: `${t(tenant)}TENANT`, sk: 'IDP' }),
  /** the lease one save holds while it reads and writes the app client's list of identity providers (functions/adapters/app-client-lock.ts) */
  appClientLock: (): Key => ({ pk: `${t(APP_CLIENT)}CLIENT`, sk: 'LOCK' }),
  /** a value one SCIM record of the tenant holds (domain/access/scim-model.ts uniquesOf), naming the record */
  scimUnique: (tenant: string, value: string): Key => ({ pk: `${t(tenant)}SCIM`, sk: `UNIQUE#${value}` }),
  /** there when every SCIM record of the tenant holds its claims (records from before claims were kept were given theirs) */
  scimClaimsComplete: (tenant: string): Key => ({ pk: `${t(tenant)}SCIM`, sk: 'CLAIMS' }),
  domainClaim: (domain: string): Key => ({ pk: `${t(DOMAIN_REGISTRY)}DOMAIN`, sk: `D#${domain}` }),
  members: (tenant: string) => ({ pk: `${t(tenant)}PEOPLE`, skPrefix: 'U#' }),
  notBefore: (tenant: string, id: string): Key => ({ pk: `${t(tenant)}PEOPLE`, sk: `OUT#${id}` }),
  bindings: (tenant: string): Key => ({ pk: `${t(tenant)}PEOPLE`, sk: 'BINDINGS' }),
  groupMapping: (tenant: string): Key => ({ pk: `${t(tenant)}PEOPLE`, sk: 'GROUPMAP' }),
  webhook: (tenant: string, id: string): Key => ({ pk: `${t(tenant)}WEBHOOK`, sk: `W#${id}` }),
  webhooks: (tenant: string) => ({ pk: `${t(tenant)}WEBHOOK`, skPrefix: 'W#' }),
  webhookSecret: (tenant: string, id: string): Key => ({ pk: `${t(tenant)}WEBHOOK`, sk: `SECRET#${id}` }),
  webhookDelivery: (tenant: string, subscription: string, id: string): Key => ({ pk: `${t(tenant)}WHD#${subscription}`, sk: `D#${id}` }),
  webhookDeliveries: (tenant: string, subscription: string) => ({ pk: `${t(tenant)}WHD#${subscription}`, skPrefix: 'D#' }),
  gitTarget: (tenant: string, env: string): Key => ({ pk: `${t(tenant)}GIT`, sk: `G#${env}` }),
  deploymentGate: (tenant: string, env: string): Key => ({ pk: `${t(tenant)}GIT`, sk: `DG#${env}` }),
  deploymentGates: (tenant: string) => ({ pk: `${t(tenant)}GIT`, skPrefix: 'DG#' }),
  /** a pipeline run's wait on a gate (domain/gitops/deployment-gate.ts runKeyOf) */
  deploymentRun: (tenant: string, key: string): Key => ({ pk: `${t(tenant)}GIT`, sk: `DR#${key}` }),
  /** a promotion's place among the runs waiting on it: the run's key */
  deploymentRunOf: (tenant: string, promotionId: string, key: string): Key => ({ pk: `${t(tenant)}GIT`, sk: `DP#${promotionId}#${key}` }),
  deploymentRunsOf: (tenant: string, promotionId: string) => ({ pk: `${t(tenant)}GIT`, skPrefix: `DP#${promotionId}#` }),
  auditDestination: (tenant: string, name: string): Key => ({ pk: `${t(tenant)}SIEM`, sk: `D#${name}` }),
  auditCursor: (tenant: string, name: string): Key => ({ pk: `${t(tenant)}SIEM`, sk: `C#${name}` }),
  auditDestinations: (tenant: string) => ({ pk: `${t(tenant)}SIEM` }),
  monitor: (tenant: string, env: string, arn: string): Key => ({ pk: `${t(tenant)}ENV`, sk: `MON#${env}#${arn}` }),
  targetHead: (tenant: string, env: string, target: string, subject: string): Key => ({ pk: `${t(tenant)}ENV`, sk: `TH#${env}#${target}#${subject}` }),
  targetHeads: (tenant: string, env: string) => ({ pk: `${t(tenant)}ENV`, skPrefix: `TH#${env}#` }),
  instance: (tenant: string, env: string, target: string, instance: string): Key => ({ pk: `${t(tenant)}INST#${env}#${target}`, sk: `I#${instance}` }),
  instances: (tenant: string, env: string, target: string) => ({ pk: `${t(tenant)}INST#${env}#${target}`, skPrefix: 'I#' }),
  rolloutTarget: (tenant: string, promotionId: string, target: string): Key => ({ pk: `${t(tenant)}PROMO#${promotionId}`, sk: `T#${target}` }),
  rolloutTargets: (tenant: string, promotionId: string) => ({ pk: `${t(tenant)}PROMO#${promotionId}`, skPrefix: 'T#' }),
  /** one page of a wave of a promotion's stored plan (its target names in order) */
  planPage: (tenant: string, promotionId: string, plan: string, wave: number, page: number): Key => ({
    pk: `${t(tenant)}PROMO#${promotionId}`,
    sk: `W#${plan}#${pad(wave, 2)}#${pad(page, 3)}`,
  }),
  monitorWatchers: (arn: string) => `MON#${arn}`,
  repoLink: (tenant: string, artifact: string, id: string): Key => ({ pk: `${t(tenant)}ART#${artifact}`, sk: `L#${id}` }),
  repoLinks: (tenant: string, artifact: string) => ({ pk: `${t(tenant)}ART#${artifact}`, skPrefix: 'L#' }),
  repoLinksOf: (registry: string, repository: string) => `PUSH#${registry}/${repository}`,
  linkedArtifacts: (tenant: string) => `${t(tenant)}LINKS`,
};

export const GSI_MONITOR = TABLE.indexes[2];

/** Every attribute an Instance item holds (store/instances.ts writes them; the app-read role may put these and no other). */
export const INSTANCE_ATTRIBUTES = ['pk', 'sk', 'entity', 'environment', 'target', 'instance', 'version', 'artifact', 'at', 'fp', TABLE.ttlAttribute] as const;

/**
 * The index attributes each indexed entity carries, declared next to the keys they use (the store
 * writes them; /audit/verify recomputes an entry's to notice one re-indexed behind the API).
 */
export const indexAttributes = {
  auditEntry: (e: { tenant: string; at: string; id: string; entityType: string; entityId: string; actorName: string }): Record<string, string> => {
    const sortKey = `${e.at}#${e.id}`;
    return {
      [GSI_ENTITY.partitionKey]: keys.auditByEntity(e.tenant, e.entityType, e.entityId),
      [GSI_ENTITY.sortKey]: sortKey,
      [GSI_ACTOR.partitionKey]: keys.auditByActor(e.tenant, e.actorName),
      [GSI_ACTOR.sortKey]: sortKey,
    };
  },
  /**
   * `active`: not in a final status. A promotion in flight sits in the tenant's active index, whatever
   * its status; once final it sits in its status's index instead. So the steps of a flow (PENDING →
   * AWAITING_APPROVAL → APPROVED → …) move no index entry at all: only entering a final status does.
   */
  repoLink: (l: { tenant: string; artifact: string; id: string; registry: string; repository: string }): Record<string, string> => ({
    [GSI_MONITOR.partitionKey]: keys.repoLinksOf(l.registry, l.repository),
    [GSI_MONITOR.sortKey]: `${l.tenant}#${l.artifact}#${l.id}`,
    [GSI_ENTITY.partitionKey]: keys.linkedArtifacts(l.tenant),
    [GSI_ENTITY.sortKey]: `${l.artifact}#${l.id}`,
  }),
  monitor: (tenant: string, env: string, arn: string): Record<string, string> => ({
    [GSI_MONITOR.partitionKey]: keys.monitorWatchers(arn),
    [GSI_MONITOR.sortKey]: `${tenant}#${env}`,
  }),
  promotion: (p: { tenant: string; id: string; status: string; targetEnvironment: string }, active: boolean): Record<string, string> => {
    const sort = keys.promotionSort(p.id);
    return {
      [GSI_TARGET.partitionKey]: keys.promotionsByTarget(p.tenant, p.targetEnvironment),
      [GSI_TARGET.sortKey]: sort,
      [GSI_ALL.partitionKey]: keys.promotionsAll(p.tenant),
      [GSI_ALL.sortKey]: sort,
      ...(active
        ? { [GSI_ACTIVE.partitionKey]: keys.promotionsActive(p.tenant), [GSI_ACTIVE.sortKey]: sort }
        : { [GSI_STATUS.partitionKey]: keys.promotionsByStatus(p.tenant, p.status), [GSI_STATUS.sortKey]: sort }),
    };
  },
};
