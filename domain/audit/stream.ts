import * as z from '../kernel/zod.ts';
import { auditEntry, type AuditDraft } from './audit.ts';
import { chainPages } from './log.ts';
import { digestOf } from '../kernel/canonical.ts';
import { AuditDestinationNotFound, ValidationFailed, VersionConflict } from '../kernel/errors.ts';
import type { Ctx, Deps, With } from '../kernel/deps.ts';
import type { ChainHead } from '../kernel/model.ts';
import type { Sealed } from '../kernel/sealed.ts';
import { retryOnConflict } from '../kernel/retry.ts';
import { tenantUrl } from '../kernel/url-policy.ts';
import { datadogDestinationSettings, s3DestinationSettings, type DatadogDestinationSettings } from './siem-destinations.ts';
import {
  AUDIT_DESTINATION_KINDS,
  AuditSendRefused,
  AuditSendUnavailable,
  type AuditDestinationKind,
  type AuditSender,
  type StreamedAuditEntry,
} from './stream-ports.ts';

/**
 * The audit stream into a tenant's SIEM (issue "Where the enterprise already works", part 3). Each destination keeps a
 * cursor (the last chain seq it took); a shipper, fed by the chain head's moves in the table's stream (never by the
 * consumer that links: a slow SIEM never delays linking or anchoring), reads the links after the cursor in seq order,
 * sends them as one batch, and moves the cursor on only when the destination took the batch, conditioned on the cursor
 * it read (two shippers racing never move it twice nor past a link not sent). So every entry is shipped at least once
 * and in order per tenant; a batch sent again after a transient failure may reach the SIEM twice: every event carries
 * tenant, seq and hash, the SIEM's de-duplication key. A batch the destination refuses (an answer a retry cannot
 * change) is a dead letter (its seq range and the reason), and the destination stops (`failing`) until a replay.
 */

/** A destination's name: in its path, lower case. */
export const DESTINATION_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** How GET shows a secret (a token, an API key, a header's value); sent back as it is, it keeps the stored one. */
export const MASKED_SECRET = '…';
/** At most this many destinations per tenant. */
export const MAX_DESTINATIONS = 10;
/** Dead letters kept per destination (the newest). */
export const DEAD_LETTERS_KEPT = 20;
/** Entries per batch sent. */
export const SHIP_BATCH = 200;

const secret = (what: string) =>
  z
    .string()
    .check(
      z.trim(),
      z.minLength(1, `is required: ${what}`),
      z.maxLength(4096),
      z.describe(`${what}: stored sealed, shown as ${MASKED_SECRET}; sent back as ${MASKED_SECRET}, the stored one is kept`),
    );
const version = () =>
  z.optional(z.number().check(z.int(), z.minimum(0))).check(z.describe('the version you read (0: none yet): 409 when it changed since; left out: the latest'));
const endpoint = (what: string) =>
  tenantUrl(z.string().check(z.trim(), z.maxLength(2048))).check(
    z.describe(`${what}: an https URL on a public address (plain http only to loopback, in local mode); checked through the outbound rules when saved`),
  );
const headerName = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/;

export const splunkDestination = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    kind: z.literal('splunk'),
    url: endpoint('the HTTP Event Collector base URL (events go to /services/collector/event)'),
    token: secret('the HEC token'),
    index: z.optional(z.string().check(z.regex(/^[a-z0-9_][a-z0-9_-]{0,79}$/, 'a Splunk index name (lower case, digits, _ and -)'))),
    sourcetype: z.optional(z.string().check(z.minLength(1), z.maxLength(100))),
    ack: z
      ._default(z.boolean(), false)
      .check(z.describe('true when the token asks for indexer acknowledgement: a batch counts as shipped once it is acknowledged')),
    version: version(),
  }),
);
export const otlpDestination = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    kind: z.literal('otlp'),
    url: endpoint('the OTLP/HTTP base URL (logs go to /v1/logs)'),
    headers: z._default(
      z
        .record(z.string().check(z.regex(headerName, 'an HTTP header name')), secret('a header sent with every request (e.g. an API key)'))
        .check(z.refine((h) => Object.keys(h).length <= 10, 'at most 10 headers')),
      {},
    ),
    version: version(),
  }),
);
/** Datadog: the settings its sender takes (domain/audit/siem-destinations.ts), and the API key. */
export const datadogDestination = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    kind: z.literal('datadog'),
    ...datadogDestinationSettings.shape,
    apiKey: secret('the Datadog API key'),
    version: version(),
  }),
);
/** S3: the tenant's bucket and the role in its account Stageline assumes to write there (domain/audit/siem-destinations.ts); no secret. */
export const s3Destination = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    kind: z.literal('s3'),
    ...s3DestinationSettings.shape,
    version: version(),
  }),
);

