import { randomBytes } from 'node:crypto';
import * as z from '../kernel/zod.ts';
import { auditEntry } from '../audit/audit.ts';
import { EnvironmentNotFound, RuleViolation, ValidationFailed, VersionConflict, WebhookNotFound } from '../kernel/errors.ts';
import type { Ctx, Deps, With } from '../kernel/deps.ts';
import { refusedByStored } from '../kernel/retry.ts';
import { envName } from '../kernel/schemas.ts';
import { checkTenantUrl, isRedactedUrl, redactedMatches, redactUrl, RECEIVER_URL_FORMAT } from '../kernel/url-policy.ts';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType, type WebhookSubscription } from './model.ts';
import type { WebhookDeps, WebhookSecret } from './ports.ts';

/**
 * Outbound webhooks, following the Standard Webhooks specification: subscriptions (tenant-wide or per
 * environment) and their signing secrets (shown once, rotated with an overlap during which both sign).
 * What is sent to them, and retried, is deliveries.ts.
 */

/** Overlap of a rotated secret: how long the old one still signs (default a day, at most a week). */
export const DEFAULT_OVERLAP_SECONDS = 24 * 3600;

const eventType = /* @__PURE__ */ z.enum(WEBHOOK_EVENT_TYPES as [WebhookEventType, ...WebhookEventType[]]);
const url = /* @__PURE__ */ z.schema(() =>
  z
    .string()
    .check(
      z.minLength(1),
      z.maxLength(2048),
      z.meta(RECEIVER_URL_FORMAT),
      z.describe('https URL that receives the deliveries (checked now and again at each call: public addresses only, no redirects)'),
    ),
);

export const webhookCreateBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    url,
    events: z.array(eventType).check(z.minLength(1), z.maxLength(WEBHOOK_EVENT_TYPES.length), z.describe('event types to deliver')),
    environment: z.optional(z.nullable(envName)).check(z.describe('only events of this environment (omit for every environment)')),
    description: z.optional(z.string().check(z.maxLength(500))),
    enabled: z.optional(z.boolean()),
  }),
);

export const webhookUpdateBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    url: z.optional(url),
    events: z.optional(z.array(eventType).check(z.minLength(1), z.maxLength(WEBHOOK_EVENT_TYPES.length))),
    environment: z.optional(z.nullable(envName)),
    description: z.optional(z.string().check(z.maxLength(500))),
    enabled: z.optional(z.boolean()),
    version: z.number().check(z.int(), z.minimum(1), z.describe('the version read (optimistic locking)')),
  }),
);

export const webhookRotateBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    overlapSeconds: z
      .optional(z.number().check(z.int(), z.minimum(0), z.maximum(7 * 86400)))
      .check(z.describe('how long the previous secret still signs (default 86400)')),
  }),
);

export type WebhookView = Omit<WebhookSubscription, 'tenant'>;
/**
 * What the API shows of a subscription: its URL redacted (a receiver's credential is often in its path
 * or query), except in the answer to the admin who just set it (`fullUrl`), once.
 */
const view = (s: WebhookSubscription, fullUrl = false): WebhookView => {
  const { tenant: _t, ...rest } = s;
  return { ...rest, url: fullUrl ? s.url : redactUrl(s.url) };
};

/** The URL a create or change sets: a redacted value sent back (as GET shows it) keeps the stored one; any other is not a URL to call. */
function urlToStore(given: string, stored: string | undefined, path: string): string {
  if (!isRedactedUrl(given)) return given;
  if (stored !== undefined && redactedMatches(given, stored)) return stored;
  throw new ValidationFailed([
    {
      path,
      message:
        'is a redacted URL (as the API shows a stored one), not one to call: send the full URL, or the redacted value of this subscription’s own URL to keep it',
    },
  ]);
}

/** A write that lost a race answers 409 (read again), never a 500. */
async function saved(write: Promise<void>, id: string): Promise<void> {
  try {
    await write;
  } catch (err) {
    if (refusedByStored(err)) throw new VersionConflict(`Webhook '${id}' changed meanwhile; read it again`);
    throw err;
  }
}

export function need(deps: With<'webhooks'>): WebhookDeps {
  return deps.webhooks;
}

export interface UrlCheck {
  allowLoopback: boolean;
}

