import '../scripts/node-check.ts';
import { writeResults } from './results.ts';
import { readFileSync } from 'node:fs';
import { fmt, heading, int } from './common.ts';
import { storeOnlyDeps } from '../local/measure/store-only.ts';
import { createEnvironment } from '#domain/config/environments';
import { batchItems, itemId, updateItem } from '#domain/config/items';
import type { Ctx, Deps } from '#domain/ports';
import { batchItems as batchSchema, createEnvironment as envSchema, MAX_BATCH_ITEMS, updateItem as updateSchema } from '#domain/kernel/schemas';
import { diffEnvironments } from '#domain/config/snapshots';
import type { NodeRef, NodeSource } from '#domain/config/tree';
import { DynamoStore, documentClient } from '../functions/adapters/dynamo-store.ts';
import { ensureTable, LOCAL_REGION, localCredentials, startDynamo } from '../local/dynamodb.ts';
import { BASELINE, kib, table, TARGETS } from '../scripts/build.ts';
import { RequestCounter, totalRequests, type Counts } from '../local/measure/counter.ts';
import { sealer } from '../functions/adapters/secret-box.ts';
import { median } from './init-time.ts';
import { benchBundles } from './bundles.ts';
import { benchHistory } from './history.ts';
import { benchPromotion } from './promotion.ts';
import { benchRegistry } from './registry.ts';
import { benchWriters } from './writers.ts';
import { benchEffective } from './effective.ts';
import { benchWaves } from './waves.ts';

/**
 * `npm run bench`: figures, not pass/fail. (a) bundle sizes, (b) module init
 * time of each bundle next to a hello-world SDK baseline, (c) DynamoDB requests
 * and wall time of a diff and of a one-key change in a 10,000-config
 * environment, against DynamoDB Local; (d) one approved promotion's AWS cost
 * and local promotion throughput (bench/promotion.ts); (e) deployment history,
 * metrics and rollback-analysis read costs at up to 1M records (bench/history.ts).
 */
const DDB_RUNS = 5;
const CONFIGS = 10_000;
const MODIFIED = 10;

// ---------------------------------------------------------------- DynamoDB

interface Measured {
  label: string;
  runs: Counts[];
  ms: number[];
}

/** Walks the stored trie from a root, one BatchGet round per level. */
async function trieShape(source: NodeSource, root: NodeRef) {
  let level = [root].filter((r) => r.n > 0);
  let nodes = 0;
  let leaves = 0;
  let depth = 0;
  while (level.length) {
    const got = await source.getNodes(level.map((r) => r.a));
    const next: NodeRef[] = [];
    for (const r of level) {
      const node = got.get(r.a)!;
      nodes++;
      if (node.t === 'L') leaves++;
      else next.push(...node.c.filter((c): c is NodeRef => c !== null && c.n > 0));
    }
    depth++;
    level = next;
  }
  return { nodes, leaves, branches: nodes - leaves, depth, perLeaf: root.n / leaves };
}

/** A min–max range, or one number when every run agreed. */
const range = (xs: number[], show: (n: number) => string = int) => {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi ? show(lo) : `${show(lo)}–${show(hi)}`;
};