/** PUT /audit/destinations/{name}: one of the kinds, by `kind`. */
export const auditDestinationBody = /* @__PURE__ */ z.schema(() =>
  z
    .discriminatedUnion('kind', [splunkDestination, otlpDestination, datadogDestination, s3Destination])
    .check(
      z.describe(`A destination of the audit stream, by kind (${AUDIT_DESTINATION_KINDS.join(', ')}); its secrets are sealed when written and never shown`),
    ),
);
export type AuditDestinationBody = z.infer<typeof auditDestinationBody>;

/** POST /audit/destinations/{name}/replay. */
export const replayBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    fromSeq: z.number().check(z.int(), z.describe('the chain seq to ship again from (1: the whole chain); a seq not in the chain: 400')),
  }),
);

/** What a destination is, as stored: its settings (no secret) and its sealed secrets by name. */
export interface AuditDestination {
  tenant: string;
  name: string;
  kind: AuditDestinationKind;
  settings: {
    url?: string;
    index?: string;
    sourcetype?: string;
    ack?: boolean;
    site?: DatadogDestinationSettings['site'];
    service?: string;
    tags?: string[];
    bucket?: string;
    prefix?: string;
    region?: string;
    roleArn?: string;
    headers?: string[];
  };
  /** `token` (splunk), `apiKey` (datadog), `header:<name>` (otlp) */
  secrets: Record<string, Sealed>;
  version: number;
  createdAt: string;
  updatedAt: string;
  updatedBy: string;
}

export interface DeadLetter {
  fromSeq: number;
  toSeq: number;
  reason: string;
  status?: number;
  at: string;
}

/** Where a destination's shipping stands: an item of its own (a config write never moves it). */
export interface ShipCursor {
  tenant: string;
  name: string;
  /** the last seq the destination took (0: none) */
  seq: number;
  state: 'active' | 'failing';
  /** moved on every write: the condition two shippers race on */
  rev: number;
  lastError?: string;
  lastErrorAt?: string;
  shippedAt?: string;
  deadLetters: DeadLetter[];
}

export interface StoredDestination {
  destination: AuditDestination;
  cursor: ShipCursor;
}

/** What opens a destination's sender (functions/adapters/siem/senders.ts): its sealed secrets opened there alone. */
export interface AuditSenders {
  open(destination: AuditDestination): Promise<AuditSender>;
}

export { AuditDestinationNotFound };

/** The secrets a body carries, by stored name. */
function secretsOf(body: AuditDestinationBody): Record<string, string> {
  switch (body.kind) {
    case 'splunk':
      return { token: body.token };
    case 'datadog':
      return { apiKey: body.apiKey };
    case 'otlp':
      return Object.fromEntries(Object.entries(body.headers).map(([k, v]) => [`header:${k.toLowerCase()}`, v]));
    case 's3':
      return {};
  }
}
const secretPath = (key: string) => (key.startsWith('header:') ? `body.headers.${key.slice(7)}` : `body.${key}`);

function settingsOf(body: AuditDestinationBody): AuditDestination['settings'] {
  switch (body.kind) {
    case 'splunk':
      return { url: body.url, ack: body.ack, ...(body.index ? { index: body.index } : {}), ...(body.sourcetype ? { sourcetype: body.sourcetype } : {}) };
    case 'otlp':
      return { url: body.url, headers: Object.keys(body.headers).map((h) => h.toLowerCase()) };
    case 'datadog':
      return { site: body.site, ...(body.service ? { service: body.service } : {}), ...(body.tags?.length ? { tags: body.tags } : {}) };
    case 's3':
      return {
        bucket: body.bucket,
        roleArn: body.roleArn,
        ...(body.prefix ? { prefix: body.prefix } : {}),
        ...(body.region ? { region: body.region } : {}),
      };
  }
}

