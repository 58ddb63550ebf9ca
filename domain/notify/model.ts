import type { Sealed } from '../kernel/sealed.ts';
/** What a notification reports (one per domain event, plus the reminder before an approval expires). */
export const NOTIFICATION_KINDS = [
  'approval-required',
  'approval-reminder',
  'approved',
  'rejected',
  'expired',
  'completed',
  'failed',
  'rolled-back',
  'gate-failed',
  'break-glass',
  'wave-started',
  'wave-completed',
  'analysis-decided',
] as const;

/** A rollout's per-wave news: sent only to scopes that name them in `events`. */
export const OPT_IN_NOTIFICATION_KINDS: readonly NotificationKind[] = ['wave-started', 'wave-completed', 'analysis-decided'];

/** The kinds a scope gets when its settings name none: every kind but a rollout's per-wave news (opt in with `events`). */
export const DEFAULT_NOTIFICATION_KINDS: readonly NotificationKind[] = NOTIFICATION_KINDS.filter((k) => !OPT_IN_NOTIFICATION_KINDS.includes(k));

export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export interface NotificationSettings {
  tenant: string;
  /** 'tenant' or an environment name (applies to promotions into it) */
  scope: string;
  slack?: {
    /** the incoming webhook (its path is the secret): sealed where it is written, opened only by the Slack sender */
    webhook: Sealed;
    /** the webhook's origin, kept beside it so a read shows `origin/…` without opening it (absent on items written before: the Slack host) */
    origin?: string;
    channels: string[];
    /** the Slack workspace bound to the tenant (Approve/Reject from Slack, self-service links) */
    teamId?: string;
    /** set by a manifest: the secret's name (`${NAME}`), exported instead of the value */
    webhookRef?: string;
  };
  /** Microsoft Teams: a Workflows webhook ("When a Teams webhook request is received"); its URL carries its signature (`sig`), a secret */
  teams?: {
    /** sealed where it is written, opened only by the Teams sender (as Slack's) */
    webhook: Sealed;
    /** the webhook's origin, kept beside it so a read shows `origin/…` without opening it */
    origin: string;
  };
  email?: { recipients: string[]; approvers: boolean };
  events?: NotificationKind[];
  version: number;
  updatedAt: string;
  updatedBy: string;
}

/**
 * Who a Slack user is, proven by the person: signed in to Stageline (their own token) they get a
 * short-lived one-time code and send it from Slack (`/stageline link CODE`, a request the
 * deployment's Slack app signs). That binds the Slack user id, in that workspace, to their account.
 * Nobody else can make the link: not an admin (who may list and remove links), not whoever holds a
 * tenant setting. The Slack app's signing secret is the deployment's, never a tenant's.
 */

/** A Slack user (in one workspace) linked to a Stageline account by that account's owner. */
export interface SlackLink {
  tenant: string;
  /** the Slack workspace */
  teamId: string;
  /** the Slack user id */
  userId: string;
  /** the Stageline account (the subject id and email of the person who asked for the code) */
  account: { id: string; email: string };
  /** names this link (slack_…): what an approval made through it records */
  id: string;
  linkedAt: string;
  /** when the code used to make it was issued */
  codeIssuedAt: string;
}

/** A one-time code: the table keeps only its hash. */
export interface SlackLinkCode {
  tenant: string;
  /** sha256 of the code's secret part */
  hash: string;
  account: { id: string; email: string };
  createdAt: string;
  validUntil: string;
  usedAt?: string;
  /** `<team>/<user>` that used it */
  usedBy?: string;
}
