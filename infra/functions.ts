import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Tags, Validations, type Stack } from 'aws-cdk-lib';
import { createHash } from 'node:crypto';
import { checkHandlerSettings, ROUTES } from '../functions/http/routes.ts';
import { FUNCTIONS, functionOf } from '../functions/http/topology.ts';
import { checkFunctionGroups, dataAccessOf, isWorkflowHandler, keepsOwnRole, servesAppKeys, timeoutOf } from './access.ts';
import { NARROW_READS } from './background-writes.ts';
import { needsOf, type Needs } from './bundle-needs.ts';
import type { StackContext } from './context.ts';
import { HandlerFunction, logGroup } from './function.ts';
import { StackPart } from './part.ts';
import type { DataStore, TenantAccess } from './store.ts';

/** The CORS helper: a bundle holding it reads CORS_ALLOWED_ORIGINS (configuration, not an AWS resource: outside infra/adapters.ts, so shared roles are unchanged). */
const CORS_MODULE = 'functions/http/cors.ts';
/** The module whose checks need the deployment's account and region (domain/freeze/monitors.ts assertMonitorsHere). */
export const MONITORS_MODULE = 'domain/freeze/monitors.ts';

const upperFirst = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
export const pascal = (name: string) => name.split('-').map(upperFirst).join('');

/** The tenant-fenced role an API function assumes: writers the write role, app-key readers the app-read role (reads, plus an app key's lastUsedAt; only they may), other readers the read role. */
const tenantAccessOf = (name: string): TenantAccess => (dataAccessOf(name) === 'write' ? 'write' : servesAppKeys(name) ? 'appRead' : 'read');

/**
 * The functions: one per handler in the route table (plus the $default fallback) or per group of
 * read-only handlers (FUNCTION_GROUPS), and one per state machine task (WORKFLOW_HANDLERS, no
 * route). Background functions (flows, stream, notifier) serve every tenant and reach the table
 * directly; API functions only through the tenant-fenced roles (infra/store.ts). What each bundle
 * needs beyond the table (infra/adapters.ts) is granted once every resource exists (infra/needs.ts).
 */
export class Functions extends StackPart {
  readonly functions = new Map<string, HandlerFunction>();
  /** what each function's bundle needs (infra/adapters.ts) */
  readonly needs = new Map<string, Needs>();
  /** the tenant-fenced roles API functions assume per request (functions/http/tenant-deps.ts depsFor) */
  readonly tenantRoles: { read: iam.Role; write: iam.Role; appRead: iam.Role };
  private readonly sharedRoles = new Map<string, iam.Role>();

