import { keys } from '../functions/adapters/keys.ts';

/** A write grant of a background function: these actions, on items whose partition key matches one of these patterns. */
export interface NarrowWrite {
  actions: string[];
  /** `dynamodb:LeadingKeys` patterns (StringLike): `T#*#<KIND>…`, from keys.ts with `*` for the tenant and for names */
  partitions: string[];
  /** what the function writes there, and where in the code */
  what: string;
}

/** A partition key of keys.ts with `*` for every part (the tenant, names, ids). */
const anyOf = (make: (...parts: string[]) => { pk: string }) => make('*', '*', '*', '*', '*').pk;

const PROMOTION = anyOf(keys.promotion);
const AUDIT = anyOf(keys.auditEntry);
const ENV = anyOf(keys.environment);
const SNAPSHOT = keys.snapshot('*', '*', 0).pk;
const DEPLOYMENT = anyOf(keys.deployment);
const DEPLOYMENT_ID = anyOf(keys.deploymentById);
const METRICS = anyOf(keys.metrics);
const EVENT = anyOf(keys.event);
const ARTIFACT = anyOf(keys.artifactVersion);
const TAG = anyOf(keys.tag);
const FIRST_SEEN = anyOf(keys.firstSeen);

/**
 * Background functions whose writes are few and known. They reach the table directly, for every
 * tenant (infra/store.ts grantData), so instead of every write action the store sends on the whole
 * table they get the actions their code sends, on items of the kinds it writes: every partition key
 * starts `T#<tenant>#<kind>` (keys.ts), and `dynamodb:LeadingKeys` holds each write (a transaction's
 * items one by one) to those kinds, in any tenant. Reads stay as every background function's
 * (their index queries name partitions outside any tenant: MON#<alarm>, PUSH#<repository>).
 * A pattern's `*` also matches `#`, so `T#*#ENV` would match an environment named ENV's snapshot
 * partition too: the fence is by kind of item, not exact.
 *
 * test/infra/background-writes.test.ts runs each function's domain code against DynamoDB Local
 * and checks that every write it makes is allowed here (and stack-iam.test.ts that the template grants
 * exactly this).
 */
/**
 * Background functions that only read, and only a few items: these actions on items of these kinds,
 * and nothing else (no index, no write). The pre-token trigger reads one tenant's identity provider
 * connection and group mapping with two GetItems per token (functions/handlers/pre-token.ts). IAM
 * fences the partition key alone (no condition key names a sort key), so these are the two partitions
 * those keys are in, the narrowest a condition can say.
 * The sign-in's routing by email (a no-token API function, functions/handlers/auth-config.ts) reads a
 * domain's claim and its tenant's connection.
 */
export const NARROW_READS: Record<string, NarrowWrite> = {
  // decideSignIn's facts (functions/adapters/group-mapping-reader.ts): per token, a GetItem each of the tenant's group mapping and
  // identity provider connection and of the SCIM claim of the asserted address; the SCIM user it names; and, for a connection
  // that takes groups from SCIM, one Query of the tenant's SCIM groups.
  'pre-token': {
    actions: ['dynamodb:GetItem', 'dynamodb:Query'],
    partitions: [anyOf(keys.groupMapping), anyOf(keys.identityProvider), anyOf(keys.scimToken)],
    what: "the tenant's group mapping (keys.groupMapping), identity provider connection (keys.identityProvider), and SCIM users, groups and claims (keys.scimUnique, keys.scimRecord)",
  },
  // GET /api/v1/auth/config?email= (no token, so no tenant session): the claim of the address's domain and the
  // connection of the tenant holding it (domain/access/federation.ts providerForEmail), one GetItem each.
  'auth-config': {
    actions: ['dynamodb:GetItem'],
    partitions: [keys.domainClaim('*').pk, anyOf(keys.identityProvider)],
    what: "an email domain's claim (keys.domainClaim) and the holding tenant's identity provider connection (keys.identityProvider)",
  },
};

export const NARROW_WRITES: Record<string, NarrowWrite[]> = {
  // An alarm of a monitor asks the flows of what bakes under it to roll it back (domain/promotion/rollout/alarms.ts): it
  // records the alarm on the promotion with its audit entry (events ride on it), on a rollout's targets' items (in the
  // promotion's partition) and the decision to stop; the rollback itself is the flow's (its MarkFailed step, the one writer
  // of a promotion's end). An alarm that hit nothing is recorded on the environment (lastAlarm) with its audit entry.
  'alarm-state': [
    {
      actions: ['dynamodb:PutItem'],
      partitions: [PROMOTION, AUDIT, EVENT, ENV],
      what: "the alarm: promotion (and its rollout's targets, the decision to stop), audit entry, the environment's last alarm",
    },
  ],
  // A push to ECR publishes the version (domain/artifacts/discovery-ecr.ts → discovery.ts discovered → artifacts.ts
  // publishArtifact): the version, the first environment's pointer and release tag, its deployment, the audit entry
  // (events ride on it), and when the image was first seen.
  'registry-push': [
    {
      actions: ['dynamodb:PutItem'],
      partitions: [ARTIFACT, ENV, TAG, DEPLOYMENT, DEPLOYMENT_ID, AUDIT, EVENT, FIRST_SEEN],
      what: 'the publish: version, pointer, tags, deployment, audit entry, first seen',
    },
    { actions: ['dynamodb:UpdateItem'], partitions: [METRICS], what: "the environment's daily counters (ADD, merged into the commit)" },
  ],
};
