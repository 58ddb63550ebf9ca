import { createHash, randomBytes } from 'node:crypto';
import * as z from '../kernel/zod.ts';
import { auditEntry } from '../audit/audit.ts';
import { EnvironmentNotFound, RuleViolation, ValidationFailed, VersionConflict, WebhookNotFound } from '../kernel/errors.ts';
import type { Ctx, Deps, With } from '../ports.ts';
import type { DomainEvent } from '../kernel/ports.ts';
import { retryOnConflict, WriteConflict } from '../kernel/retry.ts';
import { envName } from '../kernel/schemas.ts';
import { checkTenantUrl, isRedactedUrl, redactedMatches, redactUrl, TENANT_URL_FORMAT } from '../kernel/url-policy.ts';
import {
  WEBHOOK_EVENT_TYPES,
  WEBHOOK_PAYLOAD_VERSION,
  webhookTypeOf,
  type WebhookAttempt,
  type WebhookDelivery,
  type WebhookEventType,
  type WebhookSubscription,
} from './model.ts';
import type { WebhookDeps, WebhookSecret } from './ports.ts';

/**
 * Outbound webhooks, following the Standard Webhooks specification: subscriptions (tenant-wide or
 * per environment), their signing secrets (shown once, rotated with an overlap during which both
 * sign), and deliveries with retries.
 *
 * Delivery: each domain event leaves through the outbox (the table's stream → the bus); the delivery
 * function, behind its own bus rule, writes one delivery per matching subscription (its id, the
 * `webhook-id`, is derived from the event and the subscription, so a redelivered event is one
 * delivery) and makes the first attempt. A failed attempt is retried on a one-time schedule:
 * exponential backoff with jitter (RETRY), for at most 24 hours or 12 attempts, then the delivery is
 * `failed` and the subscription flagged `failing`. No promotion ever waits for a delivery.
 */
export const RETRY = {
  /** first retry after about this (×3 per attempt, capped), ±25 % jitter */
  baseMs: 5_000,
  factor: 3,
  capMs: 6 * 3600_000,
  windowMs: 24 * 3600_000,
  maxAttempts: 12,
} as const;

/** The delay before retry number `failures` (1 = after the first failed attempt). */
export function retryDelayMs(failures: number, baseMs: number = RETRY.baseMs, random: () => number = Math.random): number {
  const raw = Math.min(baseMs * RETRY.factor ** Math.max(0, failures - 1), RETRY.capMs);
  return Math.round(raw * (0.75 + random() * 0.5));
}

/** Overlap of a rotated secret: how long the old one still signs (default a day, at most a week). */
export const DEFAULT_OVERLAP_SECONDS = 24 * 3600;

const eventType = /* @__PURE__ */ z.enum(WEBHOOK_EVENT_TYPES as [WebhookEventType, ...WebhookEventType[]]);
const url = /* @__PURE__ */ z.schema(() =>
  z
    .string()
    .check(
      z.minLength(1),
      z.maxLength(2048),
      z.meta(TENANT_URL_FORMAT),
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
    if (err instanceof WriteConflict) throw new VersionConflict(`Webhook '${id}' changed meanwhile; read it again`);
    throw err;
  }
}

