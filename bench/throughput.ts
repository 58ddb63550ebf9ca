import { fmt, quantile, sub } from './common.ts';
import { batchItems } from '#domain/config/items';
import { batchItems as batchSchema } from '#domain/kernel/schemas';
import { anchorIntervalMs } from '../functions/handlers/stream.ts';
import { LocalWorkflow } from '../local/workflow.ts';
import { table } from '../scripts/build.ts';
import { api, ctxOf, expectStatus, type User } from '../local/measure/api.ts';
import { finished, type Harness } from '../local/measure/harness.ts';
import { makeLine, usersOf } from '../local/measure/tenants.ts';
import { PRICE, usd } from './promotion-cost.ts';

/** The promotion section's second part: local end-to-end throughput of promotions without approval, and what the audit anchor costs at that rate. */

const SEQUENTIAL_N = 30;
const CONCURRENT_TENANTS = 10;
const CONCURRENT_ROUNDS = 3;

const CONFIGS = 20;
async function seedConfigs(b: Harness, deployer: User): Promise<void> {
  const set = Array.from({ length: CONFIGS }, (_, i) => ({
    key: `svc-${i % 4}/setting-${String(i).padStart(2, '0')}`,
    value: i % 2 ? `${i * 10}s` : { replicas: i, region: 'eu-west-1' },
  }));
  await batchItems(b.deps, ctxOf(deployer), 'dev', batchSchema.parse({ set, reason: 'bench: seed' }));
}
async function changeDevConfig(b: Harness, deployer: User, n: number): Promise<void> {
  await batchItems(b.deps, ctxOf(deployer), 'dev', batchSchema.parse({ set: [{ key: 'svc-0/bench-counter', value: n }], reason: `bench: change ${n}` }));
}

async function timedConfigPromotion(b: Harness, deployer: User): Promise<{ ms: number; id: string; transitions: number }> {
  const t0 = performance.now();
  const r = await api(
    b,
    deployer,
    'POST',
    '/api/v1/config/promotions',
    { sourceEnvironment: 'dev', targetEnvironment: 'staging', autoStart: true },
    'config promotion dev → staging',
  );
  expectStatus(r, 201, 'config promotion');
  const id = String(r.body.id);
  const executionId = LocalWorkflow.executionId({ tenant: deployer.tenant, promotionId: id });
  const state = await b.workflow.done(executionId);
  const ms = performance.now() - t0;
  if (state !== 'SUCCEEDED') throw new Error(`bench: ${id} execution ${state}`);
  return { ms, id, transitions: b.workflow.transitions(executionId) };
}

/** What the audit anchor cost while promotions ran at a rate (throughput's window): counted signatures and checkpoint PUTs. */
export interface AnchorAtRate {
  promotions: number;
  seconds: number;
  perSecond: number;
  signs: number;
  puts: number;
  usdPer1000: number;
}

