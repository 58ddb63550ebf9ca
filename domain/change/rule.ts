import * as z from '../kernel/zod.ts';
import { visible } from '../kernel/display.ts';
import type { ChangeControl, JiraRule } from '../kernel/model.ts';
import type { ChangeRecord } from '../kernel/promotion-model.ts';
import {
  JIRA_APPROVED_STATUSES,
  JIRA_CANCELLED_STATUSES,
  JIRA_REJECTED_STATUSES,
  jiraChangeSettings,
  jiraCredential,
  jiraVerdict,
  type JiraCredential,
} from './jira.ts';
import { SERVICENOW_STATES } from './servicenow-states.ts';
import { CHANGE_PROVIDERS, type ChangeFound, type ChangeProviderKind, type ChangeRef, type ChangeStatus } from './ports.ts';

/**
 * An environment's change-control rule (issue "Where the enterprise already works", part 1): promotions into it open a
 * change request in the tenant's tool and execute only once the tool approves it, inside its planned window. The rule
 * is kept on the environment's item; its credential is a tenant secret of its own purpose, sealed where it is written
 * (domain/kernel/sealed.ts) and opened only by the functions that call the tool.
 */

export { SERVICENOW_STATES };
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
    instanceUrl: z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(500),
        z.describe("the tool's base URL, e.g. https://example.service-now.com, or the Jira site, e.g. https://example.atlassian.net"),
      ),
    type: z
      .optional(z.string())
      .check(z.describe('normal (the default: the change board approves it) or standard (pre-approved, from `template`; ServiceNow only)')),
    template: z
      .optional(z.nullable(z.string().check(z.maxLength(200))))
      .check(z.describe("a standard change's template: its name or sys_id (checked with the tool when saved; ServiceNow only)")),
    approvedStates: z
      .optional(z.array(z.string().check(z.maxLength(255))).check(z.maxLength(20)))
      .check(
        z.describe(
          'the states in which a request may be implemented (ServiceNow default: -2 Scheduled, -1 Implement, with approval approved; Jira: the workflow status names, default Awaiting implementation, Implementing)',
        ),
      ),
    jira: z
      .optional(z.nullable(z.unknown()))
      .check(
        z.describe(
          'Jira only: {"serviceDeskId", "requestTypeId"} (numeric ids), and optionally rejectedStatuses, cancelledStatuses, closeSuccessful, closeUnsuccessful, plannedStartField, plannedEndField (docs/operations/change-control-jira.md)',
        ),
      ),
    credentials: z
      .optional(z.unknown())
      .check(
        z.describe(
          '{"basic": {"user", "password"}} or {"bearer": {"token"}} (an OAuth access token; for Jira, basic is the Atlassian account email and its API token); left out: the stored one is kept',
        ),
      ),
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
): {
  issues: Issue[];
  credentials?: ChangeCredentials;
  provider: ChangeProviderKind;
  type: 'normal' | 'standard';
  approvedStates: string[];
  jira?: JiraRule;
} {
  const issues: Issue[] = [];
  const provider = body.provider as ChangeProviderKind;
  if (!(CHANGE_PROVIDERS as readonly string[]).includes(body.provider))
    issues.push({ path: 'body.provider', message: `unknown provider '${visible(body.provider).slice(0, 40)}': use ${CHANGE_PROVIDERS.join(' or ')}` });
  const why = urlIssue(body.instanceUrl);
  if (why) issues.push({ path: 'body.instanceUrl', message: why });
  const type = (body.type ?? 'normal') as 'normal' | 'standard';
  if (type !== 'normal' && type !== 'standard')
    issues.push({ path: 'body.type', message: `unknown type '${visible(String(body.type)).slice(0, 40)}': use normal or standard` });
  if (provider === 'jira') {
    if (type === 'standard')
      issues.push({
        path: 'body.type',
        message: "Jira Service Management raises every change with the rule's request type (body.jira.requestTypeId): leave type out or set it to normal",
      });
    else if (body.template)
      issues.push({
        path: 'body.template',
        message: 'a Jira rule has no template: the change is raised with its request type (body.jira.requestTypeId); leave template out',
      });
  } else {
    if (type === 'standard' && !body.template) issues.push({ path: 'body.template', message: 'a standard change needs its template (name or sys_id)' });
    if (type === 'normal' && body.template)
      issues.push({ path: 'body.template', message: 'only a standard change is opened from a template: set type to standard, or leave template out' });
  }
  if (provider !== 'jira' && body.jira !== undefined && body.jira !== null)
    issues.push({ path: 'body.jira', message: 'only a Jira rule takes body.jira: leave it out (or null) for this provider' });
  const approvedStates = body.approvedStates?.length
    ? body.approvedStates
    : provider === 'servicenow'
      ? SERVICENOW_APPROVED_STATES
      : provider === 'jira'
        ? [...JIRA_APPROVED_STATUSES]
        : [];
  let jira: JiraRule | undefined;
  if (provider === 'jira') {
    const checked = checkJira(body, !!why);
    issues.push(...checked.issues);
    if (checked.rule) {
      jira = checked.rule.jira;
      approvedStates.splice(0, approvedStates.length, ...checked.rule.approvedStates);
    }
  }
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
    if (!parsed.success)
      issues.push({ path: 'body.credentials', message: 'must be {"basic": {"user": "...", "password": "..."}} or {"bearer": {"token": "..."}}' });
    else if (provider === 'jira') {
      const mapped = jiraCredentialCheck(parsed.data);
      if ('issue' in mapped) issues.push(mapped.issue);
      else credentials = parsed.data;
    } else credentials = parsed.data;
  }
  return { issues, credentials, provider, type, approvedStates, ...(jira ? { jira } : {}) };
}