async function dynamo(endpoint: string): Promise<void> {
  const tableName = `bench-${Date.now().toString(36)}`;
  await ensureTable(endpoint, tableName);
  const db = documentClient({ endpoint, region: LOCAL_REGION, credentials: localCredentials });
  const counter = new RequestCounter();
  counter.attach(db);
  // Config writes and diffs touch neither the workflow nor the bus; these stand-ins make that visible if it changes.
  const deps: Deps = storeOnlyDeps(new DynamoStore(db, tableName));
  const tenant = 'bench';
  const ctx: Ctx = { principal: { tenant, id: 'bench', name: 'bench@stageline.local', roles: ['admin'], kind: 'machine' }, breakGlassReason: 'bench set-up' };

  heading(`DynamoDB (DynamoDB Local, table ${tableName}): ${int(CONFIGS)} configs`);

  // ---- setup (not measured): a = 10k configs; b = a plus MODIFIED changed values
  const started = performance.now();
  for (const [name, position] of [
    ['a', 0],
    ['b', 1],
  ] as const) {
    await createEnvironment({ ...deps, sealer: sealer() }, ctx, envSchema.parse({ name, position, reason: 'bench' }));
  }
  const keyOf = (i: number) => `svc-${String(i % 100).padStart(2, '0')}/setting-${String(i).padStart(5, '0')}`;
  const valueOf = (i: number): unknown => [`${i % 600}s`, i, i % 2 === 0, { replicas: i % 7, region: 'eu-west-1', tags: ['bench', `n${i}`] }][i % 4];
  const set = Array.from({ length: CONFIGS }, (_, i) => ({ key: keyOf(i), value: valueOf(i) }));
  // In batches of at most MAX_BATCH_ITEMS, as the API takes them.
  const load10k = async (env: string) => {
    for (let i = 0; i < set.length; i += MAX_BATCH_ITEMS)
      await batchItems(deps, ctx, env, batchSchema.parse({ set: set.slice(i, i + MAX_BATCH_ITEMS), reason: `bench: load ${env}` }));
  };
  counter.reset();
  await load10k('a');
  const load = counter.take();
  await load10k('b');
  // Spread over the key space so the changes land in different leaves.
  const modified = Array.from({ length: MODIFIED }, (_, j) => Math.floor(((j + 0.5) * CONFIGS) / MODIFIED));
  const changedInB = modified.map((i) => ({ key: keyOf(i), value: { changed: true, i } }));
  await batchItems(deps, ctx, 'b', batchSchema.parse({ set: changedInB, reason: 'bench: modify b' }));
  const envA = (await deps.store.getEnvironment(tenant, 'a'))!;
  const shape = await trieShape(deps.store.nodes(tenant), envA.head.roots.config);
  console.log(
    `Setup (not measured): environments a, b; ${int(CONFIGS)} configs into each, then ${MODIFIED} changed in b — ${fmt((performance.now() - started) / 1000)} s.\n` +
      `Loading a wrote ${int(load.BatchWriteItemCommand?.items ?? 0)} items in ${int(load.BatchWriteItemCommand?.requests ?? 0)} BatchWriteItem requests ` +
      `(${int(shape.nodes)} trie nodes + ${int(CONFIGS)} item-id index entries), then 1 TransactWriteItems.`,
  );
  console.log(
    `Trie of the ${int(CONFIGS)} configs: ${int(shape.nodes)} nodes (${int(shape.branches)} branches, ${int(shape.leaves)} leaves of ~${fmt(shape.perLeaf)} entries), depth ${shape.depth}. ` +
      `A snapshot item holds only the root references.`,
  );

  // ---- measured operations
  const measure = async (label: string, op: (run: number) => Promise<void>): Promise<Measured> => {
    const m: Measured = { label, runs: [], ms: [] };
    for (let run = 0; run < DDB_RUNS; run++) {
      counter.reset();
      const t0 = performance.now();
      await op(run);
      m.ms.push(performance.now() - t0);
      m.runs.push(counter.take());
    }
    return m;
  };
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new Error(`bench sanity check failed: ${what}`);
  };

  const measured: Measured[] = [];
  measured.push(
    await measure(`diff b→a (${MODIFIED} of ${int(CONFIGS)} differ)`, async () => {
      const d = await diffEnvironments(deps, ctx, 'b', 'a');
      check(d.modified.length === MODIFIED && d.added.length === 0 && d.removed.length === 0 && d.unchanged === CONFIGS - MODIFIED, 'diff b→a');
    }),
  );
  measured.push(
    await measure('diff a→a (identical)', async () => {
      const d = await diffEnvironments(deps, ctx, 'a', 'a');
      check(d.modified.length === 0 && d.unchanged === CONFIGS, 'diff a→a');
    }),
  );
  // A different key each run (and per operation), far apart in the key space.
  const keyFor = (op: number, run: number) => keyOf((op * DDB_RUNS + run) * 1013 + 7);
  measured.push(
    await measure('set 1 key via batchItems (POST …/items/batch)', async (run) => {
      const r = await batchItems(deps, ctx, 'a', batchSchema.parse({ set: [{ key: keyFor(0, run), value: `bench-${run}` }], reason: 'bench' }));
      check(r.updated === 1, 'batch updated 1');
    }),
  );
  measured.push(
    await measure('set 1 key via updateItem (PUT …/configs/{id})', async (run) => {
      const id = itemId('config', keyFor(1, run));
      const item = await updateItem(deps, ctx, 'config', 'a', id, updateSchema.parse({ value: `bench-${run}`, reason: 'bench' }));
      check(item.version === 2, 'item version 2');
    }),
  );

  // ---- report
  const anyCapacity = measured.some((m) => m.runs.some((c) => Object.values(c).some((s) => s.capacity > 0)));
  console.log(`\nWall time and requests per operation (${DDB_RUNS} runs each; each diff with a fresh node cache):`);
  console.log(
    table(
      ['operation', 'median ms', 'min ms', 'max ms', 'requests'],
      measured.map((m) => [m.label, fmt(median(m.ms)), fmt(Math.min(...m.ms)), fmt(Math.max(...m.ms)), range(m.runs.map(totalRequests))]),
    ),
  );
  console.log(
    `\nRequests by command, per run (a range where runs differed; keys/items = keys read or items written${anyCapacity ? '; capacity = units DynamoDB Local reported' : ''}):`,
  );
  const rows: string[][] = [];
  for (const m of measured) {
    const commands = [...new Set(m.runs.flatMap((c) => Object.keys(c)))].sort();
    commands.forEach((cmd, i) => {
      const stat = (k: 'requests' | 'items' | 'capacity') => m.runs.map((c) => c[cmd]?.[k] ?? 0);
      rows.push([
        i === 0 ? m.label : '',
        cmd.replace(/Command$/, ''),
        range(stat('requests')),
        range(stat('items')),
        ...(anyCapacity ? [range(stat('capacity'), (n) => fmt(n))] : []),
      ]);
    });
  }
  console.log(table(['operation', 'command', 'requests', 'keys/items', ...(anyCapacity ? ['capacity'] : [])], rows));
  if (!anyCapacity) console.log('(DynamoDB Local reported no ConsumedCapacity.)');

  const written = (m: Measured) => m.runs.map((c) => (c.BatchWriteItemCommand?.items ?? 0) + (c.TransactWriteItemsCommand?.items ?? 0));
  console.log(`
For contrast, a naive design that copies every item into each snapshot:
  items written to change 1 key in a ${int(CONFIGS)}-key environment: ${int(CONFIGS)} (≥ ${int(Math.ceil(CONFIGS / 25))} BatchWriteItem requests)
  here (new trie nodes + environment, snapshot, 2 audit items):  ${range(written(measured[2]!))} via batchItems, ${range(written(measured[3]!))} via updateItem
  items read to diff two ${int(CONFIGS)}-key environments:               ${int(2 * CONFIGS)}
  here (trie nodes read by BatchGetItem):                         ${range(measured[0]!.runs.map((c) => c.BatchGetItemCommand?.items ?? 0))}`);
  db.destroy();
}

