import { serveGroup, type Handler } from './group.ts';
import { ALL_HANDLERS } from './routes.ts';

/**
 * Lambda functions that serve several handlers: the read-only routes of one area. Their handlers
 * need exactly the same permissions (the tenant read role, no grants of their own, no flows, no IAM
 * route, the default timeout; infra/access.ts checkFunctionGroups refuses a group that mixes), so one
 * function each loses no least privilege and saves a function and an API integration per handler
 * merged. This is the one place a group is declared: its Lambda entry is generated from it
 * (infra/bundle.ts), importing its handlers and dispatching on the route key (functions/http/group.ts).
 */
export const FUNCTION_GROUPS = {
  'environments-read': ['environments-list', 'environments-get', 'environments-targets', 'status', 'diff-environments', 'diff-predecessors', 'calendar'],
  'snapshots-read': ['snapshots-list', 'snapshots-get', 'diff-snapshots'],
  'items-read': ['items-list', 'items-get'],
  'promotions-read': ['promotions-list', 'promotions-get', 'promotions-decision', 'promotions-changes', 'promotions-plan', 'promotions-rollout-page'],
  'rules-read': ['rules-list', 'rules-get'],
  'deployments-read': ['deployments-history', 'deployments-metrics'],
  'artifacts-read': ['artifacts-versions', 'artifacts-tag', 'artifacts-resolve', 'consumers-list', 'bundles-list', 'bundles-get'],
  // Inbound notifications of third parties, each self-authenticated (a registry's push notifications, a pull-request
  // host's webhook): one function with one role of its own, so the tenant-fenced write role trusts one more role, not two.
  'inbound-hooks': ['registry-notifications', 'git-hook', 'deployment-gate-hook'],
  // Stopping and going on with a promotion (cancel; a rollout's halt, resume and a target's confirmation): they answer
  // or fail the flow's task tokens, so one function with one role: the tenant-fenced write role trusts one more role, not two.
  'promotions-control': ['promotions-cancel', 'promotions-rollout', 'promotions-change-check'],
  // An approver's decision (approve, reject): both answer the approval's task token, so one function with one role: the
  // tenant-fenced write role trusts one role for both (its trust policy is at IAM's quota: promotions-rebase, which opens
  // the webhook gates' secrets, holds a role of its own, the sealing key being only where a secret is sealed or opened).
  'promotions-decide': ['promotions-approve', 'promotions-reject'],
  // The admin saves that write a tenant's secrets: those that seal one they are given (an environment's webhook gate
  // secrets on create and update, the Slack and Teams webhooks of the notification settings, a manifest apply) and those
  // that name one and refuse it when it does not exist (a manifest apply, PUT …/git-target, the identity provider's client
  // secret; its GET and DELETE join it, so the user pool's identity provider grants, infra/adapters.ts, are this
  // function's alone). One function with one role of its own, the only API role that holds both the sealing key and the
  // read of the tenant's secrets: the tenant-fenced write role trusts one role for all of them (its trust policy is at
  // IAM's quota).
  'secret-writers': [
    'manifest-apply',
    'git-target-put',
    'identity-provider-put',
    'environments-create',
    'environments-update',
    'notifications-put',
    'identity-provider',
    'audit-destinations-put',
    // An environment's change-control rule: its credential sealed at save (and its GET and DELETE with it).
    'change-control-put',
    'change-control',
    // An environment's deployment gate: the secrets it names must exist (its GET and DELETE with it).
    'deployment-gate-put',
    'deployment-gate',
  ],
  // People: one function holds the user pool's Admin* grants (domain/access), SCIM provisioning and its token among them.
  'users-admin': ['users-list', 'users-invite', 'users-roles', 'users-remove', 'tenants-create', 'scim', 'scim-token'],
} as const satisfies Record<string, readonly string[]>;

export type FunctionGroup = keyof typeof FUNCTION_GROUPS;

/**
 * Groups whose members are loaded on their first request (functions/http/group.ts serveLazyGroup): the admin saves
 * that write a tenant's secrets are each rare and each bring a domain of their own (the manifest's, the identity
 * provider's, change control's), so a cold start loads the one it serves. The inbound hooks likewise: a registry's
 * push (its OCI client and credentials), a pull request's change (the git host's calls) and a deploy gate's job (the
 * request domain) share nothing but the store, and a tenant that uses one rarely uses the others.
 */
export const LAZY_GROUPS: readonly FunctionGroup[] = ['secret-writers', 'inbound-hooks'];

/** The Lambda function that runs a handler: its group, or a function of its own. */
export function functionOf(handler: string): string {
  const group = Object.entries(FUNCTION_GROUPS).find(([, members]) => (members as readonly string[]).includes(handler));
  return group ? group[0] : handler;
}

/** The handlers a Lambda function runs. */
export const handlersOf = (fn: string): readonly string[] => (FUNCTION_GROUPS as Record<string, readonly string[]>)[fn] ?? [fn];

/** Every Lambda function (CDK creates one each; the local gateway invokes the same entries). */
export const FUNCTIONS = [...new Set(ALL_HANDLERS.map(functionOf))];

/** A group's function from its members' modules, loaded with `load` (the local gateway: dynamic imports of functions/handlers/<name>.ts), as its generated Lambda entry serves it. */
export async function groupOf(name: FunctionGroup, load: (handler: string) => Promise<{ handler: Handler }>) {
  const members = await Promise.all(FUNCTION_GROUPS[name].map(async (h) => [h, (await load(h)).handler] as const));
  return serveGroup(Object.fromEntries(members));
}
