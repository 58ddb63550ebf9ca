/**
 * Change control (issue "Where the enterprise already works", part 1): the port every change
 * management tool is reached through. A promotion into a change-controlled environment opens one
 * change request in the tenant's tool (ServiceNow's Table API `change_request`, or a Jira Service
 * Management request), waits until the tool says it is approved (and, when it has a planned window,
 * until the window opens), notes the promotion's start and end on it and closes it.
 *
 * Adapters (functions/adapters/change/<provider>.ts) speak the tool's published API; the domain
 * (domain/change/*) decides what to send and what an answer means. An adapter never throws a plain
 * Error for an answer it understood: a transient answer (429, 5xx, a time-out) throws
 * `ChangeUnavailable` (retried), anything the tenant must fix (401/403, an unknown template or
 * request type, a 400 naming a field) throws `ChangeRefused` with the tool's own words.
 */

import type { ChangeControl } from '../kernel/model.ts';

/** The change management tools Stageline speaks. */
export const CHANGE_PROVIDERS = ['servicenow', 'jira'] as const;
export type ChangeProviderKind = (typeof CHANGE_PROVIDERS)[number];

/** What a change request is opened with (built by the domain; adapters map it onto the tool's fields). */
export interface ChangeRequestDraft {
  /** short description / summary: `Promote <release> to <environment>` (bounded by the domain) */
  title: string;
  /** plain text body: the release and its digest, the diff summary, the gates' verdicts, the decision record link */
  description: string;
  /**
   * the request's correlation value, stored in the tool's correlation field (ServiceNow `correlation_id`, a Jira label):
   * the promotion's id (`<id>.<n>` for the request opened after n voided ones), a `.` and the promotion's correlation
   * token, so a create whose answer was lost is found again, and a request someone else opened is not taken for it
   */
  correlationId: string;
  /** the link to the promotion's decision record in the console */
  decisionUrl: string;
  release: { id: string; digest: string };
  environment: string;
}

/** The change request a promotion is bound to, as stored on the promotion. */
export interface ChangeRef {
  provider: ChangeProviderKind;
  /** the tool's own id (ServiceNow sys_id, Jira issue id) */
  id: string;
  /** the number people use (CHG0030001, ITSM-42) */
  number: string;
  /** a link to the request in the tool (for people) */
  url: string;
}

/** A change request the tool holds under a correlation value (`find`), and what the tool says of who opened it. */
export interface ChangeFound {
  ref: ChangeRef;
  /** the correlation value it carries exactly, as Stageline writes it (null: none of those asked for, e.g. another case) */
  correlation: string | null;
  /** the account that opened it, as the tool names it (ServiceNow `sys_created_by`, Jira's creator account id), when the tool says */
  createdBy: string | null;
  /** whether that account is the rule's integration user; null when the tool cannot say (no creator answered, a ServiceNow bearer token) */
  byIntegrationUser: boolean | null;
}

/** What the tool says of a change request now. */
export interface ChangeStatus {
  /** the tool's own state / status name, as the tool spells it (`Scheduled`, `-1`, `Approved`…) */
  state: string;
  /** the tool's approval, when it keeps one apart from the state (ServiceNow's `approval` field) */
  approval?: string;
  /** the planned window, when the request has one (ISO 8601 instants) */
  window?: { start: string; end: string };
  /** the tool's reason for a rejection or a cancellation, when it gives one (bounded by the domain) */
  reason?: string;
}

/** How a change request is closed. */
export type ChangeOutcome = 'successful' | 'unsuccessful';

/** One tenant's connection to its tool, opened by an adapter with the tenant's (opened) credentials. */
export interface ChangeProvider {
  readonly kind: ChangeProviderKind;
  /** Opens a change request. Not idempotent: the domain calls `find` first, and adopts only what carries its token. */
  create(draft: ChangeRequestDraft): Promise<ChangeRef>;
  /**
   * Every request (a few, oldest first) the tool holds under each of these correlation values (a create whose answer was
   * lost, or a request someone else opened with a value Stageline uses), with who opened it: the domain decides which
   * one, if any, is its own.
   */
  find(correlationIds: readonly string[]): Promise<ChangeFound[]>;
  /** Where the request stands. */
  read(ref: ChangeRef): Promise<ChangeStatus>;
  /** Adds a work note / internal comment. */
  note(ref: ChangeRef, text: string): Promise<void>;
  /** Closes the request with this outcome and a closing note. */
  close(ref: ChangeRef, outcome: ChangeOutcome, text: string): Promise<void>;
}

/** A transient answer (429, 5xx, a time-out, a refused connection): the call is retried later. */
export class ChangeUnavailable extends Error {
  override readonly name = 'ChangeUnavailable';
}

/** An answer the tenant must act on (bad credentials, an unknown template or request type, a field refused): said plainly. */
export class ChangeRefused extends Error {
  override readonly name = 'ChangeRefused';
  constructor(
    message: string,
    /** the HTTP status the tool answered, when it answered */
    readonly status?: number,
    /** the rule's field the refusal is about, as the body spells it under `body.` (e.g. jira.serviceDeskId), when it is one */
    readonly field?: string,
  ) {
    super(message);
  }
}

/**
 * Opens a tenant's connection to its tool from an environment's rule (functions/adapters/change/providers.ts, the one
 * place a provider is wired): the rule's sealed credential is opened there, or `plain` is used (a save checking the
 * credential it was given before it is sealed). A provider not available yet throws `ChangeRefused` (a 422 at save).
 */
export interface ChangeTools {
  open(rule: ChangeControl, plain?: string): Promise<ChangeProvider & ChangeTemplateCheck>;
}

/** Optional: whether a standard change's template exists (checked at save); throws `ChangeRefused` with the tool's words when not. */
export interface ChangeTemplateCheck {
  checkTemplate?(template: string): Promise<void>;
  /**
   * Optional (Jira): whether the rule's service desk and request type exist for its credential (checked at save); throws
   * `ChangeRefused` with the tool's words and the field (`jira.serviceDeskId`, `jira.requestTypeId`) when one does not.
   */
  checkRequestType?(): Promise<void>;
}

declare module '../kernel/deps.ts' {
  interface Ports {
    /** the tenant's change management tools (change-controlled environments): only the functions that call them compose it */
    changes: ChangeTools;
  }
}
