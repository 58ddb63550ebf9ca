import * as iam from 'aws-cdk-lib/aws-iam';
import type { CfnScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ArnFormat, Duration, Validations, type Stack } from 'aws-cdk-lib';
import { isWorkflowHandler, keepsOwnRole } from './access.ts';
import { OPTIONAL_RESOURCES, TENANT_SECRET_SESSION, type Grant, type Resource } from './adapters.ts';
import { mergeGrants } from './bundle-needs.ts';
import type { AuditAnchor } from './audit-anchor.ts';
import type { StackContext } from './context.ts';
import type { DomainEvents } from './events.ts';
import type { PromotionFlow } from './flows.ts';
import type { Functions } from './functions.ts';
import type { Identity } from './identity.ts';
import { stackNames } from './names.ts';
import { StackPart } from './part.ts';
import type { Scheduling } from './scheduling.ts';
import { checkTrustSize, ExecutionRoles, type DataStore } from './store.ts';

/** The tenant of a session of the tenant-fenced roles (its session tag). */
const TENANT_TAG = '${aws:PrincipalTag/tenant}';
/** How cdk-nag writes it in a finding's id. */
const NAG_TENANT_TAG = '<aws:PrincipalTag/tenant>';

/** Everything a function's bundle may need from the other parts (infra/adapters.ts Resource). */
export interface Provider {
  context: StackContext;
  store: DataStore;
  identity: Identity;
  events: DomainEvents;
  functions: Functions;
  anchor: AuditAnchor;
  flow: PromotionFlow;
  scheduling: Scheduling;
}

/**
 * What each function's bundle needs (infra/adapters.ts): its environment and IAM, nothing else.
 * Every Resource of the adapter table is provided here (an env value, the ARNs a grant names, and
 * the cdk-nag acknowledgement of a wildcard); a function gets exactly what its bundle's adapters
 * and port calls need (test/infra/deploy.test.ts checks both directions).
 */
