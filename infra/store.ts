import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Duration, RemovalPolicy, Validations, type Stack } from 'aws-cdk-lib';
import { INSTANCE_ATTRIBUTES, TABLE } from '../functions/adapters/keys.ts';
import { READ_ACTIONS, TENANT_LEADING_KEYS, WRITE_ACTIONS, type DataAccess } from './access.ts';
import { NARROW_READS, NARROW_WRITES } from './background-writes.ts';
import type { HandlerFunction } from './function.ts';
import { StackPart } from './part.ts';

/**
 * The data at rest: the single table, built from the same definition the adapter and local stack
 * use (keys.ts TABLE), the key sealing tenant secrets before they reach it, and the ways functions
 * are given access to it (directly, or through a role fenced to one tenant).
 */
export class DataStore extends StackPart {
  readonly table: dynamodb.Table;
  /** the key that seals tenant secrets (webhook gate secrets) before they reach the table */
  readonly secretsKey: secretsmanager.Secret;

  constructor(stack: Stack, id: string) {
    super(stack, id);
    this.table = new dynamodb.Table(stack, 'Table', {
      partitionKey: { name: TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE.ttlAttribute,
      // One consumer (the stream function) links audit entries and relays outbox events.
      stream: dynamodb.StreamViewType.NEW_IMAGE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // The audit trail lives here: neither a stack deletion nor a console
      // click may take the data with it.
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.table).acknowledge({
      id: 'NIST.800.53.R5-DynamoDBInBackupPlan',
      reason:
        "Continuous backups (point-in-time recovery: any second of the last 35 days, to a new table), deletion protection, and retained when the stack is deleted. An AWS Backup plan (longer retention, copies to another account or region) is the account's to set up over its tables; tag-based selection picks this one up without a change here.",
    });
    for (const index of TABLE.indexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.INCLUDE,
        nonKeyAttributes: [...index.projected],
      });
    }
    this.secretsKey = new secretsmanager.Secret(stack, 'SecretsKey', {
      description: 'Stageline: key material sealing tenant webhook secrets at rest (AES-256-GCM over SHA-256 of this value)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      // Kept with the table it unseals (also retained): deleting it would leave the sealed data unreadable.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const rotation = 'Rotating this key would need re-sealing every stored webhook secret; rotation is a planned operation, not automatic.';
    Validations.of(this.secretsKey).acknowledge(
      { id: 'AwsSolutions-SMG4', reason: rotation },
      { id: 'NIST.800.53.R5-SecretsManagerRotationEnabled', reason: rotation },
      {
        id: 'NIST.800.53.R5-SecretsManagerUsingKMSKey',
        reason:
          "Encrypted with Secrets Manager's key for the account (aws/secretsmanager). Within the stack only the roles of functions whose bundle seals or unseals may read it (secretsmanager:GetSecretValue on its ARN, from infra/adapters.ts; test/infra/stack-iam.test.ts lists them); a customer-managed key would add a key policy that could also withhold it from the account's administrators.",
      },
    );
  }

  /** The table and its named indexes (no `index/*` wildcard). */
  private get arns(): string[] {
    return [this.table.tableArn, ...TABLE.indexes.map((i) => `${this.table.tableArn}/index/${i.name}`)];
  }

  /**
   * A role whose DynamoDB access is fenced to one tenant by IAM: `dynamodb:LeadingKeys` must match
   * `T#${aws:PrincipalTag/tenant}#*` (every partition key, index keys included, starts so). Only the
   * execution roles of this stack's API functions that assume it (`assumers`, named by their ARNs, and
   * tagged stageline-api) may assume it, and only with a tenant session tag. The trust names those roles
   * and their policies name this role: both depend on the roles, neither on the other, so no cycle.
   */
  tenantDataRole(id: string, actions: string[], assumers: iam.IRole[]): iam.Role {
    if (assumers.length === 0) throw new Error(`${id}: no API function assumes it`);
    const role = new iam.Role(this.stack, id, {
      description: 'Stageline API functions: table access fenced to the tenant in the session tag',
      assumedBy: new ExecutionRoles(assumers, {
        StringEquals: { 'aws:PrincipalTag/stageline-api': 'true' },
        StringLike: { 'aws:RequestTag/tenant': '?*' },
      }),
      maxSessionDuration: Duration.hours(1),
    });
    checkTrustSize(id, assumers.length);
    role.addToPolicy(
      new iam.PolicyStatement({
        actions,
        resources: this.arns,
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [TENANT_LEADING_KEYS] } },
      }),
    );
    return role;
  }

