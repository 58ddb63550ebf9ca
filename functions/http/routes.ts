import { STEP_SECONDS } from '#domain/promotion/terms/deadlines';
import { ACCESS_ROUTES } from './routes/access.ts';
import { ARTIFACT_ROUTES } from './routes/artifacts.ts';
import { AUDIT_ROUTES } from './routes/audit.ts';
import { CONFIG_ROUTES } from './routes/config.ts';
import { CONSUME_ROUTES } from './routes/consume.ts';
import { ENVIRONMENT_ROUTES } from './routes/environments.ts';
import { GITOPS_ROUTES } from './routes/gitops.ts';
import { CHANGE_ROUTES } from './routes/change.ts';
import { MANIFEST_ROUTES } from './routes/manifest.ts';
import { NOTIFICATION_ROUTES } from './routes/notifications.ts';
import { PROMOTION_ROUTES } from './routes/promotions.ts';
import { RECURRING_ROUTES } from './routes/recurring.ts';
import { routeKey, type Route } from './routes/row.ts';
import { SCIM_ROUTES } from './routes/scim.ts';
import { SERVICE_ROUTES } from './routes/service.ts';
import { WEBHOOK_ROUTES } from './routes/webhooks.ts';
import { VERIFICATION_ROUTES } from './routes/verification.ts';

export { routeKey, type AuthType, type Method, type Route, type RouteResponse, type RoutePath, type TextMediaType } from './routes/row.ts';

/**
 * THE route table, composed of the areas' rows (functions/http/routes/<area>.ts). Each row is a
 * route with everything about it: its handler and role (the handler middleware enforces it), its
 * documentation and response schema (scripts/openapi.ts), and its function's settings (infra/).
 * CDK creates one API Gateway route from each row (and one Lambda per handler, or per group:
 * functions/http/topology.ts); the local gateway serves exactly these routes (functions/http/router.ts
 * matches them). A new route is its row, its handler and the domain use case it calls.
 */
export const ROUTES: Route[] = [
  ...SERVICE_ROUTES,
  ...ENVIRONMENT_ROUTES,
  ...VERIFICATION_ROUTES,
  ...CONFIG_ROUTES,
  ...AUDIT_ROUTES,
  ...PROMOTION_ROUTES,
  ...RECURRING_ROUTES,
  ...ARTIFACT_ROUTES,
  ...NOTIFICATION_ROUTES,
  ...GITOPS_ROUTES,
  ...CHANGE_ROUTES,
  ...WEBHOOK_ROUTES,
  ...MANIFEST_ROUTES,
  ...CONSUME_ROUTES,
  ...ACCESS_ROUTES,
  ...SCIM_ROUTES,
];

/** Browser access (CORS): which paths are open to other origins, with which headers (functions/http/cors.ts). */
export { CORS, corsOpen } from './cors.ts';

/** Handles what no route matches ($default on API Gateway): 404 or 405. */
export const FALLBACK_HANDLER = 'fallback';

export const HANDLERS = [...new Set([...ROUTES.map((r) => r.handler), FALLBACK_HANDLER])];

/** Public routes that authenticate the caller themselves: a signed review link's token, a Slack request signature, a tenant's SCIM token. They act, so they write. */
export const SELF_AUTHENTICATED = ['review', 'slack', 'registry-notifications', 'git-hook', 'deployment-gate-hook', 'scim'] as const;

/** The handlers behind the Slack app's request URLs: the only ones that read its signing secret. */
export const SLACK_HANDLERS = ['slack'] as const;

/** What a function no route reaches is deployed with (a route's row carries the same for its handler). */
export interface WorkflowTask {
  /** seconds it may run, where the default 10 s is not enough */
  timeout?: number;
  /** it creates promotions or steers their flows (state machine and schedule grants) */
  startsFlows: boolean;
}

/**
 * Lambda entries that no route reaches: tasks of the state machines (statemachines/*.asl.json), the
 * scheduler's and the bus's targets, and the table's stream consumer; with their functions' settings.
 */
export const WORKFLOW_TASKS = {
  // Invoked by Step Functions, not API Gateway: execute copies a whole snapshot, or an artifact
  // between registries (blobs up to 5 minutes: the registry adapter's own limit) before it commits.
  'promotion-step': { timeout: STEP_SECONDS, startsFlows: false },
  // A scheduled auto-promotion check may create a promotion.
  'schedule-fire': { startsFlows: true },
  'auto-promote': { startsFlows: true },
  // A stream batch: up to 100 records, relayed and linked into chains.
  stream: { timeout: 60, startsFlows: false },
  // The audit stream's shipper: the chain head's moves, each tenant's destinations a batch at a time (each send bounded at 15 s, its tries and acks).
  'audit-ship': { timeout: 300, startsFlows: false },
  notifier: { startsFlows: false },
  // Outbound webhooks: every matching subscription of an event at once, each attempt bounded at 10 s.
  'webhook-deliver': { timeout: 30, startsFlows: false },
  'alarm-state': { startsFlows: false },
  // A wave's child execution that failed, timed out or was stopped: its parent's token failed (rollback).
  'wave-status': { startsFlows: false },
  // Discovery publishes as artifacts-publish does (tags in the first environment's registries).
  'registry-push': { timeout: 60, startsFlows: false },
  // The user pool's pre-token-generation trigger: one read of the tenant's group mapping per token (infra/background-writes.ts NARROW_READS).
  'pre-token': { startsFlows: false },
} as const satisfies Record<string, WorkflowTask>;

export type WorkflowHandler = keyof typeof WORKFLOW_TASKS;

export const WORKFLOW_HANDLERS = Object.keys(WORKFLOW_TASKS) as WorkflowHandler[];

/** Every handler module in functions/handlers/. */
export const ALL_HANDLERS = [...HANDLERS, ...WORKFLOW_HANDLERS];

/** What a handler's function is deployed with, as its rows (or its workflow task) say. */
export interface HandlerSettings {
  /** seconds; undefined: the default */
  timeout: number | undefined;
  ownRole: boolean;
  /** whether it may start flows, if it writes (infra/access.ts startsFlows) */
  startsFlows: boolean;
}

const rowSettings = (r: Route): HandlerSettings => ({ timeout: r.timeout, ownRole: r.ownRole === true, startsFlows: r.startsFlows !== false });

/**
 * The settings of a handler's function. They are the handler's, so every row of a handler must say
 * the same (a handler serving several routes runs in one function): rows that disagree are refused.
 */
export function handlerSettings(handler: string, routes: readonly Route[] = ROUTES): HandlerSettings {
  if (Object.hasOwn(WORKFLOW_TASKS, handler)) {
    const task: WorkflowTask = WORKFLOW_TASKS[handler as WorkflowHandler];
    return { timeout: task.timeout, ownRole: false, startsFlows: task.startsFlows };
  }
  const rows = routes.filter((r) => r.handler === handler);
  const settings = rows.map(rowSettings);
  if (new Set(settings.map((s) => JSON.stringify(s))).size > 1)
    throw new Error(
      `The routes of ${handler} disagree on its function's settings (timeout, ownRole, startsFlows): ${rows.map((r, i) => `${routeKey(r)} ${JSON.stringify(settings[i])}`).join('; ')}`,
    );
  return settings[0] ?? { timeout: undefined, ownRole: false, startsFlows: true };
}

/** Refuses a table in which the rows of a handler disagree on its function's settings (the stack checks before it makes any function). */
export function checkHandlerSettings(routes: readonly Route[] = ROUTES): void {
  for (const handler of new Set(routes.map((r) => r.handler))) handlerSettings(handler, routes);
}
