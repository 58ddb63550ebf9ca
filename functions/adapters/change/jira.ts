import { HttpException } from 'jira.js/clients/httpException';
import type { Config } from 'jira.js/config';
import { ServiceDeskClient } from 'jira.js/serviceDesk';
import { Version3Client } from 'jira.js/version3';
import { jiraCorrelationLabel, jiraVerdict, type JiraChangeSettings, type JiraCredential } from '#domain/change/jira';
import {
  ChangeRefused,
  ChangeUnavailable,
  type ChangeOutcome,
  type ChangeProvider,
  type ChangeRef,
  type ChangeFound,
  type ChangeRequestDraft,
  type ChangeStatus,
  type ChangeTemplateCheck,
} from '#domain/change/ports';
import { guardedFetch, OutboundRefused, type GuardedInit } from '../outbound.ts';

/**
 * Change control in Jira Service Management (issue "Where the enterprise already works", part 1), through
 * `jira.js`, which is generated from Atlassian's published OpenAPI descriptions: every request below is
 * one of its typed calls, so what Stageline sends type-checks against the description.
 *
 * - create: a customer request of the rule's request type in its service desk (JSM `POST /request`),
 *   summary and description, and the label `stageline-<correlation value>` (the promotion's id and its
 *   correlation token) so a create whose answer was lost is found again (the request type must show the
 *   Labels field, see docs/operations/change-control-jira.md);
 * - find: the platform's JQL search (JSM has no search) for that label, with each request's creator (its
 *   reporter when Jira leaves the creator out), compared with the credential's own account (`/myself`);
 * - read: the request's current status (JSM), its approvals' final decision (JSM approvals), the planned
 *   window from the configured custom fields (platform issue fields), and, when the request was
 *   declined or cancelled, the last comment on it as the tool's reason;
 * - note: an internal comment (JSM comment, public: false);
 * - close: the workflow transition named in the rule (platform transitions: JSM's customer transitions
 *   are the customer's, not the change manager's), then an internal comment;
 * - cancel (a promotion that never executed, a request voided by a rebase): the transition to one of the
 *   rule's cancelled statuses, then an internal comment.
 *
 * Transport: jira.js sends through axios; its fetch adapter is given `guardedFetch`, so every request
 * goes through the outbound rules (https, public addresses after DNS, no redirects, bounded time) and
 * its answer is bounded in size. An answer is mapped onto the port's two errors: 429/5xx/no answer →
 * ChangeUnavailable; anything else that is not a success → ChangeRefused with Jira's own words.
 */

/** The fetch jira.js's transport is given: guardedFetch unless a test passes its own (that must apply the same rules). */
export type JiraFetch = (url: string, init: GuardedInit) => Promise<Response>;

/** Longest answer read from Jira (a request with its fields, a page of comments). */
const MAX_ANSWER_BYTES = 1024 * 1024;
/** How long one request may take before it counts as no answer (transient). */
const REQUEST_TIMEOUT_MS = 15_000;
/** Jira's own words carried in an error, at most. */
const MAX_WORDS = 500;
/** Jira's limits: a summary is at most 255 characters, a text field 32,767. */
const SUMMARY_MAX = 255;
const TEXT_MAX = 32_000;
/** Pages of comments read for a rejection's reason, at most. */
const COMMENT_PAGES = 10;
const ISSUE_ID = /^[1-9][0-9]{0,17}$/;
/** Requests read per label, at most (oldest first): one's own, and a few others may have raised with it. */
const FIND_LIMIT = 10;
const ISSUE_KEY = /^[A-Z][A-Z0-9_]{0,254}-[1-9][0-9]{0,17}$/;

/** A Jira connection: the port's calls, and a request's cancellation (the transition to a cancelled status). */
export type JiraChangeProvider = ChangeProvider &
  Required<Pick<ChangeTemplateCheck, 'checkRequestType'>> & { cancel(ref: ChangeRef, text: string): Promise<void> };

