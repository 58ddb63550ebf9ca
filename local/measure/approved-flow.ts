import { createHash } from 'node:crypto';
import { brotliDecompressSync } from 'node:zlib';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { publishArtifact } from '#domain/artifacts/artifacts';
import { publishArtifact as publishSchema } from '#domain/kernel/promotion-schemas';
import { keys } from '../../functions/adapters/keys.ts';
import { compress } from '../../functions/adapters/store/base.ts';
import { LocalWorkflow } from '../workflow.ts';
import { api, ctxOf, expectStatus } from './api.ts';
import type { Invocation } from './attribution.ts';
import { itemSize } from './capacity.ts';
import { totalRequests, type Counts } from './counter.ts';
import { finished, openHarness, type Harness } from './harness.ts';
import { makeLine, usersOf } from './tenants.ts';

/**
 * One approved, gated promotion as the harness measures it: what `npm run bench` prices, and the counts
 * test/integration/cost.test.ts holds it to (state transitions, invocations, DynamoDB requests and
 * write units, events, the audit anchor's signatures).
 */

export const ARTIFACT = 'web';
export const VERSION = 'v1.4.2';
/** A digest as real ones are (64 random-looking hex digits): a repeated pattern would compress below what real audit entries and events cost. */
const DIGEST = `sha256:${createHash('sha256').update(`${ARTIFACT}@${VERSION}`).digest('hex')}`;

export interface FlowResult {
  tenant: string;
  promotionId: string;
  calls: Invocation[];
  counts: Counts;
  transitions: number;
  events: string[];
  wallMs: number;
  /** key-service calls (MACs made and checked) and checkpoint writes of the window */
  anchor: { kms: number; checkpoints: number; attestations: number };
}

/**
 * Setup (not measured): the line, web@v1.4.2 published into dev and promoted
 * to staging. Measured: evidence attached to the release (3 calls), the
 * staging → production promotion requested, its gates, one approval, execute
 * and verify, to COMPLETED.
 */
export async function approvedFlow(b: Harness, tenant: string): Promise<FlowResult> {
  const u = usersOf(tenant);
  await makeLine(b, u.admin);
  await publishArtifact(
    b.deps,
    ctxOf(u.deployer),
    ARTIFACT,
    publishSchema.parse({ version: VERSION, digest: DIGEST, sourceCommit: 'f00dfeed', gitBranch: 'main' }),
  );
  const toStaging = await api(
    b,
    u.deployer,
    'POST',
    '/api/v1/promotions',
    { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: ARTIFACT, version: VERSION },
    'setup',
  );
  expectStatus(toStaging, 201, 'dev → staging');
  await finished(b, tenant, String(toStaging.body.id), 'COMPLETED');

  // ---- measured window (the stream consumer has caught up with the setup first)
  await b.stream.idle();
  b.counter.reset();
  b.calls.length = 0;
  const anchorBefore = { ...b.anchorCalls };
  const eventsBefore = b.bus.published.length;
  const t0 = performance.now();
  const evidencePath = `/api/v1/artifacts/${ARTIFACT}/versions/${VERSION}/evidence`;
  for (const [type, payload] of [
    ['test_results', { passed: 412, failed: 0, skipped: 3, suite: 'ci' }],
    ['security_scan', { critical: 0, high: 0, medium: 2, low: 5, scanner: 'trivy', signatureVerified: true }],
    ['cost_estimate', { monthlyDelta: 12.5, currency: 'USD', budget: 100 }],
  ] as const) {
    expectStatus(
      await api(b, u.deployer, 'POST', evidencePath, { type, payload }, `attach ${type} evidence to ${ARTIFACT}@${VERSION}`),
      201,
      `evidence ${type}`,
    );
  }
  const created = await api(
    b,
    u.deployer,
    'POST',
    '/api/v1/promotions',
    { sourceEnvironment: 'staging', targetEnvironment: 'production', artifact: ARTIFACT, version: VERSION, notes: 'bench' },
    'request promotion staging → production',
  );
  expectStatus(created, 201, 'staging → production');
  const id = String(created.body.id);
  await b.signals.wait(`${id}:decide`); // the gates ran and the flow has stored its task token
  expectStatus(await api(b, u.approver, 'POST', `/api/v1/promotions/${id}/approve`, { comment: 'lgtm' }, 'approve (1 of 1)'), 200, 'approve');
  const state = await b.workflow.done(LocalWorkflow.executionId({ tenant, promotionId: id }));
  const wallMs = performance.now() - t0;
  // The consumer's work for this window (linking the audit entries, relaying the events) is part of the cost.
  await b.stream.idle();
  const counts = b.counter.take();
  // KMS bills the signatures; a head's signature is checked with the public key (fetched once per container), no request each.
  // `attestations`: the KMS Sign of the promotion's attestation, once it ended (domain/promotion/run/attest.ts).
  const anchor = {
    kms: b.anchorCalls.sign - anchorBefore.sign,
    checkpoints: b.anchorCalls.append - anchorBefore.append,
    attestations: b.anchorCalls.signBytes - anchorBefore.signBytes,
  };
  const calls = [...b.calls];
  const events = b.bus.published.slice(eventsBefore).map((e) => e['detail-type']);

  // ---- checks (outside the window)
  const p = await b.deps.store.getPromotion(tenant, id);
  if (state !== 'SUCCEEDED' || p?.status !== 'COMPLETED') throw new Error(`bench: approved promotion ended ${state}/${p?.status}: ${JSON.stringify(p?.error)}`);
  const verdicts = Object.fromEntries((p.gates ?? []).map((g) => [g.gate, g.verdict]));
  for (const g of ['policy_compliance', 'tests', 'security_scan', 'cost_analysis']) {
    if (verdicts[g] !== 'PASS') throw new Error(`bench: gate ${g} is ${verdicts[g]}, expected PASS`);
  }
  if (p.approvedBy.length !== 1) throw new Error(`bench: expected 1 approval, got ${p.approvedBy.join(', ')}`);
  return {
    tenant,
    promotionId: id,
    calls,
    counts,
    transitions: b.workflow.transitions(LocalWorkflow.executionId({ tenant, promotionId: id })),
    events,
    wallMs,
    anchor,
  };
}