/** The plain secrets of a body that are not the masked form (what the save's check may try). */
export function givenSecrets(body: AuditDestinationBody): Record<string, string> {
  return Object.fromEntries(Object.entries(secretsOf(body)).filter(([, v]) => v !== MASKED_SECRET));
}

/** How far behind a destination is: entries, and seconds since the oldest one not shipped was linked. */
export interface Lag {
  entries: number;
  seconds: number;
}

async function lagOf(deps: Deps, head: ChainHead | null, cursor: ShipCursor): Promise<Lag> {
  const top = head?.seq ?? 0;
  if (cursor.seq >= top) return { entries: 0, seconds: 0 };
  let linkedAt: string | undefined;
  for await (const page of chainPages(deps, cursor.tenant, head, 1, cursor.seq + 1)) {
    linkedAt = page.links.find((l) => l.seq === cursor.seq + 1)?.linkedAt;
    break;
  }
  const seconds = linkedAt ? Math.max(0, Math.floor((deps.clock().getTime() - Date.parse(linkedAt)) / 1000)) : 0;
  return { entries: top - cursor.seq, seconds };
}

/** What the API shows: settings, every secret masked, where shipping stands and how far behind. */
export async function destinationView(deps: Deps, s: StoredDestination, head?: ChainHead | null) {
  const d = s.destination;
  const h = head === undefined ? await deps.store.chainHead(d.tenant) : head;
  const masked = { ...d.settings } as Record<string, unknown>;
  if (d.kind === 'splunk') masked.token = MASKED_SECRET;
  if (d.kind === 'datadog') masked.apiKey = MASKED_SECRET;
  if (d.kind === 'otlp') {
    delete masked.headers;
    masked.headers = Object.fromEntries((d.settings.headers ?? []).map((n) => [n, MASKED_SECRET]));
  }
  return {
    name: d.name,
    kind: d.kind,
    ...masked,
    state: s.cursor.state,
    shippedSeq: s.cursor.seq,
    lag: await lagOf(deps, h, s.cursor),
    ...(s.cursor.lastError ? { lastError: s.cursor.lastError, lastErrorAt: s.cursor.lastErrorAt } : {}),
    ...(s.cursor.shippedAt ? { shippedAt: s.cursor.shippedAt } : {}),
    deadLetters: s.cursor.deadLetters,
    version: d.version,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    updatedBy: d.updatedBy,
  };
}

export async function listAuditDestinations(deps: Deps, ctx: Ctx) {
  const { tenant } = ctx.principal;
  const [all, head] = await Promise.all([deps.store.listAuditDestinations(tenant), deps.store.chainHead(tenant)]);
  return { items: await Promise.all(all.map((s) => destinationView(deps, s, head))) };
}

export async function getAuditDestination(deps: Deps, ctx: Ctx, name: string) {
  const s = await deps.store.getAuditDestination(ctx.principal.tenant, name);
  if (!s) throw new AuditDestinationNotFound(name);
  return destinationView(deps, s);
}

const draft = (ctx: Ctx, action: string, name: string, before: string | null, after: string | null, reason?: string): AuditDraft => ({
  actor: ctx.principal.id,
  actorName: ctx.principal.name,
  action,
  // A tenant-level setting: the tenant's entry, its id naming the destination.
  entityType: 'tenant',
  entityId: `audit-destination:${name}`,
  ...(reason ? { reason } : {}),
  before,
  after,
  requestId: ctx.requestId,
});

/**
 * Sets a destination (admin). Secrets are sealed here; one sent back masked keeps the stored one (a masked value with
 * nothing stored is a 400 naming it). A new destination ships from the entry that records it on (the chain before it:
 * a replay from seq 1). The endpoint was checked by the caller through the outbound rules (functions/handlers).
 */
