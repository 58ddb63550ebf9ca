import { fmt, sub } from './common.ts';
import { table } from '../scripts/build.ts';
import { ARTIFACT, VERSION, type FlowResult } from '../local/measure/approved-flow.ts';
import type { Invocation } from '../local/measure/attribution.ts';
import { isRead } from '../local/measure/capacity.ts';
import { totalRequests } from '../local/measure/counter.ts';

/** The promotion section's first part: what one approved promotion costs at AWS list prices, next to CodePipeline V2. */

// ---------------------------------------------------------------- prices (AWS list prices, us-east-1)

export const PRICE = {
  sfnPerTransition: 0.025 / 1000,
  lambdaPerGbSecond: 0.0000133334, // arm64
  lambdaPerRequest: 0.2 / 1_000_000,
  lambdaMemoryGb: 512 / 1024,
  ddbPerWru: 0.625 / 1_000_000,
  ddbPerRru: 0.125 / 1_000_000,
  eventBridgePerEvent: 1 / 1_000_000,
  apiGatewayPerRequest: 1 / 1_000_000, // HTTP API, first 300M/month
  codePipelinePerActionMinute: 0.002,
  kmsAsymmetricPerRequest: 0.15 / 10_000, // Sign with an ECC key (asymmetric requests other than RSA 2048)
  s3PerPut: 0.005 / 1000,
};

const TARGET_USD_PER_1000 = 0.5;
const TARGET_TRANSITIONS = 12;

// ---------------------------------------------------------------- formatting

export const usd = (n: number, digits = 4) => `$${n.toFixed(digits)}`;
const mark = (ok: boolean) => (ok ? 'PASS' : 'OVER');

