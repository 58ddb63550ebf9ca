import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as z from '../kernel/zod.ts';
import { auditEntry } from '../audit/audit.ts';
import { AppKeyNotFound, EnvironmentNotFound, Forbidden, TargetNotFound, Unauthenticated, ValidationFailed } from '../kernel/errors.ts';
import { targetName } from '../kernel/target-schemas.ts';
import type { Ctx, Deps } from '../kernel/deps.ts';
import { retryOnConflict } from '../kernel/retry.ts';
import { envName, ITEM_KEY } from '../kernel/schemas.ts';
import type { AppKey } from './model.ts';

/** What an authenticated reader may read: one tenant, one environment, maybe a key prefix. */
export interface ReadScope {
  tenant: string;
  environment: string;
  prefix?: string;
  /** the target the key reads as (an app key scoped to one target of the environment) */
  target?: string;
  /** who reads: `app-key:<id>`, an IAM ARN, or a user */
  reader: string;
}

export const KEY_PREFIX = 'slk';
const KEY_ID = /^ak_[0-9a-f]{16}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;
const TENANT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** how often the last-used time is written at most (per key and function instance) */
export const LAST_USED_RESOLUTION_MS = 60_000;
export const MAX_OVERLAP_SECONDS = 30 * 24 * 3600;

export const createAppKeyBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    name: z.string().check(z.trim(), z.minLength(1), z.maxLength(100), z.describe('what the key is for, e.g. the service reading with it')),
    environment: envName,
    prefix: z
      .optional(z.string().check(z.minLength(1), z.maxLength(200), z.regex(/^[A-Za-z0-9_][A-Za-z0-9_.\-/:]*$/, 'must be the start of a config/flag key')))
      .check(z.describe('read only keys starting with this')),
    target: z
      .optional(targetName)
      .check(
        z.describe(
          "read as this target of the environment (one it declares): its own version while a rollout is in progress, and its parameters; only such a key reports the target's application instances to a fleet confirmation",
        ),
      ),
  }),
);
export type CreateAppKey = z.infer<typeof createAppKeyBody>;

export const rotateAppKeyBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    overlapSeconds: z
      ._default(z.number().check(z.int(), z.minimum(0), z.maximum(MAX_OVERLAP_SECONDS)), 24 * 3600)
      .check(z.describe('how long the previous secret keeps working (default a day; 0 ends it now)')),
  }),
);
export type RotateAppKey = z.infer<typeof rotateAppKeyBody>;

export const appKeyParams = /* @__PURE__ */ z.schema(() =>
  z.object({ id: z.string().check(z.regex(KEY_ID, 'must be an app key id (ak_ and 16 hex digits)')) }),
);

export const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

export function formatKey(k: Pick<AppKey, 'tenant' | 'environment' | 'id'>, secret: string): string {
  return `${KEY_PREFIX}.${k.tenant}.${k.environment}.${k.id}.${secret}`;
}

export function parseKey(token: string): { tenant: string; environment: string; id: string; secret: string } | null {
  const parts = token.trim().split('.');
  if (parts.length !== 5 || parts[0] !== KEY_PREFIX) return null;
  const [, tenant, environment, id, secret] = parts as [string, string, string, string, string];
  if (!TENANT.test(tenant) || !/^[a-z][a-z0-9-]{0,31}$/.test(environment) || !KEY_ID.test(id) || !SECRET.test(secret)) return null;
  return { tenant, environment, id, secret };
}

/** Whether `secret` is one of the key's live secrets (constant time per comparison; every live secret is compared). */
export function secretMatches(key: Pick<AppKey, 'secrets'>, secret: string, now: Date): boolean {
  const presented = Buffer.from(hashSecret(secret), 'hex');
  let ok = false;
  for (const s of key.secrets) {
    const live = !s.expiresAt || Date.parse(s.expiresAt) > now.getTime();
    const same = timingSafeEqual(presented, Buffer.from(s.hash, 'hex'));
    ok = (live && same) || ok;
  }
  return ok;
}