  /**
   * The roles API functions reach the table through, assumed per request tenant (functions/http/tenant-deps.ts
   * depsFor): read, write, and app-key reads (the read role, plus writing one attribute, an app key's
   * lastUsedAt, and putting an application instance's item); each trusts the execution roles of the functions that assume it.
   */
  tenantRoles(assumers: Record<TenantAccess, iam.IRole[]>): Record<TenantAccess, iam.Role> {
    const read = this.tenantDataRole('TenantReadRole', READ_ACTIONS, assumers.read);
    const write = this.tenantDataRole('TenantWriteRole', [...READ_ACTIONS, ...WRITE_ACTIONS], assumers.write);
    const appRead = this.tenantDataRole('TenantAppReadRole', READ_ACTIONS, assumers.appRead);
    appRead.addToPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:UpdateItem'],
        resources: [this.table.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [TENANT_LEADING_KEYS] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'sk', 'lastUsedAt'] },
          StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
        },
      }),
    );
    // An application instance a read names (a fleet target counts them): one put of its item under the target's INST partition.
    appRead.addToPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem'],
        resources: [this.table.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [TENANT_LEADING_KEYS.replace(/\*$/, 'INST#*')] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...INSTANCE_ATTRIBUTES] },
          StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
        },
      }),
    );
    return { read, write, appRead };
  }

  /**
   * Direct access (background functions serving every tenant): only the item-level actions the adapter
   * uses; a function whose writes are few and known (infra/background-writes.ts) only those, on those kinds of items.
   */
  grantData(name: string, fn: HandlerFunction, access: DataAccess): void {
    if (access === 'none') return;
    const reads = NARROW_READS[name];
    if (reads) {
      fn.fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: reads.actions,
          resources: [this.table.tableArn],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': reads.partitions } },
        }),
      );
      return;
    }
    fn.fn.addToRolePolicy(new iam.PolicyStatement({ actions: READ_ACTIONS, resources: this.arns }));
    if (access !== 'write') return;
    const narrow = NARROW_WRITES[name];
    if (!narrow) {
      fn.fn.addToRolePolicy(new iam.PolicyStatement({ actions: WRITE_ACTIONS, resources: [this.table.tableArn] }));
      return;
    }
    for (const w of narrow) {
      const unknown = w.actions.filter((a) => !WRITE_ACTIONS.includes(a));
      if (unknown.length) throw new Error(`infra/background-writes.ts: ${name} writes with ${unknown.join(', ')}, which the store adapter never sends`);
      fn.fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: w.actions,
          resources: [this.table.tableArn],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': w.partitions } },
        }),
      );
    }
  }
}

/** Which tenant-fenced role an API function assumes: its data access, and whether it serves app keys. */
export type TenantAccess = 'read' | 'write' | 'appRead';

/**
 * The execution roles of the API functions that assume a tenant-fenced role: the account is trusted (sts:AssumeRole, sts:TagSession)
 * only for sessions of those roles by unique id (`aws:userid` = `<role id>:<session>`; 21 characters where an ARN is up to 95, and a
 * role made again under the same name is not trusted until the stack names it), with the conditions; each role's own policy allows it too.
 */
export class ExecutionRoles extends iam.PrincipalBase {
  override readonly assumeRoleAction = 'sts:AssumeRole';
  private readonly account = new iam.AccountRootPrincipal();
  constructor(
    private readonly roles: iam.IRole[],
    private readonly conditions: Record<string, Record<string, unknown>>,
  ) {
    super();
  }

  /** The conditions, with the sessions of the roles (`<role id>:*`) added to StringLike. */
  private get sessionConditions(): iam.Conditions {
    const sessions = this.roles.map((r) => {
      if (!(r instanceof iam.Role)) throw new Error(`${r.node.path}: a tenant-fenced role trusts roles of this stack only (their ids)`);
      return `${r.roleId}:*`;
    });
    return { ...this.conditions, StringLike: { ...this.conditions.StringLike, 'aws:userid': sessions } };
  }

  get policyFragment(): iam.PrincipalPolicyFragment {
    return new iam.PrincipalPolicyFragment(this.account.policyFragment.principalJson, this.sessionConditions);
  }

  override addToAssumeRolePolicy(doc: iam.PolicyDocument): void {
    doc.addStatements(
      new iam.PolicyStatement({ actions: ['sts:AssumeRole', 'sts:TagSession'], principals: [this.account], conditions: this.sessionConditions }),
    );
  }

  dedupeString(): string | undefined {
    return undefined;
  }
}

/** IAM's default quota for a role's trust policy (characters, white space not counted); 4,096 on request. */
export const TRUST_POLICY_QUOTA = 2048;
/** What a tenant-fenced role's trust may reach: three quarters of the quota, so a few more assumers never fail a deploy. */
export const TRUST_POLICY_BUDGET = 1536;

/**
 * The trust policy of a tenant-fenced role with this many assuming roles, at its longest: the `aws` partition, a
 * 12-digit account, role ids of 21 characters (AROA and 17), the conditions of the tenant data roles. Fails the synth,
 * not the deploy, when it could exceed the budget.
 */
export function trustPolicySize(principals: number): number {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        Condition: {
          StringEquals: { 'aws:PrincipalTag/stageline-api': 'true' },
          StringLike: { 'aws:RequestTag/tenant': '?*', 'aws:userid': Array.from({ length: principals }, () => `AROA${'X'.repeat(17)}:*`) },
        },
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::123456789012:root' },
      },
    ],
  }).length;
}

export function checkTrustSize(id: string, principals: number): void {
  const size = trustPolicySize(principals);
  if (size > TRUST_POLICY_BUDGET) {
    throw new Error(
      `${id} trusts ${principals} execution roles: its trust policy could reach ${size} characters, over its budget of ${TRUST_POLICY_BUDGET} (IAM's default quota: ${TRUST_POLICY_QUOTA}; let more API functions share a role, infra/functions.ts roleFor)`,
    );
  }
}
