import { randomBytes } from 'node:crypto';
import * as z from '../kernel/zod.ts';
import { auditEntry } from '../audit/audit.ts';
import { hashSecret, secretMatches } from '../access/app-keys.ts';
import { MetricsTokenNotFound, Unauthenticated } from '../kernel/errors.ts';
import type { Ctx, Deps } from '../kernel/deps.ts';
import { lineOf } from '../kernel/line.ts';
import { retryOnConflict } from '../kernel/retry.ts';
import { addDora, daysBetween, doraFigures, emptyDora, type DoraFigures } from './dora.ts';
import type { ScrapeToken } from './model.ts';

export type { ScrapeToken };

/**
 * DORA's five for a metrics scraper (Prometheus): per environment and over the line, read with a
 * credential of one purpose — the tenant's metrics scrape token. Why not an app key: an app key reads one
 * environment's configuration (the SDKs' credential, handed to every running service); a scrape token
 * reads these figures of its own tenant and nothing else, so a scraper's config holds no key that reads
 * configuration, and a service's key reads no delivery figures. An admin mints it (or replaces it: the
 * previous one stops at once), it is shown once and kept as a SHA-256 hash (as app keys are), and the
 * tenant named in it is the only one it reads.
 */
export const SCRAPE_TOKEN_PREFIX = 'slm';
const TENANT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;

export const formatScrapeToken = (tenant: string, secret: string) => `${SCRAPE_TOKEN_PREFIX}.${tenant}.${secret}`;

export function parseScrapeToken(token: string): { tenant: string; secret: string } | null {
  const parts = token.trim().split('.');
  if (parts.length !== 3 || parts[0] !== SCRAPE_TOKEN_PREFIX) return null;
  const [, tenant, secret] = parts as [string, string, string];
  if (!TENANT.test(tenant) || !SECRET.test(secret)) return null;
  return { tenant, secret };
}

/** What the API shows of the token: never the secret or its hash. */
export const scrapeTokenView = (t: ScrapeToken) => ({ tenant: t.tenant, createdAt: t.createdAt, createdBy: t.createdBy, rotatedAt: t.rotatedAt ?? null });

/** POST /api/v1/platform/metrics/token (admin): creates the tenant's scrape token, or replaces it. Shown once. */
export async function issueScrapeToken(deps: Deps, ctx: Ctx): Promise<ReturnType<typeof scrapeTokenView> & { token: string }> {
  const { tenant } = ctx.principal;
  return retryOnConflict(deps.tunables, async () => {
    const current = await deps.store.getScrapeToken(tenant);
    const now = deps.clock();
    const secret = randomBytes(32).toString('base64url');
    const secrets = [{ hash: hashSecret(secret), createdAt: now.toISOString() }];
    const next: ScrapeToken = current
      ? { ...current, secrets, rotatedAt: now.toISOString(), version: current.version + 1 }
      : { tenant, secrets, createdAt: now.toISOString(), createdBy: ctx.principal.name, version: 1 };
    const facts = (t: ScrapeToken | null) => (t ? JSON.stringify({ createdAt: t.createdAt, rotatedAt: t.rotatedAt ?? null }) : null);
    const audit = auditEntry(
      tenant,
      {
        actor: ctx.principal.id,
        actorName: ctx.principal.name,
        action: current ? 'metrics-token.rotate' : 'metrics-token.create',
        entityType: 'metrics-token',
        entityId: 'metrics',
        before: facts(current),
        after: facts(next),
        requestId: ctx.requestId,
      },
      now,
    );
    await deps.store.putScrapeToken(next, current?.version ?? null, audit);
    return { ...scrapeTokenView(next), token: formatScrapeToken(tenant, secret) };
  });
}

/** GET /api/v1/platform/metrics/token (admin): when the token was made and by whom, never the token. */
export async function scrapeTokenInfo(deps: Deps, ctx: Ctx) {
  const t = await deps.store.getScrapeToken(ctx.principal.tenant);
  if (!t) throw new MetricsTokenNotFound('This tenant has no metrics scrape token: POST /api/v1/platform/metrics/token creates one');
  return scrapeTokenView(t);
}

/** Where a scrape's token is: `Authorization: Bearer slm.…` (Prometheus' `authorization.credentials`). */
export const presentedScrapeToken = (headers: Record<string, string | undefined>) => /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '')?.[1] ?? null;

/**
 * The tenant a presented token reads, or 401: no token, not a scrape token (an app key, a person's token,
 * a SCIM token), unknown, altered, replaced. The record is read for the tenant the token names.
 */
export async function scrapeTenant(deps: Pick<Deps, 'store' | 'clock'>, presented: string | null): Promise<string> {
  const parsed = presented ? parseScrapeToken(presented) : null;
  if (!parsed) throw new Unauthenticated('Send the tenant metrics scrape token: Authorization: Bearer slm.…');
  const record = await deps.store.getScrapeToken(parsed.tenant);
  if (!record || record.tenant !== parsed.tenant || !secretMatches(record, parsed.secret, deps.clock()))
    throw new Unauthenticated('The metrics scrape token is not valid (unknown, altered or replaced)');
  return record.tenant;
}

export const MAX_SCRAPE_DAYS = 90;
export const scrapeQuery = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    days: z.queryInt(1, MAX_SCRAPE_DAYS, 30).check(z.describe(`the window the figures are over, in days up to today (1 to ${MAX_SCRAPE_DAYS}; default 30)`)),
  }),
);
export type ScrapeQuery = z.infer<typeof scrapeQuery>;

export interface DoraExport {
  from: string;
  to: string;
  days: number;
  environments: { environment: string; dora: DoraFigures }[];
  line: DoraFigures;
}

/** The five of each environment of `tenant`'s line and of the line, over the last `days` days (today included). */
export async function doraExport(deps: Pick<Deps, 'store' | 'clock'>, tenant: string, q: ScrapeQuery): Promise<DoraExport> {
  const to = deps.clock().toISOString().slice(0, 10);
  const from = new Date(Date.parse(`${to}T00:00:00Z`) - (q.days - 1) * 86_400_000).toISOString().slice(0, 10);
  const days = daysBetween(from, to);
  const line = emptyDora();
  const environments = [];
  for (const env of lineOf(await deps.store.listEnvironments(tenant))) {
    const sums = emptyDora();
    for (const d of await deps.store.getMetrics(tenant, env.name, from, to)) addDora(sums, d.counters);
    addDora(line, sums);
    environments.push({ environment: env.name, dora: doraFigures(sums, days) });
  }
  return { from, to, days, environments, line: doraFigures(line, days) };
}
