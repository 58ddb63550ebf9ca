import type { AuditEntry } from '../kernel/model.ts';
import type { Scheduler } from '../kernel/ports.ts';
import type { WebhookDelivery, WebhookSubscription } from './model.ts';

/** A signing secret of a subscription (`whsec_` + base64 of 24 random bytes); kept outside the table's plain items. */
export interface WebhookSecret {
  id: string;
  secret: string;
  createdAt: string;
  /** set when a rotation replaced it: it still signs until then (overlap) */
  expiresAt: string | null;
}

/** Where signing secrets live: Secrets Manager on AWS (`stageline/<tenant>/webhooks/<id>`), a sealed item locally. */
export interface WebhookSecretStore {
  put(tenant: string, subscription: string, secrets: WebhookSecret[]): Promise<void>;
  get(tenant: string, subscription: string): Promise<WebhookSecret[]>;
  remove(tenant: string, subscription: string): Promise<void>;
}

export interface SendResult {
  /** null: no HTTP answer (refused, unreachable, timed out) */
  statusCode: number | null;
  ms: number;
  /** a short, redacted excerpt of the answer's body, or why there was no answer */
  excerpt?: string;
  error?: string;
}

/** Signs (Standard Webhooks, every secret given) and sends one delivery through the outbound guard. */
export interface WebhookSender {
  send(input: { url: string; id: string; timestamp: Date; body: string; secrets: string[] }): Promise<SendResult>;
}

/** What the webhook routes and the delivery function work with. */
export interface WebhookDeps {
  secrets: WebhookSecretStore;
  /** the delivery function's alone */
  sender?: WebhookSender;
  /** fires the delivery function (retries, redeliveries) */
  scheduler: Scheduler;
  /** first retry delay (5 s; the tests shrink it) */
  retryBaseMs?: number;
}

/** The table's part (functions/adapters/store/webhooks.ts). */
export interface WebhookRepo {
  getWebhook(tenant: string, id: string): Promise<WebhookSubscription | null>;
  listWebhooks(tenant: string): Promise<WebhookSubscription[]>;
  /** with its audit entry; `expectedVersion` null: create */
  putWebhook(sub: WebhookSubscription, expectedVersion: number | null, audit: AuditEntry): Promise<void>;
  deleteWebhook(sub: WebhookSubscription, audit: AuditEntry): Promise<void>;
  /** health only (no version change: a delivery never races an edit) */
  setWebhookHealth(tenant: string, id: string, health: WebhookSubscription['health']): Promise<void>;
  /** false when a delivery with this id exists already */
  createWebhookDelivery(d: WebhookDelivery): Promise<boolean>;
  getWebhookDelivery(tenant: string, subscription: string, id: string): Promise<WebhookDelivery | null>;
  /** conditioned on `rev` (a lost race answers false) */
  updateWebhookDelivery(d: WebhookDelivery, expectedRev: number): Promise<boolean>;
  listWebhookDeliveries(tenant: string, subscription: string, limit: number, cursor?: string): Promise<{ items: WebhookDelivery[]; cursor: string | null }>;
}

/** A manifest's delivery sections (domain/manifest): webhook subscriptions, git targets, registry links; `expectedVersion` null / `replace` false: create. */
export type WebhookOp = { kind: 'webhook'; sub: WebhookSubscription; expectedVersion: number | null } | { kind: 'deleteWebhook'; sub: WebhookSubscription };

/** The webhooks context's part of what a use case is given (domain/kernel/deps.ts): subscriptions and deliveries in the store; secrets, sender and retry schedules. */
declare module '../kernel/deps.ts' {
  interface Store extends WebhookRepo {}
  interface WriteOps {
    webhook: WebhookOp;
  }
  interface Ports {
    /** outbound webhooks: secrets, sender, retry schedules (domain/webhooks) */
    webhooks: WebhookDeps;
  }
}