/** The save-time URL policy of a subscription (a manifest names its own field). */
export function checkUrl(raw: string, opts: UrlCheck, path = 'body.url'): void {
  const why = checkTenantUrl(raw, opts);
  if (why) throw new ValidationFailed([{ path, message: why }]);
}

/** A tenant has at most this many subscriptions. */
export const MAX_WEBHOOKS = 50;

const newSecret = (now: Date): WebhookSecret => ({
  id: `key_${randomBytes(6).toString('hex')}`,
  secret: `whsec_${randomBytes(24).toString('base64')}`,
  createdAt: now.toISOString(),
  expiresAt: null,
});
const secretMeta = (s: WebhookSecret) => ({ id: s.id, createdAt: s.createdAt, expiresAt: s.expiresAt });

async function checkEnvironment(deps: Deps, tenant: string, env: string | null | undefined): Promise<void> {
  if (env && !(await deps.store.getEnvironment(tenant, env))) throw new EnvironmentNotFound(env);
}

/** What the audit trail says of a subscription change (never a secret). */
export function webhookAudit(
  deps: Pick<Deps, 'clock'>,
  ctx: Ctx,
  action: string,
  id: string,
  before: WebhookSubscription | null,
  after: WebhookSubscription | null,
) {
  const summary = (s: WebhookSubscription | null) =>
    s ? JSON.stringify({ url: redactUrl(s.url), events: s.events, environment: s.environment, enabled: s.enabled, secrets: s.secrets.map((k) => k.id) }) : null;
  return auditEntry(
    ctx.principal.tenant,
    {
      actor: ctx.principal.id,
      actorName: ctx.principal.name,
      action,
      entityType: 'webhook',
      entityId: id,
      before: summary(before),
      after: summary(after),
      requestId: ctx.requestId,
    },
    deps.clock(),
  );
}

/** A new subscription and its first signing secret (checked input; the caller stores both, the secret first). */
export function newSubscription(
  tenant: string,
  body: z.infer<typeof webhookCreateBody>,
  by: string,
  now: Date,
): { sub: WebhookSubscription; secret: WebhookSecret } {
  const secret = newSecret(now);
  const sub: WebhookSubscription = {
    tenant,
    id: `wh_${now.getTime().toString(36)}${randomBytes(5).toString('hex')}`,
    url: body.url,
    events: [...new Set(body.events)],
    environment: body.environment ?? null,
    description: body.description ?? '',
    enabled: body.enabled ?? true,
    secrets: [secretMeta(secret)],
    health: { status: 'ok', consecutiveFailures: 0, lastFailureAt: null, reason: null },
    version: 1,
    createdAt: now.toISOString(),
    createdBy: by,
    updatedAt: now.toISOString(),
    updatedBy: by,
  };
  return { sub, secret };
}

/** A subscription with some of its settings changed (the caller checked them), one version on. */
export function changedSubscription(cur: WebhookSubscription, body: Partial<z.infer<typeof webhookCreateBody>>, by: string, now: Date): WebhookSubscription {
  return {
    ...cur,
    ...(body.url !== undefined ? { url: body.url } : {}),
    ...(body.events ? { events: [...new Set(body.events)] } : {}),
    ...(body.environment !== undefined ? { environment: body.environment } : {}),
    ...(body.description !== undefined ? { description: body.description } : {}),
    ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
    version: cur.version + 1,
    updatedAt: now.toISOString(),
    updatedBy: by,
  };
}

/** Creates a subscription; the answer is the only time its signing secret is shown. */
export async function createWebhook(
  deps: With<'webhooks'>,
  ctx: Ctx,
  body: z.infer<typeof webhookCreateBody>,
  urls: UrlCheck,
): Promise<WebhookView & { secret: string }> {
  const { tenant } = ctx.principal;
  urlToStore(body.url, undefined, 'body.url');
  checkUrl(body.url, urls);
  await checkEnvironment(deps, tenant, body.environment);
  if ((await deps.store.listWebhooks(tenant)).length >= MAX_WEBHOOKS)
    throw new RuleViolation(`A tenant may have at most ${MAX_WEBHOOKS} webhook subscriptions`);
  const { sub, secret } = newSubscription(tenant, body, ctx.principal.name, deps.clock());
  // The secret first: a subscription never exists without one (a failed save leaves an orphan secret, never a hole).
  await need(deps).secrets.put(tenant, sub.id, [secret]);
  await saved(deps.store.putWebhook(sub, null, webhookAudit(deps, ctx, 'webhook.create', sub.id, null, sub)), sub.id);
  return { ...view(sub, true), secret: secret.secret };
}

