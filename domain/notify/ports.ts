import type { Sealed } from '../kernel/sealed.ts';
import type { AuditEntry } from '../kernel/model.ts';
import type { NotificationSettings, SlackLink, SlackLinkCode } from './model.ts';

/** Notifications (secrets sealed at rest like webhook gate secrets): settings, review links, Slack identities, deliveries. */
export type NotificationOp =
  /** notification settings of a scope (secrets sealed by the store) */
  { kind: 'notifySettings'; settings: NotificationSettings; expectedVersion: number | null };

export interface NotificationStorePort {
  getNotificationSettings(tenant: string, scope: string): Promise<NotificationSettings | null>;
  putNotificationSettings(settings: NotificationSettings, expectedVersion: number | null, audit: AuditEntry): Promise<void>;
  /** Every notification settings item of a tenant (the tenant's and each environment's). */
  listNotificationSettings(tenant: string): Promise<NotificationSettings[]>;
  putReviewLink(link: ReviewLink): Promise<void>;
  getReviewLink(tenant: string, hash: string): Promise<ReviewLink | null>;
  /** Marks a link used (single use): false if it was used already. */
  useReviewLink(tenant: string, hash: string, at: string, action: string): Promise<boolean>;
  recordDelivery(tenant: string, promotionId: string, delivery: Delivery): Promise<void>;
  listDeliveries(tenant: string, promotionId: string): Promise<Delivery[]>;

  // ---- Slack identities (domain/notify/slack-identity.ts): codes people get signed in, links they make from Slack
  putSlackLinkCode(code: SlackLinkCode): Promise<void>;
  getSlackLinkCode(tenant: string, hash: string): Promise<SlackLinkCode | null>;
  getSlackLink(tenant: string, teamId: string, userId: string): Promise<SlackLink | null>;
  listSlackLinks(tenant: string): Promise<SlackLink[]>;
  /**
   * In one transaction: spends the code (WriteConflict 'version' when it was spent already), writes the link
   * (over `previous` only if it is still that link, else WriteConflict 'exists') and the audit entry.
   */
  linkSlack(code: { tenant: string; hash: string; usedAt: string }, link: SlackLink, previous: SlackLink | null, audit: AuditEntry): Promise<void>;
  /** Removes the link if it is still this one (WriteConflict 'version' otherwise), with the audit entry. */
  unlinkSlack(link: SlackLink, audit: AuditEntry): Promise<void>;
}

/** A signed approve/reject link: the table keeps only the token's hash, bound to everything the link may do. */
export interface ReviewLink {
  tenant: string;
  /** sha256 of the token (the token itself is only in the message) */
  hash: string;
  promotionId: string;
  approver: { id: string; email: string };
  actions: ('approve' | 'reject')[];
  /** the release the link was sent for: a link for an older release is refused */
  releaseDigest: string;
  /** never later than the approval window (named apart from the table's TTL attribute) */
  validUntil: string;
  createdAt: string;
  usedAt?: string;
  usedFor?: string;
}

/** One attempt to deliver a notification, shown on the promotion. */
export interface Delivery {
  channel: 'slack' | 'email' | 'teams';
  /** the Slack channel, the recipient, or `workflows` (the Teams webhook: its URL is a secret) */
  target: string;
  kind: string;
  /** sent: the channel took it and delivers it; accepted: taken to be delivered later (Workflows answers 202), not known delivered; failed: not taken */
  status: 'sent' | 'accepted' | 'failed';
  at: string;
  error?: string;
  eventId: string;
}

/** The delivery channels (only the notifier has them). */
export interface Channels {
  /** Posts a Slack message to an incoming webhook (SSRF-guarded); throws with a short reason. */
  slack(webhook: Sealed, message: Record<string, unknown>): Promise<void>;
  /**
   * Posts a message (an Adaptive Card in its envelope) to a Teams Workflows webhook (SSRF-guarded): 'accepted' on a 202
   * (the flow runs later), 'sent' on another 2xx; throws with a short reason otherwise, `permanent` when sending it again cannot help.
   */
  teams(webhook: Sealed, message: Record<string, unknown>): Promise<'sent' | 'accepted'>;
  /** Sends an email (SES v2 on AWS, the local mail catcher under npm start). */
  email(message: { to: string; subject: string; html: string; text: string }): Promise<void>;
}

/** The notify context's part of what a use case is given (domain/kernel/deps.ts): notification settings and Slack links in the store; the channels. */
declare module '../kernel/deps.ts' {
  interface Store extends NotificationStorePort {}
  interface WriteOps {
    notification: NotificationOp;
  }
  interface Ports {
    channels: Channels;
  }
}