export async function throughput(b: Harness): Promise<{ perSecond: number; anchor: AnchorAtRate }> {
  sub('2. Local end-to-end throughput, promotions without approval (dev → staging config promotions, default policy, no gates)');
  console.log(
    `Each promotion: POST /api/v1/config/promotions (create handler) → state machine (Decide, Route, Execute) → COMPLETED; ` +
      `timed from the create call to the end of the execution. Before each promotion one dev config is changed (batchItems, not timed). ` +
      `${CONFIGS + 1} configs per environment. Everything on this machine: DynamoDB Local (Java), the ASL interpreter and the handlers share one Node process.`,
  );

  // The anchor is counted over the whole section (set-up writes included: their audit entries are anchored too),
  // the stream consumer anchoring on its own interval (STAGELINE_ANCHOR_INTERVAL_SECONDS, default 10 s).
  const anchorFrom = { ...b.anchorCalls };
  const sectionFrom = performance.now();

  // ---- sequential, one target
  const seq = usersOf('seq');
  await makeLine(b, seq.admin);
  await seedConfigs(b, seq.deployer);
  const seqMs: number[] = [];
  const seqTransitions = new Set<number>();
  let seqTotal = 0;
  for (let i = 0; i < SEQUENTIAL_N; i++) {
    await changeDevConfig(b, seq.deployer, i);
    const r = await timedConfigPromotion(b, seq.deployer);
    await finished(b, 'seq', r.id, 'COMPLETED');
    seqMs.push(r.ms);
    seqTotal += r.ms;
    seqTransitions.add(r.transitions);
  }

  // ---- concurrent: one tenant (own line, own staging) per concurrent promotion
  const tenants = Array.from({ length: CONCURRENT_TENANTS }, (_, i) => usersOf(`par${i}`));
  for (const u of tenants) {
    await makeLine(b, u.admin);
    await seedConfigs(b, u.deployer);
  }
  const parMs: number[] = [];
  const rounds: number[] = [];
  for (let round = 0; round < CONCURRENT_ROUNDS; round++) {
    await Promise.all(tenants.map((u) => changeDevConfig(b, u.deployer, 1000 + round)));
    const t0 = performance.now();
    const results = await Promise.all(tenants.map((u) => timedConfigPromotion(b, u.deployer)));
    rounds.push(performance.now() - t0);
    for (const [i, r] of results.entries()) {
      await finished(b, tenants[i]!.deployer.tenant, r.id, 'COMPLETED');
      parMs.push(r.ms);
    }
  }
  const parTotal = rounds.reduce((s, x) => s + x, 0);

  console.log(
    '\n' +
      table(
        ['run', 'promotions', 'elapsed s', 'promotions/s', 'median ms', 'p90 ms', 'max ms'],
        [
          [
            `sequential, 1 tenant, same target`,
            SEQUENTIAL_N,
            fmt(seqTotal / 1000, 2),
            fmt(SEQUENTIAL_N / (seqTotal / 1000), 2),
            fmt(quantile(seqMs, 0.5)),
            fmt(quantile(seqMs, 0.9)),
            fmt(Math.max(...seqMs)),
          ],
          [
            `${CONCURRENT_TENANTS} concurrent, ${CONCURRENT_TENANTS} tenants × ${CONCURRENT_ROUNDS} rounds`,
            CONCURRENT_TENANTS * CONCURRENT_ROUNDS,
            fmt(parTotal / 1000, 2),
            fmt((CONCURRENT_TENANTS * CONCURRENT_ROUNDS) / (parTotal / 1000), 2),
            fmt(quantile(parMs, 0.5)),
            fmt(quantile(parMs, 0.9)),
            fmt(Math.max(...parMs)),
          ],
        ],
      ),
  );
  console.log(
    `Sequential elapsed = sum of the timed promotions (config edits excluded). Concurrent: each round of ${CONCURRENT_TENANTS} timed from the first create to the last completion; ` +
      `rounds took ${rounds.map((x) => fmt(x, 0)).join(', ')} ms. State transitions per promotion without approval: ${[...seqTransitions].join(', ')}.`,
  );
  // Sustained: promotions keep coming, round-robin over the tenants, until the section has run 3 anchor intervals, so
  // the anchoring figure spans several intervals (at ≥ 1 promotion/s, as its goal is stated).
  let sustained = 0;
  const everyone = [seq, ...tenants];
  while (performance.now() - sectionFrom < 3 * anchorIntervalMs()) {
    const u = everyone[sustained % everyone.length]!;
    await changeDevConfig(b, u.deployer, 5000 + sustained);
    const r = await timedConfigPromotion(b, u.deployer);
    await finished(b, u.deployer.tenant, r.id, 'COMPLETED');
    sustained++;
  }
  const promotions = SEQUENTIAL_N + CONCURRENT_TENANTS * CONCURRENT_ROUNDS + sustained;
  const seconds = (performance.now() - sectionFrom) / 1000;
  // The tail: what moved since the last anchor is signed too (the consumer caught up), and counted, so the figure
  // does not leave out the interval the section ended in.
  await b.stream.idle();
  const signs = b.anchorCalls.sign - anchorFrom.sign;
  const puts = b.anchorCalls.append - anchorFrom.append;
  const usdPer1000 = ((signs * PRICE.kmsAsymmetricPerRequest + puts * PRICE.s3PerPut) / promotions) * 1000;
  const anchor: AnchorAtRate = { promotions, seconds, perSecond: promotions / seconds, signs, puts, usdPer1000 };
  console.log(
    `\nAudit anchoring while these ran (one Merkle root signed per interval at most, ${anchorIntervalMs() / 1000} s, over every chain that moved; ` +
      `${CONCURRENT_TENANTS + 1} tenants' chains): ${promotions} promotions in ${fmt(seconds, 1)} s (${fmt(anchor.perSecond, 2)}/s, set-up included), and the tail signed when the consumer caught up → ` +
      `${signs} KMS Sign and ${puts} checkpoint PUTs, ${fmt(signs / promotions, 3)} and ${fmt(puts / promotions, 3)} per promotion: ` +
      `${usd(usdPer1000, 4)} per 1,000 promotions (goal ≤ $0.005; one signature and one PUT per chain append before: $0.080).`,
  );
  return { perSecond: SEQUENTIAL_N / (seqTotal / 1000), anchor };
}