export async function putAuditDestination(deps: With<'sealer'>, ctx: Ctx, name: string, body: AuditDestinationBody) {
  const { tenant } = ctx.principal;
  return retryOnConflict(deps.tunables, async () => {
    const [prev, all, head] = await Promise.all([
      deps.store.getAuditDestination(tenant, name),
      deps.store.listAuditDestinations(tenant),
      deps.store.chainHead(tenant),
    ]);
    const current = prev?.destination.version ?? 0;
    if (body.version !== undefined && body.version !== current)
      throw new VersionConflict(`Destination '${name}' is at version ${current}, not ${body.version}; read it again and reapply your change`, {
        currentVersion: current,
      });
    if (!prev && all.length >= MAX_DESTINATIONS)
      throw new ValidationFailed([{ path: 'path.name', message: `the tenant has ${all.length} destinations already, the most it may have: delete one first` }]);
    const kept = prev?.destination.kind === body.kind ? prev.destination.secrets : {};
    const secrets: Record<string, Sealed> = {};
    for (const [key, plain] of Object.entries(secretsOf(body))) {
      if (plain === MASKED_SECRET) {
        if (!kept[key])
          throw new ValidationFailed([
            { path: secretPath(key), message: `is the masked value (${MASKED_SECRET}) but no such secret is stored: send the secret itself` },
          ]);
        secrets[key] = kept[key];
      } else secrets[key] = kept[key] && (await deps.sealer.same(kept[key], plain)) ? kept[key] : await deps.sealer.seal(plain);
    }
    const now = deps.clock().toISOString();
    const destination: AuditDestination = {
      tenant,
      name,
      kind: body.kind,
      settings: settingsOf(body),
      secrets,
      version: current + 1,
      createdAt: prev?.destination.createdAt ?? now,
      updatedAt: now,
      updatedBy: ctx.principal.name,
    };
    const publicPart = (d: AuditDestination | undefined) =>
      d ? digestOf({ kind: d.kind, settings: d.settings, secrets: Object.keys(d.secrets).sort() }) : null;
    // The head now: the entry this write adds is linked after it, so a new destination ships from that entry on.
    const cursor: ShipCursor | null = prev ? null : { tenant, name, seq: head?.seq ?? 0, state: 'active', rev: 0, deadLetters: [] };
    const audit = auditEntry(tenant, draft(ctx, 'audit_stream.destination.put', name, publicPart(prev?.destination), publicPart(destination)), deps.clock());
    await deps.store.putAuditDestination(destination, prev ? prev.destination.version : null, cursor, audit);
    return destinationView(deps, { destination, cursor: cursor ?? prev!.cursor });
  });
}

export async function deleteAuditDestination(deps: Deps, ctx: Ctx, name: string): Promise<void> {
  const { tenant } = ctx.principal;
  const prev = await deps.store.getAuditDestination(tenant, name);
  if (!prev) throw new AuditDestinationNotFound(name);
  const audit = auditEntry(tenant, draft(ctx, 'audit_stream.destination.delete', name, prev.destination.kind, null), deps.clock());
  await deps.store.deleteAuditDestination(prev.destination, audit);
}

/**
 * Ships the chain again from `fromSeq` (a seq of the chain: 400 naming fromSeq otherwise), and lets a failing
 * destination ship again: the cursor moves to the link before it; the replay's own entry moves the head, which
 * wakes the shipper.
 */
