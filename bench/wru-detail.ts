// `BENCH_WRU_DETAIL=1 tsx bench/wru-detail.ts`: one approved promotion, with the write units of every transaction item printed (entity, size, table and index units).
import { startDynamo } from '../local/dynamodb.ts';
import { measureApprovedPromotion } from '../local/measure/approved-flow.ts';
const d = await startDynamo({});
try {
  const c = await measureApprovedPromotion(d.endpoint);
  console.log(c.wru, c.requests);
} finally {
  await d.stop();
}
