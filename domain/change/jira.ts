import * as z from '../kernel/zod.ts';
import { tenantUrl } from '../kernel/url-policy.ts';
import type { ChangeStatus } from './ports.ts';

/**
 * The Jira Service Management part of a change-control rule (issue "Where the enterprise already works",
 * part 1): where the tenant's site is, which service desk and request type a change request is raised
 * with, which workflow statuses mean approved, rejected or cancelled, how a request is closed, and which
 * custom fields hold the planned window. Pure: the rule's schema (domain/change) includes it, the adapter
 * (functions/adapters/change/jira.ts) is opened with it.
 *
 * The defaults are the statuses of the change workflow Jira Service Management's IT service management
 * template ships (Planning → Awaiting approval → Awaiting implementation → Implementing → Completed, with
 * Declined, Canceled and Failed beside them); a site whose workflow names them otherwise says so here.
 */

/** The change workflow's statuses in which a change may be implemented (JSM's IT service management template). */
export const JIRA_APPROVED_STATUSES = ['Awaiting implementation', 'Implementing'] as const;
/** The statuses that end a change request refused by the change board. */
export const JIRA_REJECTED_STATUSES = ['Declined'] as const;
/** The statuses that end a change request withdrawn before it was implemented. */
export const JIRA_CANCELLED_STATUSES = ['Canceled', 'Cancelled'] as const;
/** The transitions (or the statuses they lead to) that close a change request. */
export const JIRA_CLOSE_SUCCESSFUL = 'Completed';
export const JIRA_CLOSE_UNSUCCESSFUL = 'Failed';

const numericId = (what: string, where: string) =>
  z
    .string()
    .check(z.trim(), z.regex(/^[1-9][0-9]{0,17}$/, `must be the ${what}'s numeric id (${where})`))
    .check(z.describe(`The ${what}'s numeric id (${where})`));

const statusName = () =>
  z.string().check(z.trim(), z.minLength(1, 'a status name may not be empty'), z.maxLength(255, 'a status name is at most 255 characters'));

const statusList = (what: string, fallback: readonly string[]) =>
  z._default(z.array(statusName()).check(z.minLength(1, `name at least one status that means ${what}`), z.maxLength(20, 'at most 20 statuses')), [...fallback]);

const customField = (what: string) =>
  z.optional(
    z
      .string()
      .check(
        z.trim(),
        z.regex(/^customfield_[0-9]{1,12}$/, `must be the id of the ${what} field, like customfield_10041 (Jira admin › Fields › the field's id)`),
      )
      .check(z.describe(`The id of the request's ${what} field (a date-time custom field, like customfield_10041)`)),
  );

const transitionName = (what: string, fallback: string) =>
  z._default(
    z
      .string()
      .check(z.trim(), z.minLength(1, `name the transition (or the status it leads to) that closes a change request as ${what}`), z.maxLength(255))
      .check(z.describe(`The workflow transition, or the status it leads to, that closes a request as ${what}`)),
    fallback,
  );