/** The Jira part of a rule, checked with the settings' own schema (domain/change/jira.ts): each issue named as the body spells it. */
function checkJira(body: ChangeControlBody, urlRefused: boolean): { issues: Issue[]; rule?: { jira: JiraRule; approvedStates: string[] } } {
  const given = body.jira;
  if (given === undefined || given === null || typeof given !== 'object' || Array.isArray(given))
    return {
      issues: [
        {
          path: 'body.jira',
          message: 'a Jira rule needs its service desk and request type: {"serviceDeskId": "4", "requestTypeId": "42"} (their numeric ids)',
        },
      ],
    };
  const issues: Issue[] = [];
  const own = given as Record<string, unknown>;
  if ('site' in own) issues.push({ path: 'body.jira.site', message: "the Jira site is the rule's instanceUrl: set it there and leave body.jira.site out" });
  if ('approvedStatuses' in own)
    issues.push({
      path: 'body.jira.approvedStatuses',
      message: "the approved statuses are the rule's approvedStates: set them there and leave body.jira.approvedStatuses out",
    });
  if (issues.length) return { issues };
  const parsed = jiraChangeSettings.safeParse({
    ...own,
    site: body.instanceUrl,
    ...(body.approvedStates?.length ? { approvedStatuses: body.approvedStates } : {}),
  });
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      const [head, ...rest] = i.path.map(String);
      if (head === 'site') {
        if (!urlRefused) issues.push({ path: 'body.instanceUrl', message: i.message });
      } else if (head === 'approvedStatuses') issues.push({ path: ['body.approvedStates', ...rest].join('.'), message: i.message });
      else if (i.code === 'unrecognized_keys')
        issues.push({
          path: 'body.jira',
          message: `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => visible(k).slice(0, 40)).join(', ')}: a Jira rule takes serviceDeskId, requestTypeId, rejectedStatuses, cancelledStatuses, closeSuccessful, closeUnsuccessful, plannedStartField, plannedEndField`,
        });
      else
        issues.push({
          path: ['body.jira', ...(head === undefined ? [] : [head]), ...rest].join('.'),
          // A status in two lists is named as the body spells the other list.
          message: i.message.replace(/\b(approvedStatuses|rejectedStatuses|cancelledStatuses)\b/g, (k) =>
            k === 'approvedStatuses' ? 'approvedStates' : `jira.${k}`,
          ),
        });
    }
    return { issues };
  }
  const { site: _site, approvedStatuses, ...jira } = parsed.data;
  return { issues, rule: { jira: jira as JiraRule, approvedStates: approvedStatuses } };
}

/** The rule's credential as Jira takes it: basic is an Atlassian account's email and its API token, bearer a token. */
function jiraCredentialCheck(c: ChangeCredentials): { credential: JiraCredential } | { issue: Issue } {
  const parsed = jiraCredential.safeParse('basic' in c ? { email: c.basic.user, apiToken: c.basic.password } : { bearerToken: c.bearer.token });
  if (parsed.success) return { credential: parsed.data };
  const first = parsed.error.issues[0];
  const field = 'basic' in c ? (first?.path[0] === 'apiToken' ? 'basic.password' : 'basic.user') : 'bearer.token';
  const message =
    field === 'basic.user'
      ? 'must be the email address of the Atlassian account the API token belongs to'
      : field === 'basic.password'
        ? "must be the Atlassian account's API token"
        : (first?.message ?? 'must be a bearer token');
  return { issue: { path: `body.credentials.${field}`, message } };
}