export function printApproved(r: FlowResult, probe: { put: number; tx1: number; tx3: number }): number {
  sub('1. One approved promotion: staging → production, 3 enabled gates passing, 1 approver');
  console.log(
    `Flow: ${ARTIFACT}@${VERSION} (published into dev, promoted dev → staging before the window). Target 'production' has gates ` +
      `tests, security_scan, cost_analysis on (+ policy_compliance, always on); default policy for the last environment: 1 approver, separation of duties.\n` +
      `Evidence is attached to the RELEASE (POST /artifacts/${ARTIFACT}/versions/${VERSION}/evidence) before the promotion is requested, so it would ` +
      `serve every promotion of that release; its 3 calls are counted here anyway.\n` +
      `Driven by invoking the real API handlers directly with API Gateway v2 events (no HTTP, no JWT verification; no Idempotency-Key header) ` +
      `and the real ASL in LocalWorkflow, whose tasks call the promotion-step handler in-process. Warm: a full identical flow ran first in another tenant.\n` +
      `Window: first evidence call → execution finished: ${fmt(r.wallMs)} ms wall. All 4 gates PASS, status COMPLETED.`,
  );

  const steps = r.calls.filter((c) => c.kind === 'step');
  const apis = r.calls.filter((c) => c.kind === 'api');
  const reqs = (c: Invocation) =>
    Object.entries(c.requests)
      .sort()
      .map(([k, n]) => `${k.replace(/Command$/, '').replace(/Items?$/, '')}×${n}`)
      .join(' ');
  console.log('\nLambda invocations (wall time measured locally, in-process, warm; billed = rounded up to 1 ms):');
  console.log(
    table(
      ['#', 'function', 'invocation', 'ms', 'billed ms', 'DDB requests', 'RRU', 'WRU'],
      r.calls.map((c, i) => [
        i + 1,
        c.kind === 'step' ? 'promotion-step' : c.kind === 'stream' ? 'stream' : c.fn,
        c.label,
        fmt(c.ms),
        Math.ceil(c.ms),
        reqs(c),
        fmt(c.rru, 1),
        fmt(c.wru, 0),
      ]),
    ),
  );
  const streams = r.calls.filter((c) => c.kind === 'stream');
  console.log(
    `API Lambda invocations: ${apis.length}; step Lambda invocations: ${steps.length}; stream consumer invocations: ${streams.length} (batches of the table's stream: audit links + event relay); total ${r.calls.length}.`,
  );

  console.log(`\nStep Functions state transitions (LocalWorkflow.transitions, states entered + retries): ${r.transitions}`);
  console.log(`EventBridge events published: ${r.events.length} (${r.events.join(', ')})`);

  // ---- DynamoDB
  const commands = Object.keys(r.counts).sort();
  const wruByCommand = (cmd: string) =>
    cmd === 'TransactWriteItemsCommand' ? r.calls.reduce((s, c) => s + c.txTable + c.txIndexes, 0) : isRead(cmd) ? 0 : r.counts[cmd]!.capacity;
  console.log("\nDynamoDB requests over the whole flow (RequestCounter on the handlers' DocumentClient; capacity as DynamoDB Local reported it):");
  console.log(
    table(
      ['command', 'requests', 'keys/items', 'Local units', 'kind', 'WRU/RRU used'],
      commands.map((cmd) => {
        const s = r.counts[cmd]!;
        return [
          cmd.replace(/Command$/, ''),
          s.requests,
          s.items,
          fmt(s.capacity, 1),
          isRead(cmd) ? 'read' : 'write',
          fmt(isRead(cmd) ? s.capacity : wruByCommand(cmd), 1),
        ];
      }),
    ),
  );
  const rru = commands.filter(isRead).reduce((s, c) => s + r.counts[c]!.capacity, 0);
  const localWrites = commands.filter((c) => !isRead(c)).reduce((s, c) => s + r.counts[c]!.capacity, 0);
  const txTable = r.calls.reduce((s, c) => s + c.txTable, 0);
  const txIndexes = r.calls.reduce((s, c) => s + c.txIndexes, 0);
  const txLocal = r.calls.reduce((s, c) => s + c.txLocal, 0);
  const wru = r.calls.reduce((s, c) => s + c.wru, 0);
  const attributed = r.calls.reduce((s, c) => s + Object.values(c.requests).reduce((n, x) => n + x, 0), 0);
  if (attributed !== totalRequests(r.counts) || Math.abs(r.calls.reduce((s, c) => s + c.rru, 0) - rru) > 1e-9) {
    console.log(`WARNING: ${totalRequests(r.counts) - attributed} requests in the window were not sent by any invocation.`);
  }
  console.log(
    `Total: ${totalRequests(r.counts)} requests; ${fmt(rru, 1)} RRU (read request units); ${fmt(wru, 0)} WRU (write request units) used for pricing.`,
  );
  console.log(
    `Capacity check — DynamoDB Local on this machine reports, for ≤ 1 KB items: PutItem ${probe.put} (AWS: 1), ` +
      `TransactWriteItems with 1 item ${probe.tx1} (AWS: 2), with 3 items ${probe.tx3} (AWS: 6).` +
      (probe.tx1 === 2 && probe.tx3 === 6
        ? " It follows AWS's transactional rule, so its figures are used as reported."
        : `\n  Its transactional ConsumedCapacity does not follow AWS's rule of 2 WRU per KB per item (it is not per item), so it is NOT used: ` +
          `TransactWriteItems units are computed from the request items instead — table: 2 WRU per KB (rounded up) per item = ${fmt(txTable, 0)} WRU; ` +
          `GSI entries written (1 WRU per KB per index entry, 2 when an item's index key moves, e.g. a completed promotion's status) = ${fmt(txIndexes, 0)} WRU ` +
          `(Local reported ${fmt(txLocal, 0)} for these transactions). Single-item writes and reads: Local's figures (they match AWS's rules). ` +
          `All writes as Local reported them: ${fmt(localWrites, 0)}.`),
  );

  // ---- cost per 1,000 promotions
  const N = 1000;
  const sfn = r.transitions * PRICE.sfnPerTransition * N;
  const gbSeconds = r.calls.reduce((s, c) => s + PRICE.lambdaMemoryGb * (Math.ceil(c.ms) / 1000), 0);
  const lambdaCompute = gbSeconds * PRICE.lambdaPerGbSecond * N;
  const lambdaRequests = r.calls.length * PRICE.lambdaPerRequest * N;
  const ddbWrites = wru * PRICE.ddbPerWru * N;
  const ddbReads = rru * PRICE.ddbPerRru * N;
  const events = r.events.length * PRICE.eventBridgePerEvent * N;
  // The audit anchor: a KMS Sign (ECC_NIST_P256, an asymmetric request) and a checkpoint object per chain append.
  const kms = r.anchor.kms * PRICE.kmsAsymmetricPerRequest * N;
  const s3 = r.anchor.checkpoints * PRICE.s3PerPut * N;
  const total = sfn + lambdaCompute + lambdaRequests + ddbWrites + ddbReads + events + kms + s3;
  const apiGw = r.calls.filter((c) => c.kind === 'api').length * PRICE.apiGatewayPerRequest * N;
  // The same figures without the release's evidence calls (shared by every promotion of a release).
  const promo = r.calls.filter((c) => c.fn !== 'artifacts-evidence');
  const totalWithoutEvidence =
    sfn +
    events +
    kms +
    s3 +
    promo.reduce(
      (s, c) =>
        s +
        (PRICE.lambdaMemoryGb * (Math.ceil(c.ms) / 1000) * PRICE.lambdaPerGbSecond +
          PRICE.lambdaPerRequest +
          c.wru * PRICE.ddbPerWru +
          c.rru * PRICE.ddbPerRru) *
          N,
      0,
    );

  // CodePipeline V2: billed per action execution minute (rounded up per action); manual approval actions are not billed.
  const cpActions = [
    { action: 'unit tests (CodeBuild)', minutes: 1, billed: true },
    { action: 'security scan (CodeBuild)', minutes: 1, billed: true },
    { action: 'cost analysis (CodeBuild)', minutes: 1, billed: true },
    { action: 'manual approval (assumed waiting 5 min)', minutes: 5, billed: false },
    { action: 'deploy', minutes: 1, billed: true },
  ];
  const cpBilled = cpActions.filter((a) => a.billed).reduce((s, a) => s + a.minutes, 0);
  const cpAll = cpActions.reduce((s, a) => s + a.minutes, 0);
  const cp = cpBilled * PRICE.codePipelinePerActionMinute * N;
  const cpIfApprovalBilled = cpAll * PRICE.codePipelinePerActionMinute * N;

  console.log('\nCost per 1,000 such promotions at AWS list prices (us-east-1):');
  console.log(
    table(
      ['Stageline (serverless)', 'quantity per promotion', 'unit price', 'per 1,000 promotions'],
      [
        ['Step Functions Standard', `${r.transitions} state transitions`, '$0.025 / 1,000 transitions', usd(sfn)],
        [
          'Lambda compute (arm64, 512 MB)',
          `${fmt(gbSeconds, 4)} GB-s (${r.calls.length} invocations, ${r.calls.reduce((s, c) => s + Math.ceil(c.ms), 0)} billed ms)`,
          '$0.0000133334 / GB-s',
          usd(lambdaCompute),
        ],
        ['Lambda requests', `${r.calls.length} invocations`, '$0.20 / 1M', usd(lambdaRequests)],
        ['DynamoDB on-demand writes', `${fmt(wru, 0)} WRU`, '$0.625 / 1M WRU', usd(ddbWrites)],
        ['DynamoDB on-demand reads', `${fmt(rru, 1)} RRU`, '$0.125 / 1M RRU', usd(ddbReads)],
        ['EventBridge custom events', `${r.events.length} events`, '$1.00 / 1M', usd(events)],
        ['KMS (audit checkpoint signatures, ECC Sign)', `${r.anchor.kms} requests`, '$0.15 / 10,000', usd(kms)],
        ['S3 (signed checkpoints, Object Lock)', `${r.anchor.checkpoints} PUTs`, '$0.005 / 1,000', usd(s3)],
        ['TOTAL', '', '', usd(total)],
        ['  without the 3 release-evidence calls', '', '', usd(totalWithoutEvidence)],
        ['(not in the total) API Gateway HTTP API', `${r.calls.filter((c) => c.kind === 'api').length} requests`, '$1.00 / 1M', usd(apiGw)],
      ],
    ),
  );
  console.log(
    'Lambda time is measured locally (in-process, warm, sharing one event loop with DynamoDB Local I/O), an upper-bound estimate of the billed duration; ' +
      'cold starts (INIT, billed since Aug 2025) come on top when they happen — see the init-time section above.',
  );
  console.log('\nAWS CodePipeline V2 for the same flow ($0.002 per action execution minute, each action rounded up to whole minutes):');
  console.log(
    table(
      ['action', 'minutes', 'billed'],
      cpActions.map((a) => [a.action, a.minutes, a.billed ? 'yes' : 'no — AWS does not bill manual approval actions']),
    ),
  );
  console.log(
    `  ${cpBilled} billed action-minutes per promotion → ${usd(cp, 2)} per 1,000 promotions ` +
      `(${usd(cpIfApprovalBilled, 2)} if the 5-minute approval wait were billed too); ` +
      `${fmt(cp / total, 0)}× the Stageline total. Orchestration only on both sides: the compute that runs the tests and scans ` +
      `(CodeBuild minutes, or wherever the evidence comes from) and the deploy target are extra for both, as is CodePipeline's S3 artifact store.`,
  );
  console.log('\nTargets:');
  console.log(
    table(
      ['target', 'measured', 'result'],
      [
        [`cost ≤ ${usd(TARGET_USD_PER_1000, 2)} per 1,000 approved promotions`, usd(total), mark(total <= TARGET_USD_PER_1000)],
        [`  … including API Gateway`, usd(total + apiGw), mark(total + apiGw <= TARGET_USD_PER_1000)],
        [`state transitions ≤ ${TARGET_TRANSITIONS} per approved promotion`, String(r.transitions), mark(r.transitions <= TARGET_TRANSITIONS)],
      ],
    ),
  );
  return total;
}