export class AdapterNeeds extends StackPart {
  constructor(stack: Stack, id: string, { context, store, identity, events, functions, anchor, flow, scheduling }: Provider) {
    super(stack, id);
    const { notifyFrom, slackSecret } = context;
    // The stack's own schedule group and prefix of tenants' secrets (infra/names.ts: two stacks never share them).
    const { scheduleGroup, secretsPrefix, attestationKeyAliasPrefix } = stackNames(stack);
    // The promotion step copies and tags; publishing tags in the first environment's registries (both bundle the adapter).
    const registrySecret = context.registrySecretId
      ? context.registrySecretId.startsWith('arn:')
        ? secretsmanager.Secret.fromSecretCompleteArn(stack, 'RegistryCredentials', context.registrySecretId)
        : secretsmanager.Secret.fromSecretNameV2(stack, 'RegistryCredentials', context.registrySecretId)
      : undefined;
    const fireFn = functions.fn('schedule-fire');
    /** A secret of the tenant in the session's tag, under this stack's prefix (`rest` after the tenant: `/*`, `/webhooks/*`). */
    const tenantSecretArn = (rest: string) =>
      stack.formatArn({
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `${secretsPrefix}${TENANT_TAG}${rest}`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
    const deliverFn = functions.fn('webhook-deliver');
    const provided: Record<Resource, ((fn: string) => { value?: string; arns: string[]; nag?: string | string[]; why?: string }) | undefined> = {
      // Executions start through the live alias (infra/flows.ts); the machine's own ARN for what is not per version.
      promotionMachine: () => ({ value: flow.aliasArn, arns: [flow.machineArn, flow.aliasArn] }),
      waveMachine: () => ({ value: flow.waveAliasArn, arns: [flow.waveMachineArn, flow.waveAliasArn] }),
      stagelineSchedules: () => ({
        arns: [scheduling.scheduleArn],
        nag: `arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${scheduleGroup}/stageline-*`,
        why: "Schedules are made per promotion at run time (stageline-…, AWS names in domain/kernel/aws-names.ts), so their names are not known at deploy time; the group and prefix confine the function to Stageline schedules in this stack's own schedule group.",
      }),
      // By reference (Ref is the group's name): the functions depend on the group.
      scheduleGroup: () => ({ value: (scheduling.group.node.defaultChild as CfnScheduleGroup).ref, arns: [] }),
      schedulerRole: () => ({ value: scheduling.role.roleArn, arns: [scheduling.role.roleArn] }),
      // schedule-fire re-arms sweeps to itself: it takes its own ARN from the invocation (as an environment value it would be a cycle).
      scheduleTarget: (fn) => (fn === 'schedule-fire' ? { arns: [] } : { value: fireFn.functionArn, arns: [fireFn.functionArn] }),
      scheduleDlq: () => ({ value: scheduling.dlq.queueArn, arns: [scheduling.dlq.queueArn] }),
      eventBus: () => ({ value: events.eventBus.eventBusName, arns: [events.eventBus.eventBusArn] }),
      auditKey: () => ({ value: anchor.key.keyArn, arns: [anchor.key.keyArn] }),
      attestationKeyAliasPrefix: () => ({ value: attestationKeyAliasPrefix, arns: [] }),
      attestationKeyAliases: () => ({
        arns: [stack.formatArn({ service: 'kms', resource: 'alias', resourceName: `${attestationKeyAliasPrefix.slice('alias/'.length)}*` })],
        nag: `arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:alias/${attestationKeyAliasPrefix.slice('alias/'.length)}*`,
        why: "One attestation key per tenant, made on the tenant's first attestation, so its alias (this stack's prefix and the tenant's id) is named at run time.",
      }),
      attestationKeys: () => ({
        arns: [stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' })],
        nag: 'arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*',
        why: "Tenants' attestation keys are made at run time, so their ids are not known at deploy time; every grant on them is conditioned on the tag each carries (aws:ResourceTag), and signing on the algorithm and message type the adapter uses: each key's policy is KMS's default (the account decides through IAM), so this grant is what lets the stream consumer sign.",
      }),
      // The function's own role: set, the function makes tenants' keys (a function's role exists before its environment).
      attestationSigner: (fn) => ({ value: functions.fn(fn).role!.roleArn, arns: [] }),
      // CreateKey names no key (it makes one): conditioned on the key's spec and the tag it must carry.
      // (acknowledged in infra/acknowledgements.ts, as every statement on "*" is)
      newKmsKeys: () => ({ arns: ['*'] }),
      checkpointBucket: () => ({ value: anchor.checkpoints.bucketName, arns: [anchor.checkpoints.bucketArn] }),
      checkpointObjects: () => ({
        arns: [anchor.checkpoints.arnForObjects('checkpoints/*')],
        nag: '<AuditCheckpoints2FBCE690.Arn>/checkpoints/*',
        why: 'One object per checkpoint, named by tenant and sequence at run time; the prefix confines the consumer to checkpoint objects, and Object Lock makes each write-once.',
      }),
      secretsKey: () => ({ value: store.secretsKey.secretArn, arns: [store.secretsKey.secretArn] }),
      // Tenants' secrets: granted to the tenant secrets role alone (TENANT_SECRET_SESSION), on the secrets of the tenant in its session tag.
      tenantSecrets: () => ({
        arns: [tenantSecretArn('/*')],
        nag: `arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${secretsPrefix}${NAG_TENANT_TAG}/*`,
        why: `Tenants name their secrets in manifests and git targets (${secretsPrefix}<tenant>/<purpose>/<NAME>, under this stack's prefix); a session of this role reads only those of the tenant in its session tag.`,
      }),
      tenantSecretsRole: () => ({ value: secretsRole!.roleArn, arns: [secretsRole!.roleArn] }),
      secretsPrefix: () => ({ value: secretsPrefix, arns: [] }),
      registrySecret: registrySecret ? () => ({ value: registrySecret.secretArn, arns: [registrySecret.secretArn] }) : undefined,
      // Amazon ECR registries (context ecrRepositories): the token API has no resource (AWS requires "*"; acknowledged in
      // infra/acknowledgements.ts), the pulls and pushes are authorised on the repositories named at deploy time.
      ecrAuthorization: context.ecrRepositories.length ? () => ({ arns: ['*'] }) : undefined,
      ecrRepositories: context.ecrRepositories.length
        ? () => ({
            arns: context.ecrRepositories,
            nag: context.ecrRepositories.filter((a) => a.endsWith('*')),
            why: "The ECR repositories registry copies pull from and push to, as the deployment names them (context ecrRepositories); a trailing * is the operator's prefix of repositories.",
          })
        : undefined,
      userPool: () => ({ value: identity.userPool.userPoolId, arns: [identity.userPool.userPoolArn] }),
      // App-key routes pass the gateway unauthenticated: their function checks people's ID tokens as the JWT authorizer would.
      jwtIssuer: () => ({ value: identity.userPool.userPoolProviderUrl, arns: [] }),
      jwtAudience: () => ({ value: identity.userPoolClient.userPoolClientId, arns: [] }),
      loginDomain: () => ({ value: identity.domain.baseUrl(), arns: [] }),
      slackSigningSecret: slackSecret ? () => slackSecret : undefined,
      monitoredAlarms: () => ({
        // Any region of this account: a target in another region (eu-west-1) watches alarms there.
        arns: [stack.formatArn({ service: 'cloudwatch', region: '*', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
        nag: 'arn:<AWS::Partition>:cloudwatch:*:<AWS::AccountId>:alarm:*',
        why: "Monitors are alarm ARNs tenants list at run time (refused unless of this account, in the deployment's region or the region of the target that lists them, and named under the tenant namespace, <tenant>/<name>); DescribeAlarms only reads their state.",
      }),
      // CloudWatch analysis: the roles tenants register in their own accounts (any account, any name: the tenant names it at
      // run time), assumed only with an external id of the metric reader's form; each role's trust policy requires the
      // tenant's own (stageline:<tenant>), so a role is assumed only for the tenant that registered it.
      tenantMetricRoles: () => ({
        arns: [stack.formatArn({ service: 'iam', region: '', account: '*', resource: 'role', resourceName: '*' })],
        nag: 'arn:<AWS::Partition>:iam::*:role/*',
        why: "CloudWatch analysis reads a tenant's metrics with the role the tenant registered for its own account (any account and role name, known at run time); the statement requires an external id of the form stageline:*, and each customer's trust policy requires its tenant's own, so no other tenant and no role without that condition can be used.",
      }),
      // GetMetricData is sent with a session of the tenant's role, authorised in the tenant's account: nothing to grant here.
      tenantMetricSession: () => ({ arns: [] }),
      // The audit stream's S3 destination: the role a tenant set up in its own account to receive its audit entries, assumed
      // with the tenant's external id (the role's trust policy requires it) and tagged with the tenant; its session writes.
      tenantAuditRoles: () => ({
        arns: [stack.formatArn({ service: 'iam', region: '', account: '*', resource: 'role', resourceName: '*' })],
        nag: 'arn:<AWS::Partition>:iam::*:role/*',
        why: "The audit stream writes a tenant's S3 bucket with the role the tenant set up in its own account (any account and role name, known at run time); assumption requires an external id of the form stageline:*, and each tenant's trust policy requires its own, so no other tenant and no role without that condition can be used.",
      }),
      // PutObject is sent with a session of the tenant's role, authorised in the tenant's account: nothing to grant here.
      tenantAuditSession: () => ({ arns: [] }),
      deploymentRegion: () => ({ value: stack.region, arns: [] }),
      // The delivery function schedules its retries to itself: its own ARN from the invocation (as an environment value it would be a cycle).
      webhookTarget: (fn) => (fn === 'webhook-deliver' ? { arns: [] } : { value: deliverFn.functionArn, arns: [deliverFn.functionArn] }),
      webhookSecrets: () => ({
        arns: [tenantSecretArn('/webhooks/*')],
        nag: `arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${secretsPrefix}${NAG_TENANT_TAG}/webhooks/*`,
        why: 'One secret per subscription, named by tenant and subscription at run time; a session of this role touches only those of the tenant in its session tag.',
      }),
      emailIdentity: notifyFrom
        ? () => {
            const domain = notifyFrom.includes('@') ? notifyFrom.split('@')[1]! : notifyFrom;
            return {
              value: notifyFrom,
              arns: [...new Set([domain, notifyFrom])].map((id) => stack.formatArn({ service: 'ses', resource: 'identity', resourceName: id })),
            };
          }
        : undefined,
      tenantDataRole: (fn) => {
        // App-key readers assume the app-read role (reads, plus an app key's lastUsedAt); only they may (infra/functions.ts).
        const role = functions.tenantRoleOf(fn);
        return { value: role.roleArn, arns: [role.roleArn] };
      },
    };
    // The tenant secrets role: every function whose bundle touches tenants' secrets assumes it per tenant (tagged with the
    // tenant, functions/adapters/secrets-session.ts), and it holds exactly those functions' grants on them, fenced to the
    // session's tenant by the secrets' names (and a new secret's tag); no function's own role may touch a tenant's secret.
    const assumers = new Set<iam.IRole>();
    const sessionGrants: Grant[] = [];
    for (const [name, needs] of functions.needs) {
      if (!needs.grants.some((g) => g.on === 'tenantSecretsRole')) {
        const stray = needs.grants.find((g) => TENANT_SECRET_SESSION.has(g.on));
        if (stray) throw new Error(`${name} needs ${stray.on} without the tenant secrets session (functions/adapters/secrets-session.ts)`);
        continue;
      }
      assumers.add(functions.functions.get(name)!.fn.role!);
      sessionGrants.push(...needs.grants.filter((g) => TENANT_SECRET_SESSION.has(g.on)));
    }
    const secretsRole = assumers.size
      ? new iam.Role(stack, 'TenantSecretsRole', {
          description: "Stageline: tenants' secrets, fenced to the tenant in the session tag",
          assumedBy: new ExecutionRoles([...assumers], { StringLike: { 'aws:RequestTag/tenant': '?*' } }),
          maxSessionDuration: Duration.hours(1),
        })
      : undefined;
    if (secretsRole) {
      checkTrustSize('TenantSecretsRole', assumers.size);
      for (const g of mergeGrants(sessionGrants)) {
        const target = provided[g.on]!(g.on);
        secretsRole.addToPolicy(new iam.PolicyStatement({ actions: g.actions, resources: target.arns, ...(g.condition ? { conditions: g.condition } : {}) }));
        for (const nag of [target.nag ?? []].flat())
          Validations.of(secretsRole).acknowledge({ id: `AwsSolutions-IAM5[Resource::${nag}]`, reason: target.why! });
      }
    }
    const granted = new Set<iam.IRole>();
    for (const [name, needs] of functions.needs) {
      const fn = functions.functions.get(name)!.fn;
      const resolve = (r: Resource) => {
        const make = provided[r];
        if (!make && !OPTIONAL_RESOURCES.has(r)) throw new Error(`${name} needs ${r}, which the stack does not provide (infra/adapters.ts)`);
        return make?.(name);
      };
      for (const [key, r] of needs.env) {
        const value = resolve(r)?.value;
        if (value !== undefined) fn.addEnvironment(key, value);
      }
      // A shared role is granted once (its functions need exactly the same).
      if (granted.has(fn.role!)) continue;
      granted.add(fn.role!);
      for (const g of mergeGrants(needs.grants)) {
        // Sent with a session of the tenant secrets role (granted to it above), never with the function's own.
        if (TENANT_SECRET_SESSION.has(g.on)) continue;
        const target = resolve(g.on);
        if (!target || target.arns.length === 0) continue;
        fn.addToRolePolicy(new iam.PolicyStatement({ actions: g.actions, resources: target.arns, ...(g.condition ? { conditions: g.condition } : {}) }));
        for (const nag of [target.nag ?? []].flat()) {
          const where = isWorkflowHandler(name) || keepsOwnRole(name) ? fn : fn.role!;
          Validations.of(where).acknowledge({ id: `AwsSolutions-IAM5[Resource::${nag}]`, reason: target.why! });
        }
      }
    }
  }
}