/** What one approved promotion costs, in counts (the figures tests assert and the bench prints). */
export interface PromotionCounts {
  transitions: number;
  requests: number;
  wru: number;
  rru: number;
  events: number;
  invocations: { api: number; step: number; stream: number };
  /** key-service requests and signed checkpoints written */
  anchor: { kms: number; checkpoints: number; attestations: number };
  /** the finished promotion item, bytes (DynamoDB's item size rules), with what differs from run to run pinned (pinnedItem) */
  promotionItemBytes: number;
  /** the same item as this run stored it (its times and random ids compress a few bytes better or worse each run) */
  promotionItemStoredBytes: number;
}

export function countsOf(r: FlowResult): Omit<PromotionCounts, 'promotionItemBytes' | 'promotionItemStoredBytes'> {
  return {
    transitions: r.transitions,
    requests: totalRequests(r.counts),
    wru: r.calls.reduce((n, c) => n + c.wru, 0),
    rru: r.calls.reduce((n, c) => n + c.rru, 0),
    events: r.events.length,
    invocations: {
      api: r.calls.filter((c) => c.kind === 'api').length,
      step: r.calls.filter((c) => c.kind === 'step').length,
      stream: r.calls.filter((c) => c.kind === 'stream').length,
    },
    anchor: r.anchor,
  };
}

const ISO_TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/g;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const PROMOTION_ID = /prm_[0-9a-z]{9}[0-9a-f]{10}/g;
/**
 * Where pinned times start, and how far apart they are: the local flow's own cadence (its steps are 5 to 35 ms apart),
 * across a second (as most runs on a slower machine are, and every flow that waits for a person): the pinned size is
 * then at the middle of the sizes measured over runs, not a lucky low one (within one second it is 3 B smaller).
 */