export function appKeyStatus(k: AppKey, now: Date): 'active' | 'rotating' | 'revoked' {
  if (k.revokedAt) return 'revoked';
  return k.secrets.some((s) => s.expiresAt && Date.parse(s.expiresAt) > now.getTime()) ? 'rotating' : 'active';
}

/** What the API shows of a key: never a secret or its hash. */
export function appKeyView(k: AppKey, now: Date) {
  const overlap = k.secrets.filter((s) => s.expiresAt && Date.parse(s.expiresAt) > now.getTime()).map((s) => s.expiresAt!);
  return {
    id: k.id,
    name: k.name,
    environment: k.environment,
    prefix: k.prefix ?? null,
    // Only on keys scoped to a target: every other key answers as it always did.
    ...(k.target ? { target: k.target } : {}),
    status: appKeyStatus(k, now),
    createdAt: k.createdAt,
    createdBy: k.createdBy,
    rotatedAt: k.rotatedAt ?? null,
    previousSecretValidUntil: overlap.sort().at(-1) ?? null,
    revokedAt: k.revokedAt ?? null,
    revokedBy: k.revokedBy ?? null,
    lastUsedAt: k.lastUsedAt ?? null,
    version: k.version,
  };
}
export type AppKeyView = ReturnType<typeof appKeyView>;

const mintId = () => `ak_${randomBytes(8).toString('hex')}`;
const mintSecret = () => randomBytes(32).toString('base64url');

async function loadKey(deps: Deps, tenant: string, id: string): Promise<AppKey> {
  const key = await deps.store.getAppKey(tenant, id);
  if (!key) throw new AppKeyNotFound(id);
  return key;
}

export async function createAppKey(deps: Deps, ctx: Ctx, input: CreateAppKey): Promise<AppKeyView & { key: string }> {
  const { tenant } = ctx.principal;
  if (input.prefix !== undefined && !ITEM_KEY.test(`${input.prefix}x`))
    throw new ValidationFailed([{ path: 'body.prefix', message: 'must be the start of a config/flag key' }]);
  const env = await deps.store.getEnvironment(tenant, input.environment);
  if (!env) throw new EnvironmentNotFound(input.environment);
  // A key scoped to a target names one the environment declares (an environment without targets has only its implicit one: no scope to give).
  const known = (env.targets ?? []).map((t) => t.name);
  if (input.target !== undefined && !known.includes(input.target)) throw new TargetNotFound(input.environment, input.target, known);
  const now = deps.clock();
  const secret = mintSecret();
  const key: AppKey = {
    tenant,
    id: mintId(),
    name: input.name,
    environment: input.environment,
    ...(input.prefix ? { prefix: input.prefix } : {}),
    ...(input.target ? { target: input.target } : {}),
    secrets: [{ hash: hashSecret(secret), createdAt: now.toISOString() }],
    createdAt: now.toISOString(),
    createdBy: ctx.principal.name,
    version: 1,
  };
  await deps.store.putAppKey(key, null, auditFor(ctx, key, 'app-key.create', null, now));
  return { ...appKeyView(key, now), key: formatKey(key, secret) };
}

export async function listAppKeys(deps: Deps, ctx: Ctx, environment?: string) {
  const now = deps.clock();
  const all = await deps.store.listAppKeys(ctx.principal.tenant);
  return { items: all.filter((k) => !environment || k.environment === environment).map((k) => appKeyView(k, now)) };
}

export async function revokeAppKey(deps: Deps, ctx: Ctx, id: string, reason?: string): Promise<AppKeyView> {
  return retryOnConflict(deps.tunables, async () => {
    const current = await loadKey(deps, ctx.principal.tenant, id);
    const now = deps.clock();
    if (current.revokedAt) return appKeyView(current, now);
    const next: AppKey = { ...current, revokedAt: now.toISOString(), revokedBy: ctx.principal.name, version: current.version + 1 };
    await deps.store.putAppKey(next, current.version, auditFor(ctx, next, 'app-key.revoke', current, now, reason));
    return appKeyView(next, now);
  });
}