function need(deps: With<'webhooks'>): WebhookDeps {
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
export async function createWebhook(deps: With<'webhooks'>, ctx: Ctx, body: z.infer<typeof webhookCreateBody>, urls: UrlCheck): Promise<WebhookView & { secret: string }> {
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

async function load(deps: Deps, tenant: string, id: string): Promise<WebhookSubscription> {
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

export type DeliveryView = Omit<WebhookDelivery, 'tenant' | 'payload' | 'rev'> & { payload: unknown };
const deliveryView = (d: WebhookDelivery): DeliveryView => {
  const { tenant: _t, payload, rev: _r, ...rest } = d;
  return { ...rest, payload: JSON.parse(payload) as unknown };
};

export async function listWebhookDeliveries(
  deps: Deps,
  ctx: Ctx,
  id: string,
  limit: number,
  cursor?: string,
): Promise<{ items: DeliveryView[]; cursor: string | null }> {
  await load(deps, ctx.principal.tenant, id);
  const page = await deps.store.listWebhookDeliveries(ctx.principal.tenant, id, limit, cursor);
  return { items: page.items.map(deliveryView), cursor: page.cursor };
}

export const scheduleNameOf = (tenant: string, id: string) => `stageline-wh-${createHash('sha256').update(`${tenant}\n${id}`).digest('hex').slice(0, 40)}`;

/** Sends a delivery again (same `webhook-id`, a new round of retries), from the delivery function, now. */
export async function redeliverWebhook(deps: With<'webhooks'>, ctx: Ctx, id: string, deliveryId: string): Promise<DeliveryView> {
  const { tenant } = ctx.principal;
  const sub = await load(deps, tenant, id);
  for (let i = 0; i < 3; i++) {
    const d = await deps.store.getWebhookDelivery(tenant, sub.id, deliveryId);
    if (!d) throw new WebhookNotFound(`Webhook '${id}' has no delivery '${deliveryId}'`);
    const now = deps.clock();
    const next: WebhookDelivery = { ...d, status: 'pending', roundStartedAt: null, nextAttemptAt: now.toISOString(), rev: d.rev + 1 };
    if (!(await deps.store.updateWebhookDelivery(next, d.rev))) continue;
    await need(deps).scheduler.scheduleOnce(scheduleNameOf(tenant, d.id), now, {
      tenant,
      webhookDelivery: { subscription: sub.id, id: d.id, trigger: 'redeliver' },
    });
    return deliveryView(next);
  }
  throw new VersionConflict('The delivery changed while it was being redelivered; try again');
}

// ---- delivery (the delivery function)

/** The webhook-id of an event's delivery to a subscription: time-ordered, the same however often the event arrives. */
export function deliveryIdOf(event: { id: string; detail: Record<string, unknown> }, subscription: string, now: Date): string {
  const at = Date.parse(String(event.detail.at ?? '')) || now.getTime();
  return `msg_${at.toString(36).padStart(9, '0')}${createHash('sha256').update(`${event.id}\n${subscription}`).digest('hex').slice(0, 20)}`;
}

const environmentOf = (detail: Record<string, unknown>) =>
  typeof detail.targetEnvironment === 'string' ? detail.targetEnvironment : typeof detail.environment === 'string' ? detail.environment : null;

/** A domain event from the bus: one delivery per matching subscription, each attempted at once, side by side (one slow receiver delays none of the others). */
export async function dispatchWebhooks(deps: With<'webhooks'>, event: DomainEvent): Promise<{ deliveries: number }> {
  const type = webhookTypeOf(event.type);
  if (!type) return { deliveries: 0 };
  const env = environmentOf(event.detail);
  // A tenant-wide freeze window holds every environment: a subscription of one environment hears of it too.
  const everyEnv = env === null && (type === 'freeze.started' || type === 'freeze.ended');
  const subs = (await deps.store.listWebhooks(event.tenant)).filter(
    (s) => s.enabled && s.events.includes(type) && (!s.environment || s.environment === env || everyEnv),
  );
  const { tenant: _t, eventId: _e, ...data } = event.detail;
  const now = deps.clock();
  const payload = JSON.stringify({
    type,
    version: WEBHOOK_PAYLOAD_VERSION,
    timestamp: typeof event.detail.at === 'string' ? event.detail.at : now.toISOString(),
    tenant: event.tenant,
    eventId: event.id,
    data,
  });
  const results = await Promise.allSettled(
    subs.map(async (s) => {
      const d: WebhookDelivery = {
        tenant: event.tenant,
        subscription: s.id,
        id: deliveryIdOf(event, s.id, now),
        eventId: event.id,
        eventType: type,
        payload,
        status: 'pending',
        attempts: [],
        roundStartedAt: null,
        nextAttemptAt: now.toISOString(),
        createdAt: now.toISOString(),
        rev: 1,
      };
      // A redelivered event: the delivery exists; it is attempted only if it never was (a crash after the write).
      if (!(await deps.store.createWebhookDelivery(d))) {
        const existing = await deps.store.getWebhookDelivery(event.tenant, s.id, d.id);
        if (!existing || existing.status !== 'pending' || existing.attempts.length) return;
      }
      await attemptDelivery(deps, event.tenant, s.id, d.id, 'event');
    }),
  );
  const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
  // Only the table failing throws (the bus retries the event); a receiver failing is a retry on schedule.
  if (failed.length) throw new Error(`webhook deliveries not recorded: ${failed.map((f) => String((f.reason as Error)?.message ?? f.reason)).join('; ')}`);
  return { deliveries: subs.length };
}

/**
 * Records an attempt that was made (the receiver got the request), so that none is lost to a concurrent write: a
 * conditional write, retried (re-reading each time) until it lands. While the delivery's state is still the one the
 * attempt read (only other attempts were logged meanwhile), the attempt's outcome `next` is written with every
 * attempt logged so far, and true. When another writer changed the state (a redelivery, another attempt's outcome),
 * that state stands (its schedule runs) and the attempt is only appended to the log; false.
 */
async function recordAttempt(deps: Deps, read: WebhookDelivery, next: WebhookDelivery, attempt: WebhookAttempt): Promise<boolean> {
  if (await deps.store.updateWebhookDelivery(next, read.rev)) return true;
  return retryOnConflict(deps.tunables, async () => {
    const cur = await deps.store.getWebhookDelivery(read.tenant, read.subscription, read.id);
    if (!cur) return false;
    const same = cur.status === read.status && cur.roundStartedAt === read.roundStartedAt && cur.nextAttemptAt === read.nextAttemptAt;
    const attempts = [...cur.attempts, attempt].slice(-30);
    if (!(await deps.store.updateWebhookDelivery({ ...(same ? next : cur), attempts, rev: cur.rev + 1 }, cur.rev))) throw new WriteConflict('version');
    return same;
  });
}

/** One attempt of a pending delivery: sign with every live secret, send, record, and schedule the next attempt or give up. */
export async function attemptDelivery(
  deps: With<'webhooks'>,
  tenant: string,
  subscription: string,
  id: string,
  trigger: WebhookAttempt['trigger'],
): Promise<{ status: WebhookDelivery['status'] | 'gone' }> {
  const w = need(deps);
  if (!w.sender) throw new Error('this function does not send webhooks');
  const d = await deps.store.getWebhookDelivery(tenant, subscription, id);
  if (!d) return { status: 'gone' };
  if (d.status !== 'pending') return { status: d.status };
  const sub = await deps.store.getWebhook(tenant, subscription);
  const now = deps.clock();
  if (!sub || !sub.enabled) {
    const attempt: WebhookAttempt = {
      at: now.toISOString(),
      trigger,
      statusCode: null,
      ms: 0,
      excerpt: sub ? 'the subscription is disabled' : 'the subscription was deleted',
    };
    const done: WebhookDelivery = { ...d, status: 'failed', nextAttemptAt: null, attempts: [...d.attempts, attempt].slice(-30), rev: d.rev + 1 };
    await recordAttempt(deps, d, done, attempt);
    return { status: 'failed' };
  }
  const secrets = (await w.secrets.get(tenant, subscription)).filter((s) => !s.expiresAt || s.expiresAt > now.toISOString()).map((s) => s.secret);
  const r = await w.sender.send({ url: sub.url, id: d.id, timestamp: now, body: d.payload, secrets });
  const attempt: WebhookAttempt = { at: now.toISOString(), trigger, statusCode: r.statusCode, ms: r.ms, ...(r.excerpt ? { excerpt: r.excerpt } : {}) };
  const roundStartedAt = d.roundStartedAt ?? now.toISOString();
  const attempts = [...d.attempts, attempt].slice(-30);
  const ok = r.statusCode !== null && r.statusCode >= 200 && r.statusCode < 300;
  let next: WebhookDelivery;
  if (ok) next = { ...d, status: 'delivered', attempts, roundStartedAt, nextAttemptAt: null, rev: d.rev + 1 };
  else {
    const inRound = attempts.filter((a) => a.at >= roundStartedAt).length;
    const at = new Date(now.getTime() + retryDelayMs(inRound, w.retryBaseMs));
    const giveUp = inRound >= RETRY.maxAttempts || at.getTime() > Date.parse(roundStartedAt) + RETRY.windowMs;
    next = { ...d, status: giveUp ? 'failed' : 'pending', attempts, roundStartedAt, nextAttemptAt: giveUp ? null : at.toISOString(), rev: d.rev + 1 };
  }
  // A lost race (a redelivery or another attempt meanwhile): the other writer's state stands and its schedule runs; the attempt is logged all the same.
  if (!(await recordAttempt(deps, d, next, attempt))) return { status: 'pending' };
  if (next.status === 'pending')
    await w.scheduler.scheduleOnce(scheduleNameOf(tenant, d.id), new Date(next.nextAttemptAt!), {
      tenant,
      webhookDelivery: { subscription, id: d.id, trigger: 'retry' },
    });
  if (next.status === 'failed') {
    await deps.store.setWebhookHealth(tenant, subscription, {
      status: 'failing',
      consecutiveFailures: sub.health.consecutiveFailures + 1,
      lastFailureAt: now.toISOString(),
      reason: `delivery ${d.id} failed after ${next.attempts.filter((a) => a.at >= roundStartedAt).length} attempts (last: ${r.statusCode ?? r.excerpt ?? 'no answer'})`,
    });
  } else if (next.status === 'delivered' && (sub.health.status !== 'ok' || sub.health.consecutiveFailures)) {
    await deps.store.setWebhookHealth(tenant, subscription, { status: 'ok', consecutiveFailures: 0, lastFailureAt: sub.health.lastFailureAt, reason: null });
  }
  return { status: next.status };
}
