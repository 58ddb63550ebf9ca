import * as z from 'zod';
import { auditEntry } from '../audit.ts';
import { requireRole } from '../auth.ts';
import { digestOf } from '../canonical.ts';
import { EnvironmentNotFound, VersionConflict } from '../errors.ts';
import type { Ctx, Deps } from '../ports.ts';
import { retryOnConflict } from '../retry.ts';

/** What a notification reports (one per domain event, plus the reminder before an approval expires). */
export const NOTIFICATION_KINDS = ['approval-required', 'approval-reminder', 'approved', 'rejected', 'expired', 'completed', 'failed', 'rolled-back', 'gate-failed', 'break-glass'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

const slackUser = /* @__PURE__ */ z.string().regex(/^[UW][A-Z0-9]{2,20}$/, 'a Slack user id (U…/W…)');

/**
 * Where notifications go, per tenant and per target environment. Accepts seed 003's
 * `notifications: { slack: { webhook, channels }, email: { recipients } }` as it is, and adds:
 * `email.approvers` (the eligible approvers of the policy, each with a personal link),
 * `slack.signingSecret` + `slack.users` (approve/reject from Slack, Slack user → Stageline email),
 * and `events` (which kinds; default all).
 */
export const notificationSettingsBody = /* @__PURE__ */ z
  .object({
    slack: z
      .object({
        webhook: z.string().trim().url('an https URL of a Slack incoming webhook').max(2048).describe('An https URL of a Slack incoming webhook (plain http only to loopback, in local mode); another is refused with 400'),
        channels: z.array(z.string().regex(/^#?[a-z0-9._-]{1,80}$/, 'a channel name like #platform-ops')).max(20).default([]),
        signingSecret: z.string().min(16, 'the Slack app signing secret').max(200).optional(),
        users: z.record(slackUser, z.string().email('the Stageline user (email) this Slack user acts as').toLowerCase()).optional(),
      })
      .strict()
      .optional(),
    email: z
      .object({
        recipients: z.array(z.string().email().toLowerCase()).max(50).default([]),
        approvers: z.boolean().default(false),
      })
      .strict()
      .optional(),
    events: z.array(z.enum(NOTIFICATION_KINDS)).min(1).optional(),
    version: z.number().int().min(0).optional(),
  })
  .strict();
export type NotificationSettingsBody = z.infer<typeof notificationSettingsBody>;

export interface NotificationSettings {
  tenant: string;
  /** 'tenant' or an environment name (applies to promotions into it) */
  scope: string;
  slack?: { webhook: string; channels: string[]; signingSecret?: string; users?: Record<string, string>; /** set by a manifest: the secret's name (`${NAME}`), exported instead of the value */ webhookRef?: string };
  email?: { recipients: string[]; approvers: boolean };
  events?: NotificationKind[];
  version: number;
  updatedAt: string;
  updatedBy: string;
}

/** What the API shows: never the webhook's secret path or the signing secret. */
export function settingsView(s: NotificationSettings | null, scope: string) {
  if (!s) return { scope, slack: null, email: null, events: [...NOTIFICATION_KINDS], version: 0 };
  return {
    scope,
    slack: s.slack
      ? { webhook: `${new URL(s.slack.webhook).origin}/…`, channels: s.slack.channels, signingSecret: s.slack.signingSecret ? 'set' : null, users: s.slack.users ?? {} }
      : null,
    email: s.email ?? null,
    events: s.events ?? [...NOTIFICATION_KINDS],
    version: s.version,
    updatedAt: s.updatedAt,
    updatedBy: s.updatedBy,
  };
}

export async function getNotificationSettings(deps: Deps, ctx: Ctx, scope: string) {
  requireRole(ctx.principal, 'viewer');
  await assertScope(deps, ctx.principal.tenant, scope);
  return settingsView(await deps.store.getNotificationSettings(ctx.principal.tenant, scope), scope);
}

/** Replaces the settings of a scope (optimistic lock on `version` when given); audited without any secret. */
export async function putNotificationSettings(deps: Deps, ctx: Ctx, scope: string, body: NotificationSettingsBody) {
  requireRole(ctx.principal, 'admin');
  const { tenant } = ctx.principal;
  await assertScope(deps, tenant, scope);
  return retryOnConflict(async () => {
    const prev = await deps.store.getNotificationSettings(tenant, scope);
    if (body.version !== undefined && body.version !== (prev?.version ?? 0)) {
      throw new VersionConflict(`notification settings of '${scope}' are at version ${prev?.version ?? 0}, not ${body.version}; read them again`, { currentVersion: prev?.version ?? 0 });
    }
    const now = deps.clock().toISOString();
    const next: NotificationSettings = {
      tenant,
      scope,
      ...(body.slack ? { slack: { ...body.slack, signingSecret: body.slack.signingSecret ?? prev?.slack?.signingSecret } } : {}),
      ...(body.email ? { email: body.email } : {}),
      ...(body.events ? { events: body.events } : {}),
      version: (prev?.version ?? 0) + 1,
      updatedAt: now,
      updatedBy: ctx.principal.name,
    };
    const publicPart = (s: NotificationSettings | null) => (s ? digestOf(settingsView(s, scope)) : null);
    const audit = auditEntry(tenant, {
      actor: ctx.principal.id,
      actorName: ctx.principal.name,
      action: 'notifications.update',
      entityType: 'environment',
      entityId: scope,
      before: publicPart(prev),
      after: publicPart(next),
      requestId: ctx.requestId,
    }, deps.clock());
    await deps.store.putNotificationSettings(next, prev ? prev.version : null, audit);
    return settingsView(next, scope);
  });
}

async function assertScope(deps: Deps, tenant: string, scope: string): Promise<void> {
  if (scope !== 'tenant' && !(await deps.store.getEnvironment(tenant, scope))) throw new EnvironmentNotFound(scope);
}
