/**
 * What each function may do, derived from the route table (functions/http/routes.ts): its data
 * access, whether it starts flows, whether it keeps an execution role of its own, its time-out.
 * The stack's parts (infra/functions.ts, infra/needs.ts, infra/api.ts) read these; test/infra checks them.
 */
import { Duration } from 'aws-cdk-lib';
import { FUNCTION_GROUPS, handlersOf, ROUTES, SELF_AUTHENTICATED, WORKFLOW_HANDLERS } from '../functions/http/routes.ts';
import { storeActions } from './store-actions.ts';

/**
 * DynamoDB actions the store adapter (functions/adapters/store/)
 * issues, derived from its source (infra/store-actions.ts): readers get
 * READ_ACTIONS, writers also WRITE_ACTIONS. Transactions have no IAM action of
 * their own: TransactWriteItems is authorised per item (PutItem, UpdateItem,
 * DeleteItem, ConditionCheckItem). test/infra checks these lists against the
 * commands the adapter actually sends.
 */
export const { read: READ_ACTIONS, write: WRITE_ACTIONS } = storeActions();

export type DataAccess = 'none' | 'read' | 'write';

/** The partition keys a tenant session may touch (IAM policy variable: the session's tenant tag). */
export const TENANT_LEADING_KEYS = 'T#${aws:PrincipalTag/tenant}#*';

/** Routes with tighter throttling of their own (infra/api.ts API_THROTTLE). */
export const HEAVY_ROUTES = ['items-batch', 'promotions-create', 'environments-rollback', 'promotions-rollback', 'promotions-auto-check'];

/** Functions that need more than the default 10 s. */
export const FUNCTION_TIMEOUTS: Partial<Record<string, Duration>> = {
  // One batch writes at most MAX_BATCH_ITEMS (1,000) items; API Gateway gives up at 29 s.
  'items-batch': Duration.seconds(29),
  // Invoked by Step Functions, not API Gateway: execute copies a whole snapshot, or an artifact
  // between registries (blobs up to 5 minutes: the registry adapter's own limit) before it commits.
  'promotion-step': Duration.minutes(6),
  // Outbound webhooks: every matching subscription of an event at once, each attempt bounded at 10 s.
  'webhook-deliver': Duration.seconds(30),
  // Publishing tags the version in the first environment's registries (and copies it to any but the first).
  'artifacts-publish': Duration.seconds(29),
  // Discovery publishes the same way (tags in the first environment's registries).
  'registry-push': Duration.seconds(60),
  'registry-notifications': Duration.seconds(29),
  // A stream batch: up to 100 records, relayed and linked into chains.
  stream: Duration.seconds(60),
};

/** The user and tenant routes (domain/access): Cognito user management grants of their own. */
const USER_ADMIN = ['users-admin', 'users-list', 'users-remove', 'users-invite', 'users-roles', 'tenants-create'];

/** API functions with grants of their own (audit anchor, the Cognito directory, registry credentials): they keep their own execution role. */
export const OWN_ROLE = new Set<string>([
  'audit-verify',
  'audit-export',
  'manifest-apply',
  'artifacts-publish',
  ...SELF_AUTHENTICATED,
  'webhooks-create',
  'webhooks-rotate',
  'webhooks-delete',
  'webhooks-redeliver',
  ...USER_ADMIN,
]);

/** Functions behind app-key routes (auth 'app'): they write an app key's last-used time, nothing else. */
export const servesAppKeys = (fn: string) => ROUTES.some((r) => r.auth === 'app' && handlersOf(fn).includes(r.handler));

export const isWorkflowHandler = (handler: string) => (WORKFLOW_HANDLERS as readonly string[]).includes(handler);

/**
 * Functions that create promotions and steer flows: the write routes, the auto-promoter, and
 * schedule-fire (a scheduled auto-promotion check may create a promotion).
 */
export function startsFlows(handler: string): boolean {
  if (NO_FLOWS.has(handler)) return false;
  return dataAccessOf(handler) === 'write' && (!isWorkflowHandler(handler) || handler === 'auto-promote' || handler === 'schedule-fire');
}

/** Write routes that never touch a promotion's flow (webhook subscriptions, git targets): no state machine or schedule grants. */
const NO_FLOWS = new Set([
  'webhooks-create',
  'webhooks-update',
  'webhooks-delete',
  'webhooks-rotate',
  'webhooks-redeliver',
  'git-target',
  'git-target-put',
  ...USER_ADMIN,
]);

/**
 * What a handler may do to the table, derived from the route table: a handler
 * whose routes need no role (health, and the $default fallback that has no
 * route) touches no data; one that only serves `viewer` routes only reads;
 * anything needing deployer/approver/admin may write. State machine tasks
 * (WORKFLOW_HANDLERS, no route) move promotions along, so they write.
 */
export function dataAccessOf(handler: string): DataAccess {
  if (isWorkflowHandler(handler) || (SELF_AUTHENTICATED as readonly string[]).includes(handler)) return 'write';
  const members = handlersOf(handler);
  const roles = ROUTES.filter((r) => members.includes(r.handler)).map((r) => r.role);
  if (roles.every((r) => r === null)) return 'none';
  return roles.every((r) => r === null || r === 'viewer') ? 'read' : 'write';
}

/** What makes two handlers' functions differ; a function group's members must agree on all of it. */
const functionProfile = (handler: string) =>
  JSON.stringify({
    access: dataAccessOf(handler),
    flows: startsFlows(handler),
    ownRole: OWN_ROLE.has(handler),
    iam: ROUTES.some((r) => r.handler === handler && r.auth === 'iam'),
    timeout: FUNCTION_TIMEOUTS[handler]?.toSeconds() ?? null,
    heavy: HEAVY_ROUTES.includes(handler),
    workflow: isWorkflowHandler(handler),
  });

/** Refuses a function group whose members would need different permissions or settings (least privilege holds per function). */
export function checkFunctionGroups(): void {
  for (const [group, members] of Object.entries(FUNCTION_GROUPS)) {
    const profiles = new Set(members.map(functionProfile));
    if (profiles.size !== 1)
      throw new Error(
        `Function group ${group} mixes handlers with different permissions or settings: ${members.map((m) => `${m} ${functionProfile(m)}`).join('; ')}`,
      );
  }
}
