import { randomBytes } from 'node:crypto';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createEnvironment } from '#domain/config/environments';
import type { Ctx } from '#domain/ports';
import type { Approval, Promotion } from '#domain/kernel/promotion-model';
import { createEnvironment as envSchema } from '#domain/kernel/schemas';
import { exportManifest, planManifest } from '#domain/manifest/service';
import { SIMULATE_BUDGET_MS } from '#domain/manifest/simulate';
import { addPage } from '#domain/manifest/simulation-pages';
import { lineOf, policyDigest, resolvePolicy } from '#domain/promotion/terms/policy';
import { DynamoStore, documentClient } from '../functions/adapters/dynamo-store.ts';
import { keys } from '../functions/adapters/keys.ts';
import { promotionItem } from '../functions/adapters/store/promotions.ts';
import { storeOnlyDeps } from '../local/measure/store-only.ts';
import { RequestCounter, totalRequests } from '../local/measure/counter.ts';
import { ensureTable, LOCAL_REGION, localCredentials, startDynamo } from '../local/dynamodb.ts';
import { fmt, heading, int } from './common.ts';

/**
 * A policy change replayed over history (`POST /manifest/plan?simulate=90d`): the time and the DynamoDB
 * reads of replaying 10,000 stored promotions of the last 90 days, first under the current setup (every
 * decision digest must come back), then with production's approvers raised from 1 to 2 (the promotions
 * approved once must turn). Against DynamoDB Local in memory, through the domain call the handler makes.
 */

const TENANT = 'bench-sim';
const COUNT = Number(process.env.BENCH_SIMULATE_PROMOTIONS ?? 10_000);
const DAY = 86_400_000;

/** Loads `n` completed promotions, requested evenly over the last 89 days: dev → staging, and staging → production with one approval. */
async function load(raw: DynamoDBDocumentClient, table: string, template: { staging: Promotion; production: Promotion }, n: number): Promise<number> {
  const now = Date.now();
  let items: Record<string, unknown>[] = [];
  let written = 0;
  const flush = async () => {
    for (let i = 0; i < items.length; i += 25) {
      let batch: Record<string, unknown>[] = items.slice(i, i + 25);
      while (batch.length) {
        const r = await raw.send(new BatchWriteCommand({ RequestItems: { [table]: batch.map((Item) => ({ PutRequest: { Item } })) } }));
        batch = (r.UnprocessedItems?.[table] ?? []).map((w) => w.PutRequest!.Item!);
      }
    }
    written += items.length;
    items = [];
  };
  for (let k = 0; k < n; k++) {
    const at = new Date(now - 89 * DAY + Math.floor((k * 89 * DAY) / n));
    const id = `prm_${at.getTime().toString(36).padStart(9, '0')}${randomBytes(5).toString('hex')}`;
    const into = k % 2 ? template.production : template.staging;
    const iso = at.toISOString();
    // Each release goes dev → staging, then staging → production: two promotions share its evidence.
    const release = Math.floor(k / 2);
    const digest = `sha256:${release.toString(16).padStart(64, '0')}`;
    const p: Promotion = {
      ...into,
      subject: { type: 'artifact', name: 'api', version: `v1.${Math.floor(release / 1000)}.${release % 1000}`, digest },
      releaseDigest: digest,
      id,
      requestedAt: iso,
      updatedAt: iso,
      completedAt: iso,
      transitions: [
        { status: 'PENDING', at: iso, by: 'u1' },
        { status: 'EXECUTING', at: iso, by: 'u1' },
        { status: 'COMPLETED', at: iso, by: 'u1' },
      ],
    };
    items.push(promotionItem(p));
    // Validated: the gate results as the promotion's own item beside it (the store reads them with the listing).
    items.push({ ...keys.promotionGates(TENANT, id), entity: 'PromotionGates', gates: into.gates });
    if (p.targetEnvironment === 'production') {
      const approval: Approval = { by: 'approver-1', name: 'approver-1@bench.test', at: iso, digest: p.releaseDigest };
      items.push({ ...keys.approval(TENANT, id, approval.by), entity: 'Approval', ...approval });
    }
    if (items.length >= 500) await flush();
  }
  await flush();
  return written;
}