export async function replayAuditDestination(deps: Deps, ctx: Ctx, name: string, fromSeq: number) {
  const { tenant } = ctx.principal;
  return retryOnConflict(deps.tunables, async () => {
    const [s, head] = await Promise.all([deps.store.getAuditDestination(tenant, name), deps.store.chainHead(tenant)]);
    if (!s) throw new AuditDestinationNotFound(name);
    const top = head?.seq ?? 0;
    if (fromSeq < 1 || fromSeq > top)
      throw new ValidationFailed([
        {
          path: 'body.fromSeq',
          message: top ? `${fromSeq} is not in the chain, which holds seqs 1 to ${top}` : `${fromSeq} is not in the chain: the chain is empty`,
        },
      ]);
    const cursor: ShipCursor = { ...s.cursor, seq: fromSeq - 1, state: 'active', rev: s.cursor.rev + 1 };
    delete cursor.lastError;
    delete cursor.lastErrorAt;
    const audit = auditEntry(
      tenant,
      draft(ctx, 'audit_stream.replay', name, String(s.cursor.seq), String(fromSeq - 1), `replay from seq ${fromSeq}`),
      deps.clock(),
    );
    if (!(await deps.store.moveAuditCursor(cursor, s.cursor.rev, audit)))
      throw new VersionConflict(`Destination '${name}' moved on while replaying; send it again`);
    return destinationView(deps, { destination: s.destination, cursor }, head);
  });
}

export interface ShipOptions {
  /** tries of one batch before it is left for the next wake (transient answers) */
  tries: number;
  /** waits before try n (2, 3, …): backoff */
  wait: (attempt: number) => Promise<void>;
}

export interface ShipRun {
  shipped: number;
  batches: number;
  unavailable: number;
  deadLettered: number;
  /** how long the oldest entry a destination of the tenant has not taken has waited, seconds (0: all caught up): the lag alarm reads it */
  lagSeconds: number;
  /** a destination is still short of the head (down, or stopped on a dead letter): the tenant stays on the drain's to-do list */
  behind: boolean;
}

/**
 * Ships what each of the tenant's active destinations has not taken yet, batch by batch in seq order (see the module's
 * comment). A transient failure is tried again (opts.tries, opts.wait between), then left: the cursor stays, the lag
 * grows and the error shows, and the next move of the head (or a replay) tries again from the same entry. A refusal
 * writes a dead letter and stops the destination.
 */
export async function shipAuditStream(deps: With<'auditSenders'>, tenant: string, opts: ShipOptions): Promise<ShipRun> {
  const run: ShipRun = { shipped: 0, batches: 0, unavailable: 0, deadLettered: 0, lagSeconds: 0, behind: false };
  const head = await deps.store.chainHead(tenant);
  if (!head) return run;
  for (const s of await deps.store.listAuditDestinations(tenant)) {
    const cursor = s.cursor.state === 'active' && s.cursor.seq < head.seq ? await shipOne(deps, head, s, opts, run) : s.cursor;
    // A destination left behind (an outage, a dead letter) keeps the stream's lag up until it catches up.
    run.lagSeconds = Math.max(run.lagSeconds, (await lagOf(deps, head, cursor)).seconds);
    if (cursor.seq < head.seq) run.behind = true;
  }
  // Left behind: on the drain's to-do list, so what is left is shipped (and its lag reported) with no new entry to wake a shipper.
  if (run.behind) await deps.store.markShipBacklog(tenant, deps.clock().toISOString());
  return run;
}

export interface DrainRun {
  /** tenants the drain shipped (their marks read) */
  tenants: number;
  /** of them, those caught up (their marks cleared) */
  caughtUp: number;
  shipped: number;
  unavailable: number;
  deadLettered: number;
  /** the largest lag among the tenants drained, seconds */
  lagSeconds: number;
}

/**
 * The drain (a scheduled invocation of the shipper: every AUDIT_DRAIN_MINUTES on AWS, the local audit poller's timer
 * in `npm start`): ships every tenant a shipper left behind (markShipBacklog) as a move of its head would, so a quiet
 * tenant's backlog is delivered once its destination is back, with no new audit entry, and its lag keeps being
 * reported (the lag alarm stays on while it lasts). A tenant caught up leaves the list; one still behind stays on it.
 */
export async function drainAuditBacklogs(deps: With<'auditSenders'>, opts: ShipOptions, limit = 500): Promise<DrainRun> {
  const drain: DrainRun = { tenants: 0, caughtUp: 0, shipped: 0, unavailable: 0, deadLettered: 0, lagSeconds: 0 };
  for (const mark of await deps.store.shipBacklogs(limit)) {
    const run = await shipAuditStream(deps, mark.tenant, opts);
    drain.tenants++;
    drain.shipped += run.shipped;
    drain.unavailable += run.unavailable;
    drain.deadLettered += run.deadLettered;
    drain.lagSeconds = Math.max(drain.lagSeconds, run.lagSeconds);
    if (!run.behind) {
      await deps.store.clearShipBacklog(mark.tenant, mark.at);
      drain.caughtUp++;
    }
  }
  return drain;
}

