import * as z from '../kernel/zod.ts';
import { visible } from '../kernel/display.ts';
import type { ChangeControl } from '../kernel/model.ts';
import type { ChangeRecord } from '../kernel/promotion-model.ts';
import { CHANGE_PROVIDERS, type ChangeProviderKind, type ChangeRef, type ChangeStatus } from './ports.ts';

/**
 * An environment's change-control rule (issue "Where the enterprise already works", part 1): promotions into it open a
 * change request in the tenant's tool and execute only once the tool approves it, inside its planned window. The rule
 * is kept on the environment's item; its credential is a tenant secret of its own purpose, sealed where it is written
 * (domain/kernel/sealed.ts) and opened only by the functions that call the tool.
 */

/**
 * ServiceNow's change_request states that let a change be implemented (the Table API's integer values, as the
 * change_request table documents them: -5 New, -4 Assess, -3 Authorize, -2 Scheduled, -1 Implement, 0 Review,
 * 3 Closed, 4 Canceled): Scheduled and Implement, with `approval` approved.
 */
export const SERVICENOW_STATES: Record<string, string> = {
  '-5': 'New',
  '-4': 'Assess',
  '-3': 'Authorize',
  '-2': 'Scheduled',
  '-1': 'Implement',
  '0': 'Review',
  '3': 'Closed',
  '4': 'Canceled',
};
export const SERVICENOW_APPROVED_STATES = ['-2', '-1'];
/** The states that end a request without implementing it (the promotion is rejected with the tool's reason). */
export const SERVICENOW_ENDED_STATES = ['3', '4'];

export type ChangeCredentials = { basic: { user: string; password: string } } | { bearer: { token: string } };

export type { ChangeControl };

const credentialsBody = /* @__PURE__ */ z.schema(() =>
  z.union([
    z.strictObject({
      basic: z.strictObject({ user: z.string().check(z.minLength(1), z.maxLength(200)), password: z.string().check(z.minLength(1), z.maxLength(500)) }),
    }),
    z.strictObject({ bearer: z.strictObject({ token: z.string().check(z.minLength(1), z.maxLength(4000)) }) }),
  ]),
);

/** PUT …/environments/{env}/change-control. Left out: credentials are kept (a GET's answer may be sent back as it is). */
export const changeControlBody = /* @__PURE__ */ z.schema(() =>
  z.object({
    provider: z.string().check(z.describe(`the change management tool: ${CHANGE_PROVIDERS.join(' or ')}`)),
    instanceUrl: z.string().check(z.minLength(1), z.maxLength(500), z.describe("the tool's base URL, e.g. https://example.service-now.com")),
    type: z.optional(z.string()).check(z.describe('normal (the default: the change board approves it) or standard (pre-approved, from `template`)')),
    template: z
      .optional(z.nullable(z.string().check(z.maxLength(200))))
      .check(z.describe("a standard change's template: its name or sys_id (checked with the tool when saved)")),
    approvedStates: z
      .optional(z.array(z.string().check(z.maxLength(40))).check(z.maxLength(20)))
      .check(z.describe('the states in which a request may be implemented (ServiceNow default: -2 Scheduled, -1 Implement, with approval approved)')),
    credentials: z
      .optional(z.unknown())
      .check(z.describe('{"basic": {"user", "password"}} or {"bearer": {"token"}} (an OAuth access token); left out: the stored one is kept')),
    credentialKind: z.optional(z.string()).check(z.describe('read-only: which credential is stored')),
    updatedAt: z.optional(z.string()),
    updatedBy: z.optional(z.string()),
  }),
);
export type ChangeControlBody = z.infer<typeof changeControlBody>;

export interface Issue {
  path: string;
  message: string;
}

/** What the body asks for, checked field by field (every issue names its field); the credential parsed when given. */
export function checkChangeControl(
  body: ChangeControlBody,
  urlIssue: (url: string) => string | null,
): { issues: Issue[]; credentials?: ChangeCredentials; provider: ChangeProviderKind; type: 'normal' | 'standard'; approvedStates: string[] } {
  const issues: Issue[] = [];
  const provider = body.provider as ChangeProviderKind;
  if (!(CHANGE_PROVIDERS as readonly string[]).includes(body.provider))
    issues.push({ path: 'body.provider', message: `unknown provider '${visible(body.provider).slice(0, 40)}': use ${CHANGE_PROVIDERS.join(' or ')}` });
  const why = urlIssue(body.instanceUrl);
  if (why) issues.push({ path: 'body.instanceUrl', message: why });
  const type = (body.type ?? 'normal') as 'normal' | 'standard';
  if (type !== 'normal' && type !== 'standard')
    issues.push({ path: 'body.type', message: `unknown type '${visible(String(body.type)).slice(0, 40)}': use normal or standard` });
  if (type === 'standard' && !body.template) issues.push({ path: 'body.template', message: 'a standard change needs its template (name or sys_id)' });
  if (type === 'normal' && body.template)
    issues.push({ path: 'body.template', message: 'only a standard change is opened from a template: set type to standard, or leave template out' });
  const approvedStates = body.approvedStates?.length ? body.approvedStates : provider === 'servicenow' ? SERVICENOW_APPROVED_STATES : [];
  if (provider === 'servicenow') {
    approvedStates.forEach((s, i) => {
      if (!(s in SERVICENOW_STATES))
        issues.push({
          path: `body.approvedStates.${i}`,
          message: `unknown state '${visible(s).slice(0, 40)}': ServiceNow's change_request states are ${Object.entries(SERVICENOW_STATES)
            .map(([k, v]) => `${k} (${v})`)
            .join(', ')}`,
        });
      else if (SERVICENOW_ENDED_STATES.includes(s))
        issues.push({ path: `body.approvedStates.${i}`, message: `state ${s} (${SERVICENOW_STATES[s]}) ends a request: it cannot approve one` });
    });
  }
  let credentials: ChangeCredentials | undefined;
  if (body.credentials !== undefined) {
    const parsed = credentialsBody.safeParse(body.credentials);
    if (parsed.success) credentials = parsed.data;
    else issues.push({ path: 'body.credentials', message: 'must be {"basic": {"user": "...", "password": "..."}} or {"bearer": {"token": "..."}}' });
  }
  return { issues, credentials, provider, type, approvedStates };
}