export function jiraChangeProvider(settings: JiraChangeSettings, credential: JiraCredential, fetchImpl: JiraFetch = guardedFetch): JiraChangeProvider {
  const site = settings.site.replace(/\/+$/, '');
  const common = {
    host: site,
    baseRequestConfig: {
      adapter: 'fetch',
      env: { fetch: (input: Request | string | URL, init?: RequestInit) => throughOutbound(fetchImpl, input, init) },
      maxRedirects: 0,
      maxContentLength: MAX_ANSWER_BYTES,
      timeout: REQUEST_TIMEOUT_MS,
      headers: { Accept: 'application/json' },
    },
  };
  // Basic (an Atlassian account's email and API token) or a bearer token (jira.js sends an OAuth 2.0 access token as one).
  const config: Config =
    'email' in credential
      ? { ...common, authentication: { basic: { email: credential.email, apiToken: credential.apiToken } } }
      : { ...common, authentication: { oauth2: { accessToken: credential.bearerToken } } };
  const desk = new ServiceDeskClient(config);
  const platform = new Version3Client(config);
  const refOf = (id: string, key: string): ChangeRef => {
    // Ids Jira answered go into request paths: only the shapes Jira gives (a numeric issue id, a PROJECT-123 key).
    if (!ISSUE_ID.test(id) || !ISSUE_KEY.test(key)) throw new ChangeUnavailable('Jira answered a request id or key that is not one Jira gives');
    return { provider: 'jira', id, number: key, url: `${site}/browse/${key}` };
  };
  const idOf = (ref: ChangeRef): string => {
    if (ref.provider !== 'jira' || !ISSUE_ID.test(ref.id))
      throw new ChangeRefused(`${ref.number} is not a Jira request this rule opened (its id is not a Jira issue id)`);
    return ref.id;
  };

  const call = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      throw answerError(what, site, err);
    }
  };

  /** The credential's own account (its account id; a Data Center account's key or name), asked once. */
  let self: Promise<string | null> | undefined;
  const whoAmI = () =>
    (self ??= call('reading the account of the credential', () => platform.myself.getCurrentUser()).then(
      (me) => me.accountId || me.key || me.name || null,
      (err: unknown) => {
        self = undefined;
        throw err;
      },
    ));

  async function lastComment(issueIdOrKey: string): Promise<string | undefined> {
    let last: string | undefined;
    for (let page = 0, start = 0; page < COMMENT_PAGES; page++) {
      const got = await call('reading the request comments', () => desk.request.getRequestComments({ issueIdOrKey, start, limit: 100 }));
      const values = got.values ?? [];
      const body = values.at(-1)?.body;
      if (body) last = body;
      if (got.isLastPage !== false || values.length === 0) break;
      start += values.length;
    }
    return last;
  }

  /** A lookup of what the rule names: Jira's 404 is the field's refusal, in Jira's own words; any other answer as every call's. */
  async function lookUp(field: string, missing: string, what: string, run: () => Promise<unknown>): Promise<void> {
    try {
      await run();
    } catch (err) {
      const status = err instanceof HttpException ? err.status : 0;
      const answered = err instanceof HttpException && typeof err.response === 'object' && err.response !== null && 'data' in err.response;
      if (status !== 404 || !answered) throw answerError(what, site, err);
      // Jira's sentence without its closing period: it is quoted inside this one.
      const words = clean(jiraWords((err.response as { data?: unknown }).data)).replace(/[.\s]+$/, '');
      throw new ChangeRefused(
        `Jira has no ${missing} this account can see${words ? ` (Jira answered: ${words})` : ''}: check the id in Jira's project settings`,
        404,
        field,
      );
    }
  }

  return {
    kind: 'jira',

    async checkRequestType(): Promise<void> {
      const { serviceDeskId, requestTypeId } = settings;
      await lookUp('jira.serviceDeskId', `service desk ${serviceDeskId}`, 'looking up the service desk', () =>
        desk.serviceDesk.getServiceDeskById({ serviceDeskId }),
      );
      await lookUp('jira.requestTypeId', `request type ${requestTypeId} in service desk ${serviceDeskId}`, 'looking up the request type', () =>
        desk.serviceDesk.getRequestTypeById({ serviceDeskId, requestTypeId: Number(requestTypeId) }),
      );
    },

    async create(draft: ChangeRequestDraft): Promise<ChangeRef> {
      const created = await call('creating the change request', () =>
        desk.request.createCustomerRequest({
          serviceDeskId: settings.serviceDeskId,
          requestTypeId: settings.requestTypeId,
          requestFieldValues: {
            summary: bounded(draft.title, SUMMARY_MAX),
            description: bounded(describe(draft), TEXT_MAX),
            labels: [jiraCorrelationLabel(draft.correlationId)],
          },
        }),
      );
      if (!created.issueId || !created.issueKey) throw new ChangeUnavailable('Jira answered the create without the request id and key');
      return refOf(created.issueId, created.issueKey);
    },

    async find(correlationIds: readonly string[]): Promise<ChangeFound[]> {
      const me = await whoAmI();
      const found: ChangeFound[] = [];
      for (const correlationId of correlationIds) {
        const label = jiraCorrelationLabel(correlationId);
        const page = await call('searching for the change request', () =>
          platform.issueSearch.searchForIssuesUsingJqlEnhancedSearch({
            jql: `labels = "${label}" ORDER BY created ASC`,
            fields: ['summary', 'labels', 'creator', 'reporter'],
            maxResults: FIND_LIMIT,
          }),
        );
        for (const issue of page.issues ?? []) {
          const by = issue.fields?.creator ?? issue.fields?.reporter;
          const createdBy = by?.accountId || by?.key || by?.name || null;
          found.push({
            ref: refOf(issue.id, issue.key),
            correlation: (issue.fields?.labels ?? []).includes(label) ? correlationId : null,
            createdBy,
            byIntegrationUser: me && createdBy ? createdBy === me : null,
          });
        }
      }
      return found;
    },

    async read(ref: ChangeRef): Promise<ChangeStatus> {
      const issueIdOrKey = idOf(ref);
      const request = await call('reading the change request', () => desk.request.getCustomerRequestByIdOrKey({ issueIdOrKey }));
      const state = request.currentStatus?.status;
      if (!state) throw new ChangeUnavailable(`Jira answered ${ref.number} without its status`);
      const approvals = await call('reading the approvals', () => desk.request.getApprovals({ issueIdOrKey, start: 0, limit: 50 }));
      const decisions = (approvals.values ?? []).filter((a) => a.finalDecision);
      const approval = decisions.at(-1)?.finalDecision;
      const status: ChangeStatus = { state, ...(approval ? { approval } : {}) };
      if (settings.plannedStartField && settings.plannedEndField) {
        const [startField, endField] = [settings.plannedStartField, settings.plannedEndField];
        const issue = await call('reading the planned window', () => platform.issues.getIssue({ issueIdOrKey, fields: [startField, endField] }));
        const start = instant(issue.fields?.[startField]);
        const end = instant(issue.fields?.[endField]);
        if (start && end) status.window = { start, end };
      }
      const verdict = jiraVerdict(settings, status);
      if (verdict.kind === 'rejected' || verdict.kind === 'cancelled') {
        const said = await lastComment(issueIdOrKey);
        if (said) status.reason = bounded(said.replace(/\s+/g, ' ').trim(), MAX_WORDS);
      }
      return status;
    },

    async note(ref: ChangeRef, text: string): Promise<void> {
      const issueIdOrKey = idOf(ref);
      await call('adding a note', () => desk.request.createRequestComment({ issueIdOrKey, body: bounded(text, TEXT_MAX), public: false }));
    },

    async close(ref: ChangeRef, outcome: ChangeOutcome, text: string): Promise<void> {
      const want = outcome === 'successful' ? settings.closeSuccessful : settings.closeUnsuccessful;
      await moveTo(
        ref,
        [want],
        `closing the request (${want})`,
        `name the transition that closes a change request as ${outcome} in the rule (${outcome === 'successful' ? 'closeSuccessful' : 'closeUnsuccessful'})`,
      );
      await call('adding the closing note', () => desk.request.createRequestComment({ issueIdOrKey: idOf(ref), body: bounded(text, TEXT_MAX), public: false }));
    },

    async cancel(ref: ChangeRef, text: string): Promise<void> {
      await moveTo(
        ref,
        settings.cancelledStatuses,
        'cancelling the request',
        "list the status a cancelled change request moves to in the rule's cancelledStatuses",
      );
      await call('adding the cancelling note', () =>
        desk.request.createRequestComment({ issueIdOrKey: idOf(ref), body: bounded(text, TEXT_MAX), public: false }),
      );
    },
  };

  /**
   * Moves the request through the workflow transition named one of `wants` (or leading to a status so named); a request
   * already there (a move whose answer was lost) is left as it is; a workflow that offers no such transition is refused
   * with the names it does offer.
   */
  async function moveTo(ref: ChangeRef, wants: readonly string[], what: string, fix: string): Promise<void> {
    const issueIdOrKey = idOf(ref);
    const same = (name: string | undefined) => !!name && wants.some((w) => name.trim().toLowerCase() === w.trim().toLowerCase());
    const offered = await call('reading the transitions', () => platform.issues.getTransitions({ issueIdOrKey }));
    const transitions = offered.transitions ?? [];
    const transition = transitions.find((t) => same(t.name)) ?? transitions.find((t) => same(t.to?.name));
    if (transition?.id) {
      const id = transition.id;
      await call(what, () => platform.issues.doTransition({ issueIdOrKey, transition: { id } }));
      return;
    }
    const issue = await call('reading the request status', () => platform.issues.getIssue({ issueIdOrKey, fields: ['status'] }));
    const now = issue.fields?.status?.name;
    if (same(now)) return;
    const names = transitions.map((t) => t.name).filter(Boolean);
    throw new ChangeRefused(
      bounded(
        `Jira offers no transition "${wants.join('" or "')}" for ${ref.number} in status "${now ?? 'unknown'}"${names.length ? ` (it offers: ${names.join(', ')})` : ''}: ${fix}`,
        MAX_WORDS,
      ),
    );
  }
}