const PIN_FROM = Date.parse('2026-03-02T09:41:07.986Z');
const PIN_STEP_MS = 17;
/** Fixed values that look like the random ones (hex from a hash): a repeated pattern would compress below a real id. */
const pinHex = (what: string, n: number) => createHash('sha256').update(`pinned ${what}`).digest('hex').slice(0, n);
const pinUuid = (k: number) => {
  const h = pinHex(`uuid ${k}`, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
};

/**
 * The promotion item with what differs from one run of the same flow to the next pinned, so its size is the same in
 * every run: every timestamp (its distinct instants, in their order, become PIN_STEP_MS apart from PIN_FROM: equal ones
 * stay equal), every UUID (the deployment id) and the random part of every promotion id become fixed values of the same
 * length and of random-looking hex. Their lengths never vary (toISOString always writes milliseconds), but the
 * brotli-compressed `doc` (functions/adapters/store/promotions.ts) does by their digits: how many a timestamp shares
 * with the one before (the same second, or across a second or minute), how the random hex happens to compress.
 * Measured over runs of this flow: 669 to 686 B of doc for the same content, so the item moved ±9 B from run to run.
 * Everything else is as stored; the doc is re-encoded with the store's own `compress`, checked to give back exactly the
 * stored bytes before pinning (so the pinned size is the store's encoding of this item, not an estimate).
 */
export function pinnedItem(item: Record<string, unknown>): Record<string, unknown> {
  const text = (v: unknown) => JSON.stringify(v);
  const doc = item.doc instanceof Uint8Array ? brotliDecompressSync(item.doc).toString('utf8') : null;
  if (item.doc !== undefined && doc === null) throw new Error('bench: the promotion item has a doc that is not bytes');
  if (doc !== null && Buffer.compare(compress(doc), Buffer.from(item.doc as Uint8Array)) !== 0)
    throw new Error('bench: the store no longer encodes the promotion doc as `compress` does: pinning would measure something else');
  const { doc: _doc, ...plain } = item;
  const all = text(plain) + (doc ?? '');
  const times = [...new Set(all.match(ISO_TIME))].sort();
  const uuids = [...new Set(all.match(UUID))];
  const ids = [...new Set(all.match(PROMOTION_ID))];
  const pin = (s: string) =>
    s
      .replace(ISO_TIME, (m) => new Date(PIN_FROM + times.indexOf(m) * PIN_STEP_MS).toISOString())
      .replace(UUID, (m) => pinUuid(uuids.indexOf(m)))
      .replace(PROMOTION_ID, (m) => `prm_${PIN_FROM.toString(36).padStart(9, '0')}${pinHex(`id ${ids.indexOf(m)}`, 10)}`);
  // Every pinned value is as long as the one it stands for: only how the doc compresses can differ.
  if (pin(text(plain)).length !== text(plain).length || (doc !== null && pin(doc).length !== doc.length))
    throw new Error('bench: pinning changed the length of a value of the promotion item');
  const pinnedPlain = JSON.parse(pin(text(plain))) as Record<string, unknown>;
  return doc === null ? pinnedPlain : { ...pinnedPlain, doc: compress(pin(doc)) };
}

export async function promotionItemBytes(
  db: DynamoDBDocumentClient,
  tableName: string,
  tenant: string,
  id: string,
): Promise<{ pinned: number; stored: number }> {
  const r = await db.send(new GetCommand({ TableName: tableName, Key: keys.promotion(tenant, id) }));
  return r.Item ? { pinned: itemSize(pinnedItem(r.Item)), stored: itemSize(r.Item) } : { pinned: 0, stored: 0 };
}

/**
 * One approved promotion (after a warm-up flow), measured on the DynamoDB Local at `endpoint`. Fixed tenants (each
 * harness has a table of its own), as long as the ones this measured before (cost-<6 hex>), their hex fixed too.
 */
export async function measureApprovedPromotion(endpoint: string): Promise<PromotionCounts> {
  const { b, db, tableName, close } = await openHarness(endpoint);
  try {
    await approvedFlow(b, `warm-${pinHex('warm tenant', 6)}`);
    const r = await approvedFlow(b, `cost-${pinHex('cost tenant', 6)}`);
    const bytes = await promotionItemBytes(db, tableName, r.tenant, r.promotionId);
    return { ...countsOf(r), promotionItemBytes: bytes.pinned, promotionItemStoredBytes: bytes.stored };
  } finally {
    await close();
  }
}