// ---------------------------------------------------------------- main

/**
 * `npm run bench -- --quick`: the figures other issues cite, within 10 minutes (bundles and init, one promotion's
 * cost, SCIM at 10 and 1,000 users, a 1,000-target rollback), written to bench/RESULTS-quick.md; the whole bench
 * writes bench/RESULTS.md. Either ends by itself and prints its run time.
 */
const quick = process.argv.includes('--quick');
const benchStarted = Date.now();
const built = await benchBundles();
const summary: string[] = [];
const loud = (met: boolean) => (met ? 'met' : '**NOT MET**');
summary.push(
  `slowest module init: ${fmt(built.initRatio, 2)}× a one-client hello-world (${built.slowest.name}; budget ${TARGETS.initRatio.toFixed(1)}×): ${loud(built.initRatio <= TARGETS.initRatio)}`,
  `largest init-loaded bundle: ${kib(built.largest.bytes)} (${built.largest.name}; budget ${kib(TARGETS.largestBytes)}): ${loud(built.largest.bytes <= TARGETS.largestBytes)}`,
  `median init-loaded bundle: ${kib(built.median)} (budget ${kib(TARGETS.medianBytes)}): ${loud(built.median <= TARGETS.medianBytes)}`,
);
if (quick) {
  const promo = await benchPromotion();
  summary.push(`one approved promotion: ${promo.transitions} transitions, ${fmt(promo.wru, 0)} WRU`);
  const scim = await (await import('./scim.ts')).benchScim();
  summary.push(
    `SCIM initial sync: ${int(scim.users)} users, ${scim.errors} errors, ${fmt(scim.rruPerUser, 1)} RRU and ${fmt(scim.wruPerUser, 1)} WRU per user (a create reads the same with 10 or 10,000)`,
  );
  const rollback = await (await import('./waves.ts')).benchRollbackAlone(1_000);
  summary.push(
    `rollback of ${int(rollback.rolledBack)} changed targets: ${fmt(rollback.rru / rollback.rolledBack, 1)} RRU per target in ${rollback.runs} runs`,
  );
  const gates = await (await import('./pipeline-gates.ts')).benchPipelineGates();
  summary.push(
    `a GitHub-gated promotion: ${gates.gated.transitions} transitions, ${fmt(gates.gated.wru, 0)} WRU (${fmt(gates.gated.wru - gates.plain.wru, 0)} more than through the API); held for allowed hours: ${gates.hours.waiting} transitions, ${gates.hours.transitions} after 5 looks`,
  );
  finish('RESULTS-quick.md', ' -- --quick');
}
const local = await startDynamo({});
try {
  await dynamo(local.endpoint);
} finally {
  await local.stop();
}
const promo = await benchPromotion();
// DORA's counters: what a promotion's end writes for them (extra items and write units per kind of end).
await (await import('./dora.ts')).benchDora();
// A bundle of 3 artifacts + a config snapshot as one promotion, beside one artifact's and three artifacts' promotions.
await (await import('./bundle-promotion.ts')).benchBundlePromotion();
// A change-controlled promotion: transitions while it waits for its change request, and the WRU beyond an ordinary one.
await (await import('./change-request.ts')).benchChangeRequest();
// Where deploys already happen: a GitHub-gated promotion beside one requested through the API; one held for allowed hours.
{
  const gates = await (await import('./pipeline-gates.ts')).benchPipelineGates();
  summary.push(
    `a GitHub-gated promotion: ${gates.gated.transitions} transitions, ${fmt(gates.gated.wru, 0)} WRU (${fmt(gates.gated.wru - gates.plain.wru, 0)} more than through the API); held for allowed hours: ${gates.hours.waiting} transitions, ${gates.hours.transitions} after 5 looks`,
  );
}
await benchRegistry();
// Outbound webhooks and git commits.
await (await import('./deliveries.ts')).benchDeliveries();
// The console's page weight per view, in Chromium; throws over its budget.
await (await import('./console-weight.ts')).benchConsoleWeight();
await benchHistory();
// A policy change replayed over 10,000 stored promotions of the last 90 days (manifest plan --simulate 90d).
await (await import('./simulate.ts')).benchSimulate();
const writers = await benchWriters();
const effective = await benchEffective();
// Who is who: Cognito calls per GET /users and per demotion, with 10 and 10,000 users in other tenants.
await (await import('./people.ts')).benchPeople();
// Authorization with role bindings: requests and units per decision, with 0 and 50 bindings.
await (await import('./bindings.ts')).benchBindings();
// SCIM: a 1,000-user initial sync in Entra ID's sequence, 0 errors; requests and units per user.
{
  const scim = await (await import('./scim.ts')).benchScim();
  summary.push(
    `SCIM initial sync: ${int(scim.users)} users, ${scim.errors} errors, ${fmt(scim.rruPerUser, 1)} RRU and ${fmt(scim.wruPerUser, 1)} WRU per user`,
  );
}
const waves = await benchWaves();
{
  const per = (r: typeof waves.fleetRollback) => r.rru / r.rolledBack;
  const flat = per(waves.fleetRollback) <= 1.2 * per(waves.fleetRollback1000);
  summary.push(
    `rollback RRU per target: ${fmt(per(waves.fleetRollback1000), 1)} at 1,000 targets, ${fmt(per(waves.fleetRollback), 1)} at 10,000 (goal: within 20 %): ${loud(flat)}`,
  );
}
// A fleet: each wave its own execution; transitions per target and the largest history at 100, 1,000 and 10,000 targets, $ per 1,000 promotions, the local 1,000-target rollout.
await (await import('./fleet.ts')).benchFleet();
// The audit stream into a SIEM: the shipper's invocations and units per 1,000 audit entries, and the $ per million.
await (await import('./audit-stream.ts')).benchAuditStream();
// Faults survived: the chaos workload at 5, 10 and 20 % faults, and the invariant checker's violations.
const chaos = await (await import('./chaos.ts')).benchChaos();
// The mutation score of the guard modules, from the last `npm run mutation` ("not run" without one).
(await import('./mutation.ts')).benchMutation();

