/**
 * What each function may do, derived from the route table's rows (functions/http/routes.ts): its
 * data access, whether it starts flows, whether it keeps an execution role of its own, its time-out.
 * The stack's parts (infra/functions.ts, infra/needs.ts, infra/api.ts) read these; test/infra checks them.
 */
import { Duration } from 'aws-cdk-lib';
import { handlerSettings, ROUTES, SELF_AUTHENTICATED, WORKFLOW_HANDLERS } from '../functions/http/routes.ts';
import { FUNCTION_GROUPS, handlersOf } from '../functions/http/topology.ts';
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

/** The function's time-out, where its handlers' rows (or workflow task) ask for more than the default 10 s (a group's members agree: checkFunctionGroups). */
export function timeoutOf(fn: string): Duration | undefined {
  const seconds = handlerSettings(handlersOf(fn)[0]!).timeout;
  return seconds === undefined ? undefined : Duration.seconds(seconds);
}

/** API functions with grants of their own (audit anchor, the Cognito directory, registry credentials, secrets), as their rows say (`ownRole`): they keep their own execution role. */
export const keepsOwnRole = (fn: string): boolean => handlersOf(fn).some((h) => handlerSettings(h).ownRole);

/** Functions behind app-key routes (auth 'app'): they write an app key's last-used time, nothing else. */
export const servesAppKeys = (fn: string) => ROUTES.some((r) => r.auth === 'app' && handlersOf(fn).includes(r.handler));

export const isWorkflowHandler = (handler: string) => (WORKFLOW_HANDLERS as readonly string[]).includes(handler);

/**
 * Functions that create promotions and steer flows: the write routes but those whose rows say they
 * never touch a promotion's flow (`startsFlows: false`: webhook subscriptions, git targets, people),
 * and the workflow tasks that say they do (the auto-promoter, and schedule-fire: a scheduled
 * auto-promotion check may create a promotion).
 */
export function startsFlows(name: string): boolean {
  return handlersOf(name).some((h) => handlerSettings(h).startsFlows) && dataAccessOf(name) === 'write';
}

/**
 * What a handler may do to the table, derived from the route table: a handler
 * whose routes need no role (health, and the $default fallback that has no
 * route) touches no data; one that only serves `viewer` routes only reads;
 * anything needing deployer/approver/admin may write. State machine tasks
 * (WORKFLOW_HANDLERS, no route) move promotions along, so they write.
 */
export function dataAccessOf(handler: string): DataAccess {
  if (isWorkflowHandler(handler) || handlersOf(handler).some((h) => (SELF_AUTHENTICATED as readonly string[]).includes(h))) return 'write';
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
    ownRole: handlerSettings(handler).ownRole,
    iam: ROUTES.some((r) => r.handler === handler && r.auth === 'iam'),
    timeout: handlerSettings(handler).timeout ?? null,
    heavy: ROUTES.some((r) => r.handler === handler && r.heavy),
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
