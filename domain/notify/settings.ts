import * as z from '../kernel/zod.ts';
import { auditEntry } from '../audit/audit.ts';
import { digestOf } from '../kernel/canonical.ts';
import { EnvironmentNotFound, ValidationFailed, VersionConflict } from '../kernel/errors.ts';
import type { Ctx, Deps, With } from '../kernel/deps.ts';
import { retryOnConflict } from '../kernel/retry.ts';
import { assertTenantUrls, tenantUrl } from '../kernel/url-policy.ts';
import { DEFAULT_NOTIFICATION_KINDS, NOTIFICATION_KINDS, type NotificationSettings } from './model.ts';
import type { Sealed } from '../kernel/sealed.ts';
import { WORKFLOWS_HOSTS_TEXT, workflowsHostIssue } from './teams.ts';

/** A Slack workspace's team id (T…), as Slack puts it in every request. */
export const slackTeamId = /* @__PURE__ */ z.schema(() => z.string().check(z.regex(/^T[A-Z0-9]{2,20}$/, "a Slack workspace's team id (T…)")));

/** Fields older versions took that are not tenant settings any more: a clear 400 instead of a silent drop. */
export const SLACK_SECRET_MOVED =
  'the Slack signing secret is deployment configuration now (one Slack app per Stageline deployment: Secrets Manager via the CDK context slackSigningSecret; npm start generates one); it cannot be set or read through the API. Remove slack.signingSecret and bind your workspace with slack.teamId';
export const SLACK_USERS_MOVED =
  'slack.users is gone: an admin can no longer say who a Slack user is. Each person links their own Slack account: POST /api/v1/slack/link-codes (or `stageline slack link`), then `/stageline link CODE` in Slack. Remove slack.users';

/**
 * Where notifications go, per tenant and per target environment. Accepts the manifest's
 * `notifications: { slack: { webhook, channels }, email: { recipients } }` as it is, and adds:
 * `email.approvers` (the eligible approvers of the policy, each with a personal link),
 * `slack.teamId` (the tenant's Slack workspace, bound to the deployment's Slack app: its members
 * who linked their account may approve/reject from Slack), and `events` (which kinds; default all).
 */