// ---------------------------------------------------------------- the goals of the scale issue, side by side
heading('Goals (scale and operations): measured here, side by side');
const { createApp } = await import('../infra/create-app.ts');
const { Template } = await import('aws-cdk-lib/assertions');
const cdkContext = (JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> }).context;
const resources = Object.keys(Template.fromStack(createApp({ context: { ...cdkContext, 'aws:cdk:bundling-stacks': [] } }).stack).toJSON().Resources).length;
const cost = promo.usdPer1000 + writers.notificationsUsdPer1000;
/** What stands in the way of a goal not met, from the figures measured above. */
const sfnPer1000 = promo.transitions * 0.025;
const way = {
  cost:
    `Step Functions Standard alone is $${sfnPer1000.toFixed(3)} (${promo.transitions} transitions at $0.025/1,000) of the promotion's $${promo.usdPer1000.toFixed(3)}; ` +
    `notifications add $${writers.notificationsUsdPer1000.toFixed(3)}, of which SES is $${writers.sesUsdPer1000.toFixed(3)} (per recipient the tenant chose)`,
  bundle: `a bundled SDK client alone is ${kib(built.baseline.bytes)} (${BASELINE}); ${built.largest.name}'s largest parts: ${built.largest.contributors
    .slice(0, 4)
    .map((c) => `${c.pkg} ${kib(c.bytes)}`)
    .join(', ')}`,
  init:
    `${built.slowest.name} ${fmt(built.slowest.ms)} ms vs ${fmt(built.baseline.ms)} ms for a bare SDK client (compiling and evaluating what module init reads: ` +
    `${built.slowest.contributors
      .slice(0, 4)
      .map((c) => `${c.pkg} ${kib(c.bytes)}`)
      .join(', ')}); the median function is ${fmt(built.medianRatio, 2)}×, ${built.over} are over ${TARGETS.initRatio.toFixed(1)}×`,
  throughput: `a sequential promotion is ~${fmt(1000 / promo.throughput, 0)} ms of DynamoDB Local requests, ASL interpretation and the stream consumer on 2 cores; 20/s would need ≤ 50 ms`,
};
const row = (figure: string, now: string, goal: string, met: boolean, why = '') => [figure, now, goal, met ? 'met' : 'not yet', met ? '' : why];
console.log(
  table(
    ['figure', 'now', 'goal', '', 'what stands in the way'],
    [
      row(
        '50 concurrent writers, one environment',
        `${fmt(writers.fiftyOneEnv.success)}% succeed, ${fmt(writers.fiftyOneEnv.perSecond)} writes/s`,
        '100% succeed',
        writers.fiftyOneEnv.success === 100,
      ),
      row(
        'invariant violations under injected faults (5, 10, 20 %)',
        chaos.map((r) => `${r.violations.length} in ${r.promotions}`).join(', '),
        '0',
        chaos.every((r) => r.violations.length === 0),
        chaos.flatMap((r) => r.violations.map((v) => `${v.invariant} (seed ${r.seed})`)).join(', '),
      ),
      row('WRU per approved promotion', fmt(promo.wru, 0), '≤ 60', promo.wru <= 60),
      row('state transitions per approved promotion (no bake time)', String(promo.transitions), '≤ 3', promo.transitions <= 3),
      row(
        'promotion item (times and random ids pinned)',
        `${promo.promotionItemBytes} B (${promo.promotionItemStoredBytes} B as stored this run)`,
        '≤ 1 KB',
        promo.promotionItemBytes <= 1024,
      ),
      row(
        'audit anchoring per 1,000 promotions at ≥ 1 promotion/s',
        `$${promo.anchorAtRate.usdPer1000.toFixed(4)} (${promo.anchorAtRate.signs} signatures for ${promo.anchorAtRate.promotions} promotions at ${fmt(promo.anchorAtRate.perSecond, 1)}/s)`,
        '≤ $0.005',
        promo.anchorAtRate.usdPer1000 <= 0.005 && promo.anchorAtRate.perSecond >= 1,
      ),
      row(
        'cost per 1,000 approved promotions at ≥ 1/s (no notifications)',
        `$${promo.usdPer1000AtRate.toFixed(3)}`,
        '≤ $0.15',
        promo.usdPer1000AtRate <= 0.15,
        way.cost,
      ),
      row('cost per million unchanged polls (function URL)', `$${effective.usdPerMillion304Url.toFixed(2)}`, '≤ $0.30', effective.usdPerMillion304Url <= 0.3),
      row(
        'cost per million unchanged polls with instance identification (function URL)',
        `$${effective.usdPerMillion304InstanceUrl.toFixed(2)} (${fmt(effective.writes304Instance, 1)} writes per poll; a target's 304 without it $${effective.usdPerMillion304TargetUrl.toFixed(2)})`,
        '≤ $0.30, no write',
        effective.usdPerMillion304InstanceUrl <= 0.3 && effective.writes304Instance === 0,
      ),
      row(
        'cost per 1,000 approved promotions, notifications included',
        `$${cost.toFixed(3)} ($${promo.usdPer1000.toFixed(3)} + $${writers.notificationsUsdPer1000.toFixed(3)} notifications)`,
        '≤ $0.20',
        cost <= 0.2,
        way.cost,
      ),
      row('largest bundle (init-loaded)', `${kib(built.largest.bytes)} (${built.largest.name})`, '≤ 250 KB', built.largest.bytes <= 250_000, way.bundle),
      row(
        'largest bundle (init-loaded), step budget',
        `${kib(built.largest.bytes)} (${built.largest.name})`,
        `≤ ${kib(TARGETS.largestBytes)}`,
        built.largest.bytes <= TARGETS.largestBytes,
        way.bundle,
      ),
      row('median bundle (init-loaded), step budget', kib(built.median), `≤ ${kib(TARGETS.medianBytes)}`, built.median <= TARGETS.medianBytes, way.bundle),
      row('/health bundle', kib(built.health), '≤ 50 KB', built.health <= 50_000),
      row('slowest module init vs a one-client hello-world', `${fmt(built.initRatio, 2)}×`, '≤ 1.25×', built.initRatio <= 1.25, way.init),
      row(
        'slowest module init vs the hello-world, step budget',
        `${fmt(built.initRatio, 2)}×`,
        `≤ ${TARGETS.initRatio.toFixed(1)}×`,
        built.initRatio <= TARGETS.initRatio,
        way.init,
      ),
      row('local promotions/s, no approval, sequential', fmt(promo.throughput, 1), '≥ 20', promo.throughput >= 20, way.throughput),
      row('CloudFormation resources', String(resources), '≤ 300', resources <= 300),
    ],
  ),
);
summary.push(
  `invariant violations under injected faults: ${chaos.map((r) => `${r.violations.length} in ${r.promotions} at ${r.rate * 100} %`).join(', ')}: ${loud(chaos.every((r) => !r.violations.length))}`,
);
finish('RESULTS.md', '');

/** The results written (the summary first), the run's time printed, and the process ended: no handle left open keeps it. */
function finish(file: string, note: string): never {
  const elapsedMs = Date.now() - benchStarted;
  console.log(`\nbench ran in ${fmt(elapsedMs / 1000, 0)} s`);
  writeResults({ file, summary, elapsedMs, note });
  process.exit(0);
}
