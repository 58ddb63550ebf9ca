import { createHash } from 'node:crypto';
import { LocalWorkflow } from '../local/workflow.ts';
import { api, expectStatus } from '../local/measure/api.ts';
import { approvedFlow, countsOf } from '../local/measure/approved-flow.ts';
import { finished, openHarness, type Harness } from '../local/measure/harness.ts';
import { makeLine, usersOf } from '../local/measure/tenants.ts';
import { startDynamo } from '../local/dynamodb.ts';
import { table } from '../scripts/build.ts';
import { fmt, heading, int } from './common.ts';
import { PRICE, usd } from './promotion-cost.ts';

/**
 * A release bundle promoted as one unit: three artifacts and a config snapshot, staging → production through the
 * same gates and one approval as the one-artifact flow (local/measure/approved-flow.ts), measured the same way
 * (the real handlers and ASL, every DynamoDB request counted). The goal: the state transitions of one promotion,
 * and no more WRU than its members' changes plus one record.
 */

const MEMBERS = ['web', 'api', 'worker'] as const;
const VERSION = 'v2.0.0';
const digestOf = (name: string) => `sha256:${createHash('sha256').update(`${name}@${VERSION}`).digest('hex')}`;

interface Window {
  transitions: number;
  wru: number;
  rru: number;
  requests: number;
  invocations: number;
  lambdaMs: number;
  events: number;
}

/** Setup (not measured): three artifacts and a config key published into dev, the bundle made from dev and promoted to staging. Measured: the evidence, the request, one approval, to COMPLETED. */
async function bundleFlow(b: Harness, tenant: string): Promise<Window> {
  const u = usersOf(tenant);
  await makeLine(b, u.admin);
  for (const name of MEMBERS)
    expectStatus(await api(b, u.deployer, 'POST', `/api/v1/artifacts/${name}/versions`, { version: VERSION, digest: digestOf(name) }, 'setup'), 201, name);
  expectStatus(await api(b, u.deployer, 'POST', '/api/v1/environments/dev/configs', { key: 'checkout.queue', value: 'orders-v2' }, 'setup'), 201, 'config');
  const bundle = await api(b, u.deployer, 'POST', '/api/v1/bundles', { name: 'checkout', from: 'dev', config: { keyPatterns: ['checkout.*'] } }, 'setup');
  expectStatus(bundle, 201, 'bundle');
  const toStaging = await api(
    b,
    u.deployer,
    'POST',
    '/api/v1/promotions',
    { sourceEnvironment: 'dev', targetEnvironment: 'staging', bundle: 'checkout' },
    'setup',
  );
  expectStatus(toStaging, 201, 'dev → staging');
  await finished(b, tenant, String(toStaging.body.id), 'COMPLETED');

  await b.stream.idle();
  b.counter.reset();
  b.calls.length = 0;
  const eventsBefore = b.bus.published.length;
  // The bundle's evidence goes on its promotion (its gates read the promotion's and the bundle's own), then it is validated.
  const created = await api(
    b,
    u.deployer,
    'POST',
    '/api/v1/promotions',
    { sourceEnvironment: 'staging', targetEnvironment: 'production', bundle: 'checkout', notes: 'bench', autoStart: false },
    'request',
  );
  expectStatus(created, 201, 'staging → production');
  for (const [type, payload] of [
    ['test_results', { passed: 412, failed: 0, skipped: 3, suite: 'ci' }],
    ['security_scan', { critical: 0, high: 0, medium: 2, low: 5, scanner: 'trivy', signatureVerified: true }],
    ['cost_estimate', { monthlyDelta: 12.5, currency: 'USD', budget: 100 }],
  ] as const)
    expectStatus(await api(b, u.deployer, 'POST', `/api/v1/promotions/${String(created.body.id)}/evidence`, { type, payload }, `evidence ${type}`), 201, type);
  expectStatus(await api(b, u.deployer, 'POST', `/api/v1/promotions/${String(created.body.id)}/validate`, {}, 'validate'), 202, 'validate');
  const id = String(created.body.id);
  await b.signals.wait(`${id}:decide`);
  const decided = await b.deps.store.getPromotion(tenant, id);
  if (decided?.status !== 'AWAITING_APPROVAL')
    throw new Error(`bench: the bundle promotion is ${decided?.status}: ${JSON.stringify(decided?.gates?.filter((g) => g.verdict === 'FAIL'))}`);
  expectStatus(await api(b, u.approver, 'POST', `/api/v1/promotions/${id}/approve`, { comment: 'lgtm' }, 'approve'), 200, 'approve');
  const state = await b.workflow.done(LocalWorkflow.executionId({ tenant, promotionId: id }));
  await b.stream.idle();
  const p = await b.deps.store.getPromotion(tenant, id);
  if (state !== 'SUCCEEDED' || p?.status !== 'COMPLETED')
    throw new Error(`bench: the bundle promotion ended ${state}/${p?.status}: ${JSON.stringify(p?.error)}`);
  const calls = [...b.calls];
  return {
    transitions: b.workflow.transitions(LocalWorkflow.executionId({ tenant, promotionId: id })),
    wru: calls.reduce((n, c) => n + c.wru, 0),
    rru: calls.reduce((n, c) => n + c.rru, 0),
    requests: Object.values(b.counter.take()).reduce((n, s) => n + s.requests, 0),
    invocations: calls.length,
    lambdaMs: calls.reduce((n, c) => n + Math.ceil(c.ms), 0),
    events: b.bus.published.length - eventsBefore,
  };
}