export async function listWebhooks(deps: Deps, ctx: Ctx): Promise<{ items: WebhookView[] }> {
  return { items: (await deps.store.listWebhooks(ctx.principal.tenant)).map((s) => view(s)) };
}

/** A subscription of the tenant, or WebhookNotFound. */
export async function load(deps: Deps, tenant: string, id: string): Promise<WebhookSubscription> {
  const s = await deps.store.getWebhook(tenant, id);
  if (!s) throw new WebhookNotFound(`Webhook subscription '${id}' does not exist`);
  return s;
}

export async function getWebhook(deps: Deps, ctx: Ctx, id: string): Promise<WebhookView> {
  return view(await load(deps, ctx.principal.tenant, id));
}

export async function updateWebhook(deps: Deps, ctx: Ctx, id: string, body: z.infer<typeof webhookUpdateBody>, urls: UrlCheck): Promise<WebhookView> {
  const { tenant } = ctx.principal;
  const cur = await load(deps, tenant, id);
  if (cur.version !== body.version) throw new VersionConflict(`Webhook '${id}' is at version ${cur.version}, not ${body.version}; read it again`);
  const url = body.url === undefined ? undefined : urlToStore(body.url, cur.url, 'body.url');
  if (url !== undefined && url !== cur.url) checkUrl(url, urls);
  if (body.environment !== undefined) await checkEnvironment(deps, tenant, body.environment);
  const { version: _v, ...changes } = body;
  const next = changedSubscription(cur, { ...changes, ...(url !== undefined ? { url } : {}) }, ctx.principal.name, deps.clock());
  await saved(deps.store.putWebhook(next, cur.version, webhookAudit(deps, ctx, 'webhook.update', id, cur, next)), id);
  // The full URL once, to the admin who set a new one.
  return view(next, url !== undefined && url !== cur.url);
}

export async function deleteWebhook(deps: With<'webhooks'>, ctx: Ctx, id: string): Promise<void> {
  const { tenant } = ctx.principal;
  const cur = await load(deps, tenant, id);
  await saved(deps.store.deleteWebhook(cur, webhookAudit(deps, ctx, 'webhook.delete', id, cur, null)), id);
  await need(deps).secrets.remove(tenant, id);
}

/**
 * A new signing secret, shown once. The previous ones keep signing until `overlapSeconds` from now
 * (every delivery in that time carries a signature per secret, as the specification allows), so a
 * receiver can switch to the new secret without missing a delivery. Expired ones are dropped.
 */
export async function rotateWebhookSecret(
  deps: With<'webhooks'>,
  ctx: Ctx,
  id: string,
  body: z.infer<typeof webhookRotateBody>,
): Promise<WebhookView & { secret: string }> {
  const { tenant } = ctx.principal;
  const cur = await load(deps, tenant, id);
  const now = deps.clock();
  const until = new Date(now.getTime() + (body.overlapSeconds ?? DEFAULT_OVERLAP_SECONDS) * 1000).toISOString();
  const kept = (await need(deps).secrets.get(tenant, id))
    .filter((s) => !s.expiresAt || s.expiresAt > now.toISOString())
    .map((s) => ({ ...s, expiresAt: s.expiresAt && s.expiresAt < until ? s.expiresAt : until }))
    .filter((s) => s.expiresAt > now.toISOString());
  const fresh = newSecret(now);
  const secrets = [fresh, ...kept];
  const next: WebhookSubscription = {
    ...cur,
    secrets: secrets.map(secretMeta),
    version: cur.version + 1,
    updatedAt: now.toISOString(),
    updatedBy: ctx.principal.name,
  };
  await need(deps).secrets.put(tenant, id, secrets);
  await saved(deps.store.putWebhook(next, cur.version, webhookAudit(deps, ctx, 'webhook.rotate', id, cur, next)), id);
  return { ...view(next), secret: fresh.secret };
}