/** The rule as GET answers it: never the credential, only its kind. */
export function changeControlView(env: string, rule: ChangeControl) {
  return {
    environment: env,
    provider: rule.provider,
    instanceUrl: rule.instanceUrl,
    type: rule.type,
    template: rule.template ?? null,
    approvedStates: rule.approvedStates,
    credentialKind: rule.credentialKind,
    updatedAt: rule.updatedAt,
    updatedBy: rule.updatedBy,
  };
}

/** Tenant text from the tool (a reason, a state name): visible and bounded. */
export const toolText = (s: string | undefined, max = 300): string => (s ? visible(s).slice(0, max) : '');

/** What a read of the request means for the promotion now. */
export type ChangeVerdict =
  | { go: true; why: string }
  | { go: false; ended: true; why: string }
  | { go: false; ended: false; why: string; /** when to look again at the latest (a window that opens then) */ opensAt?: Date };

/** Whether the request lets the promotion execute at `now`: approved (a configured state, and ServiceNow's approval not refused) and inside its planned window. */
export function changeVerdict(rule: Pick<ChangeControl, 'provider' | 'approvedStates'>, ref: ChangeRef, s: ChangeStatus, now: Date): ChangeVerdict {
  const name = rule.provider === 'servicenow' ? (SERVICENOW_STATES[s.state] ?? toolText(s.state, 40)) : toolText(s.state, 40);
  const reason = toolText(s.reason);
  if (s.approval === 'rejected') return { go: false, ended: true, why: `change request ${ref.number} was rejected${reason ? `: ${reason}` : ''}` };
  if (rule.provider === 'servicenow' && SERVICENOW_ENDED_STATES.includes(s.state))
    return {
      go: false,
      ended: true,
      why: `change request ${ref.number} was ${s.state === '4' ? 'cancelled' : 'closed'} before it was implemented${reason ? `: ${reason}` : ''}`,
    };
  const approved = rule.approvedStates.includes(s.state) && (s.approval === undefined || s.approval === 'approved' || s.approval === 'not requested');
  if (!approved)
    return {
      go: false,
      ended: false,
      why: `change request ${ref.number} is ${name}${s.approval ? ` (approval: ${toolText(s.approval, 40)})` : ''}, not approved yet`,
    };
  if (s.window) {
    const start = new Date(s.window.start);
    const end = new Date(s.window.end);
    if (now < start)
      return {
        go: false,
        ended: false,
        why: `change request ${ref.number} is approved for ${s.window.start} to ${s.window.end}; its window has not opened`,
        opensAt: start,
      };
    // Past its window: it waits for the board to plan a new one (never executed outside the window it was approved for).
    if (now > end)
      return {
        go: false,
        ended: false,
        why: `change request ${ref.number}'s window (${s.window.start} to ${s.window.end}) has passed; it waits for a new one`,
      };
  }
  return { go: true, why: `change request ${ref.number} is approved (${name})${s.window ? ` and its window is open until ${s.window.end}` : ''}` };
}

/** The next look at a waiting request: 1, 2, 4 … minutes after each look, at most 30 (never a poll per minute); a window's opening sooner. */
export function nextCheck(now: Date, looks: number, opensAt?: Date): Date {
  const backoff = new Date(now.getTime() + Math.min(30, 2 ** Math.min(looks, 5)) * 60_000);
  return opensAt && opensAt > now && opensAt < backoff ? opensAt : backoff;
}

/** The change request as a promotion shows it. */
export function changeRequestView(r: ChangeRecord | null | undefined) {
  if (!r) return null;
  return {
    provider: r.provider,
    number: r.ref?.number ?? null,
    url: r.ref?.url ?? null,
    state: r.state,
    approval: r.approval ?? null,
    window: r.window ?? null,
    digest: r.digest,
    checkedAt: r.checkedAt,
    reason: r.reason,
    closed: r.closed ?? null,
    voided: r.voided ?? [],
  };
}
