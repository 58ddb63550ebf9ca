import { heading, sub } from './common.ts';
import { table } from '../scripts/build.ts';
import { startDynamo } from '../local/dynamodb.ts';
import { measureApprovedPromotion } from '../local/measure/approved-flow.ts';
import { itemSize } from '../local/measure/capacity.ts';
import { keys } from '../functions/adapters/keys.ts';
import { doraDeltas, OPEN_FAILURE_DAY, type PromotionEnd } from '../domain/artifacts/dora.ts';
import { bucketOf } from '../domain/artifacts/deployments.ts';

/**
 * `npm run bench`, DORA section: what DORA's counters add to a promotion's end. The approved one-target
 * promotion is measured end to end (its transitions and write units, as the promotion section measures
 * them); the other ends' additions are the items doraDeltas (domain/artifacts/dora.ts) adds to the end's
 * transaction, sized by DynamoDB's rules (local/measure/capacity.ts): a transactional write costs 2 WRU per
 * KB of each item, and a counter added to an item the end writes anyway costs nothing until it grows past a KB.
 */
const TX_WRU_PER_KB = 2;
const kb = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));

export async function benchDora(): Promise<{ transitions: number; wru: number }> {
  heading("DORA's five: what a promotion's end writes for them");
  const d = await startDynamo({});
  let measured;
  try {
    measured = await measureApprovedPromotion(d.endpoint);
  } finally {
    await d.stop();
  }
  const tenant = 'acme-0000000000';
  const env = 'production';
  const at = new Date('2026-11-27T12:00:00Z');
  // The day's counters an ordinary end writes anyway (a deployment with its duration and lead time), and the open-failure item.
  const dayKey = keys.metrics(tenant, env, at.toISOString().slice(0, 10));
  const day = {
    ...dayKey,
    entity: 'Metrics',
    deployments: 14,
    failed: 2,
    rolledBack: 1,
    changeFailed: 3,
    durationMs: 840_000,
    durationCount: 14,
    [`b${bucketOf(60_000)}`]: 14,
    leadMs: 9_000_000,
    leadCount: 14,
  };
  const openItem = (counters: Record<string, number>) => ({ ...keys.metrics(tenant, env, OPEN_FAILURE_DAY), entity: 'Metrics', ...counters });
  const end = (outcome: PromotionEnd['outcome'], rollback = false): PromotionEnd => ({ environment: env, outcome, rollback, at });
  const open = { sinceMs: at.getTime() - 2 * 3_600_000 };
  const cases: [string, PromotionEnd, { sinceMs: number } | null][] = [
    ['completed, nothing open (the one-target promotion)', end('COMPLETED'), null],
    ['failed or rolled back, nothing open (opens a failure)', end('FAILED'), null],
    ['failed again while one is open', end('ROLLED_BACK'), open],
    ['completed while a failure is open (recovers; a fix-forward)', end('COMPLETED'), open],
    ['a rollback promotion completed (rework; recovers)', end('COMPLETED', true), null],
  ];
  const rows = cases.map(([what, e, o]) => {
    const { deltas } = doraDeltas({ ...e, undoneLiveAt: e.rollback ? new Date(at.getTime() - 3_600_000).toISOString() : null }, o);
    const toDay = deltas.find((x) => x.day !== OPEN_FAILURE_DAY);
    const toOpen = deltas.find((x) => x.day === OPEN_FAILURE_DAY);
    const grown = toDay ? itemSize({ ...day, ...Object.fromEntries(Object.keys(toDay.add).map((k) => [k, 9_999_999])) }) : itemSize(day);
    const dayWru = (kb(grown) - kb(itemSize(day))) * TX_WRU_PER_KB;
    const openWru = toOpen ? kb(itemSize(openItem({ open: 1, sinceMs: o?.sinceMs ?? at.getTime() }))) * TX_WRU_PER_KB : 0;
    return [what, toOpen ? 'D#open' : '—', toDay ? Object.keys(toDay.add).join(', ') : '—', String(dayWru + openWru), '0'];
  });
  sub('Items and write units DORA adds to an end (same transaction; no extra write request)');
  console.log(table(['end', 'extra item', 'counters added to the day item', 'WRU added', 'extra requests'], rows));
  console.log(
    `Reads: every end reads its environment's open-failure item once (a Query of one item: 0.5 RRU eventually consistent), and a rollback of a completed promotion reads that promotion.\n` +
      `One approved one-target promotion, end to end with the DORA counters: ${measured.transitions} state transitions (goal 3), ${measured.wru} WRU (goal ≤ 76). ` +
      `A completed end with nothing open writes no DORA item and no new counter; its ending event carries the end's DORA figures (for the EMF metrics), ` +
      `which is what it adds (71 WRU on the commit before the DORA counters, measured the same way).`,
  );
  return { transitions: measured.transitions, wru: measured.wru };
}

if (import.meta.url === `file://${process.argv[1]}`) await benchDora();