  constructor(stack: Stack, id: string, store: DataStore, context: StackContext) {
    super(stack, id);
    const handlerLogs = logGroup(
      stack,
      'HandlerLogs',
      logs.RetentionDays.ONE_MONTH,
      "every function's JSON logs (a line per request or event: route or event, outcome, duration, tenant; errors with their message)",
    );
    const { concurrency, appReadConcurrency, traceSdk, machinePrincipals, allowedOrigins } = context;
    checkHandlerSettings();
    checkFunctionGroups();
    for (const name of FUNCTIONS) {
      const access = dataAccessOf(name);
      const bundle = HandlerFunction.bundle(stack, name, traceSdk);
      const needs = needsOf(bundle);
      this.needs.set(name, needs);
      const fn = new HandlerFunction(stack, pascal(name), {
        name,
        bundle,
        role: this.roleFor(name, needs),
        logGroup: handlerLogs,
        traceSdk,
        tableName: store.table.tableName,
        timeout: timeoutOf(name),
        // App-key readers answer at unauthenticated function URLs: capped by default (appReadConcurrency), so a flood of
        // invalid keys is throttled there and cannot take the account's pool from the API and the flows.
        reservedConcurrency: isWorkflowHandler(name)
          ? concurrency[name as keyof typeof concurrency]
          : servesAppKeys(name)
            ? appReadConcurrency
            : access === 'none'
              ? undefined
              : concurrency.api,
        environment: {
          // Only the handler behind the IAM (machine) route resolves IAM callers.
          ...(ROUTES.some((r) => functionOf(r.handler) === name && r.auth === 'iam') ? { MACHINE_PRINCIPALS: JSON.stringify(machinePrincipals) } : {}),
          // Functions holding the CORS helper answer browsers of these origins on the paths open to them (functions/http/cors.ts).
          ...(bundle.modules.has(CORS_MODULE) ? { CORS_ALLOWED_ORIGINS: allowedOrigins.join(',') } : {}),
          // Functions holding the monitor checks (environments, the step, manifest plan and apply) refuse alarms of
          // another account or region: they learn this deployment's (functions/http/deps.ts deployment).
          ...(bundle.modules.has(MONITORS_MODULE) ? { DEPLOYMENT_ACCOUNT: stack.account, DEPLOYMENT_REGION: stack.region } : {}),
        },
      });
      // Background functions (flows, stream, notifier) serve every tenant: direct access. API functions: the tenant fence.
      // A no-token API function that reads a few known items of no one tenant (infra/background-writes.ts NARROW_READS) gets those reads alone.
      if (isWorkflowHandler(name)) store.grantData(name, fn, access);
      else if (NARROW_READS[name]) store.grantData(name, fn, 'read');
      else if (access !== 'none') Tags.of(fn.fn.role!).add('stageline-api', 'true');
      this.functions.set(name, fn);
    }
    // The tenant-fenced roles, once the functions exist: each trusts the execution roles of the functions that assume it
    // (those whose bundle needs it, infra/adapters.ts tenantDataRole), by their ARNs.
    const assumers: Record<TenantAccess, Set<iam.IRole>> = { read: new Set(), write: new Set(), appRead: new Set() };
    for (const [name, needs] of this.needs) {
      if (needs.grants.some((g) => g.on === 'tenantDataRole')) assumers[tenantAccessOf(name)].add(this.functions.get(name)!.fn.role!);
    }
    this.tenantRoles = store.tenantRoles({ read: [...assumers.read], write: [...assumers.write], appRead: [...assumers.appRead] });
    // Reserved concurrency comes out of the account's pool, which must keep 100 unreserved: a total above that fails the deploy, so it fails the synth.
    const reserved = [...this.functions.values()].reduce(
      (sum, f) => sum + ((f.fn.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions ?? 0),
      0,
    );
    if (reserved > context.accountConcurrency - 100) {
      const apiCount = [...this.functions.keys()].filter((n) => !isWorkflowHandler(n) && dataAccessOf(n) !== 'none').length;
      throw new Error(
        `reservedConcurrency reserves ${reserved} executions in all (${concurrency.api ?? 0} for each of the ${apiCount} API functions, plus the others), more than the ${context.accountConcurrency - 100} an account of accountConcurrency=${context.accountConcurrency} may reserve (100 stay unreserved): lower it, or raise the account's quota and pass -c accountConcurrency=<quota>`,
      );
    }
  }

  /** The tenant-fenced role an API function assumes (infra/needs.ts gives it that role's ARN, infra/store.ts trusts its role). */
  tenantRoleOf(name: string): iam.Role {
    return this.tenantRoles[tenantAccessOf(name)];
  }

  /** The Lambda function serving a handler (its group's, for a grouped handler). */
  fn(handler: string): lambda.Function {
    return this.functions.get(functionOf(handler))!.fn;
  }

  /**
   * API functions with exactly the same permissions share one execution role (by data access and
   * whether they start flows); those with grants of their own (audit anchor, Cognito directory) keep
   * theirs. Same least privilege, about a hundred fewer CloudFormation resources.
   */
  private roleFor(name: string, needs: Needs): iam.Role | undefined {
    if (isWorkflowHandler(name) || keepsOwnRole(name)) return undefined;
    // App-key readers get a role of their own: only they may assume the app-read tenant role.
    const what = JSON.stringify({ env: [...needs.env].sort(), grants: needs.grants });
    const key = `${dataAccessOf(name)}${servesAppKeys(name) ? '-app-keys' : ''}-${createHash('sha256').update(what).digest('hex').slice(0, 8)}`;
    let role = this.sharedRoles.get(key);
    if (!role) {
      role = new iam.Role(this.stack, `ApiRole${pascal(key)}`, {
        description: `Stageline API functions: ${dataAccessOf(name)} (shared by functions whose bundles need exactly the same)`,
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole')],
      });
      // Its "*" statements (X-Ray) are acknowledged on its policy, by what they hold (infra/acknowledgements.ts).
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'AWSLambdaBasicExecutionRole only grants logs:CreateLogGroup/CreateLogStream/PutLogEvents, which every function needs to write its own logs.',
      });
      this.sharedRoles.set(key, role);
    }
    return role;
  }
}