async function shipOne(deps: With<'auditSenders'>, head: ChainHead, s: StoredDestination, opts: ShipOptions, run: ShipRun): Promise<ShipCursor> {
  const { tenant } = s.destination;
  let cursor = s.cursor;
  let sender: AuditSender | null = null;
  const record = async (next: ShipCursor) => {
    const ok = await deps.store.moveAuditCursor(next, cursor.rev);
    if (ok) cursor = next;
    return ok;
  };
  while (cursor.seq < head.seq) {
    let links: { seq: number; entry: string; hash: string; prevHash: string; entryHash: string; linkedAt: string }[] = [];
    for await (const page of chainPages(deps, tenant, head, SHIP_BATCH, cursor.seq + 1)) {
      links = page.links.filter((l) => l.seq > cursor.seq).slice(0, SHIP_BATCH);
      break;
    }
    if (!links.length) return cursor;
    const now = () => deps.clock().toISOString();
    const entries = await deps.store.getAuditEntries(
      tenant,
      links.map((l) => l.entry),
    );
    const batch: StreamedAuditEntry[] = [];
    let expect = cursor.seq + 1;
    for (const l of links) {
      const e = entries.get(l.entry)?.entry;
      if (l.seq !== expect || !e) break;
      batch.push({ tenant, seq: l.seq, hash: l.hash, prevHash: l.prevHash, entryHash: l.entryHash, entry: e, link: { linkedAt: l.linkedAt } });
      expect++;
    }
    if (!batch.length) {
      const reason = `link ${cursor.seq + 1} or its entry is missing from the table (run /audit/verify)`;
      await record(deadLettered(cursor, { fromSeq: cursor.seq + 1, toSeq: cursor.seq + 1, reason, at: now() }));
      run.deadLettered++;
      return cursor;
    }
    const range = { fromSeq: batch[0]!.seq, toSeq: batch.at(-1)!.seq };
    let failure: unknown = null;
    for (let attempt = 1; attempt <= Math.max(1, opts.tries); attempt++) {
      if (attempt > 1) await opts.wait(attempt);
      try {
        sender ??= await deps.auditSenders.open(s.destination);
        await sender.send(batch);
        failure = null;
        break;
      } catch (err) {
        failure = err;
        if (err instanceof AuditSendRefused) break;
      }
    }
    run.batches++;
    if (failure instanceof AuditSendRefused) {
      await record(deadLettered(cursor, { ...range, reason: failure.message, ...(failure.status ? { status: failure.status } : {}), at: now() }));
      run.deadLettered++;
      return cursor;
    }
    if (failure) {
      const reason =
        failure instanceof AuditSendUnavailable ? failure.message : `${(failure as Error)?.name ?? 'Error'}: ${(failure as Error)?.message ?? String(failure)}`;
      await record({ ...cursor, rev: cursor.rev + 1, lastError: reason, lastErrorAt: now() });
      run.unavailable++;
      return cursor;
    }
    const next: ShipCursor = { ...cursor, seq: range.toSeq, rev: cursor.rev + 1, shippedAt: now() };
    delete next.lastError;
    delete next.lastErrorAt;
    // Another shipper moved the cursor since it was read: it ships from there (this batch was sent once more at most).
    if (!(await record(next))) return cursor;
    run.shipped += batch.length;
  }
  return cursor;
}

function deadLettered(cursor: ShipCursor, letter: DeadLetter): ShipCursor {
  return {
    ...cursor,
    state: 'failing',
    rev: cursor.rev + 1,
    lastError: letter.reason,
    lastErrorAt: letter.at,
    deadLetters: [...cursor.deadLetters, letter].slice(-DEAD_LETTERS_KEPT),
  };
}
