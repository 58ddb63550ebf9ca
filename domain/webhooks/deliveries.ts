import { createHash } from 'node:crypto';
import { VersionConflict, WebhookNotFound } from '../kernel/errors.ts';
import type { Ctx, Deps, With } from '../kernel/deps.ts';
import type { DomainEvent } from '../kernel/ports.ts';
import { retryOnConflict, WriteConflict } from '../kernel/retry.ts';
import { WEBHOOK_PAYLOAD_VERSION, webhookTypeOf, type WebhookAttempt, type WebhookDelivery } from './model.ts';
import { load, need } from './subscriptions.ts';
import type { WebhookDeps } from './ports.ts';

/**
 * Deliveries of outbound webhooks (Standard Webhooks), with their retries; the subscriptions they
 * go to are subscriptions.ts.
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
        if (!existing || existing.status !== 'pending') return;
        // Attempted, and still to retry: the event is delivered again when the function failed before it ended,
        // perhaps between recording the attempt and scheduling its retry. The retry's schedule is made again (the
        // same name: one schedule, never a second), so a crash there never leaves a delivery pending for ever.
        if (existing.attempts.length) {
          if (existing.nextAttemptAt)
            await scheduleRetry(need(deps), event.tenant, s.id, existing.id, new Date(Math.max(Date.parse(existing.nextAttemptAt), now.getTime())));
          return;
        }
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

/** A pending delivery's next attempt, on its one schedule (made again, the same schedule is moved). */
const scheduleRetry = (w: WebhookDeps, tenant: string, subscription: string, id: string, at: Date) =>
  w.scheduler.scheduleOnce(scheduleNameOf(tenant, id), at, { tenant, webhookDelivery: { subscription, id, trigger: 'retry' } });

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
  if (next.status === 'pending') await scheduleRetry(w, tenant, subscription, d.id, new Date(next.nextAttemptAt!));
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