export async function rotateAppKey(deps: Deps, ctx: Ctx, id: string, input: RotateAppKey): Promise<AppKeyView & { key: string }> {
  return retryOnConflict(deps.tunables, async () => {
    const current = await loadKey(deps, ctx.principal.tenant, id);
    if (current.revokedAt) throw new Forbidden(`App key ${id} is revoked; create a new one`);
    const now = deps.clock();
    const until = new Date(now.getTime() + input.overlapSeconds * 1000).toISOString();
    const secret = mintSecret();
    // Secrets still live keep at most the overlap just asked for; expired ones are dropped.
    const kept = current.secrets
      .filter((s) => !s.expiresAt || Date.parse(s.expiresAt) > now.getTime())
      .map((s) => ({ ...s, expiresAt: s.expiresAt && s.expiresAt < until ? s.expiresAt : until }))
      .filter((s) => Date.parse(s.expiresAt) > now.getTime());
    const next: AppKey = {
      ...current,
      secrets: [...kept, { hash: hashSecret(secret), createdAt: now.toISOString() }],
      rotatedAt: now.toISOString(),
      version: current.version + 1,
    };
    await deps.store.putAppKey(next, current.version, auditFor(ctx, next, 'app-key.rotate', current, now));
    return { ...appKeyView(next, now), key: formatKey(next, secret) };
  });
}

/** The audit entry of a key change: the binding and status, never a secret or hash. */
function auditFor(ctx: Ctx, key: AppKey, action: string, before: AppKey | null, now: Date, reason?: string) {
  const facts = (k: AppKey) =>
    JSON.stringify({
      name: k.name,
      environment: k.environment,
      prefix: k.prefix ?? null,
      ...(k.target ? { target: k.target } : {}),
      status: appKeyStatus(k, now),
      secrets: k.secrets.length,
    });
  return auditEntry(
    key.tenant,
    {
      actor: ctx.principal.id,
      actorName: ctx.principal.name,
      action,
      entityType: 'app-key',
      entityId: key.id,
      before: before ? facts(before) : null,
      after: facts(key),
      ...(reason ? { reason } : {}),
      requestId: ctx.requestId,
    },
    now,
  );
}

/** Where a request's app key is: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedKey(headers: Record<string, string | undefined>): string | null {
  const api = headers['x-api-key'];
  if (api) return api.trim();
  const bearer = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '')?.[1];
  return bearer?.trim() ?? null;
}

/**
 * Checks a presented key for a read of `environment` (the path's, or the key's own when the route
 * names none). 401: no key, not a key, unknown, wrong secret or revoked; 403: a valid key of
 * another environment. `keyRecord` is the record read for the key's tenant and id.
 */
export function checkKey(parsed: ReturnType<typeof parseKey>, keyRecord: AppKey | null, environment: string | undefined, now: Date): ReadScope {
  if (!parsed) throw new Unauthenticated('Send an app key: Authorization: Bearer slk.… or X-API-Key: slk.…');
  if (!keyRecord || keyRecord.tenant !== parsed.tenant || keyRecord.environment !== parsed.environment || !secretMatches(keyRecord, parsed.secret, now)) {
    throw new Unauthenticated('The app key is not valid (unknown, altered or superseded)');
  }
  if (keyRecord.revokedAt) throw new Unauthenticated(`The app key ${keyRecord.id} was revoked`);
  if (environment !== undefined && environment !== keyRecord.environment) {
    throw new Forbidden(`This app key reads environment '${keyRecord.environment}' only, not '${environment}'`);
  }
  return {
    tenant: keyRecord.tenant,
    environment: keyRecord.environment,
    ...(keyRecord.prefix ? { prefix: keyRecord.prefix } : {}),
    ...(keyRecord.target ? { target: keyRecord.target } : {}),
    reader: `app-key:${keyRecord.id}`,
  };
}

const touched = new Map<string, number>();

/** Whether this instance should write the key's last-used time now (at most once a minute per key). */
export function shouldTouch(key: AppKey, now: Date): boolean {
  const id = `${key.tenant}/${key.id}`;
  const last = Math.max(touched.get(id) ?? 0, key.lastUsedAt ? Date.parse(key.lastUsedAt) : 0);
  if (now.getTime() - last < LAST_USED_RESOLUTION_MS) return false;
  if (touched.size > 10_000) touched.clear();
  touched.set(id, now.getTime());
  return true;
}