/** The description the request is opened with: the domain's, with the release, its digest and the decision record always in it. */
function describe(draft: ChangeRequestDraft): string {
  const lines = [draft.description.trim()];
  if (!draft.description.includes(draft.release.digest)) lines.push(`Release: ${draft.release.id} (${draft.release.digest})`);
  if (!draft.description.includes(draft.decisionUrl)) lines.push(`Decision record: ${draft.decisionUrl}`);
  lines.push(`Stageline promotion: ${draft.correlationId}`);
  return lines.filter(Boolean).join('\n\n');
}

/** A date-time custom field's value (Jira writes `2026-11-30T10:00:00.000+0000`) as an ISO 8601 instant, or undefined. */
function instant(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

function bounded(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Jira's own words in an error answer: JSM's `errorMessage`, the platform's `errorMessages` and `errors`, or `message`. */
function jiraWords(data: unknown): string {
  if (typeof data === 'string') return data.replace(/<[^>]*>/g, ' ');
  if (!data || typeof data !== 'object') return '';
  const d = data as { errorMessage?: unknown; errorMessages?: unknown; errors?: unknown; message?: unknown };
  const words: string[] = [];
  if (typeof d.errorMessage === 'string') words.push(d.errorMessage);
  if (Array.isArray(d.errorMessages)) words.push(...d.errorMessages.filter((m): m is string => typeof m === 'string'));
  if (d.errors && typeof d.errors === 'object') for (const [field, m] of Object.entries(d.errors)) if (typeof m === 'string') words.push(`${field}: ${m}`);
  if (!words.length && typeof d.message === 'string') words.push(d.message);
  return words.join('; ');
}

const clean = (text: string) =>
  bounded(
    text
      .replace(/[\u0000-\u001f\u007f]+/g, ' ')
      .replace(/\s+/g, ' ')
      .trim(),
    MAX_WORDS,
  );

/** The port's error for what a call to Jira ended with. */
function answerError(what: string, site: string, err: unknown): Error {
  if (err instanceof ChangeRefused || err instanceof ChangeUnavailable) return err;
  const answered = err instanceof HttpException && typeof err.response === 'object' && err.response !== null && 'data' in err.response ? err.response : null;
  if (answered) {
    const status = err instanceof HttpException ? err.status : 0;
    const words = clean(jiraWords((answered as { data?: unknown }).data));
    const said = words ? `: ${words}` : '';
    if (status === 429 || status >= 500) return new ChangeUnavailable(`Jira answered HTTP ${status} ${what}${said}; retried later`);
    if (status >= 300 && status < 400)
      return new ChangeRefused(
        `Jira answered ${what} with a redirect (HTTP ${status}), which is not followed: set the site to the address Jira answers at`,
        status,
      );
    if (status === 401)
      return new ChangeRefused(`Jira refused the credentials ${what} (HTTP 401)${said}: check the email and API token, or the bearer token`, status);
    if (status === 403) return new ChangeRefused(`Jira refused ${what} (HTTP 403)${said}: the account needs access to the service desk`, status);
    if (status === 404) return new ChangeRefused(`Jira found nothing ${what} (HTTP 404)${said}: check the service desk and request type ids`, status);
    return new ChangeRefused(`Jira refused ${what} (HTTP ${status})${said}`, status);
  }
  // No answer: the transport's failure, wrapped by axios (cause) and by jira.js (response).
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    if (e instanceof OutboundRefused) return new ChangeRefused(`Jira at ${new URL(site).host} may not be called: ${e.message}`);
    const x = e as { cause?: unknown; response?: unknown };
    e = x.cause ?? (x.response instanceof Error ? x.response : undefined);
  }
  const code = (err as { code?: string }).code;
  if (code === 'ERR_BAD_RESPONSE' && /maxContentLength/.test(String((err as Error).message)))
    return new ChangeRefused(`Jira answered ${what} with more than ${MAX_ANSWER_BYTES} bytes`);
  return new ChangeUnavailable(`Jira did not answer ${what}: ${clean(String((err as Error)?.message ?? err))}; retried later`);
}

/** What axios's fetch adapter calls: the Request it built, sent through the outbound rules. */
async function throughOutbound(fetchImpl: JiraFetch, input: Request | string | URL, init?: RequestInit): Promise<Response> {
  const req = input instanceof Request ? input : new Request(input, init);
  const headers: Record<string, string> = {};
  req.headers.forEach((v, k) => {
    headers[k] = v;
  });
  const body = req.body ? new Uint8Array(await req.arrayBuffer()) : undefined;
  return fetchImpl(req.url, {
    method: req.method,
    headers,
    ...(body ? { body } : {}),
    signal: AbortSignal.any([req.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
  });
}
