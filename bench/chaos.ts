import { heading } from './common.ts';
import { table } from '../scripts/build.ts';
import { runChaos, type ChaosReport } from '../chaos/run.ts';

/**
 * `npm run bench`, faults survived: the chaos workload (chaos/workload.ts) at 5 %, 10 % and 20 % of every fault
 * kind — step tasks failing before and after their side effects, past their timeouts and run twice, the stream
 * and the bus delivering twice and late, outbound hosts failing, DynamoDB writes meeting transactions and losing
 * their answers (a quarter of the rate: chaos/run.ts storeRates) — and the invariant checker's verdict.
 * `BENCH_CHAOS_PROMOTIONS` promotions per rate (100 by default; `npm run chaos` runs larger ones).
 */
export async function benchChaos(): Promise<ChaosReport[]> {
  const promotions = Number(process.env.BENCH_CHAOS_PROMOTIONS ?? 100);
  heading(`Faults survived (chaos/): ${promotions} promotions per rate, then the invariant checker`);
  const reports: ChaosReport[] = [];
  for (const [seed, rate] of [
    [501, 0.05],
    [1001, 0.1],
    [2001, 0.2],
  ] as const) {
    reports.push(await runChaos({ seed, rate, promotions }));
  }
  const n = (r: ChaosReport, ...kinds: (keyof ChaosReport['faults'])[]) => kinds.reduce((s, k) => s + r.faults[k].injected, 0);
  const of = (r: ChaosReport, ...kinds: (keyof ChaosReport['faults'])[]) => kinds.reduce((s, k) => s + r.faults[k].chances, 0);
  console.log(
    table(
      [
        'seed',
        'rate',
        'promotions',
        'completed',
        'step faults (before / after / timeout / twice)',
        'of steps',
        'duplicated or late deliveries',
        'outbound faults',
        'store faults',
        'violations',
      ],
      reports.map((r) => [
        String(r.seed),
        `${Math.round(r.rate * 100)} %`,
        String(r.promotions),
        String(r.byStatus.COMPLETED ?? 0),
        `${r.faults['step.before'].injected} / ${r.faults['step.after'].injected} / ${r.faults['step.timeout'].injected} / ${r.faults['step.twice'].injected}`,
        `${((100 * n(r, 'step.before', 'step.after', 'step.timeout', 'step.twice')) / Math.max(1, r.faults['step.before'].chances)).toFixed(1)} % of ${r.faults['step.before'].chances}`,
        `${n(r, 'stream.twice', 'stream.late', 'bus.twice', 'bus.late')} of ${of(r, 'stream.twice', 'bus.twice')}`,
        `${n(r, 'outbound.5xx', 'outbound.429', 'outbound.reset', 'outbound.resetAfter', 'outbound.slow')} of ${r.faults['outbound.5xx'].chances}`,
        `${n(r, 'dynamo.conflict', 'dynamo.lostAck')} of ${r.faults['dynamo.conflict'].chances}`,
        String(r.violations.length),
      ]),
    ),
  );
  for (const r of reports) for (const v of r.violations) console.log(`  violation (seed ${r.seed}): ${v.invariant} ${v.tenant}/${v.promotionId}: ${v.detail}`);
  return reports;
}