const usdPer1000 = (w: Window) =>
  (w.transitions * PRICE.sfnPerTransition +
    w.invocations * PRICE.lambdaPerRequest +
    (w.lambdaMs / 1000) * PRICE.lambdaMemoryGb * PRICE.lambdaPerGbSecond +
    w.wru * PRICE.ddbPerWru +
    w.rru * PRICE.ddbPerRru +
    w.events * PRICE.eventBridgePerEvent) *
  1000;

export async function benchBundlePromotion(): Promise<{ bundle: Window; single: Window }> {
  heading('A release bundle promoted as one unit: 3 artifacts + a config snapshot, staging → production, gated, 1 approver');
  const dynamo = await startDynamo({});
  try {
    const { b, close } = await openHarness(dynamo.endpoint);
    try {
      await bundleFlow(b, 'bundle-warmup');
      const bundle = await bundleFlow(b, 'bundle-cost');
      const one = await approvedFlow(b, 'bundle-single');
      const c = countsOf(one);
      const single: Window = {
        transitions: c.transitions,
        wru: c.wru,
        rru: c.rru,
        requests: c.requests,
        invocations: one.calls.length,
        lambdaMs: one.calls.reduce((n, x) => n + Math.ceil(x.ms), 0),
        events: c.events,
      };
      const row = (what: string, w: Window) => [
        what,
        w.transitions,
        int(w.requests),
        fmt(w.wru, 0),
        fmt(w.rru, 1),
        w.invocations,
        w.events,
        usd(usdPer1000(w), 3),
      ];
      console.log(
        table(
          [
            'promotion (its evidence, request, gates, approval, change, attestation)',
            'transitions',
            'DDB requests',
            'WRU',
            'RRU',
            'invocations',
            'events',
            '$ per 1,000',
          ],
          [
            row('one artifact (web)', single),
            row('a bundle of 3 artifacts + config', bundle),
            row('3 one-artifact promotions, for comparison', scale(single, 3)),
          ],
        ),
      );
      console.log(
        `goal: the state transitions of one promotion (≤ 3 without waves): ${bundle.transitions <= 3 ? 'met' : 'NOT met'} (${bundle.transitions}); ` +
          `WRU of its members' changes plus one record, not three promotions': ${bundle.wru < 3 * single.wru ? 'met' : 'NOT met'} ` +
          `(${fmt(bundle.wru, 0)} WRU against ${fmt(3 * single.wru, 0)} for three promotions; prices as in the promotion section, anchoring not counted).`,
      );
      return { bundle, single };
    } finally {
      await close();
    }
  } finally {
    await dynamo.stop();
  }
}

const scale = (w: Window, n: number): Window => ({
  transitions: w.transitions * n,
  wru: w.wru * n,
  rru: w.rru * n,
  requests: w.requests * n,
  invocations: w.invocations * n,
  lambdaMs: w.lambdaMs * n,
  events: w.events * n,
});

if (import.meta.url === `file://${process.argv[1]}`) await benchBundlePromotion();