export const notificationSettingsBody = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      slack: z.optional(
        z
          .nullable(
            z.strictObject({
              webhook: tenantUrl(z.string().check(z.trim(), z.maxLength(2048))).check(
                z.describe(
                  'An https URL of a Slack incoming webhook, on a public address (plain http only to loopback, in local mode); another is refused with 400',
                ),
              ),
              channels: z._default(z.array(z.string().check(z.regex(/^#?[a-z0-9._-]{1,80}$/, 'a channel name like #platform-ops'))).check(z.maxLength(20)), []),
              teamId: z
                .optional(z.nullable(slackTeamId))
                .check(
                  z.describe(
                    'binds this Slack workspace to the tenant: Approve/Reject buttons appear, and its members may link their own accounts; left out: the bound one kept; null: none',
                  ),
                ),
              signingSecret: z.optional(z.never({ error: SLACK_SECRET_MOVED })).check(z.describe('no longer accepted: deployment configuration')),
              users: z.optional(z.never({ error: SLACK_USERS_MOVED })).check(z.describe('no longer accepted: people link their own Slack accounts')),
            }),
          )
          .check(
            z.describe(
              `absent: kept as it is; null: Slack off; an object: Slack as given. Its webhook may be sent back as GET shows it (${'`origin/…`'}) to keep the stored one`,
            ),
          ),
      ),
      teams: z.optional(
        z
          .nullable(
            z.strictObject({
              webhook: tenantUrl(z.string().check(z.trim(), z.maxLength(2048)))
                .check(
                  z.superRefine((url, ctx) => {
                    const why = workflowsHostIssue(url);
                    if (why) ctx.addIssue({ code: 'custom', message: why });
                  }),
                )
                .check(
                  z.describe(
                    `The URL of a Teams Workflows webhook (a "When a Teams webhook request is received" trigger), on ${WORKFLOWS_HOSTS_TEXT}; another host is refused with 400. Its signature (sig=…) is a secret: stored sealed, never shown`,
                  ),
                ),
            }),
          )
          .check(
            z.describe(
              `absent: kept as it is; null: Teams off; an object: Teams as given. Its webhook may be sent back as GET shows it (${'`origin/…`'}) to keep the stored one`,
            ),
          ),
      ),
      email: z.optional(
        z
          .nullable(
            z.strictObject({
              recipients: z._default(z.array(z.string().check(z.email(), z.toLowerCase())).check(z.maxLength(50)), []),
              approvers: z._default(z.boolean(), false),
            }),
          )
          .check(z.describe('absent: kept as it is; null: email off; an object: email as given')),
      ),
      events: z.optional(
        z
          .nullable(z.array(z.enum(NOTIFICATION_KINDS)).check(z.minLength(1)))
          .check(z.describe('absent: kept as it is; null: the default kinds (every kind but wave-started and wave-completed, which are opt-in)')),
      ),
      version: z.optional(z.number().check(z.int(), z.minimum(0))),
    })
    .check(
      z.describe(
        'Each field left out keeps its stored value (a PUT of {} changes nothing); null turns a channel off. `version`, when given, must be the one read (409 otherwise).',
      ),
    ),
);

/** How GET shows a webhook: its origin and an ellipsis, never the secret path. */
export const maskedWebhook = (stored: { origin?: string }) => `${stored.origin ?? SLACK_ORIGIN}/…`;
/** The origin of Slack's incoming webhooks: what a webhook stored before its origin was kept beside it shows. */
export const SLACK_ORIGIN = 'https://hooks.slack.com';
export type NotificationSettingsBody = z.infer<typeof notificationSettingsBody>;

/** What the API shows: never the webhook's secret path. */
export function settingsView(s: NotificationSettings | null, scope: string) {
  if (!s) return { scope, slack: null, teams: null, email: null, events: [...DEFAULT_NOTIFICATION_KINDS], version: 0 };
  return {
    scope,
    slack: s.slack ? { webhook: maskedWebhook(s.slack), channels: s.slack.channels, teamId: s.slack.teamId ?? null } : null,
    teams: s.teams ? { webhook: maskedWebhook(s.teams) } : null,
    email: s.email ?? null,
    events: s.events ?? [...DEFAULT_NOTIFICATION_KINDS],
    version: s.version,
    updatedAt: s.updatedAt,
    updatedBy: s.updatedBy,
  };
}

export async function getNotificationSettings(deps: Deps, ctx: Ctx, scope: string) {
  await assertScope(deps, ctx.principal.tenant, scope);
  return settingsView(await deps.store.getNotificationSettings(ctx.principal.tenant, scope), scope);
}

/** Replaces the settings of a scope (optimistic lock on `version` when given); audited without any secret. */
export async function putNotificationSettings(deps: With<'sealer'>, ctx: Ctx, scope: string, body: NotificationSettingsBody) {
  const { tenant } = ctx.principal;
  // The webhook passed the schema's rules; loopback is the deployment's to allow.
  if (body.slack) assertTenantUrls([{ path: 'body.slack.webhook', url: body.slack.webhook }], { allowLoopback: deps.tunables.allowLoopbackOutbound });
  if (body.teams) assertTenantUrls([{ path: 'body.teams.webhook', url: body.teams.webhook }], { allowLoopback: deps.tunables.allowLoopbackOutbound });
  await assertScope(deps, tenant, scope);
  return retryOnConflict(deps.tunables, async () => {
    const prev = await deps.store.getNotificationSettings(tenant, scope);
    if (body.version !== undefined && body.version !== (prev?.version ?? 0)) {
      throw new VersionConflict(`notification settings of '${scope}' are at version ${prev?.version ?? 0}, not ${body.version}; read them again`, {
        currentVersion: prev?.version ?? 0,
      });
    }
    const now = deps.clock().toISOString();
    // Merge: a field left out keeps what is stored (a client that sends part of the settings, or `{}`,
    // loses nothing); null turns it off. A webhook sent back as GET shows it keeps the stored one; any
    // other masked value is not a webhook.
    const slack =
      body.slack === undefined
        ? prev?.slack
        : body.slack === null
          ? undefined
          : {
              ...(await webhookOf(deps, body.slack.webhook, prev?.slack, 'body.slack.webhook')),
              channels: body.slack.channels,
              // Left out: the workspace bound stays bound; null unbinds it.
              ...((body.slack.teamId === undefined ? prev?.slack?.teamId : body.slack.teamId) ? { teamId: (body.slack.teamId ?? prev?.slack?.teamId)! } : {}),
              ...(prev?.slack?.webhookRef && body.slack.webhook === maskedWebhook(prev.slack) ? { webhookRef: prev.slack.webhookRef } : {}),
            };
    const teams = body.teams === undefined ? prev?.teams : body.teams === null ? undefined : await teamsWebhookOf(deps, body.teams.webhook, prev?.teams);
    const email = body.email === undefined ? prev?.email : (body.email ?? undefined);
    const events = body.events === undefined ? prev?.events : (body.events ?? undefined);
    const next: NotificationSettings = {
      tenant,
      scope,
      ...(slack ? { slack } : {}),
      ...(teams ? { teams } : {}),
      ...(email ? { email } : {}),
      ...(events ? { events } : {}),
      version: (prev?.version ?? 0) + 1,
      updatedAt: now,
      updatedBy: ctx.principal.name,
    };
    const publicPart = (s: NotificationSettings | null) => (s ? digestOf(settingsView(s, scope)) : null);
    // Nothing changes (e.g. a PUT of {}): no write, no audit entry, no new version.
    if (prev && digestOf({ ...next, version: 0, updatedAt: '', updatedBy: '' }) === digestOf({ ...prev, version: 0, updatedAt: '', updatedBy: '' }))
      return settingsView(prev, scope);
    const audit = auditEntry(
      tenant,
      {
        actor: ctx.principal.id,
        actorName: ctx.principal.name,
        action: 'notifications.update',
        entityType: 'environment',
        entityId: scope,
        // Binding a Slack workspace decides who may act from Slack: said in words, not only in the digests.
        ...(prev?.slack?.teamId !== next.slack?.teamId
          ? { reason: `Slack workspace: ${prev?.slack?.teamId ?? 'none'} → ${next.slack?.teamId ?? 'none'}` }
          : {}),
        before: publicPart(prev),
        after: publicPart(next),
        requestId: ctx.requestId,
      },
      deps.clock(),
    );
    await deps.store.putNotificationSettings(next, prev ? prev.version : null, audit);
    return settingsView(next, scope);
  });
}

/** A stored webhook (Slack's or Teams'): sealed, with its origin beside it. */
type StoredWebhook = { webhook: Sealed; origin?: string };

/**
 * The webhook to store (Slack's or Teams'), sealed (domain/kernel/sealed.ts), with its origin: the one given, or the
 * stored one as it is when the caller sent back its masked form or the same URL (no new version for the same settings).
 */
async function webhookOf(deps: With<'sealer'>, given: string, stored: StoredWebhook | undefined, path: string): Promise<StoredWebhook> {
  const kept: StoredWebhook | undefined = stored && { webhook: stored.webhook, ...(stored.origin ? { origin: stored.origin } : {}) };
  if (!given.endsWith('/…') && !given.endsWith('/%E2%80%A6')) {
    if (kept && (await deps.sealer.same(kept.webhook, given))) return kept;
    return { webhook: await deps.sealer.seal(given), origin: new URL(given).origin };
  }
  if (kept && (given === maskedWebhook(kept) || given === `${maskedWebhook(kept).slice(0, -1)}%E2%80%A6`)) return kept;
  throw new ValidationFailed([
    {
      path,
      message:
        'is a masked value (as GET shows a stored webhook), not a webhook: send the full webhook URL, or the masked value of the webhook stored here to keep it',
    },
  ]);
}

/** Teams' webhook: as Slack's, and its origin is always kept (every Teams webhook is written sealed with it). */
async function teamsWebhookOf(deps: With<'sealer'>, given: string, stored: NotificationSettings['teams']): Promise<NonNullable<NotificationSettings['teams']>> {
  const kept = await webhookOf(deps, given, stored, 'body.teams.webhook');
  return { webhook: kept.webhook, origin: kept.origin ?? new URL(given).origin };
}

async function assertScope(deps: Deps, tenant: string, scope: string): Promise<void> {
  if (scope !== 'tenant' && !(await deps.store.getEnvironment(tenant, scope))) throw new EnvironmentNotFound(scope);
}

/** The Slack workspaces a tenant bound (in its own or any environment's settings). */
export async function boundSlackTeams(deps: Deps, tenant: string): Promise<Set<string>> {
  const all = await deps.store.listNotificationSettings(tenant);
  return new Set(all.flatMap((s) => (s.slack?.teamId ? [s.slack.teamId] : [])));
}
