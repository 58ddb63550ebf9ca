import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Duration, RemovalPolicy, Validations, type Stack } from 'aws-cdk-lib';
import { TABLE } from '../functions/adapters/keys.ts';
import { READ_ACTIONS, TENANT_LEADING_KEYS, WRITE_ACTIONS, type DataAccess } from './access.ts';
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
    Validations.of(this.secretsKey).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Rotating this key would need re-sealing every stored webhook secret; rotation is a planned operation, not automatic.' });
  }

  /** The table and its named indexes (no `index/*` wildcard). */
  private get arns(): string[] {
    return [this.table.tableArn, ...TABLE.indexes.map((i) => `${this.table.tableArn}/index/${i.name}`)];
  }

  /**
   * A role whose DynamoDB access is fenced to one tenant by IAM: `dynamodb:LeadingKeys` must match
   * `T#${aws:PrincipalTag/tenant}#*` (every partition key, index keys included, starts so). Only this
   * stack's API function roles (tagged stageline-api) may assume it, and only with a tenant session tag.
   */
  tenantDataRole(id: string, actions: string[]): iam.Role {
    const role = new iam.Role(this.stack, id, {
      description: 'Stageline API functions: table access fenced to the tenant in the session tag',
      assumedBy: new iam.AccountPrincipal(this.stack.account).withSessionTags().withConditions({
        StringEquals: { 'aws:PrincipalTag/stageline-api': 'true' },
        StringLike: { 'aws:RequestTag/tenant': '?*' },
      }),
      maxSessionDuration: Duration.hours(1),
    });
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
   * The roles API functions reach the table through, assumed per request tenant (functions/http/deps.ts
   * depsFor): read, write, and app-key reads (the read role, plus writing one attribute, an app key's lastUsedAt).
   */
  tenantRoles(): { read: iam.Role; write: iam.Role; appRead: iam.Role } {
    const read = this.tenantDataRole('TenantReadRole', READ_ACTIONS);
    const write = this.tenantDataRole('TenantWriteRole', [...READ_ACTIONS, ...WRITE_ACTIONS]);
    const appRead = this.tenantDataRole('TenantAppReadRole', READ_ACTIONS);
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
    return { read, write, appRead };
  }

  /** Direct access (background functions serving every tenant): only the item-level actions the adapter uses. */
  grantData(fn: HandlerFunction, access: DataAccess): void {
    if (access === 'none') return;
    fn.fn.addToRolePolicy(new iam.PolicyStatement({ actions: READ_ACTIONS, resources: this.arns }));
    if (access === 'write') {
      fn.fn.addToRolePolicy(new iam.PolicyStatement({ actions: WRITE_ACTIONS, resources: [this.table.tableArn] }));
    }
  }
}