/** The credential a Jira rule holds, mapped onto what the Jira adapter takes; throws naming what is wrong. */
export function jiraCredentialOf(c: ChangeCredentials): JiraCredential {
  const checked = jiraCredentialCheck(c);
  if ('issue' in checked) throw new Error(`the Jira credential's ${checked.issue.path.replace(/^body\.credentials\./, '')} ${checked.issue.message}`);
  return checked.credential;
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
    jira: rule.jira ?? null,
    credentialKind: rule.credentialKind,
    updatedAt: rule.updatedAt,
    updatedBy: rule.updatedBy,
  };
}

/** Tenant text from the tool (a reason, a state name): visible and bounded. */
export const toolText = (s: string | undefined, max = 300): string => (s ? visible(s).slice(0, max) : '');

/**
 * Of the requests the tool holds under a promotion's correlation values, the one Stageline opened (the oldest that
 * carries `bound`, the value with the promotion's correlation token, and that the tool does not say someone other than
 * the integration user opened), and those it did not open: any without the token, or opened by another account. A later
 * request with the token by the integration user (two creates of one claim) is neither: it is Stageline's, not adopted.
 */
export function trustFound(found: readonly ChangeFound[], bound: string): { own: ChangeFound | null; foreign: ChangeFound[] } {
  const foreign = found.filter((f) => f.correlation !== bound || f.byIntegrationUser === false);
  return { own: found.find((f) => !foreign.includes(f)) ?? null, foreign };
}

/** Why a request found by correlation is not taken as the promotion's (for its audit entry): its number, its id, and what is wrong. */
export function foreignText(f: ChangeFound, bound: string): string {
  const why =
    f.correlation !== bound
      ? "it does not carry the promotion's correlation token"
      : `it was opened by ${toolText(f.createdBy ?? 'another account', 100)}, not by the integration user`;
  return `${toolText(f.ref.number, 40)} (id ${toolText(f.ref.id, 64)}): ${why}`;
}

/** What a read of the request means for the promotion now. */
export type ChangeVerdict =
  | { go: true; why: string }
  | { go: false; ended: true; why: string }
  | { go: false; ended: false; why: string; /** when to look again at the latest (a window that opens then) */ opensAt?: Date };

/** Whether the request lets the promotion execute at `now`: approved (a configured state, and ServiceNow's approval not refused) and inside its planned window. */
export function changeVerdict(
  rule: Pick<ChangeControl, 'provider' | 'approvedStates'> & { jira?: JiraRule | undefined },
  ref: ChangeRef,
  s: ChangeStatus,
  now: Date,
): ChangeVerdict {
  const name = rule.provider === 'servicenow' ? (SERVICENOW_STATES[s.state] ?? toolText(s.state, 40)) : toolText(s.state, 40);
  const reason = toolText(s.reason);
  let approved: boolean;
  if (rule.provider === 'jira') {
    // Jira: the rule's status lists (a status the workflow names otherwise is the rule's), declined in the approval step too.
    const v = jiraVerdict(
      {
        approvedStatuses: rule.approvedStates,
        rejectedStatuses: rule.jira?.rejectedStatuses ?? [...JIRA_REJECTED_STATUSES],
        cancelledStatuses: rule.jira?.cancelledStatuses ?? [...JIRA_CANCELLED_STATUSES],
      },
      s,
    );
    if (v.kind === 'rejected' || v.kind === 'cancelled')
      return {
        go: false,
        ended: true,
        why: `change request ${ref.number} was ${v.kind === 'rejected' ? 'declined' : 'cancelled'}${reason ? `: ${reason}` : ` in Jira (${name})`}`,
      };
    approved = v.kind === 'approved';
  } else {
    const ended = servicenowEnded(ref, s, reason);
    if (ended) return ended;
    approved = rule.approvedStates.includes(s.state) && (s.approval === undefined || s.approval === 'approved' || s.approval === 'not requested');
  }
  return windowVerdict(ref, s, name, approved, now);
}

function servicenowEnded(ref: ChangeRef, s: ChangeStatus, reason: string): ChangeVerdict | null {
  if (s.approval === 'rejected') return { go: false, ended: true, why: `change request ${ref.number} was rejected${reason ? `: ${reason}` : ''}` };
  if (SERVICENOW_ENDED_STATES.includes(s.state))
    return {
      go: false,
      ended: true,
      why: `change request ${ref.number} was ${s.state === '4' ? 'cancelled' : 'closed'} before it was implemented${reason ? `: ${reason}` : ''}`,
    };
  return null;
}

/** An approved request goes inside its planned window (when it has one); otherwise it waits. */
function windowVerdict(ref: ChangeRef, s: ChangeStatus, name: string, approved: boolean, now: Date): ChangeVerdict {
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