/** The settings of a Jira Service Management change-control rule, as a tenant writes them. */
export const jiraChangeSettings = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      site: tenantUrl().check(
        z.superRefine((value, ctx) => {
          const u = URL.canParse(value) ? new URL(value) : null;
          if (u && (u.search || u.hash))
            ctx.addIssue({ code: 'custom', message: 'must be the site address alone, like https://your-company.atlassian.net (no ?query or #fragment)' });
        }),
        z.describe('The Jira site, like https://your-company.atlassian.net: https, on a public host (called through the outbound rules)'),
      ),
      serviceDeskId: numericId('service desk', 'GET /rest/servicedeskapi/servicedesk lists them; the number in the portal URL'),
      requestTypeId: numericId('request type', 'GET /rest/servicedeskapi/servicedesk/{serviceDeskId}/requesttype lists them'),
      approvedStatuses: statusList('approved: the change may be implemented', JIRA_APPROVED_STATUSES),
      rejectedStatuses: statusList('rejected by the change board', JIRA_REJECTED_STATUSES),
      cancelledStatuses: statusList('cancelled', JIRA_CANCELLED_STATUSES),
      closeSuccessful: transitionName('successful', JIRA_CLOSE_SUCCESSFUL),
      closeUnsuccessful: transitionName('unsuccessful', JIRA_CLOSE_UNSUCCESSFUL),
      plannedStartField: customField('Planned start'),
      plannedEndField: customField('Planned end'),
    })
    .check(
      z.superRefine((s, ctx) => {
        if (!!s.plannedStartField !== !!s.plannedEndField) {
          const missing = s.plannedStartField ? 'plannedEndField' : 'plannedStartField';
          ctx.addIssue({
            code: 'custom',
            path: [missing],
            message: 'the planned window needs both fields: name the Planned start and the Planned end field, or neither',
          });
        }
        const seen = new Map<string, string>();
        for (const key of ['approvedStatuses', 'rejectedStatuses', 'cancelledStatuses'] as const) {
          s[key].forEach((name, i) => {
            const other = seen.get(name.toLowerCase());
            if (other && other !== key)
              ctx.addIssue({ code: 'custom', path: [key, i], message: `"${name}" is also in ${other}: a status can mean only one thing` });
            else seen.set(name.toLowerCase(), key);
          });
        }
      }),
    ),
);

export type JiraChangeSettings = z.output<typeof jiraChangeSettings>;

/** The secret a Jira rule is opened with: an Atlassian account's email and API token (basic), or a bearer token (OAuth 2.0, or a Data Center personal access token). */
export const jiraCredential = /* @__PURE__ */ z.schema(() =>
  z.union([
    z.strictObject({
      email: z.string().check(z.trim(), z.email('must be the email address of the Atlassian account the API token belongs to')),
      apiToken: z.string().check(z.minLength(1, 'the API token may not be empty'), z.maxLength(4096)),
    }),
    z.strictObject({ bearerToken: z.string().check(z.minLength(1, 'the bearer token may not be empty'), z.maxLength(8192)) }),
  ]),
);

export type JiraCredential = z.output<typeof jiraCredential>;

/**
 * The label a change request carries so a create whose answer was lost is found again (JQL `labels = …`):
 * `stageline-` and the promotion's id, in the characters a Jira label may hold (no spaces), at most 255.
 */
export function jiraCorrelationLabel(correlationId: string): string {
  return `stageline-${correlationId.replace(/[^A-Za-z0-9_.-]/g, '_')}`.slice(0, 255);
}

/** What a Jira change request's status means for the gate that waits on it. */
export type JiraVerdict = { kind: 'approved' } | { kind: 'waiting' } | { kind: 'rejected'; reason: string } | { kind: 'cancelled'; reason: string };

const inList = (list: readonly string[], name: string) => list.some((s) => s.toLowerCase() === name.trim().toLowerCase());

/**
 * Reads a status the adapter returned with the rule's settings: an approval declined in the request's
 * approval step, or a rejected status, is a rejection; a cancelled status a cancellation; an approved
 * status lets the change go (the planned window is the gate's, apart); anything else waits.
 */
export function jiraVerdict(
  settings: Pick<JiraChangeSettings, 'approvedStatuses' | 'rejectedStatuses' | 'cancelledStatuses'>,
  status: ChangeStatus,
): JiraVerdict {
  const why = (fallback: string) => status.reason || fallback;
  if (inList(settings.cancelledStatuses, status.state)) return { kind: 'cancelled', reason: why(`the change request was cancelled in Jira (${status.state})`) };
  if (inList(settings.rejectedStatuses, status.state) || status.approval?.toLowerCase() === 'declined')
    return { kind: 'rejected', reason: why(`the change request was declined in Jira (${status.state})`) };
  if (inList(settings.approvedStatuses, status.state)) return { kind: 'approved' };
  return { kind: 'waiting' };
}
