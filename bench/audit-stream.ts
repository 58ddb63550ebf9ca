import { openHarness } from '../local/measure/harness.ts';
import { newInvocation, type Invocation } from '../local/measure/attribution.ts';
import { ctxOf } from '../local/measure/api.ts';
import { usersOf } from '../local/measure/tenants.ts';
import { startDynamo } from '../local/dynamodb.ts';
import { LocalStreamPoller } from '../local/stream.ts';
import { auditEntry } from '../domain/audit/audit.ts';
import { putAuditDestination } from '../domain/audit/stream.ts';
import { handler as shipHandler, SHIP_FILTER } from '../functions/handlers/audit-ship.ts';
import { sealer } from '../functions/adapters/secret-box.ts';
import { auditSenders } from '../functions/adapters/siem/senders.ts';
import { startSplunkHecStandin } from '../test/support/splunk-hec-standin.ts';
import { table } from '../scripts/build.ts';
import { fmt, heading, int } from './common.ts';
import { PRICE } from './promotion-cost.ts';

/**
 * The audit stream into a SIEM (domain/audit/stream.ts, functions/handlers/audit-ship.ts): ENTRIES audit entries of one
 * tenant written as writers write them (one transaction each), linked by the stream consumer, and shipped by the
 * shipper — its own mapping of the table's stream, as on AWS — to a Splunk HEC destination (the stand-in). Measured:
 * the shipper's invocations and its DynamoDB units alone (the entries' own writes and their linking are the audit
 * trail's cost, paid with or without a destination), per 1,000 entries, and the $ per million entries at list prices.
 */

const ENTRIES = 1000;
const WRITERS = 20;

export async function benchAuditStream(): Promise<{ invocations: number; wru: number; rru: number; usdPerMillion: number }> {
  heading(`The audit stream: ${int(ENTRIES)} audit entries shipped to a Splunk HEC destination`);
  const loopback = process.env.STAGELINE_ALLOW_LOOPBACK_OUTBOUND;
  // The stand-in listens on loopback, which only local mode may call (the outbound rules).
  process.env.STAGELINE_ALLOW_LOOPBACK_OUTBOUND = 'true';
  const dynamo = await startDynamo({});
  const hec = await startSplunkHecStandin({});
  const shipped: Invocation[] = [];
  let ship: LocalStreamPoller | undefined;
  try {
    const { b, close, tableName } = await openHarness(dynamo.endpoint);
    try {
      // The harness's deps are the process's (every function runs on them): the shipper opens the destination's sealed token and sends.
      Object.assign(b.deps, { sealer: sealer(), auditSenders: auditSenders() });
      ship = new LocalStreamPoller({
        endpoint: dynamo.endpoint,
        tableName,
        filter: SHIP_FILTER,
        idleMs: 20,
        handler: async (e) => {
          const inv = newInvocation('audit-ship', `audit-ship: ${e.Records.length} records`, 'stream');
          const t0 = performance.now();
          try {
            return await b.attribution.run(inv, () => shipHandler(e));
          } finally {
            inv.ms = performance.now() - t0;
            shipped.push(inv);
          }
        },
      });
      ship.start();
      const tenant = 'siem-bench';
      const admin = usersOf(tenant).admin;
      await putAuditDestination(b.deps, ctxOf(admin), 'splunk', { kind: 'splunk', url: hec.url, token: hec.token, ack: false });
      await b.stream.idle();
      shipped.length = 0;
      // Counted from before the writes: the shipper ships while they are written.
      const before = hec.events.length;
      const t0 = performance.now();
      // Writers as they write: one audit entry per transaction, WRITERS at a time.
      for (let i = 0; i < ENTRIES; i += WRITERS)
        await Promise.all(
          Array.from({ length: Math.min(WRITERS, ENTRIES - i) }, (_, k) =>
            b.deps.store.commit(tenant, [
              {
                kind: 'audit',
                entry: auditEntry(
                  tenant,
                  { actor: 'bench', actorName: 'bench', action: 'item.update', entityType: 'config', entityId: `dev/key-${i + k}`, before: null, after: '{}' },
                  new Date(),
                ),
              },
            ]),
          ),
        );
      for (let waited = 0; hec.events.length < before + ENTRIES; waited += 50) {
        if (waited > 300_000) throw new Error(`the stream shipped ${hec.events.length - before} of ${ENTRIES} entries in 5 minutes`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const elapsed = performance.now() - t0;
      const invocations = shipped.length;
      const wru = shipped.reduce((n, c) => n + c.wru, 0);
      const rru = shipped.reduce((n, c) => n + c.rru, 0);
      const seconds = shipped.reduce((n, c) => n + c.ms, 0) / 1000;
      const perThousand = 1000 / ENTRIES;
      const usdPerMillion =
        (1_000_000 / ENTRIES) *
        (invocations * PRICE.lambdaPerRequest + seconds * PRICE.lambdaMemoryGb * PRICE.lambdaPerGbSecond + wru * PRICE.ddbPerWru + rru * PRICE.ddbPerRru);
      const seqs = hec.events.slice(before).map((e) => Number(e.event?.seq));
      const inOrder = seqs.every((s, i) => i === 0 || s > seqs[i - 1]!);
      console.log(
        table(
          ['per 1,000 audit entries', 'shipper invocations', 'WRU', 'RRU', 'shipper seconds (local)', '$ per million entries'],
          [
            [
              `${int(ENTRIES)} entries, ${WRITERS} writers at a time`,
              fmt(invocations * perThousand, 0),
              fmt(wru * perThousand, 1),
              fmt(rru * perThousand, 1),
              fmt(seconds * perThousand, 2),
              `$${fmt(usdPerMillion, 3)}`,
            ],
          ],
        ),
      );
      console.log(
        `shipped in chain order: ${inOrder ? 'yes' : 'NO'}; ${int(hec.events.length - before)} events reached HEC in ${fmt(elapsed / 1000, 1)} s (local). ` +
          'The shipper runs on the chain head moves (one per consumer batch), reads the links after its cursor and moves the cursor with one conditional write per batch sent: its units grow with batches, not entries. ' +
          `Prices: Lambda $0.20/M requests and ${PRICE.lambdaMemoryGb * 1024} MB-seconds, DynamoDB on-demand $0.625/M WRU and $0.125/M RRU.`,
      );
      return { invocations: invocations * perThousand, wru: wru * perThousand, rru: rru * perThousand, usdPerMillion };
    } finally {
      await ship?.stop();
      await close();
    }
  } finally {
    await hec.stop();
    await dynamo.stop();
    if (loopback === undefined) delete process.env.STAGELINE_ALLOW_LOOPBACK_OUTBOUND;
    else process.env.STAGELINE_ALLOW_LOOPBACK_OUTBOUND = loopback;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchAuditStream();
