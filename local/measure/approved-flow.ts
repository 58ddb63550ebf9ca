import { createHash, randomUUID } from 'node:crypto';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { publishArtifact } from '#domain/artifacts/artifacts';
import { publishArtifact as publishSchema } from '#domain/kernel/promotion-schemas';
import { keys } from '../../functions/adapters/keys.ts';
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
  anchor: { kms: number; checkpoints: number };
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
  const anchor = { kms: b.anchorCalls.sign - anchorBefore.sign, checkpoints: b.anchorCalls.append - anchorBefore.append };
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
  anchor: { kms: number; checkpoints: number };
  /** the promotion item as stored, bytes (DynamoDB's item size rules) */
  promotionItemBytes: number;
}

export function countsOf(r: FlowResult): Omit<PromotionCounts, 'promotionItemBytes'> {
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

export async function promotionItemBytes(db: DynamoDBDocumentClient, tableName: string, tenant: string, id: string): Promise<number> {
  const r = await db.send(new GetCommand({ TableName: tableName, Key: keys.promotion(tenant, id) }));
  return r.Item ? itemSize(r.Item) : 0;
}

/** One approved promotion (after a warm-up flow), measured on the DynamoDB Local at `endpoint`. */
export async function measureApprovedPromotion(endpoint: string): Promise<PromotionCounts> {
  const { b, db, tableName, close } = await openHarness(endpoint);
  try {
    await approvedFlow(b, `warm-${randomUUID().slice(0, 6)}`);
    const r = await approvedFlow(b, `cost-${randomUUID().slice(0, 6)}`);
    return { ...countsOf(r), promotionItemBytes: await promotionItemBytes(db, tableName, r.tenant, r.promotionId) };
  } finally {
    await close();
  }
}