export async function benchSimulate(): Promise<{ seconds: number; reads: number; promotions: number; requests: number; longest: number }> {
  const local = await startDynamo({});
  let db: DynamoDBDocumentClient | undefined;
  let raw: DynamoDBDocumentClient | undefined;
  try {
    const table = `bench-sim-${Date.now().toString(36)}`;
    await ensureTable(local.endpoint, table);
    db = documentClient({ endpoint: local.endpoint, region: LOCAL_REGION, credentials: localCredentials });
    raw = documentClient({ endpoint: local.endpoint, region: LOCAL_REGION, credentials: localCredentials });
    const counter = new RequestCounter();
    counter.attach(db);
    const deps = storeOnlyDeps(new DynamoStore(db, table));
    const ctx: Ctx = { principal: { tenant: TENANT, id: 'bench', name: 'bench@stageline.local', roles: ['admin'], kind: 'machine' } };
    for (const [name, position] of [
      ['dev', 0],
      ['staging', 1],
      ['production', 2],
    ] as const) {
      await createEnvironment(deps, ctx, envSchema.parse({ name, position }));
    }
    // Each stored promotion carries the policy its pair resolves to today, as a request would have stored it.
    const line = lineOf(await deps.store.listEnvironments(TENANT));
    const env = (name: string) => line.find((e) => e.name === name)!;
    const template = (source: string, target: string): Promotion => {
      const policy = resolvePolicy([], line, env(source), env(target));
      const digest = `sha256:${'b'.repeat(64)}`;
      return {
        tenant: TENANT,
        id: '',
        subject: { type: 'artifact', name: 'api', version: 'v1.0.0', digest },
        sourceEnvironment: source,
        targetEnvironment: target,
        status: 'COMPLETED',
        releaseDigest: digest,
        notes: '',
        requestedBy: { id: 'u1', name: 'u1@bench.test' },
        requestedAt: '',
        policy,
        policyDigest: policyDigest(policy),
        approvedBy: policy.requiresApproval ? ['approver-1'] : [],
        gates: [],
        trigger: 'on_approval',
        scheduledAt: null,
        taskToken: null,
        executionId: null,
        rejection: null,
        result: null,
        error: null,
        autoPromoted: false,
        version: 3,
        updatedAt: '',
        completedAt: null,
        transitions: [],
      } as unknown as Promotion;
    };
    const t0 = Date.now();
    const written = await load(raw, table, { staging: template('dev', 'staging'), production: template('staging', 'production') }, COUNT);
    const loadSeconds = (Date.now() - t0) / 1000;

    const { text } = await exportManifest(deps, ctx, 'json');
    const raised = JSON.parse(text);
    raised.artifacts.promotion.approval_rules = [
      ...raised.artifacts.promotion.approval_rules,
      { name: 'two people', sourceEnvironment: 'staging', targetEnvironment: 'production', requiresApproval: true, requiredApprovers: 2 },
    ];
    const rows: string[][] = [];
    let figure = { seconds: 0, reads: 0, promotions: 0, requests: 0, longest: 0 };
    for (const [what, doc] of [
      ['the current setup', text],
      ["production's approvers 1 → 2", JSON.stringify(raised)],
    ] as const) {
      counter.reset();
      const start = Date.now();
      // As the CLI and the console do: follow `next` until the look-back ends, each request within its budget.
      let sim = (await planManifest(deps, ctx, doc, { simulateSeconds: 90 * 86_400 })).simulation!;
      let requests = 1;
      let longest = (Date.now() - start) / 1000;
      while (sim.next) {
        const at = Date.now();
        const more = (await planManifest(deps, ctx, doc, { simulateSeconds: 90 * 86_400, cursor: sim.next })).simulation!;
        sim = addPage(sim, more);
        requests++;
        longest = Math.max(longest, (Date.now() - at) / 1000);
      }
      const seconds = (Date.now() - start) / 1000;
      const counts = counter.take();
      const reads = totalRequests(counts);
      rows.push([
        what,
        int(sim.promotions),
        int(sim.summary.changed),
        int(sim.summary.allowedToBlocked),
        int(sim.summary.digestsReproduced),
        `${int(reads)} (${Object.entries(counts)
          .map(([k, v]) => `${k.replace('Command', '')} ${int(v.requests)}`)
          .join(', ')})`,
        `${requests} (longest ${fmt(longest, 1)} s)`,
        fmt(seconds, 1),
      ]);
      if (what === 'the current setup') {
        figure = { seconds, reads, promotions: sim.promotions, requests, longest };
        if (sim.summary.changed !== 0 || sim.summary.digestsReproduced !== sim.promotions)
          throw new Error(`bench sanity check failed: the current setup changed ${sim.summary.changed} decisions`);
      } else if (sim.summary.allowedToBlocked !== Math.floor(sim.promotions / 2))
        throw new Error(`bench sanity check failed: ${sim.summary.allowedToBlocked} turned, not the ${Math.floor(sim.promotions / 2)} approved once`);
    }
    heading(`Policy replay over history (POST /manifest/plan?simulate=90d; DynamoDB Local in memory, table ${table})`);
    console.log(
      `Set-up (not measured): ${int(COUNT)} completed promotions over the last 89 days, each release into staging, then into production with one approval ` +
        `(${int(written)} items in ${fmt(loadSeconds, 1)} s).`,
    );
    const header = ['replayed under', 'promotions', 'changed', 'allowed → not', 'digests reproduced', 'DynamoDB requests', 'API requests', 'total s'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    for (const r of [header, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
    console.log(
      `goal: ${int(COUNT)} promotions within one API request's time (API Gateway's 30 s), or as a job with progress: ` +
        `${figure.longest <= 30 ? 'met' : 'NOT met'} — ${figure.requests === 1 ? 'one request' : `${figure.requests} requests, each ending at the first page of 100 after its ${SIMULATE_BUDGET_MS / 1000} s budget, the CLI and console showing progress between them`} ` +
        `(longest ${fmt(figure.longest, 1)} s, ${fmt(figure.seconds, 1)} s in all; ${fmt(figure.reads / Math.max(1, figure.promotions), 2)} DynamoDB requests per promotion replayed)`,
    );
    return figure;
  } finally {
    db?.destroy();
    raw?.destroy();
    await local.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchSimulate();
